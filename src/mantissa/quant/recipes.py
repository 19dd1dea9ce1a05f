"""Quantization recipes: typed configs registered by name, chosen by spec string.

A recipe says how to turn one ``nn.Linear`` (and, optionally, the samples of
its inputs seen on calibration text) into a quantized layer, and may adjust
the whole model afterwards (``prepare``). Spec strings work on the command
line: ``int8``, ``fp8``, ``w4-int:group=128``, ``w4a4-fp:search=false``.

>>> r = parse_recipe("w4-int:group=64")
>>> r.spec()
'w4-int:group=64'
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.errors import SpecError
from mantissa.formats import IntFormat
from mantissa.quant import fp_search
from mantissa.quant.grid import int_qmax
from mantissa.quant.int_only import StaticIntLinear, install_int_encoder
from mantissa.quant.layers import (
    BCQLinear,
    FloatLinear,
    FloatPerTensor,
    FloatPerToken,
    IntLinear,
    IntPerTensor,
    IntPerToken,
    LMulLinear,
    OutlierInt8Linear,
    PowerLinear,
)
from mantissa.quant.lookup import as_lookup
from mantissa.quant.observers import OBSERVERS, build_observer
from mantissa.registry import Registry, Spec

RECIPES: Registry[type[Recipe]] = Registry("quant recipe")


@dataclass(frozen=True)
class Recipe:
    """Base recipe. Subclasses are frozen dataclasses; their fields are the spec's keys."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    needs_calibration: ClassVar[bool] = False
    #: whether :meth:`quantize_embedding` quantizes ``nn.Embedding`` tables
    embeddings: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = {"int": int, "float": float, "bool": bool, "str": str}.get(str(f.type))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif (kind is not None and not isinstance(value, kind)) or (
                    kind is int and isinstance(value, bool)):
                raise SpecError(f"recipe {self.name!r}: {f.name} must be {f.type}, got {value!r}")
            if kind is float and not math.isfinite(getattr(self, f.name)):
                raise SpecError(f"recipe {self.name!r}: {f.name} must be a finite number, got {value!r}")
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SpecError` on values out of range (subclasses)."""

    def spec(self) -> str:
        """The spec string that rebuilds this recipe (non-default keys only)."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
              if getattr(self, f.name) != f.default}
        return str(Spec(self.name, (), {k: str(v).lower() if isinstance(v, bool) else v
                                        for k, v in kw.items()}))

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        raise NotImplementedError  # pragma: no cover

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        """The ``nn.Embedding`` ``table`` quantized, one scale per row (recipes with ``embeddings``)."""
        raise NotImplementedError(f"recipe {self.name!r} does not quantize embeddings")  # pragma: no cover

    def prepare(self, model: nn.Module) -> None:
        """Adjust the whole model after its layers are swapped (and again after loading)."""


def parse_recipe(spec: str | Recipe) -> Recipe:
    """A recipe from its spec string (or pass a :class:`Recipe` through)."""
    if isinstance(spec, Recipe):
        return spec
    parsed = Spec.parse(spec)
    cls = RECIPES.get(parsed.name)
    keys = [f.name for f in dataclasses.fields(cls)]
    if parsed.args:
        raise SpecError(f"recipe {parsed.name!r} takes key=value arguments only; keys: "
                        f"{', '.join(keys) or '(none)'}")
    unknown = sorted(set(parsed.kwargs) - set(keys))
    if unknown:
        raise SpecError(f"recipe {parsed.name!r} has no key {', '.join(map(repr, unknown))}; "
                        f"valid keys: {', '.join(keys) or '(none)'}")
    return cls(**parsed.kwargs)


def _bias(linear: nn.Linear) -> torch.Tensor | None:
    return None if linear.bias is None else linear.bias.detach()


@RECIPES.register("int8")
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
        return IntLinear.from_float(linear.weight, _bias(linear), 8, 0, act)

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        return as_lookup(IntLinear.from_float(table.weight, None, 8, 0), table)


@RECIPES.register("fp8")
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
        layer = FloatLinear.from_float(linear.weight, _bias(linear), self.fmt, act)
        layer.bf16 = self.bf16
        return layer

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        return as_lookup(FloatLinear.from_float(table.weight, None, self.fmt), table)


def _dividing_group(recipe: str, group: int, in_features: int, *, fallback: int) -> int:
    """``group`` where it divides the layer's inputs; else ``fallback`` (one scale per output
    channel), with a warning that names the recipe, the group and the width."""
    if not group or in_features % group == 0:
        return group
    warnings.warn(f"recipe {recipe!r}: group {group} does not divide {in_features} input features; "
                  "that layer uses one scale per output channel", stacklevel=3)
    return fallback


@RECIPES.register("w4-int")
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
        group = _dividing_group(self.name, self.group, linear.in_features, fallback=0)
        act = IntPerToken(self.act_bits) if self.act_bits else None
        return IntLinear.from_float(linear.weight, _bias(linear), self.bits, group, act)

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        group = _dividing_group(self.name, self.group, table.embedding_dim, fallback=0)
        return as_lookup(IntLinear.from_float(table.weight, None, self.bits, group), table)


@RECIPES.register("w4a4-int")
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
        return IntLinear.from_float(linear.weight, _bias(linear), self.bits, 0, act, clip=plan.w_clip)


@RECIPES.register("w4a4-fp")
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
        return FloatLinear.from_float(linear.weight, _bias(linear), plan.w_fmt, act, plan.shift,
                                      clip=plan.w_clip)


@RECIPES.register("int8-outlier")
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
        return OutlierInt8Linear(w.codes, w.scales, 8, 0, _bias(linear), None, self.threshold)


@RECIPES.register("nupes4")
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
        return min((PowerLinear.from_float(w, _bias(linear), self.bits, a) for a in grid),
                   key=lambda layer: float((layer.dequantized_weight() - w).pow(2).sum()))


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
        group = _dividing_group(self.name, self.group, linear.in_features, fallback=linear.in_features)
        return BCQLinear.from_float(linear.weight, _bias(linear), self.bits, group, self.lut)


@RECIPES.register("bcq3")
@dataclass(frozen=True)
class BCQ3(_BCQ):
    """ShiftAddLLM 3-bit binary-coding weights, LUT query-add matmul."""

    name: ClassVar[str] = "bcq3"
    summary: ClassVar[str] = "ShiftAddLLM 3-bit binary coding (BCQ), group scales, LUT matmul"
    bits: ClassVar[int] = 3


@RECIPES.register("bcq2")
@dataclass(frozen=True)
class BCQ2(_BCQ):
    """ShiftAddLLM 2-bit binary-coding weights, LUT query-add matmul."""

    name: ClassVar[str] = "bcq2"
    summary: ClassVar[str] = "ShiftAddLLM 2-bit binary coding (BCQ), group scales, LUT matmul"
    bits: ClassVar[int] = 2


@RECIPES.register("lmul")
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
        return LMulLinear.from_float(linear.weight, _bias(linear), self.mantissa_bits)


@RECIPES.register("int-only")
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
        layer = StaticIntLinear.from_float(linear.weight, _bias(linear), 8, 0, act)
        with torch.no_grad():
            layer.out_amax = self._amax(layer(inputs))
        return layer

    def prepare(self, model: nn.Module) -> None:
        install_int_encoder(model, self.act_bits, self.res_bits)


def describe_recipes() -> list[tuple[str, str, str]]:
    """(name, keys with defaults, summary) for every recipe, for help texts and docs."""
    rows = []
    for name, cls in RECIPES.items():
        keys = ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cls))
        rows.append((name, keys, cls.summary))
    return rows


__all__ = ["RECIPES", "Recipe", "describe_recipes", "int_qmax", "parse_recipe"]
