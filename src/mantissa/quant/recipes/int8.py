"""int8 weights per output channel, int8 activations per token (``int8``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant.layers import IntLinear, IntPerToken
from mantissa.quant.lookup import as_lookup
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class Int8(Recipe):
    """int8 weights (one scale per output channel), int8 activations (one scale per token)."""

    name: ClassVar[str] = "int8"
    embeddings: ClassVar[bool] = True
    summary: ClassVar[str] = "W8A8 integer: per-channel weights, dynamic per-token activations"
    act_bits: int = 8

    def validate(self) -> None:
        if self.act_bits != 0 and not 2 <= self.act_bits <= 16:
            raise SpecError(f"recipe 'int8': act_bits must be 2..16 (0 = weights only), got {self.act_bits}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        act = IntPerToken(self.act_bits) if self.act_bits else None
        return IntLinear.from_float(linear.weight, bias_of(linear), 8, 0, act)

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        return as_lookup(IntLinear.from_float(table.weight, None, 8, 0), table)
