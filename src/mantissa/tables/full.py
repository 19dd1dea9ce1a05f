"""The uncompressed baseline: one float32 row per id, ``E[i]`` (``n x dim x 4`` bytes)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.tables.base import TABLES, EmbeddingTable, param_bytes, too_small


@TABLES.register("full")
class FullTable(EmbeddingTable):
    """``full`` — a plain embedding table, rows initialised ``N(0, std^2)``."""

    name = "full"

    def __init__(self, n: int, dim: int, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(self.n, self.dim, generator=g) * std)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)

    def memory_bytes(self) -> int:
        return param_bytes(self.weight)

    @property
    def spec(self) -> str:
        return "full"

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        if budget_bytes < n * dim * 4:
            raise too_small("full", budget_bytes, n * dim * 4)
        return "full"
