"""4-bit integer weights and activations (``w4a4-int``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant import fp_search
from mantissa.quant.layers import IntLinear, IntPerTensor
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class W4A4Int(Recipe):
    """W4A4 integer: per-channel weights, per-tensor static activations, calibrated by
    ``calib=minmax`` (absmax) or ``calib=mse`` (clipping searched on the layer output)."""

    name: ClassVar[str] = "w4a4-int"
    summary: ClassVar[str] = "W4A4 integer, per-channel weights, static per-tensor activations"
    needs_calibration: ClassVar[bool] = True
    calib: str = "mse"
    bits: int = 4

    def validate(self) -> None:
        if self.calib not in ("minmax", "mse"):
            raise SpecError(f"recipe 'w4a4-int': calib must be 'minmax' or 'mse', got {self.calib!r}")
        if not 2 <= self.bits <= 8:
            raise SpecError(f"recipe 'w4a4-int': bits must be 2..8, got {self.bits}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        fmt = f"int{self.bits}"
        plan = (fp_search.minmax_plan(linear.weight, inputs, fmt) if self.calib == "minmax"
                else fp_search.search_layer(linear.weight, inputs, (fmt,), preshift_bias=False))
        act = IntPerTensor(self.bits, plan.a_scale)
        return IntLinear.from_float(linear.weight, bias_of(linear), self.bits, 0, act, clip=plan.w_clip)
