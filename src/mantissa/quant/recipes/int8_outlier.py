"""LLM.int8(): vector-wise int8 with float outlier columns (``int8-outlier``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.quant.layers import IntLinear, OutlierInt8Linear
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class Int8Outlier(Recipe):
    """LLM.int8(): vector-wise int8 with the outlier feature columns (|x| >= threshold) in float."""

    name: ClassVar[str] = "int8-outlier"
    summary: ClassVar[str] = "LLM.int8(): int8 vector-wise + float outlier columns (|x| >= threshold)"
    threshold: float = 6.0

    def validate(self) -> None:
        if self.threshold <= 0:
            raise SpecError(f"recipe 'int8-outlier': threshold must be > 0, got {self.threshold}")

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        w = IntLinear.from_float(linear.weight, None, 8, 0)
        return OutlierInt8Linear(w.codes, w.scales, 8, 0, bias_of(linear), None, self.threshold)
