"""Tensor-train embedding tables (Yin et al. 2021, "TT-Rec: Tensor Train Compression
for Deep Learning Recommendation Model Embeddings", MLSys, Sec. 3, Eq. (1)-(3);
the TT format of Oseledets 2011).

The ``n x dim`` table is viewed as a 3-way tensor with row factors
``n1·n2·n3 >= n`` and column factors ``d1·d2·d3 = dim`` and stored as three cores
``G_k`` of shape ``(n_k, r_{k-1}, d_k, r_k)`` with ranks ``(1, R, R, 1)``:

``E(i)[j] = G_1[i1, :, j1, :] · G_2[i2, :, j2, :] · G_3[i3, :, j3, :]``

with ``i = i1 + n1·(i2 + n2·i3)`` and ``j = (j1·d2 + j2)·d3 + j3`` (the index
split of TT-Rec's reference lookup). A batch contracts the first two cores once
(one GEMM), then makes one small product per distinct id; never the full table.
Memory ``4·(n1·d1·R + n2·R·d2·R + n3·R·d3)`` bytes.
Cores start ``N(0, σ²)`` with ``R²σ⁶ = std²`` so entries start at ``full``'s scale
(TT-Rec's sampled-Gaussian idea). ``tt:rank=8``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.tables.base import TABLES, EmbeddingTable, need_int, too_small


def split_rows(n: int) -> tuple[int, int, int]:
    """Row factors ``(n1, n2, n3)``, ``n1 = n2 = ceil(n^(1/3))``, ``n1·n2·n3 >= n``."""
    a = max(1, round(n ** (1 / 3)))
    while a ** 3 < n:
        a += 1
    while a > 1 and (a - 1) ** 3 >= n:
        a -= 1
    return a, a, max(1, math.ceil(n / (a * a)))


def split_dim(dim: int) -> tuple[int, int, int]:
    """Column factors ``d1·d2·d3 = dim``, as equal as possible."""
    best = (dim, 1, 1)
    for a in range(1, dim + 1):
        if dim % a:
            continue
        for b in range(1, dim // a + 1):
            if (dim // a) % b:
                continue
            c = dim // a // b
            cand = tuple(sorted((a, b, c), reverse=True))
            if max(cand) - min(cand) < max(best) - min(best):
                best = cand  # type: ignore[assignment]
    return best


@TABLES.register("tt")
class TTTable(EmbeddingTable):
    """``tt:rank=R`` — three TT cores, ranks ``(1, R, R, 1)``."""

    name = "tt"

    def __init__(self, n: int, dim: int, rank: int = 8, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        self.rank = need_int(rank, "rank", f"tt:rank={rank}")
        self.rows3, self.dims3 = split_rows(self.n), split_dim(self.dim)
        ranks = (1, self.rank, self.rank, 1)
        sigma = (std / self.rank) ** (1 / 3)
        g = torch.Generator().manual_seed(seed)
        self.cores = nn.ParameterList(
            nn.Parameter(torch.randn(nk, ranks[k], dk, ranks[k + 1], generator=g) * sigma)
            for k, (nk, dk) in enumerate(zip(self.rows3, self.dims3)))

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        n1, n2, _ = self.rows3
        d1, d2, d3 = self.dims3
        r = self.rank
        uniq, inverse = torch.unique(ids, return_inverse=True)  # each distinct id contracted once
        i12, i3 = uniq % (n1 * n2), torch.div(uniq, n1 * n2, rounding_mode="floor")
        # the first two cores contracted once per batch for every (i1, i2): one GEMM
        # (n1·d1, R) x (R, n2·d2·R), reused by all lookups (TT-Rec reuses partial products)
        g12 = self.cores[0].reshape(n1 * d1, r) @ self.cores[1].permute(1, 0, 2, 3).reshape(r, n2 * d2 * r)
        g12 = g12.reshape(n1, d1, n2, d2, r).permute(2, 0, 1, 3, 4).reshape(n1 * n2, d1 * d2, r)
        g3 = F.embedding(i3, self.cores[2].reshape(len(self.cores[2]), -1))
        out = torch.bmm(F.embedding(i12, g12.reshape(n1 * n2, -1)).reshape(-1, d1 * d2, r),
                        g3.reshape(len(uniq), r, d3))  # (u, d1·d2, d3)
        return out.reshape(len(uniq), self.dim)[inverse]

    def memory_bytes(self) -> int:
        return 4 * sum(c.numel() for c in self.cores)

    @property
    def spec(self) -> str:
        return f"tt:rank={self.rank}"

    @staticmethod
    def bytes_for(n: int, dim: int, rank: int) -> int:
        (n1, n2, n3), (d1, d2, d3) = split_rows(n), split_dim(dim)
        return 4 * (n1 * d1 * rank + n2 * rank * d2 * rank + n3 * rank * d3)

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        if cls.bytes_for(n, dim, 1) > budget_bytes:
            raise too_small("tt", budget_bytes, cls.bytes_for(n, dim, 1))
        r = 1
        while cls.bytes_for(n, dim, r + 1) <= budget_bytes and r < 4096:
            r += 1
        return f"tt:rank={r}"
