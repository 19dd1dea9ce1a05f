"""I-BERT / I-ViT integer-only encoder (``int-only``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.formats import IntFormat
from mantissa.quant.grid import int_qmax
from mantissa.quant.int_only import StaticIntLinear, install_int_encoder
from mantissa.quant.layers import IntPerTensor
from mantissa.quant.observers import OBSERVERS, build_observer
from mantissa.quant.recipes.base import RECIPES, Recipe, bias_of


@RECIPES.register()
@dataclass(frozen=True)
class IntOnly(Recipe):
    """I-BERT / I-ViT integer-only encoder: int8 weights and static int8 activations, integer
    Shiftmax, ShiftGELU, I-LayerNorm and dyadic requantization for the whole BERT encoder
    (:mod:`mantissa.quant.int_only`). Static activation scales from the calibration text by
    ``calib``: an observer of :mod:`mantissa.quant.observers` (``minmax``, ``percentile``
    (99.99 %), ``mse``, ``kl``) over the whole tensor."""

    name: ClassVar[str] = "int-only"
    summary: ClassVar[str] = "integer-only encoder (I-BERT/I-ViT): int8 matmuls, Shiftmax, ShiftGELU, I-LN"
    needs_calibration: ClassVar[bool] = True
    act_bits: int = 8
    res_bits: int = 16
    calib: str = "percentile"

    def validate(self) -> None:
        if not (4 <= self.act_bits <= 12 and self.act_bits < self.res_bits <= 24):
            raise SpecError(f"recipe 'int-only': need 4 <= act_bits <= 12 and act_bits < res_bits <= 24, "
                            f"got {self.spec()}")
        if self.calib not in OBSERVERS:
            names = ", ".join(n for n, _ in OBSERVERS.items())
            raise SpecError(f"recipe 'int-only': calib must be one of {names}, got {self.calib!r}")

    def _amax(self, x: torch.Tensor) -> float:
        obs = build_observer(self.calib)
        obs.update(x.detach().reshape(1, -1))
        return float(obs.range(IntFormat(self.act_bits))[1].max())

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        act = IntPerTensor(self.act_bits, max(self._amax(inputs), 1e-8) / int_qmax(self.act_bits))
        layer = StaticIntLinear.from_float(linear.weight, bias_of(linear), 8, 0, act)
        with torch.no_grad():
            layer.out_amax = self._amax(layer(inputs))
        return layer

    def prepare(self, model: nn.Module) -> None:
        install_int_encoder(model, self.act_bits, self.res_bits)
