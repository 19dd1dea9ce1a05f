"""Mixed-dimension embeddings (Ginart et al. 2021, "Mixed Dimension Embeddings with
Application to Memory-Efficient Recommendation Systems", ISIT; Sec. 3, the
popularity-based rule ``d̄_j = λ p̄_j^α``).

Ids are ranked by frequency (most frequent first) and cut into ``k`` blocks whose
sizes double (block ``j`` holds ``∝ 2^j`` ids, so the rare tail is the largest
block). Block ``j`` stores a ``n_j x d_j`` table and, when ``d_j < dim``, a
projection ``P_j (d_j x dim)``:  ``E(i) = W_j[row(i)] P_j``.
Popular ids get wide rows, rare ids narrow ones: ``d_j = clamp(round(λ p̄_j^α), 1, dim)``
with ``p̄_j`` the mean probability of an id of block ``j``; ``λ`` is solved by
bisection so the table fits a byte budget (:func:`mixed_dims`), ``α = 0.3``
by default (the benchmark's setting).

Memory ``4·Σ_j (n_j d_j + [d_j < dim] d_j·dim)`` bytes, plus ``4·n`` for the
id → rank map when the ids are not already in frequency order.
``mixed-dim:dims=64/32/16/8`` (one width per block, ids assumed frequency-ranked
unless ``counts`` is given).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError, SpecError
from mantissa.tables.base import TABLES, EmbeddingTable, too_small


def block_sizes(n: int, k: int) -> list[int]:
    """``k`` block sizes summing to ``n``, doubling from block to block (each >= 1 when ``n >= k``)."""
    if k < 1 or n < k:
        raise ConfigError(f"mixed-dim: need 1 <= blocks <= n, got blocks={k}, n={n}")
    weights = [2.0 ** j for j in range(k)]
    bounds = [0] + [round(n * sum(weights[: j + 1]) / sum(weights)) for j in range(k)]
    for j in range(1, k + 1):  # at least one id per block
        bounds[j] = max(bounds[j], bounds[j - 1] + 1) if j < k else n
    return [b - a for a, b in zip(bounds, bounds[1:])]


def _check_counts(counts: torch.Tensor | None, n: int) -> torch.Tensor:
    if counts is None:  # frequency-ranked ids: a Zipf profile is all the rule needs
        return 1.0 / torch.arange(1, n + 1, dtype=torch.float64)
    c = torch.as_tensor(counts, dtype=torch.float64)
    if c.shape != (n,) or bool((c < 0).any()) or float(c.sum()) <= 0:
        raise ShapeError(f"mixed-dim: counts must be {n} non-negative frequencies (not all zero), "
                         f"got shape {tuple(c.shape)}")
    return c


def _ranked(counts: torch.Tensor) -> tuple[torch.Tensor, bool]:
    order = torch.sort(counts, descending=True, stable=True).indices
    return order, bool((order == torch.arange(len(order))).all())


def dims_bytes(sizes: list[int], dims: list[int], dim: int) -> int:
    return 4 * sum(nj * dj + (dj * dim if dj < dim else 0) for nj, dj in zip(sizes, dims))


def mixed_dims(n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None,
               blocks: int = 4, alpha: float = 0.3) -> list[int]:
    """Per-block widths ``round(λ p̄_j^α)`` (clamped to ``[1, dim]``) with the largest ``λ`` in budget."""
    c = _check_counts(counts, n)
    order, in_order = _ranked(c)
    sizes = block_sizes(n, blocks)
    p = c[order] / c.sum()
    mean_p = torch.stack([chunk.mean() for chunk in torch.split(p, sizes)]).clamp_min(1e-300)
    extra = 0 if in_order else 4 * n

    def dims(lam: float) -> list[int]:
        return [int(min(dim, max(1, round(lam * float(m) ** alpha)))) for m in mean_p]

    least = dims_bytes(sizes, [1] * blocks, dim) + extra
    if least > budget_bytes:
        raise too_small("mixed-dim", budget_bytes, least)
    lo, hi = 0.0, dim / float(mean_p.min()) ** alpha * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dims_bytes(sizes, dims(mid), dim) + extra <= budget_bytes else (lo, mid)
    return dims(lo)


def _parse_dims(dims: object, dim: int) -> list[int]:
    text = str(dims)
    try:
        out = [int(x) for x in text.split("/")]
    except ValueError:
        out = []
    if not out or any(d < 1 or d > dim for d in out):
        raise SpecError(f"mixed-dim: dims={text!r} must be widths in [1, {dim}] separated by '/', "
                        f"e.g. dims=64/32/16/8")
    return out


@TABLES.register("mixed-dim")
class MixedDimTable(EmbeddingTable):
    """``mixed-dim:dims=d1/d2/.../dk`` — frequency blocks of doubling size with widths ``d_j``."""

    name = "mixed-dim"

    def __init__(self, n: int, dim: int, dims: object = "64/32/16/8", counts: torch.Tensor | None = None,
                 std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        self.dims = _parse_dims(dims, self.dim)
        self.sizes = block_sizes(self.n, len(self.dims))
        order, self.in_order = _ranked(_check_counts(counts, self.n))
        rank = torch.empty(self.n, dtype=torch.int64)
        rank[order] = torch.arange(self.n)
        self.register_buffer("rank", rank, persistent=False)
        self.register_buffer("starts", torch.tensor([0] + self.sizes).cumsum(0), persistent=False)
        g = torch.Generator().manual_seed(seed)
        self.tables = nn.ParameterList()
        self.projections = nn.ParameterList()
        for nj, dj in zip(self.sizes, self.dims):
            # narrow rows are projected up: W ~ N(0, std^2), P ~ N(0, 1/dj) keep entries at full's scale
            self.tables.append(nn.Parameter(torch.randn(nj, dj, generator=g) * std))
            self.projections.append(nn.Parameter(torch.randn(dj, self.dim, generator=g) / dj ** 0.5
                                                 if dj < self.dim else torch.empty(0, self.dim)))

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        r = self.rank[ids]
        block = torch.bucketize(r, self.starts[1:], right=True)
        out = torch.zeros(len(ids), self.dim, dtype=self.tables[0].dtype)
        for j, (w, proj) in enumerate(zip(self.tables, self.projections)):
            sel = (block == j).nonzero().flatten()
            if len(sel):
                rows = F.embedding(r[sel] - self.starts[j], w)
                out = out.index_copy(0, sel, rows @ proj if proj.numel() else rows)
        return out

    def memory_bytes(self) -> int:
        return dims_bytes(self.sizes, self.dims, self.dim) + (0 if self.in_order else 4 * self.n)

    @property
    def spec(self) -> str:
        return "mixed-dim:dims=" + "/".join(map(str, self.dims))

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        return "mixed-dim:dims=" + "/".join(map(str, mixed_dims(n, dim, budget_bytes, counts)))
