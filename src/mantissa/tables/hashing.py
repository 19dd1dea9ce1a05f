"""The hashing trick for embedding tables (Weinberger et al. 2009, "Feature Hashing
for Large Scale Multitask Learning", ICML, Sec. 2; as an embedding table:
"hashing trick" of the benchmark of Zhang et al. 2024).

``E(i) = W[h(i)]`` with ``W`` of ``buckets x dim`` and the universal hash
``h(i) = ((a·i + b) mod p) mod buckets`` of :mod:`mantissa.tables.multiplex`
(Carter–Wegman, ``p = 2^31 - 1``): ids that collide share a row. Memory
``buckets x dim x 4`` bytes. ``hashing:buckets=1000``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.tables.base import TABLES, EmbeddingTable, need_int, param_bytes, too_small
from mantissa.tables.multiplex import _hash_params, universal_hash


@TABLES.register("hashing")
class HashingTable(EmbeddingTable):
    """``hashing:buckets=B`` — ``W[h(i)]``, ``B`` shared rows."""

    name = "hashing"

    def __init__(self, n: int, dim: int, buckets: int = 1000, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        self.buckets = need_int(buckets, "buckets", f"hashing:buckets={buckets}")
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(self.buckets, self.dim, generator=g) * std)
        self.a, self.b = _hash_params(1, seed)[0]

    def rows(self, ids: torch.Tensor) -> torch.Tensor:
        """The bucket of each id."""
        return universal_hash(ids, self.a, self.b, self.buckets)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(self.rows(ids), self.weight)

    def memory_bytes(self) -> int:
        return param_bytes(self.weight)

    @property
    def spec(self) -> str:
        return f"hashing:buckets={self.buckets}"

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        buckets = min(n, int(budget_bytes // (4 * dim)))
        if buckets < 1:
            raise too_small("hashing", budget_bytes, 4 * dim)
        return f"hashing:buckets={buckets}"
