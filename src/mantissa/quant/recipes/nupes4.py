"""NUPES: power-quantized 4-bit weights (``nupes4``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant.layers import PowerLinear
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class Nupes(Recipe):
    """NUPES power-exponent weights, weight-only, per-channel scales; the exponent ``a``
    is chosen per layer from a grid by weight MSE (``a=0`` searches, else fixed)."""

    name: ClassVar[str] = "nupes4"
    summary: ClassVar[str] = "weight-only 4-bit NUPES power grid sign(x)|x|^a, exponent per layer"
    bits: int = 4
    a: float = 0.0

    def validate(self) -> None:
        if not 2 <= self.bits <= 8 or self.a < 0:
            raise SpecError(f"recipe 'nupes4': bits must be 2..8 and a >= 0 (0 = searched), "
                            f"got bits={self.bits}, a={self.a}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        grid = [self.a] if self.a else [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        w = linear.weight.detach()
        return min((PowerLinear.from_float(w, bias_of(linear), self.bits, a) for a in grid),
                   key=lambda layer: float((layer.dequantized_weight() - w).pow(2).sum()))
