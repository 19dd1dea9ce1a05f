"""4-bit integer weights in groups, optionally int8 activations (``w4-int``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant.layers import IntLinear, IntPerToken
from mantissa.quant.lookup import as_lookup
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of, dividing_group


@RECIPES.register()
@dataclass(frozen=True)
class W4Int(Recipe):
    """Round-to-nearest integer weights, symmetric, one scale per ``group`` inputs; weight-only,
    or with ``act_bits=8`` int8 activations per token (W4A8: the codes multiply on ``torch._int_mm``)."""

    name: ClassVar[str] = "w4-int"
    embeddings: ClassVar[bool] = True
    summary: ClassVar[str] = "weight-only int4 round-to-nearest, group scales (act_bits=8: W4A8 on _int_mm)"
    group: int = 128
    bits: int = 4
    act_bits: int = 0

    def validate(self) -> None:
        if not 2 <= self.bits <= 8 or self.group < 0:
            raise SpecError(f"recipe 'w4-int': bits must be 2..8 and group >= 0 (0 = per channel), "
                            f"got bits={self.bits}, group={self.group}")
        if self.act_bits not in (0, 8):
            raise SpecError(f"recipe 'w4-int': act_bits must be 0 (weight-only) or 8, got {self.act_bits}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        group = dividing_group(self.name, self.group, linear.in_features, fallback=0)
        act = IntPerToken(self.act_bits) if self.act_bits else None
        return IntLinear.from_float(linear.weight, bias_of(linear), self.bits, group, act)

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        group = dividing_group(self.name, self.group, table.embedding_dim, fallback=0)
        return as_lookup(IntLinear.from_float(table.weight, None, self.bits, group), table)
