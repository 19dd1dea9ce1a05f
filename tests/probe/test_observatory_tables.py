"""Observatory tables cut from a scikit-learn dataset: text cells, sub-tables, perturbations,
join pairs with known overlaps, the FD table and the shared-entity tables."""

import torch

from mantissa.probe.observatory import jaccard
from mantissa.probe.observatory_tables import (
    JOIN_OVERLAPS,
    dataset_rows,
    entity_tables,
    fd_table,
    fmt_number,
    join_pairs,
    make_table,
    perturb_table,
)


def test_dataset_rows_are_text_with_the_class_last():
    header, rows = dataset_rows("iris")
    assert header[-1] == "class" and len(rows) == 150 and all(len(r) == len(header) for r in rows)
    assert all(isinstance(c, str) for r in rows for c in r) and rows[0][-1] == "setosa"
    assert fmt_number(3.14159) == "3.14"


def test_make_table_keeps_the_target_column():
    header, rows = dataset_rows("iris")
    t = make_table("iris", header, rows, [0, 5, 9], n_cols=2)
    assert t.header == (header[0], header[1], "class") and len(t.rows) == 3 and t.rows[1][0] == rows[5][0]


def test_perturb_changes_numbers_only():
    header, rows = dataset_rows("iris")
    t = make_table("iris", header, rows, range(10), n_cols=4)
    p = perturb_table(t, 0.1, torch.Generator().manual_seed(0))
    assert p.column(4) == t.column(4) and p.column(0) != t.column(0)
    assert perturb_table(t, 0.0, torch.Generator().manual_seed(0)).rows == t.rows


def test_join_pairs_share_the_stated_fraction_of_rows():
    header, rows = dataset_rows("iris")
    order = torch.randperm(150, generator=torch.Generator().manual_seed(0)).tolist()
    pairs = join_pairs("iris", header, rows, order, n_rows=8, n_tables=2, n_cols=3,
                       gen=torch.Generator().manual_seed(1))
    assert len(pairs) == len(JOIN_OVERLAPS) * 3
    left, _, right, _ = pairs[0]
    assert left.rows[0] == tuple(make_table("iris", header, rows, order[:1], 3).rows[0])
    shared = [len(set(left.rows) & set(r.rows)) for _, j, r, _ in pairs if j == 0]
    assert shared[0] <= shared[-1] == 8
    assert jaccard(left.column(0), pairs[-1][2].column(0)) == 1.0


def test_fd_and_entity_tables():
    header, rows = dataset_rows("iris")
    order = list(range(150))[::-1]
    fd = fd_table("iris", header, rows, order, n_rows=10, n_cols=2)
    assert fd.header[-1] == "class code" and len({r[-2] for r in fd.rows}) <= 2
    assert all((r[-2] == "setosa") == (r[-1] == "code A") for r in fd.rows)
    entity, tables = entity_tables("iris", header, rows, order, n_rows=6, n_tables=1, n_cols=2,
                                   gen=torch.Generator().manual_seed(0))
    assert entity == "setosa" and len(tables) == 2
    assert all(sum(r[-1] == entity for r in t.rows) == 1 and len(t.rows) == 6 for t in tables)
