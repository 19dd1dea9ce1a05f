"""Magnitude pruning of an embedding table during training (DeepLight: Deng et al.
2021, "DeepLight: Deep Lightweight Feature Interactions for Accelerating CTR
Predictions", WSDM, Sec. 4.2 — structural pruning of the embedding layer; the
gradual sparsity schedule is Zhu & Gupta 2018, "To prune, or not to prune",
Eq. (1)).

The table is a full ``n x dim`` matrix ``W`` with a 0/1 mask ``M``; the lookup is
``(W ∘ M)[i]``. After each optimizer step the target sparsity rises as
``s_t = s_f (1 - (1 - (t - t0)/(t1 - t0))^3)`` between ``t0 = 10 %`` and
``t1 = 60 %`` of the steps (``s_f = 1 - keep``) and, every 1 % of the steps,
the mask keeps the ``(1 - s_t)·n·dim`` entries of largest ``|W|`` (pruned
entries are zeroed and stay pruned). DeepLight's own schedule,
``s_t = s_f (1 - 0.99^(t/100))``, needs tens of thousands of steps; the cubic
ramp reaches ``s_f`` within a short run.

Memory is the smaller of two honest sparse encodings of the kept entries:
CSR (4-byte value + column index of ``ceil(log2(dim)/8)`` bytes per entry,
``4·(n+1)`` row offsets) or a bitmap (``n·dim/8`` bytes + 4 per entry).
``pruning:keep=0.25`` keeps a quarter of the entries.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.tables.base import TABLES, EmbeddingTable, need_fraction, too_small

START, END, EVERY = 0.1, 0.6, 0.01


def sparse_bytes(n: int, dim: int, nnz: int) -> int:
    """The smaller of CSR and bitmap storage for ``nnz`` float32 entries of an ``n x dim`` matrix."""
    col_bytes = max(1, math.ceil(math.log2(max(dim, 2)) / 8))
    csr = nnz * (4 + col_bytes) + 4 * (n + 1)
    bitmap = math.ceil(n * dim / 8) + 4 * nnz
    return min(csr, bitmap)


def cubic_sparsity(step: int, total: int, final: float) -> float:
    """Zhu & Gupta's gradual schedule between ``START`` and ``END`` of ``total`` steps."""
    t0, t1 = START * total, END * total
    frac = min(1.0, max(0.0, (step - t0) / max(t1 - t0, 1.0)))
    return final * (1 - (1 - frac) ** 3)


@TABLES.register("pruning")
class PrunedTable(EmbeddingTable):
    """``pruning:keep=k`` — magnitude-pruned full table keeping a fraction ``k`` of entries."""

    name = "pruning"

    def __init__(self, n: int, dim: int, keep: float = 0.25, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        self.keep = need_fraction(keep, "keep", f"pruning:keep={keep}")
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(self.n, self.dim, generator=g) * std)
        self.register_buffer("mask", torch.ones(self.n, self.dim, dtype=torch.bool))

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight) * self.mask[ids]

    def prune_to(self, keep: float) -> None:
        """Keep the ``round(keep·n·dim)`` entries of largest magnitude among the unpruned ones."""
        k = max(0, min(self.mask.numel(), round(keep * self.mask.numel())))
        with torch.no_grad():
            mag = (self.weight.abs() * self.mask).flatten()
            new = torch.zeros_like(mag, dtype=torch.bool)
            new[torch.topk(mag, k).indices] = True
            self.mask.copy_(new.view_as(self.mask))
            self.weight.mul_(self.mask)

    def on_step(self, step: int, total: int) -> None:
        every = max(1, round(EVERY * total))
        if step % every == 0 or step >= END * total:
            target = 1 - cubic_sparsity(step, total, 1 - self.keep)
            if target < self.density - 1e-12:
                self.prune_to(target)

    def finalize(self) -> None:
        if self.density > self.keep + 1e-12:
            self.prune_to(self.keep)

    @property
    def density(self) -> float:
        return float(self.mask.float().mean())

    def memory_bytes(self) -> int:
        return sparse_bytes(self.n, self.dim, int(self.mask.sum()))

    @property
    def spec(self) -> str:
        return f"pruning:keep={self.keep:g}"

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        total = n * dim
        if sparse_bytes(n, dim, 1) > budget_bytes:
            raise too_small("pruning", budget_bytes, sparse_bytes(n, dim, 1))
        lo, hi = 1, total  # largest nnz within budget (bytes grow with nnz)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if sparse_bytes(n, dim, mid) <= budget_bytes else (lo, mid - 1)
        return f"pruning:keep={math.floor(lo / total * 1e6) / 1e6:g}"
