"""Hashed embedding layouts: hashes equal Python big-integer arithmetic, lookups
equal hand-indexed tables, budgets are equal, bad input is reported."""

import random

import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.tables.multiplex import (
    LAYOUTS,
    PRIME,
    MultiplexedTable,
    PerFeatureTables,
    UnifiedEmbedding,
    universal_hash,
)


def test_hash_matches_python_integers():
    rng = random.Random(0)
    vals = [rng.randrange(0, 1 << 62) for _ in range(500)] + [0, PRIME, PRIME - 1, (1 << 63) - 1]
    for _ in range(20):
        a, b, m = rng.randrange(1, PRIME), rng.randrange(0, PRIME), rng.randrange(1, 10**6)
        got = universal_hash(torch.tensor(vals, dtype=torch.int64), a, b, m).tolist()
        assert got == [((a * (v % PRIME) + b) % PRIME) % m for v in vals]


def test_equal_budgets():
    counts = {name: LAYOUTS.build(name, n_features=4, rows=256, dim=8).n_parameters
              for name in ("per-feature", "multiplex", "unified:k=2", "unified:k=4")}
    assert set(counts.values()) == {256 * 8}


def test_lookups_by_hand():
    torch.manual_seed(0)
    x = torch.randint(0, 10**6, (9, 3))
    per = PerFeatureTables(3, 30, 4, seed=1)
    out = per(x)
    for f in range(3):
        a, b = per.hashes[f]
        rows = universal_hash(x[:, f], a, b, 10)
        torch.testing.assert_close(out[:, f], per.tables[f, rows])
    mux = MultiplexedTable(3, 30, 4, seed=1)
    out = mux(x)
    for f in range(3):
        a, b = mux.hashes[f]
        torch.testing.assert_close(out[:, f], mux.tables[0, universal_hash(x[:, f], a, b, 30)])
    uni = UnifiedEmbedding(3, 30, 4, k=2, seed=1)
    out = uni(x)
    assert out.shape == (9, 3, 4)
    for f in range(3):
        parts = [uni.tables[0, universal_hash(x[:, f], *uni.hashes[2 * f + k], 60)] for k in range(2)]
        torch.testing.assert_close(out[:, f], torch.cat(parts, -1))


def test_shared_table_spreads_a_big_feature():
    # feature 0 has 2 values, feature 1 has 5000: per-feature tables confine feature 1 to rows // 2
    x = torch.stack([torch.arange(5000) % 2, torch.arange(5000)], 1)
    per = PerFeatureTables(2, 1024, 2, seed=0).row_ids(x)[..., 0]
    mux = MultiplexedTable(2, 1024, 2, seed=0).row_ids(x)[..., 0]
    assert len(set(per[:, 1].tolist())) <= 512 < len(set(mux[:, 1].tolist()))


def test_gradients_reach_the_table():
    m = LAYOUTS.build("unified:k=2", n_features=2, rows=16, dim=4)
    m(torch.tensor([[1, 2], [3, 4]])).sum().backward()
    assert m.tables.grad is not None and m.tables.grad.abs().sum() > 0


def test_bad_input():
    with pytest.raises(ConfigError, match="dividing dim"):
        UnifiedEmbedding(2, 16, 5, k=2)
    with pytest.raises(ConfigError, match="at least one row"):
        PerFeatureTables(8, 4, 2)
    m = MultiplexedTable(2, 16, 4)
    with pytest.raises(ShapeError, match=r"shape \(batch, 2\)"):
        m(torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(ShapeError, match="int64"):
        m(torch.zeros(3, 2))
    with pytest.raises(ShapeError, match="non-negative"):
        m(-torch.ones(3, 2, dtype=torch.int64))


def test_split_rows_by_cardinality():
    from mantissa.tables.multiplex import split_rows

    assert split_rows(100, [10, 30, 60]) == [10, 30, 60]
    # one row each, then 7 rows in proportion (0.7, 2.1, 4.2), rounded by largest remainder
    assert split_rows(10, [100, 300, 600]) == [2, 3, 5]
    # the 2-valued feature is capped at 2 rows; the rest is split 1 : 3 among the others
    assert split_rows(3000, [2, 1000, 3000]) == [2, 750, 2248]
    assert split_rows(5, [1, 10**6, 10**6, 1]) == [1, 2, 1, 1]
    assert sum(split_rows(997, [7, 13, 5000, 123456, 3])) == 997
    assert split_rows(1000, [3, 4]) == [3, 4]  # all capped: the exact tables
    with pytest.raises(ConfigError):
        split_rows(2, [5, 5, 5])


def test_proportional_per_feature_lookups_and_budget():
    from mantissa.tables.multiplex import ProportionalPerFeatureTables

    layer = LAYOUTS.build("per-feature-prop", n_features=3, rows=300, dim=4, cardinalities=[3, 100, 300])
    assert isinstance(layer, ProportionalPerFeatureTables)
    assert layer.split == [3, 75, 222] and layer.n_parameters == 300 * 4
    x = torch.tensor([[0, 99, 299], [2, 5, 7]])
    ids = layer.row_ids(x)[..., 0]
    assert ids[:, 0].tolist() == [0, 2]  # the small feature is looked up directly
    for f in (1, 2):  # the others land inside their own block
        lo, hi = layer.offsets[f], layer.offsets[f] + layer.split[f]
        assert ((ids[:, f] >= lo) & (ids[:, f] < hi)).all()
    torch.testing.assert_close(layer(x), layer.tables[0][ids])
