"""fp8 (e4m3) weights and activations (``fp8``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.quant.layers import FloatLinear, FloatPerToken
from mantissa.quant.lookup import as_lookup
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class Fp8(Recipe):
    """float8 weights (per-channel scale) and activations (per-token scale). ``bf16=true``: the
    grid values multiply on a bfloat16 matmul (exact products, float32 sums, the output rounded
    to bfloat16); ``bf16=false``: the fake-quantized product in float32."""

    name: ClassVar[str] = "fp8"
    embeddings: ClassVar[bool] = True
    summary: ClassVar[str] = "W8A8 float8_e4m3fn: per-channel weights, dynamic per-token activations"
    fmt: str = "float8_e4m3fn"
    act: bool = True
    bf16: bool = True

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        act = FloatPerToken(self.fmt) if self.act else None
        layer = FloatLinear.from_float(linear.weight, bias_of(linear), self.fmt, act)
        layer.bf16 = self.bf16
        return layer

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        return as_lookup(FloatLinear.from_float(table.weight, None, self.fmt), table)
