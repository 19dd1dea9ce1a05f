"""ShiftAddLLM: binary-coding quantization with look-up-table matmuls (``bcq``, ``bcq3``, ``bcq2``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant.layers import BCQLinear
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of, dividing_group


@dataclass(frozen=True)
class _BCQ(Recipe):
    name: ClassVar[str] = "bcq"
    bits: ClassVar[int] = 3
    group: int = 128
    lut: bool = True

    def validate(self) -> None:
        if self.group < 1:
            raise SpecError(f"recipe {self.name!r}: group must be >= 1, got {self.group}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        group = dividing_group(self.name, self.group, linear.in_features, fallback=linear.in_features)
        return BCQLinear.from_float(linear.weight, bias_of(linear), self.bits, group, self.lut)


@RECIPES.register()
@dataclass(frozen=True)
class BCQ3(_BCQ):
    """ShiftAddLLM 3-bit binary-coding weights, LUT query-add matmul."""

    name: ClassVar[str] = "bcq3"
    summary: ClassVar[str] = "ShiftAddLLM 3-bit binary coding (BCQ), group scales, LUT matmul"
    bits: ClassVar[int] = 3


@RECIPES.register()
@dataclass(frozen=True)
class BCQ2(_BCQ):
    """ShiftAddLLM 2-bit binary-coding weights, LUT query-add matmul."""

    name: ClassVar[str] = "bcq2"
    summary: ClassVar[str] = "ShiftAddLLM 2-bit binary coding (BCQ), group scales, LUT matmul"
    bits: ClassVar[int] = 2
