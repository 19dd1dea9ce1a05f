"""Quotient-remainder compositional embeddings (Shi et al. 2020, "Compositional
Embeddings Using Complementary Partitions for Memory-Efficient Recommendation
Systems", KDD, Sec. 3, Eq. (4); DLRM's ``QREmbeddingBag``).

With ``c`` collisions, id ``i`` is split by the complementary partitions
quotient ``i // c`` and remainder ``i mod c``; two small tables
``W_q (ceil(n/c) x dim)`` and ``W_r (c x dim)`` give

``E(i) = W_q[i // c] ∘ W_r[i mod c]``  with ``∘`` = element-wise product (``op=mult``,
the paper's best) or sum (``op=add``).

Every id gets a unique pair of rows, so no two ids share an embedding as in the
hashing trick. Memory ``(ceil(n/c) + c) x dim x 4`` bytes. ``qr:collisions=4``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import SpecError
from mantissa.tables.base import TABLES, EmbeddingTable, need_int, param_bytes, too_small

OPS = ("mult", "add")


@TABLES.register("qr")
class QRTable(EmbeddingTable):
    """``qr:collisions=c[,op=mult|add]``."""

    name = "qr"

    def __init__(self, n: int, dim: int, collisions: int = 4, op: str = "mult", std: float = 0.1,
                 seed: int = 0) -> None:
        super().__init__(n, dim)
        self.collisions = need_int(collisions, "collisions", f"qr:collisions={collisions}")
        if op not in OPS:
            raise SpecError(f"qr: op={op!r}; accepted: op=mult | op=add")
        self.op = op
        g = torch.Generator().manual_seed(seed)
        n_q = math.ceil(self.n / self.collisions)
        # our initialisation: every lookup starts at the scale of ``full`` (N(0, std^2));
        # for ``mult`` the remainder factors start near 1, for ``add`` both halves share the variance
        s = std if op == "mult" else std / math.sqrt(2)
        self.quotient = nn.Parameter(torch.randn(n_q, self.dim, generator=g) * s)
        r = torch.randn(self.collisions, self.dim, generator=g)
        self.remainder = nn.Parameter(1 + 0.1 * r if op == "mult" else r * s)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        q = F.embedding(torch.div(ids, self.collisions, rounding_mode="floor"), self.quotient)
        r = F.embedding(ids % self.collisions, self.remainder)
        return q * r if self.op == "mult" else q + r

    def memory_bytes(self) -> int:
        return param_bytes(self.quotient, self.remainder)

    @property
    def spec(self) -> str:
        return f"qr:collisions={self.collisions}" + (",op=add" if self.op == "add" else "")

    @staticmethod
    def bytes_for(n: int, dim: int, collisions: int) -> int:
        return 4 * dim * (math.ceil(n / collisions) + collisions)

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        # rows ceil(n/c) + c fall with c up to sqrt(n): the smallest c that fits keeps most rows
        for c in range(1, math.isqrt(n) + 2):
            if cls.bytes_for(n, dim, c) <= budget_bytes:
                return f"qr:collisions={c}"
        raise too_small("qr", budget_bytes, cls.bytes_for(n, dim, math.isqrt(n) + 1))
