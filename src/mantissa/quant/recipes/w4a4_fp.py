"""LLM-FP4: 4-bit floating-point weights and activations with format search (``w4a4-fp``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.quant import fp_search
from mantissa.quant.layers import FloatLinear, FloatPerTensor
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class W4A4Fp(Recipe):
    """LLM-FP4 W4A4: format + clipping search per layer and pre-shifted exponent bias
    (``search=false``: E2M1 with absmax scales; ``preshift=false``: no per-channel bias)."""

    name: ClassVar[str] = "w4a4-fp"
    summary: ClassVar[str] = "W4A4 float (LLM-FP4): format/clipping search, pre-shifted exponent bias"
    needs_calibration: ClassVar[bool] = True
    search: bool = True
    preshift: bool = True

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        if self.search:
            plan = fp_search.search_layer(linear.weight, inputs, preshift_bias=self.preshift)
        else:
            plan = fp_search.minmax_plan(linear.weight, inputs, "e2m1")
        act = FloatPerTensor(plan.a_fmt, plan.a_scale, plan.shift)
        return FloatLinear.from_float(linear.weight, bias_of(linear), plan.w_fmt, act, plan.shift,
                                      clip=plan.w_clip)
