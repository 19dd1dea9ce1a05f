"""Observatory: eight properties of relational-table embeddings.

Cong et al., "Observatory: Characterizing Embeddings of Relational Tables"
(VLDB 2024). A table is serialised row by row for a text encoder
(``h1 | h2 ; v11 | v12 ; ...``); a column's embedding is the mean of the
contextual token states of its header and cells, an entity's (cell's) the mean
of its own tokens — the paper's recipe for BERT-like models. The measures:

1. row-order insignificance and 2. column-order insignificance: the
   multivariate coefficient of variation (MCV, Albert & Zhang 2010,
   ``sqrt(mu^T Sigma mu) / mu^T mu``) of a column's embeddings over permutations
   (lower = more insignificant), and their cosine to the original;
3. join relationship: rank correlation between the cosine of two columns'
   embeddings and the Jaccard overlap of their values;
4. functional dependencies: dispersion of translation vectors ``e(y) - e(x)``
   over rows sharing ``x`` for an FD ``X -> Y``, relative to a non-FD control;
5. sample fidelity: cosine between a column embedded from a row sample and
   from the whole table;
6. entity stability: MCV / mean cosine of one entity embedded in different tables;
7. perturbation robustness: cosine before/after small perturbations;
8. heterogeneous context: cosine of a column embedded alone vs in its table.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from mantissa.errors import DTypeError, ShapeError

ROW_SEP, CELL_SEP = " ; ", " | "


@dataclass(frozen=True)
class Table:
    """A relational table whose header and cells are all text (``str``)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    name: str = ""

    def __post_init__(self) -> None:
        for j, h in enumerate(self.header):
            if not isinstance(h, str):
                raise DTypeError(f"table {self.name!r}: header {j} is a {type(h).__name__}; cells and "
                                 "headers must be str (format numbers first, e.g. table_from_columns)")
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ShapeError(f"table {self.name!r}: row {i} has {len(row)} cells, "
                                 f"the header {len(self.header)}")
            for j, cell in enumerate(row):
                if not isinstance(cell, str):
                    raise DTypeError(
                        f"table {self.name!r}: cell (row {i}, column {self.header[j]!r}) is a "
                        f"{type(cell).__name__}; cells must be str (format numbers first, e.g. f'{{x:.3g}}')")

    @classmethod
    def of(cls, header: Sequence[str], rows: Sequence[Sequence[str]], name: str = "") -> Table:
        return cls(tuple(header), tuple(tuple(r) for r in rows), name)

    @property
    def n_cols(self) -> int:
        return len(self.header)

    def column(self, j: int) -> list[str]:
        return [r[j] for r in self.rows]

    def select_rows(self, idx: Sequence[int]) -> Table:
        return Table(self.header, tuple(self.rows[i] for i in idx), self.name)

    def select_columns(self, idx: Sequence[int]) -> Table:
        return Table(tuple(self.header[j] for j in idx), tuple(tuple(r[j] for j in idx) for r in self.rows),
                     self.name)


def serialize(table: Table) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Row-wise text and the character span ``(row, col, start, end)`` of every
    header (row ``-1``) and cell."""
    parts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    pos = 0
    for r, row in enumerate([table.header, *table.rows]):
        if r:
            parts.append(ROW_SEP)
            pos += len(ROW_SEP)
        for c, cell in enumerate(row):
            if c:
                parts.append(CELL_SEP)
                pos += len(CELL_SEP)
            spans.append((r - 1, c, pos, pos + len(cell)))
            parts.append(cell)
            pos += len(cell)
    return "".join(parts), spans


@dataclass
class TableEmbedding:
    columns: Tensor  # (n_cols, d)
    cells: dict[tuple[int, int], Tensor]  # (row, col) -> (d,), only cells within the encoder's window


class TableEncoder:
    """Column and entity embeddings of tables from a HF encoder (e.g. ``load_minilm()``)."""

    def __init__(self, model, max_length: int = 512, batch_size: int = 8) -> None:
        self.model, self.max_length, self.batch_size = model, max_length, batch_size

    @torch.no_grad()
    def encode(self, tables: Sequence[Table]) -> list[TableEmbedding]:
        out: list[TableEmbedding] = []
        for start in range(0, len(tables), self.batch_size):
            out += self._encode_batch(tables[start : start + self.batch_size])
        return out

    def _encode_batch(self, tables: Sequence[Table]) -> list[TableEmbedding]:
        texts, spans = zip(*(serialize(t) for t in tables), strict=True)
        tok = self.model.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                   return_offsets_mapping=True, return_tensors="pt")
        offsets = tok.pop("offset_mapping")
        self.model.model.eval()
        hidden = self.model.model(**{k: v.to(self.model.device) for k, v in tok.items()}).last_hidden_state
        return [self._pool(hidden[b].float().cpu(), offsets[b], spans[b], tables[b])
                for b in range(len(tables))]

    @staticmethod
    def _pool(hidden: Tensor, offsets: Tensor, spans, table: Table) -> TableEmbedding:
        starts, ends = offsets[:, 0], offsets[:, 1]
        real = ends > starts  # special and padding tokens have empty offsets
        cells: dict[tuple[int, int], Tensor] = {}
        col_tokens: list[list[Tensor]] = [[] for _ in range(table.n_cols)]
        for r, c, s, e in spans:
            sel = real & (starts >= s) & (ends <= e)
            if sel.any():
                vecs = hidden[sel]
                cells[(r, c)] = vecs.mean(0)
                col_tokens[c].append(vecs)
        d = hidden.shape[1]
        nan = torch.full((d,), float("nan"))
        cols = torch.stack([torch.cat(v).mean(0) if v else nan for v in col_tokens])
        return TableEmbedding(cols, cells)


def mcv(x: Tensor) -> float:
    """Multivariate coefficient of variation (Albert & Zhang): ``sqrt(mu' S mu) / mu' mu``."""
    if x.ndim != 2 or len(x) < 2:
        raise ShapeError(f"MCV needs at least 2 embeddings (n, d), got {tuple(x.shape)}")
    xd = x.double()
    mu = xd.mean(0)
    cov = torch.cov(xd.T)
    return float(torch.sqrt(mu @ cov @ mu) / (mu @ mu))


def mean_pairwise_cosine(x: Tensor) -> float:
    u = F.normalize(x.double(), dim=-1)
    sims = [float(u[i] @ u[j]) for i, j in itertools.combinations(range(len(u)), 2)]
    return sum(sims) / len(sims) if sims else float("nan")


def cosine(a: Tensor, b: Tensor) -> float:
    return float(F.cosine_similarity(a.double(), b.double(), dim=-1).mean())


def _perm(n: int, gen: torch.Generator) -> list[int]:
    return torch.randperm(n, generator=gen).tolist()


def order_insignificance(enc: TableEncoder, table: Table, axis: str, n_perm: int,
                         gen: torch.Generator) -> dict[str, float]:
    """Properties 1 (``axis='rows'``) and 2 (``'columns'``): MCV of each column's
    embedding over ``n_perm`` random permutations (plus the original), and the
    mean cosine of the permuted embeddings to the original; averaged over columns."""
    if axis not in ("rows", "columns"):
        raise ValueError(f"axis must be 'rows' or 'columns', got {axis!r}")
    perms = [list(range(len(table.rows) if axis == "rows" else table.n_cols))]
    perms += [_perm(len(perms[0]), gen) for _ in range(n_perm)]
    variants = [table.select_rows(p) if axis == "rows" else table.select_columns(p) for p in perms]
    embs = enc.encode(variants)
    per_col = []
    for j in range(table.n_cols):  # column j of the original table, wherever it moved
        vecs = torch.stack([e.columns[p.index(j)] if axis == "columns" else e.columns[j]
                            for e, p in zip(embs, perms, strict=True)])
        per_col.append((mcv(vecs), cosine(vecs[1:], vecs[0].expand_as(vecs[1:]))))
    n = len(per_col)
    return {"mcv": sum(a for a, _ in per_col) / n, "cos": sum(b for _, b in per_col) / n}


def sample_fidelity(enc: TableEncoder, table: Table, fraction: float, n_samples: int,
                    gen: torch.Generator) -> float:
    """Property 5: cosine of column embeddings from row samples vs the full table."""
    k = max(1, int(round(fraction * len(table.rows))))
    samples = [table.select_rows(sorted(_perm(len(table.rows), gen)[:k])) for _ in range(n_samples)]
    embs = enc.encode([table, *samples])
    return sum(cosine(e.columns, embs[0].columns) for e in embs[1:]) / n_samples


def perturbation_robustness(enc: TableEncoder, table: Table, perturbed: Table) -> float:
    """Property 7: mean cosine of column embeddings before/after a perturbation."""
    a, b = enc.encode([table, perturbed])
    return cosine(a.columns, b.columns)


def heterogeneous_context(enc: TableEncoder, table: Table) -> list[float]:
    """Property 8: per column, cosine of the column embedded alone vs within its table."""
    alone = enc.encode([table.select_columns([j]) for j in range(table.n_cols)])
    full = enc.encode([table])[0]
    return [cosine(alone[j].columns[0], full.columns[j]) for j in range(table.n_cols)]


def entity_stability(enc: TableEncoder, tables: Sequence[Table], entity: str) -> dict[str, float]:
    """Property 6: one entity (cell text) embedded in different tables — MCV and mean
    pairwise cosine of its embeddings (first occurrence per table)."""
    vecs = []
    for table, emb in zip(tables, enc.encode(tables), strict=True):
        where = [(r, c) for r, row in enumerate(table.rows) for c, cell in enumerate(row) if cell == entity]
        hit = next((emb.cells[k] for k in where if k in emb.cells), None)
        if hit is not None:
            vecs.append(hit)
    if len(vecs) < 2:
        raise ShapeError(f"entity {entity!r} is visible in {len(vecs)} of the tables; need at least 2")
    x = torch.stack(vecs)
    return {"mcv": mcv(x), "cos": mean_pairwise_cosine(x)}


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def join_relationship(enc: TableEncoder, pairs: Sequence[tuple[Table, int, Table, int]]) -> dict[str, float]:
    """Property 3: Spearman correlation between the cosine of two columns' embeddings
    and the Jaccard overlap of their value sets, over column pairs."""
    from scipy.stats import spearmanr

    left = enc.encode([p[0] for p in pairs])
    right = enc.encode([p[2] for p in pairs])
    cos = [cosine(lft.columns[p[1]], rgt.columns[p[3]])
           for p, lft, rgt in zip(pairs, left, right, strict=True)]
    jac = [jaccard(p[0].column(p[1]), p[2].column(p[3])) for p in pairs]
    return {"spearman": float(spearmanr(cos, jac).statistic), "mean_cos": sum(cos) / len(cos)}


def _translation_dispersion(table: Table, emb: TableEmbedding, x_col: int, y_col: int) -> float:
    groups: dict[str, list[Tensor]] = {}
    for r, row in enumerate(table.rows):
        if (r, x_col) in emb.cells and (r, y_col) in emb.cells:
            groups.setdefault(row[x_col], []).append(emb.cells[(r, y_col)] - emb.cells[(r, x_col)])
    disp = [1.0 - mean_pairwise_cosine(torch.stack(v)) for v in groups.values() if len(v) >= 2]
    return sum(disp) / len(disp) if disp else float("nan")


def functional_dependency(enc: TableEncoder, table: Table, x_col: int, y_col: int,
                          gen: torch.Generator) -> dict[str, float]:
    """Property 4: for an FD ``X -> Y``, the dispersion (1 - mean pairwise cosine) of
    translations ``e(y) - e(x)`` among rows sharing ``x``; the control shuffles ``Y``
    across rows (same values, no FD). ``ratio`` < 1 means the FD shows in the embeddings."""
    ys = table.column(y_col)
    perm = _perm(len(ys), gen)
    rows = [tuple(ys[perm[i]] if j == y_col else v for j, v in enumerate(row))
            for i, row in enumerate(table.rows)]
    control = Table(table.header, tuple(rows), table.name)
    a, b = enc.encode([table, control])
    fd = _translation_dispersion(table, a, x_col, y_col)
    ctl = _translation_dispersion(control, b, x_col, y_col)
    return {"fd_dispersion": fd, "control_dispersion": ctl, "ratio": fd / ctl if ctl else float("nan")}


def plot_summary(per_dataset: dict[str, dict[str, float]], mean: dict[str, float]) -> object:
    """Two panels: row- vs column-permutation MCV per dataset (properties 1-2), and the mean
    cosine of each cosine-valued property (``row_cos``, ``col_cos``, ``sample_fidelity_cos``,
    ``entity_cos``, ``perturbation_cos``, ``context_cos``; a missing one is NaN)."""
    import math

    from mantissa.plot import figure

    fig, axes = figure(1, 2, figsize=(11, 3.8))
    names = list(per_dataset)
    xs = range(len(names))
    axes[0].bar([x - 0.2 for x in xs], [per_dataset[n]["row_mcv"] for n in names], 0.4,
                label="row permutations")
    axes[0].bar([x + 0.2 for x in xs], [per_dataset[n]["col_mcv"] for n in names], 0.4,
                label="column permutations")
    axes[0].set_xticks(list(xs), names)
    axes[0].set_ylabel("MCV of column embeddings (lower = insignificant)")
    axes[0].legend()
    cos_keys = ["row_cos", "col_cos", "sample_fidelity_cos", "entity_cos", "perturbation_cos", "context_cos"]
    axes[1].barh(cos_keys, [mean.get(k, math.nan) for k in cos_keys])
    axes[1].set_xlim(0, 1)
    axes[1].set_xlabel("mean cosine similarity (MiniLM)")
    return fig
