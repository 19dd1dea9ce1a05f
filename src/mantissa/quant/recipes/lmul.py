"""L-Mul: linear-complexity multiplication of bfloat16 weights (``lmul``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant.layers import LMulLinear
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class LMul(Recipe):
    """Every linear-layer product by L-Mul with ``mantissa_bits``-bit operands (the exact sum of
    L-Mul products, computed as ``2^m + 3`` GEMMs by :func:`mantissa.arith.lmul_matmul`)."""

    name: ClassVar[str] = "lmul"
    summary: ClassVar[str] = "L-Mul: every linear-layer multiplication by mantissa addition"
    mantissa_bits: int = 4

    def validate(self) -> None:
        if not 1 <= self.mantissa_bits <= 7:  # checked when parsed: before any work or warning
            raise SpecError(f"recipe 'lmul': mantissa_bits must be 1..7 (its weights are stored as "
                            f"bfloat16), got {self.mantissa_bits}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        return LMulLinear.from_float(linear.weight, bias_of(linear), self.mantissa_bits)
