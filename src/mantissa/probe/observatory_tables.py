"""Text tables for the Observatory probes, cut from a scikit-learn dataset.

Cong et al. 2024 ("Observatory: Characterizing Embeddings of Relational Tables", VLDB) measure
table embeddings on tables with known relations. Here they are derived from one dataset whose
rows are rendered as text (:func:`dataset_rows`): sub-tables of chosen rows
(:func:`make_table`), perturbed copies (:func:`perturb_table`, property 7), pairs of tables
sharing a known fraction of rows (:func:`join_pairs`, property 3), a table with a derived
column that the class determines (:func:`fd_table`, property 4), and tables that share one
entity (:func:`entity_tables`, property 6). Everything random draws from the caller's
generator, in call order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mantissa.data import load_sklearn
from mantissa.probe.observatory import Table

#: the Jaccard overlaps of the join pairs (the fraction of shared rows)
JOIN_OVERLAPS = (0.0, 0.25, 0.5, 0.75, 1.0)


def fmt_number(x: float) -> str:
    """A number as a table cell: three significant digits."""
    return f"{x:.3g}"


def dataset_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """All rows of a scikit-learn dataset as text: features (3 s.f.) + target (class name or
    value); the header's underscores become spaces."""
    ds = load_sklearn(name)
    header = [f.replace("_", " ") for f in ds.feature_names]
    if ds.task == "classification":
        header.append("class")
        targets = [ds.target_names[int(t)].replace("_", " ") for t in ds.y]
    else:
        header.append("target")
        targets = [fmt_number(float(t)) for t in ds.y]
    rows = [[fmt_number(float(v)) for v in x] + [t] for x, t in zip(ds.X.tolist(), targets, strict=True)]
    return header, rows


def make_table(name: str, header: Sequence[str], rows: Sequence[Sequence[str]], idx: Sequence[int],
               n_cols: int) -> Table:
    """The rows ``idx`` with the first ``n_cols`` feature columns and the target column."""
    cols = list(range(min(n_cols, len(header) - 1))) + [len(header) - 1]
    return Table.of([header[j] for j in cols], [[rows[i][j] for j in cols] for i in idx], name)


def perturb_table(table: Table, noise: float, gen: torch.Generator) -> Table:
    """Every numeric cell times ``1 + noise * N(0, 1)`` (re-rendered at 3 s.f.); text cells kept."""
    def jitter(cell: str) -> str:
        try:
            v = float(cell)
        except ValueError:
            return cell
        return fmt_number(v * (1 + noise * float(torch.randn(1, generator=gen))))

    return Table.of(table.header, [[jitter(c) for c in row] for row in table.rows], table.name)


def _shuffled(idx: list[int], gen: torch.Generator) -> list[int]:
    return [idx[i] for i in torch.randperm(len(idx), generator=gen).tolist()]


def join_pairs(name: str, header: Sequence[str], rows: Sequence[Sequence[str]], order: Sequence[int], *,
               n_rows: int, n_tables: int, n_cols: int, gen: torch.Generator
               ) -> list[tuple[Table, int, Table, int]]:
    """Column ``j`` of a table (the first ``n_rows`` of ``order``) against column ``j`` of a
    second table sharing a fraction ``f`` of its rows (:data:`JOIN_OVERLAPS`), the rest drawn
    from the rows after the first ``n_rows * n_tables``; up to three feature columns each."""
    base_idx, pool = list(order[:n_rows]), list(order[n_rows * n_tables:])
    left = make_table(name, header, rows, base_idx, n_cols)
    pairs = []
    for f in JOIN_OVERLAPS:
        k = int(round(f * n_rows))
        right = make_table(name, header, rows, _shuffled(base_idx[:k] + pool[: n_rows - k], gen), n_cols)
        pairs += [(left, j, right, j) for j in range(min(3, left.n_cols - 1))]
    return pairs


def fd_table(name: str, header: Sequence[str], rows: Sequence[Sequence[str]], order: Sequence[int], *,
             n_rows: int, n_cols: int) -> Table:
    """A table with the FD ``class -> class code``: the last column ("class code", ``code A``,
    ``code B``, ...) is derived from the class (the one before it); rows from at most two classes
    so that classes repeat inside a small table."""
    classes = sorted({r[-1] for r in rows})
    code = {c: f"code {chr(65 + i)}" for i, c in enumerate(classes)}
    pick = [i for i in order if rows[i][-1] in classes[:2]][:n_rows]
    base = make_table(name, header, rows, pick, n_cols)
    return Table.of([*base.header, "class code"], [[*r, code[r[-1]]] for r in base.rows], name)


def entity_tables(name: str, header: Sequence[str], rows: Sequence[Sequence[str]], order: Sequence[int], *,
                  n_rows: int, n_tables: int, n_cols: int, gen: torch.Generator) -> tuple[str, list[Table]]:
    """The first class name (the entity) and at least two tables that each hold one row of it
    among ``n_rows - 1`` rows of other classes, rows shuffled."""
    entity = sorted({r[-1] for r in rows})[0]
    with_entity = [i for i in order if rows[i][-1] == entity]
    others = [i for i in order if rows[i][-1] != entity]
    tables = []
    for t in range(max(2, n_tables)):
        idx = [with_entity[t]] + others[t * (n_rows - 1):(t + 1) * (n_rows - 1)]
        tables.append(make_table(name, header, rows, _shuffled(idx, gen), n_cols))
    return entity, tables


__all__ = ["JOIN_OVERLAPS", "dataset_rows", "entity_tables", "fd_table", "fmt_number", "join_pairs",
           "make_table", "perturb_table"]
