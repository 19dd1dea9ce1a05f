"""Post-training uniform quantization of an embedding table (Guan et al. 2019,
"Post-Training 4-bit Quantization on Embedding Tables", NeurIPS workshop on
Energy Efficient ML; Sec. 2: row-wise affine quantization with a float scale
and bias per row; the INT8/INT16 baseline of Zhang et al. 2024 uses one scale
for the whole table).

The table trains as a plain float table; :meth:`finalize` quantizes it once with
:mod:`mantissa.quant`'s affine quantizer ``Q(w) = clamp(round(w/S) + Z, 0, 2^b - 1)``,
``ŵ = S (Q(w) - Z)`` (Gholami et al., Eq. 2-5), one ``(S, Z)`` per row
(``per=row``) or per table (``per=tensor``), and serves ``ŵ`` from then on.
Memory ``n·ceil(dim·b/8)`` bytes of packed codes + 8 bytes (float32 ``S`` and
``Z``) per row or per table. ``quant:bits=4`` (row-wise), ``quant:bits=8,per=tensor``.
"""

from __future__ import annotations

import math

import torch

from mantissa.errors import ConfigError, SpecError
from mantissa.quant import parse_quantizer
from mantissa.tables.base import TABLES, PostTrainingTable, need_int, too_small

PER = ("row", "tensor")


@TABLES.register("quant")
class QuantizedTable(PostTrainingTable):
    """``quant:bits=b[,per=row|tensor]`` — float while training, ``b``-bit codes after ``finalize``."""

    name = "quant"

    def __init__(self, n: int, dim: int, bits: int = 8, per: str = "row", std: float = 0.1,
                 seed: int = 0) -> None:
        super().__init__(n, dim, std, seed)
        self.bits = need_int(bits, "bits", f"quant:bits={bits}")
        if self.bits > 16:
            raise SpecError(f"quant: bits={bits}; accepted 1..16 (float32 needs no quantizer)")
        if per not in PER:
            raise SpecError(f"quant: per={per!r}; accepted: per=row | per=tensor")
        self.per = per
        self.quantizer = parse_quantizer(f"uint:{self.bits}" + (",channel" if per == "row" else "")
                                         + ",sym=false")

    def compress(self, weight: torch.Tensor) -> torch.Tensor:
        qt = self.quantizer.quantize(weight)
        self._codes = qt.q.to(torch.int32)
        return qt.dequantize()

    def codes(self) -> torch.Tensor:
        """The integer codes ``Q(w)`` in ``[0, 2^bits)`` that are stored (after :meth:`finalize`)."""
        if not self.compressed:
            raise ConfigError(f"{self.spec}: call finalize() before codes()")
        return self._codes

    @staticmethod
    def bytes_for(n: int, dim: int, bits: int, per: str) -> int:
        return n * math.ceil(dim * bits / 8) + 8 * (n if per == "row" else 1)

    def memory_bytes(self) -> int:
        return self.bytes_for(self.n, self.dim, self.bits, self.per)

    @property
    def spec(self) -> str:
        return f"quant:bits={self.bits}" + (",per=tensor" if self.per == "tensor" else "")

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        """Most bits that fit; row-wise scales when they cost no bit, else one scale per table."""
        best: tuple[int, int, str] | None = None
        for bits in range(1, 17):
            for rank, per in enumerate(("tensor", "row")):
                if cls.bytes_for(n, dim, bits, per) <= budget_bytes:
                    best = max(best or (bits, rank, per), (bits, rank, per))
        if best is None:
            raise too_small("quant", budget_bytes, cls.bytes_for(n, dim, 1, "tensor"))
        bits, _, per = best
        return f"quant:bits={bits}" + (",per=tensor" if per == "tensor" else "")
