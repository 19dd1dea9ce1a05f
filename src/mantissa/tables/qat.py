"""Quantization-aware training of an embedding table with a learned step size
(LSQ: Esser et al. 2020, "Learned Step Size Quantization", ICLR, Eq. 1-3, via
:class:`mantissa.quant.LSQ`; in the benchmark of Zhang et al. 2024 the
low-precision-training family is ALPT, Li et al. 2023, "Adaptive Low-Precision
Training for Embeddings in Click-Through Rate Prediction", AAAI, which also
learns the step).

Every looked-up row is fake-quantized in the forward pass,
``ŵ = round(clamp(w/s, -2^(b-1), 2^(b-1)-1))·s`` with one learned step ``s`` for the
table and straight-through gradients, so the model trains against the values it
will be served with; :meth:`finalize` stores the codes. Unlike ALPT, the float
master copy is kept while training (we count deployed memory, not training
memory): ``n·ceil(dim·b/8) + 4`` bytes. ``qat:bits=4`` (``2 <= b <= 16``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, SpecError
from mantissa.quant import LSQ
from mantissa.tables.base import TABLES, EmbeddingTable, need_int, too_small


@TABLES.register("qat")
class QATTable(EmbeddingTable):
    """``qat:bits=b`` — LSQ fake quantization of the rows while training, ``b``-bit codes after."""

    name = "qat"

    def __init__(self, n: int, dim: int, bits: int = 8, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        self.bits = need_int(bits, "bits", f"qat:bits={bits}", low=2)
        if self.bits > 16:
            raise SpecError(f"qat: bits={bits}; accepted 2..16")
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(self.n, self.dim, generator=g) * std)
        self.lsq = LSQ(f"int{self.bits}" if self.bits in (2, 4, 8, 16) else f"int:{self.bits}")
        with torch.no_grad():  # LSQ's step initialisation, 2·mean|w|/sqrt(Qp), on the whole table
            self.lsq(self.weight)
        self.frozen = False

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        rows = F.embedding(ids, self.weight)
        return rows if self.frozen else self.lsq(rows)

    def finalize(self) -> None:
        if not self.frozen:
            with torch.no_grad():
                self.weight.copy_(self.lsq(self.weight))
            self.weight.requires_grad_(False)
            self.lsq.step.requires_grad_(False)
            self.frozen = True

    def codes(self) -> torch.Tensor:
        """The signed integer codes ``ŵ / s`` that are stored (after :meth:`finalize`)."""
        if not self.frozen:
            raise ConfigError(f"{self.spec}: call finalize() before codes()")
        return torch.round(self.weight.detach() / self.lsq.step.detach()).to(torch.int32)

    @staticmethod
    def bytes_for(n: int, dim: int, bits: int) -> int:
        return n * math.ceil(dim * bits / 8) + 4

    def memory_bytes(self) -> int:
        return self.bytes_for(self.n, self.dim, self.bits)

    @property
    def spec(self) -> str:
        return f"qat:bits={self.bits}"

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        fits = [b for b in range(2, 17) if cls.bytes_for(n, dim, b) <= budget_bytes]
        if not fits:
            raise too_small("qat", budget_bytes, cls.bytes_for(n, dim, 2))
        return f"qat:bits={max(fits)}"
