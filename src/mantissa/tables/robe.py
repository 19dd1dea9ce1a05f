"""ROBE: random offset block embedding (Desai, Chou & Shrivastava 2022, "Random
Offset Block Embedding (ROBE) for Compressed Embedding Tables in Deep Learning
Recommendation Systems", MLSys, Sec. 3, with block size ``Z = dim``, the
benchmark's setting).

All ids share one circular float array ``M`` of ``size`` entries. Id ``i`` reads
the ``dim`` consecutive entries starting at a hashed offset, each with a hashed
sign: ``E(i)[j] = g(i, j) · M[(h(i) + j) mod size]``, ``h`` and ``g`` universal
hashes (:func:`mantissa.tables.multiplex.universal_hash`), ``g ∈ {-1, +1}``.
Overlapping windows share parameters far more finely than whole-row hashing.
Memory ``4·size`` bytes. ``robe:size=100000``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.tables.base import TABLES, EmbeddingTable, need_int, too_small
from mantissa.tables.multiplex import _hash_params, universal_hash


@TABLES.register("robe")
class RobeTable(EmbeddingTable):
    """``robe:size=m`` — one circular array of ``m`` floats."""

    name = "robe"

    def __init__(self, n: int, dim: int, size: int = 100000, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        self.size = need_int(size, "size", f"robe:size={size}")
        g = torch.Generator().manual_seed(seed)
        self.array = nn.Parameter(torch.randn(self.size, generator=g) * std)
        (self.a, self.b), (self.sa, self.sb) = _hash_params(2, seed)
        self.register_buffer("cols", torch.arange(self.dim), persistent=False)

    def slots(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Array positions ``(m, dim)`` and signs ``(m, dim)`` of each id's entries."""
        start = universal_hash(ids, self.a, self.b, self.size)
        pos = (start.unsqueeze(1) + self.cols) % self.size
        sign = universal_hash(ids.unsqueeze(1) * self.dim + self.cols, self.sa, self.sb, 2) * 2 - 1
        return pos, sign

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        uniq, inverse = torch.unique(ids, return_inverse=True)  # hash each distinct id once
        pos, sign = self.slots(uniq)
        return (F.embedding(pos, self.array.unsqueeze(1)).squeeze(-1) * sign)[inverse]

    def memory_bytes(self) -> int:
        return 4 * self.size

    @property
    def spec(self) -> str:
        return f"robe:size={self.size}"

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        size = min(n * dim, int(budget_bytes // 4))
        if size < 1:
            raise too_small("robe", budget_bytes, 4)
        return f"robe:size={size}"
