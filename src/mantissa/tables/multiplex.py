"""Feature multiplexing: many categorical features share one hashed embedding table
(Coleman et al., 2023, "Unified Embedding: Battle-Tested Feature Representations
for Web-Scale ML Systems", paper #16, Sec. 3-4).

For ``F`` categorical features with integer values, every layout below stores
``rows x dim`` parameters in total and returns one ``dim``-vector per feature,
shape ``(batch, F, dim)``:

* ``per-feature`` — the usual hashing trick, one table per feature with
  ``rows // F`` rows: ``E_f[h_f(v) mod (rows // F)]``;
* ``per-feature-prop`` — one table per feature with the ``rows`` split in
  proportion to the features' cardinalities (:func:`split_rows`: at least one row
  each, never more rows than a feature has values), the fair per-feature baseline
  for features of very different cardinalities;
* ``multiplex`` — feature multiplexing (Sec. 3): a single table of ``rows`` rows
  shared by all features, each with its own hash: ``E[h_f(v) mod rows]``;
* ``unified`` — Unified Embedding (Sec. 4): the shared table has ``dim / k``
  columns and ``k * rows`` rows; each feature makes ``k`` lookups with independent
  hashes and concatenates them: ``[E[h_{f,1}(v)], ..., E[h_{f,k}(v)]]``.

Hashes are universal: ``h(v) = ((a·v + b) mod p) mod m`` with ``p = 2^31 - 1``
and ``a, b`` drawn per feature (and probe) from a seeded generator.
``LAYOUTS.build("unified:k=2", n_features=5, rows=4096, dim=16)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.registry import Registry

PRIME = (1 << 31) - 1
LAYOUTS: Registry = Registry("embedding layout")


def universal_hash(values: torch.Tensor, a: int, b: int, buckets: int) -> torch.Tensor:
    """``((a·v + b) mod p) mod buckets`` with ``p = 2^31 - 1`` for int64 ``values >= 0``
    (``a·(v mod p) < 2^62`` fits in int64, so the result is exact)."""
    if values.dtype != torch.int64:
        raise ShapeError(f"categorical values must be int64, got {values.dtype}")
    if (values < 0).any():
        raise ShapeError("categorical values must be non-negative integers")
    if not (0 < a < PRIME and 0 <= b < PRIME):
        raise ConfigError(f"hash parameters need 0 < a < {PRIME} and 0 <= b < {PRIME}, got {a}, {b}")
    return ((a * (values % PRIME) + b) % PRIME) % buckets


def _hash_params(n: int, seed: int) -> list[tuple[int, int]]:
    g = torch.Generator().manual_seed(seed)
    vals = torch.randint(0, PRIME - 1, (n, 2), generator=g).tolist()
    return [(int(a) + 1, int(b)) for a, b in vals]


def _mulmod_ok(buckets: int) -> None:
    if buckets < 1:
        raise ConfigError(f"a hashed table needs at least one row, got {buckets}")


class HashedEmbedding(nn.Module):
    """Base: ``forward(values: int64 (batch, F)) -> (batch, F, dim)``."""

    def __init__(self, n_features: int, rows: int, dim: int, probes: int, table_rows: int,
                 table_dim: int, n_tables: int, seed: int) -> None:
        super().__init__()
        if n_features < 1 or dim < 1 or probes < 1:
            raise ConfigError(f"need n_features, dim, probes >= 1, got {n_features}, {dim}, {probes}")
        _mulmod_ok(table_rows)
        self.n_features, self.rows, self.dim, self.probes = n_features, rows, dim, probes
        self.table_rows = table_rows
        self.tables = nn.Parameter(torch.randn(n_tables, table_rows, table_dim) * 0.05)
        self.hashes = _hash_params(n_features * probes, seed)

    def _check(self, values: torch.Tensor) -> torch.Tensor:
        if values.dim() != 2 or values.shape[1] != self.n_features:
            raise ShapeError(f"expected values of shape (batch, {self.n_features}), "
                             f"got {tuple(values.shape)}")
        return values

    def row_ids(self, values: torch.Tensor) -> torch.Tensor:
        """Hashed rows, shape ``(batch, F, probes)``."""
        values = self._check(values)
        cols = []
        for f in range(self.n_features):
            for k in range(self.probes):
                a, b = self.hashes[f * self.probes + k]
                cols.append(universal_hash(values[:, f], a, b, self.table_rows))
        return torch.stack(cols, 1).view(len(values), self.n_features, self.probes)

    @property
    def n_parameters(self) -> int:
        return self.tables.numel()


@LAYOUTS.register("per-feature")
class PerFeatureTables(HashedEmbedding):
    """One hashed table of ``rows // F`` rows per feature."""

    def __init__(self, n_features: int, rows: int, dim: int, seed: int = 0) -> None:
        super().__init__(n_features, rows, dim, 1, rows // n_features, dim, n_features, seed)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        ids = self.row_ids(values)[..., 0]  # (batch, F)
        feat = torch.arange(self.n_features).expand_as(ids)
        return self.tables[feat, ids]


def split_rows(rows: int, cardinalities: Sequence[int]) -> list[int]:
    """Split ``rows`` among features in proportion to their cardinalities: every feature
    gets at least one row and at most its cardinality (a capped feature's surplus goes to
    the others, in proportion again); the rest is rounded by largest remainder. The sum is
    ``rows`` unless every feature is capped (then it is the sum of the cardinalities)."""
    cards = [int(c) for c in cardinalities]
    if not cards or min(cards) < 1:
        raise ConfigError(f"cardinalities must be >= 1, got {cards}")
    if rows < len(cards):
        raise ConfigError(f"{rows} rows cannot give {len(cards)} features one row each")
    alloc = [1] * len(cards)
    free = [f for f in range(len(cards)) if cards[f] > 1]
    budget = rows - len(cards)
    while free and budget > 0:
        room = {f: cards[f] - alloc[f] for f in free}
        total = sum(cards[f] for f in free)
        share = {f: budget * cards[f] / total for f in free}
        capped = [f for f in free if share[f] >= room[f]]
        if capped:  # these get all they can hold; split the rest again
            for f in capped:
                alloc[f] += room[f]
                budget -= room[f]
            free = [f for f in free if f not in capped]
            continue
        floors = {f: int(share[f]) for f in free}
        for f in free:
            alloc[f] += floors[f]
        left = budget - sum(floors.values())
        for f in sorted(free, key=lambda f: share[f] - floors[f], reverse=True)[:left]:
            alloc[f] += 1
        budget = 0
    return alloc


@LAYOUTS.register("per-feature-prop")
class ProportionalPerFeatureTables(HashedEmbedding):
    """One hashed table per feature, ``rows`` split by cardinality (:func:`split_rows`);
    stored as one stacked table with per-feature row offsets. A feature given as many
    rows as it has values (ids ``0..card-1``) is looked up directly, without collisions."""

    def __init__(self, n_features: int, rows: int, dim: int, cardinalities: Sequence[int] = (),
                 seed: int = 0) -> None:
        if len(cardinalities) != n_features:
            raise ConfigError(f"per-feature-prop needs {n_features} cardinalities, got {len(cardinalities)}")
        self.split = split_rows(rows, cardinalities)
        super().__init__(n_features, rows, dim, 1, sum(self.split), dim, 1, seed)
        self.offsets = [sum(self.split[:f]) for f in range(n_features)]
        self.direct = [self.split[f] >= int(cardinalities[f]) for f in range(n_features)]

    def row_ids(self, values: torch.Tensor) -> torch.Tensor:
        values = self._check(values)
        cols = [self.offsets[f] + (values[:, f] % self.split[f] if self.direct[f] else
                                   universal_hash(values[:, f], *self.hashes[f], self.split[f]))
                for f in range(self.n_features)]
        return torch.stack(cols, 1).unsqueeze(-1)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return self.tables[0][self.row_ids(values)[..., 0]]


@LAYOUTS.register("multiplex")
class MultiplexedTable(HashedEmbedding):
    """One shared table of ``rows`` rows; feature-specific hashes."""

    def __init__(self, n_features: int, rows: int, dim: int, seed: int = 0) -> None:
        super().__init__(n_features, rows, dim, 1, rows, dim, 1, seed)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return self.tables[0][self.row_ids(values)[..., 0]]


@LAYOUTS.register("unified")
class UnifiedEmbedding(HashedEmbedding):
    """Shared table of ``k·rows`` rows x ``dim/k`` columns; ``k`` lookups per feature, concatenated."""

    def __init__(self, n_features: int, rows: int, dim: int, k: int = 2, seed: int = 0) -> None:
        if k < 1 or dim % k:
            raise ConfigError(f"unified embedding needs k >= 1 dividing dim={dim}, got k={k}")
        super().__init__(n_features, rows, dim, k, k * rows, dim // k, 1, seed)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        ids = self.row_ids(values)  # (batch, F, k)
        return self.tables[0][ids].flatten(-2)  # (batch, F, k * dim/k)
