"""Quantized replacements for ``torch.nn.Linear``, with a packed storage form.

Every layer here holds its weight as *integer codes + scales* (the honest
compressed form) and dequantizes on the fly; activations may be fake-quantized
on the way in (per token, or per tensor with a calibrated scale). Each layer
kind is registered in :data:`LAYERS` so that :mod:`mantissa.quant.saving` can
rebuild it from ``state()`` = (tensors, JSON meta) without pickling code:

* :class:`IntLinear` — symmetric integer weights, per output channel or per
  group of input columns (round to nearest), optional int activations;
* :class:`FloatLinear` — ExMy floating-point weight codes with a real-valued
  per-channel scale (= a real exponent bias, LLM-FP4 eq. 4) and an optional
  per-input-column power-of-two shift (LLM-FP4's pre-shifted exponent bias),
  optional float activations;
* :class:`OutlierInt8Linear` (LLM.int8()), :class:`PowerLinear` (NUPES),
  :class:`BCQLinear` (ShiftAddLLM, LUT matmul), :class:`LMulLinear` (L-Mul):
  the kernels themselves live in :mod:`mantissa.arith` / :mod:`mantissa.formats`.

The number formats themselves come from :mod:`mantissa.quant.grid`, the one
adapter onto :mod:`mantissa.formats`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn

from mantissa.errors import ConfigError, CorruptFileError, ShapeError
from mantissa.formats.bits import pack_bits, unpack_bits, unpack_signs
from mantissa.quant.grid import get_grid, int_qmax
from mantissa.registry import Registry

LAYERS: Registry[type[QuantLinear]] = Registry("quantized layer")
ACTS: Registry[type[ActQuant]] = Registry("activation quantizer")


# --------------------------------------------------------------------------- activations


class ActQuant(nn.Module):
    """Fake-quantizes a layer's input. ``state()`` / ``from_state`` for saving."""

    kind: ClassVar[str] = "none"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {}, {"kind": self.kind}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> ActQuant:
        return cls()


ACTS.add("none", ActQuant)


@ACTS.register("int-token")
class IntPerToken(ActQuant):
    """Dynamic symmetric integer quantization, one absmax scale per token (row)."""

    kind = "int-token"

    def __init__(self, bits: int = 8) -> None:
        super().__init__()
        self.bits = int(bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = int_qmax(self.bits)
        scale = x.abs().amax(-1, keepdim=True).clamp_min(1e-12) / q
        return (x / scale).round().clamp(-q, q) * scale

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {}, {"kind": self.kind, "bits": self.bits}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> ActQuant:
        return cls(meta["bits"])


@ACTS.register("int-tensor")
class IntPerTensor(ActQuant):
    """Static symmetric integer quantization with one calibrated scale."""

    kind = "int-tensor"

    def __init__(self, bits: int, scale: float) -> None:
        super().__init__()
        self.bits = int(bits)
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = int_qmax(self.bits)
        return (x / self.scale).round().clamp(-q, q) * self.scale

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"scale": self.scale}, {"kind": self.kind, "bits": self.bits}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> ActQuant:
        return cls(meta["bits"], float(tensors["scale"]))


@ACTS.register("float-token")
class FloatPerToken(ActQuant):
    """Dynamic float quantization (e.g. e4m3): per-token scale maps absmax to the format's max."""

    kind = "float-token"

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.fmt = fmt
        self.grid = get_grid(fmt)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.abs().amax(-1, keepdim=True).clamp_min(1e-12) / self.grid.max
        return self.grid.quantize(x / scale) * scale

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {}, {"kind": self.kind, "fmt": self.fmt}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> ActQuant:
        return cls(meta["fmt"])


@ACTS.register("float-tensor")
class FloatPerTensor(ActQuant):
    """Static float quantization with one real scale (a real-valued exponent bias) and an
    optional per-channel power-of-two pre-shift ``2**shift`` (LLM-FP4 §4.2): the channel
    ``j`` is multiplied by ``2**shift[j]`` before quantization; the layer's weight column
    carries ``2**-shift[j]`` so the product is unchanged."""

    kind = "float-tensor"

    def __init__(self, fmt: str, scale: float, shift: torch.Tensor | None = None) -> None:
        super().__init__()
        self.fmt = fmt
        self.grid = get_grid(fmt)
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.register_buffer("shift", None if shift is None else shift.to(torch.int8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift is not None:
            x = x * torch.exp2(self.shift.to(x.dtype))
        return self.grid.quantize(x / self.scale) * self.scale

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {"scale": self.scale}
        if self.shift is not None:
            tensors["shift"] = self.shift
        return tensors, {"kind": self.kind, "fmt": self.fmt}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> ActQuant:
        return cls(meta["fmt"], float(tensors["scale"]), tensors.get("shift"))


def act_from_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> ActQuant:
    return ACTS.get(meta.get("kind", "none")).from_state(tensors, meta)


# --------------------------------------------------------------------------- layers


def _float_state(module: nn.Module, state: dict[str, Any], prefix: str, _meta: Any) -> None:
    """State-dict hook: drop the activation quantizer's buffers (``act.*``), which a float
    layer of the original kind does not have."""
    for key in [k for k in state if k.startswith(prefix + "act.")]:
        del state[key]


class QuantLinear(nn.Module):
    """Base of the quantized linear layers: ``y = act(x) @ dequant(W).T + b``."""

    kind: ClassVar[str]

    def __init__(self, in_features: int, out_features: int, bias: torch.Tensor | None,
                 act: ActQuant | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone().float(),
                                                           requires_grad=False)
        self.act = act or ActQuant()
        #: True when the layer replaced a Hugging Face ``Conv1D`` (weight stored as (in, out))
        self.transposed = False
        #: set (to ``{"padding_idx": ...}``) when the layer is an embedding table: one row per token
        self.lookup: dict[str, Any] | None = None
        self._register_state_dict_hook(_float_state)

    # subclasses implement these three
    def dequantized_weight(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def weight_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def from_weight_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                          bias: torch.Tensor | None, act: ActQuant) -> QuantLinear:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.lookup is not None:
            return nn.functional.embedding(x, self._w_cache(), self.lookup.get("padding_idx"))
        return nn.functional.linear(self.act(x), self._w_cache(), self.bias)

    def _w_cache(self) -> torch.Tensor:
        w = getattr(self, "_w", None)
        if w is None:
            w = self.dequantized_weight()
            object.__setattr__(self, "_w", w)  # plain attribute: not saved, not a buffer
        return w

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        """``state_dict()`` holds the *dequantized* weight under the original layer's keys
        (``weight``, ``bias``; a ``Conv1D``'s (in, out) layout kept), so that another library's
        ``save_pretrained`` / ``save`` of a model quantized in place reloads correctly."""
        w = self.dequantized_weight().detach()
        destination[prefix + "weight"] = (w.T if self.transposed else w).contiguous()
        if self.bias is not None:
            destination[prefix + "bias"] = self.bias if keep_vars else self.bias.detach()

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, meta = self.weight_state()
        a_tensors, a_meta = self.act.state()
        tensors = {f"w.{k}": v for k, v in tensors.items()}
        tensors.update({f"a.{k}": v for k, v in a_tensors.items()})
        if self.bias is not None:
            tensors["bias"] = self.bias.detach()
        meta = {"kind": self.kind, "in": self.in_features, "out": self.out_features,
                "weight": meta, "act": a_meta}
        if self.transposed:
            meta["transposed"] = True
        if self.lookup is not None:
            meta["lookup"] = dict(self.lookup)
        return tensors, meta

    @staticmethod
    def from_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> QuantLinear:
        cls = LAYERS.get(meta["kind"])
        w = {k[2:]: v for k, v in tensors.items() if k.startswith("w.")}
        a = {k[2:]: v for k, v in tensors.items() if k.startswith("a.")}
        act = act_from_state(a, meta.get("act", {}))
        layer = cls.from_weight_state(w, {**meta["weight"], "in": meta["in"], "out": meta["out"]},
                                      tensors.get("bias"), act)
        layer.transposed = bool(meta.get("transposed", False))
        layer.lookup = meta.get("lookup")
        return layer

    def storage_bits(self) -> int:
        """Bits this layer's weight occupies on disk (codes + scales, not the bias)."""
        tensors, _ = self.weight_state()
        return sum(t.numel() * t.element_size() * 8 for t in tensors.values())

    def extra_repr(self) -> str:
        if self.lookup is not None:
            return f"embedding: rows={self.out_features}, dim={self.in_features}"
        return f"in={self.in_features}, out={self.out_features}, act={self.act.kind}"


@LAYERS.register("int")
class IntLinear(QuantLinear):
    """Symmetric ``bits``-bit integer weights; one scale per output channel (``group=0``)
    or per ``group`` consecutive input columns of each output channel."""

    kind = "int"
    extra_meta: ClassVar[tuple[str, ...]] = ()  # float attributes of subclasses saved in the meta

    def __init__(self, codes: torch.Tensor, scales: torch.Tensor, bits: int, group: int,
                 bias: torch.Tensor | None, act: ActQuant | None = None) -> None:
        out_f, in_f = codes.shape
        super().__init__(in_f, out_f, bias, act)
        self.bits, self.group = int(bits), int(group)
        self.register_buffer("codes", codes.to(torch.int8))
        self.register_buffer("scales", scales.float())

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None, bits: int, group: int = 0,
                   act: ActQuant | None = None, clip: torch.Tensor | float = 1.0) -> IntLinear:
        w = weight.detach().float()
        out_f, in_f = w.shape
        g = group or in_f
        if in_f % g:
            raise ShapeError(f"group size {group} does not divide the {in_f} input features")
        wg = w.reshape(out_f, in_f // g, g)
        q = int_qmax(bits)
        clip_t = torch.as_tensor(clip, dtype=torch.float32).reshape(-1, 1) if torch.is_tensor(clip) else clip
        absmax = wg.abs().amax(-1) * clip_t
        scales = absmax.clamp_min(1e-12) / q
        codes = (wg / scales.unsqueeze(-1)).round().clamp(-q, q).reshape(out_f, in_f)
        return cls(codes, scales, bits, group, bias, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._integer_kernel():
            return self._int8_forward(x)
        return super().forward(x)

    def _integer_kernel(self) -> bool:
        """W8A8 / W4A8 (codes of at most 8 bits) with int8 activations per token: int8 × int8 ->
        int32 matmuls give the fake-quantized product exactly (up to float32 rounding of the
        rescale), one per group of input columns."""
        return (self.lookup is None and self.bits <= 8 and type(self.act) is IntPerToken
                and self.act.bits == 8)

    def _int8_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-token int8 codes (``round(x / s)``, ``s = absmax / 127``: the codes of
        :class:`IntPerToken`) in one pass, ``_int_mm`` per group, then the rescale and bias."""
        from mantissa.arith.int8 import int8_matmul

        codes_t = getattr(self, "_codes_t", None)
        if codes_t is None:
            codes_t = self.codes.T.contiguous()
            object.__setattr__(self, "_codes_t", codes_t)  # plain attribute: not saved
        x2 = x.reshape(-1, self.in_features).float()
        s = x2.abs().amax(-1, keepdim=True).div_(int_qmax(8))
        q = x2.div(s.clamp_min(torch.finfo(torch.float32).tiny)).round_().to(torch.int8)  # |x / s| <= 127
        g = self.group or self.in_features
        scales = self.scales.reshape(self.out_features, -1)
        y = int8_matmul(q[:, :g], codes_t[:g]).float().mul_(scales[:, 0])
        for i in range(1, self.in_features // g):
            part = int8_matmul(q[:, i * g:(i + 1) * g], codes_t[i * g:(i + 1) * g]).float()
            y.addcmul_(part, scales[:, i])
        y.mul_(s)
        return (y if self.bias is None else y.add_(self.bias)).to(x.dtype).reshape(
            *x.shape[:-1], self.out_features)

    def dequantized_weight(self) -> torch.Tensor:
        out_f, in_f = self.codes.shape
        g = self.group or in_f
        w = self.codes.float().reshape(out_f, in_f // g, g) * self.scales.unsqueeze(-1)
        return w.reshape(out_f, in_f)

    def weight_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        offset = 1 << (self.bits - 1)
        packed = pack_bits(self.codes.to(torch.int64) + offset, self.bits)
        extra = {k: getattr(self, k) for k in self.extra_meta}
        return {"codes": packed, "scales": self.scales}, {"bits": self.bits, "group": self.group, **extra}

    @classmethod
    def from_weight_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                          bias: torch.Tensor | None, act: ActQuant) -> QuantLinear:
        bits, n = int(meta["bits"]), meta["out"] * meta["in"]
        codes = unpack_bits(tensors["codes"], bits, n) - (1 << (bits - 1))
        layer = cls(codes.reshape(meta["out"], meta["in"]), tensors["scales"], bits, meta["group"],
                    bias, act)
        for key in cls.extra_meta:
            setattr(layer, key, float(meta[key]))
        return layer


@LAYERS.register("float")
class FloatLinear(QuantLinear):
    """Floating-point (ExMy) weight codes with one real scale per output channel.

    ``w[i, j] = decode(code[i, j]) * scale[i]``: the scale is the real-valued
    exponent bias of LLM-FP4 eq. 4. With LLM-FP4's pre-shifted exponent bias
    (§4.2) the codes hold ``W[:, j] * 2**-shift[j]`` — the activation's
    per-channel integer bias folded into the weight's exponent — and the layer's
    :class:`FloatPerTensor` input quantizer multiplies channel ``j`` by
    ``2**shift[j]``; the product is unchanged.
    """

    kind = "float"

    def __init__(self, codes: torch.Tensor, scales: torch.Tensor, fmt: str, bias: torch.Tensor | None,
                 act: ActQuant | None = None) -> None:
        out_f, in_f = codes.shape
        super().__init__(in_f, out_f, bias, act)
        self.fmt = fmt
        self.grid = get_grid(fmt)
        self.register_buffer("codes", codes.to(torch.uint8))
        self.register_buffer("scales", scales.float().reshape(-1))
        #: multiply on the bfloat16 kernel where it applies (:meth:`_bf16_kernel`); False: float32
        self.bf16 = True

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None, fmt: str,
                   act: ActQuant | None = None, shift: torch.Tensor | None = None,
                   clip: torch.Tensor | float = 1.0) -> FloatLinear:
        """Quantize ``weight * 2**-shift`` per output channel; ``clip`` scales each row's max."""
        grid = get_grid(fmt)
        w = shifted_weight(weight, shift)
        clip_t = clip.reshape(-1) if torch.is_tensor(clip) else clip
        scales = (w.abs().amax(1) * clip_t).clamp_min(1e-12) / grid.max
        codes = grid.encode(w / scales.unsqueeze(1))
        return cls(codes, scales, fmt, bias, act)

    def dequantized_weight(self) -> torch.Tensor:
        return self.grid.decode(self.codes) * self.scales.unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._bf16_kernel():
            return self._bf16_forward(x)
        return super().forward(x)

    def _bf16_kernel(self) -> bool:
        """Per-token activations on a grid whose values bfloat16 holds exactly (e4m3, e5m2...):
        the product of the unscaled grid values runs as one bfloat16 matmul (exact products,
        float32 accumulation, the output rounded to bfloat16), then one rescale."""
        if (not self.bf16 or self.lookup is not None or type(self.act) is not FloatPerToken
                or self.act.fmt != self.fmt):
            return False
        exact = getattr(self, "_bf16_exact", None)
        if exact is None:
            values = self.grid.decode(torch.arange(1 << self.grid.bits))
            values = values[values.isfinite()]
            exact = bool(torch.equal(values.bfloat16().float(), values))
            object.__setattr__(self, "_bf16_exact", exact)
        return exact

    def _bf16_forward(self, x: torch.Tensor) -> torch.Tensor:
        w = getattr(self, "_w16", None)
        if w is None:
            w = self.grid.decode(self.codes).bfloat16()  # unscaled grid values, exact
            object.__setattr__(self, "_w16", w)  # plain attribute: not saved
        x2 = x.reshape(-1, self.in_features).float()
        s = x2.abs().amax(-1, keepdim=True).clamp_min(1e-12).div_(self.grid.max)  # FloatPerToken's scale
        q = self.grid.quantize(x2 / s).bfloat16()
        y = nn.functional.linear(q, w).float().mul_(s)
        y = y.mul_(self.scales) if self.bias is None else torch.addcmul(self.bias, y, self.scales)
        return y.to(x.dtype).reshape(*x.shape[:-1], self.out_features)

    def weight_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        meta = {"fmt": self.fmt} if self.bf16 else {"fmt": self.fmt, "bf16": False}
        return {"codes": pack_bits(self.codes, self.grid.bits), "scales": self.scales}, meta

    @classmethod
    def from_weight_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                          bias: torch.Tensor | None, act: ActQuant) -> QuantLinear:
        grid = get_grid(meta["fmt"])
        codes = unpack_bits(tensors["codes"], grid.bits, meta["out"] * meta["in"])
        layer = cls(codes.reshape(meta["out"], meta["in"]), tensors["scales"], meta["fmt"], bias, act)
        layer.bf16 = bool(meta.get("bf16", True))
        return layer


def shifted_weight(weight: torch.Tensor, shift: torch.Tensor | None) -> torch.Tensor:
    """``weight[:, j] * 2**-shift[j]`` (float32): the weight seen by pre-shifted activations."""
    w = weight.detach().float()
    return w if shift is None else w * torch.exp2(-shift.float())


@LAYERS.register("int8-outlier")
class OutlierInt8Linear(IntLinear):
    """LLM.int8() (Dettmers et al. 2022, §3.2): int8 weights stored per output channel (as
    bitsandbytes stores them); each call runs :func:`mantissa.arith.int8_matmul_with_outliers`
    on the stored codes — input columns with any ``|x| >= threshold`` in float (dequantized
    weight columns), the rest vector-wise int8 × int8 -> int32."""

    kind = "int8-outlier"
    extra_meta = ("threshold",)

    def __init__(self, codes: torch.Tensor, scales: torch.Tensor, bits: int, group: int,
                 bias: torch.Tensor | None, act: ActQuant | None = None, threshold: float = 6.0) -> None:
        super().__init__(codes, scales, bits, group, bias, act)
        self.threshold = float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from mantissa.arith import int8_matmul_with_outliers

        y, _ = int8_matmul_with_outliers(x, None, self.threshold, self.bias,
                                         weight_int8=(self.codes, self.scales.reshape(-1)))
        return y



@LAYERS.register("power")
class PowerLinear(QuantLinear):
    """NUPES power-exponent weights (Yvinec et al. 2023): ``w = s_i · sign(k)(|k|/q)^(1/a)``
    with ``k`` a ``bits``-bit integer, one scale per output channel, the exponent ``a``
    from :class:`mantissa.formats.PowerFormat`."""

    kind = "power"

    def __init__(self, codes: torch.Tensor, scales: torch.Tensor, bits: int, a: float,
                 bias: torch.Tensor | None, act: ActQuant | None = None) -> None:
        out_f, in_f = codes.shape
        super().__init__(in_f, out_f, bias, act)
        self.bits, self.a = int(bits), float(a)
        self.register_buffer("codes", codes.to(torch.int8))
        self.register_buffer("scales", scales.float().reshape(-1))

    def _fmt(self):
        from mantissa.formats import PowerFormat

        return PowerFormat(self.bits, self.a)

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None, bits: int, a: float) -> PowerLinear:
        from mantissa.formats import PowerFormat

        w = weight.detach().float()
        scales = w.abs().amax(1).clamp_min(1e-12)
        k = PowerFormat(int(bits), float(a)).to_index(w / scales.unsqueeze(1))
        return cls(k, scales, bits, a, bias)

    def dequantized_weight(self) -> torch.Tensor:
        return self._fmt().from_index(self.codes.float()) * self.scales.unsqueeze(1)

    def weight_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        packed = pack_bits(self.codes.to(torch.int64) + (1 << (self.bits - 1)), self.bits)
        return {"codes": packed, "scales": self.scales}, {"bits": self.bits, "a": self.a}

    @classmethod
    def from_weight_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                          bias: torch.Tensor | None, act: ActQuant) -> QuantLinear:
        bits = int(meta["bits"])
        k = unpack_bits(tensors["codes"], bits, meta["out"] * meta["in"]) - (1 << (bits - 1))
        return cls(k.reshape(meta["out"], meta["in"]), tensors["scales"], bits, meta["a"], bias, act)


@LAYERS.register("bcq")
class BCQLinear(QuantLinear):
    """ShiftAddLLM binary-coding weights ``W ≈ Σ_i α_i b_i`` (b ∈ {±1}, α per group), applied
    with :func:`mantissa.arith.lut_matmul` (``lut=True``) or the dequantized matmul."""

    kind = "bcq"

    def __init__(self, packed: torch.Tensor, alpha: torch.Tensor, group: int, in_features: int,
                 bias: torch.Tensor | None, lut: bool = True, act: ActQuant | None = None) -> None:
        super().__init__(in_features, packed.shape[1], bias, act)
        self.group, self.lut = int(group), bool(lut)
        self.register_buffer("packed", packed.to(torch.uint8))  # (q, out, in // 8)
        self.register_buffer("alpha", alpha.float())  # (q, out, in // group)

    def bcq(self):
        from mantissa.arith import BCQ

        q, out, width = self.packed.shape
        signs = unpack_signs(self.packed.reshape(-1, width), 8 * width, order="lsb")
        return BCQ(signs.view(q, out, 8 * width), self.alpha, self.group)

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None, bits: int, group: int,
                   lut: bool = True) -> BCQLinear:
        from mantissa.arith import bcq_quantize

        b = bcq_quantize(weight.detach().float(), bits, group)
        return cls(b.packed(), b.alpha, b.group, weight.shape[1], bias, lut)

    def dequantized_weight(self) -> torch.Tensor:
        return self.bcq().dequantize().float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.lut:
            return super().forward(x)
        from mantissa.arith import lut_matmul

        b = getattr(self, "_bcq", None)
        if b is None:
            b = self.bcq()
            object.__setattr__(self, "_bcq", b)
        y = lut_matmul(self.act(x), b)
        return y if self.bias is None else y + self.bias

    def weight_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"codes": self.packed, "alpha": self.alpha}, {"group": self.group, "lut": self.lut}

    @classmethod
    def from_weight_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                          bias: torch.Tensor | None, act: ActQuant) -> QuantLinear:
        return cls(tensors["codes"], tensors["alpha"], meta["group"], meta["in"], bias, meta["lut"], act)


@LAYERS.register("lmul")
class LMulLinear(QuantLinear):
    """Every scalar product by L-Mul (Luo & Sun 2024, eq. 3): ``x @ W.T`` through
    :func:`mantissa.arith.lmul_matmul` with ``mantissa_bits``-bit operands. The weight is
    rounded to that mantissa and held in bfloat16 (lossless for ``mantissa_bits <= 7``); it is
    saved as an exponent byte plus packed sign and mantissa bits: ``9 + m`` bits per weight."""

    kind = "lmul"

    def __init__(self, weight: torch.Tensor, mantissa_bits: int, bias: torch.Tensor | None) -> None:
        out_f, in_f = weight.shape
        super().__init__(in_f, out_f, bias)
        self.mantissa_bits = int(mantissa_bits)
        self.register_buffer("weight16", weight.to(torch.bfloat16))

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None, mantissa_bits: int) -> LMulLinear:
        from mantissa.arith import round_to_mantissa

        if not 1 <= int(mantissa_bits) <= 7:
            raise ConfigError(f"lmul layers store bfloat16 weights: mantissa_bits must be 1..7, "
                              f"got {mantissa_bits}")
        return cls(round_to_mantissa(weight.detach().float(), int(mantissa_bits)), mantissa_bits, bias)

    def dequantized_weight(self) -> torch.Tensor:
        return self.weight16.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from mantissa.arith import lmul_matmul

        y = lmul_matmul(x.float(), self._w_cache().T, self.mantissa_bits)
        return y if self.bias is None else y + self.bias

    def weight_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Exponent byte + packed (sign, ``mantissa_bits``) codes: ``9 + m`` bits per weight."""
        m = self.mantissa_bits
        bits = self.weight16.float().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
        exponent = ((bits >> 23) & 0xFF).to(torch.uint8)
        sign_mant = ((bits >> 31) << m) | ((bits >> (23 - m)) & ((1 << m) - 1))
        return ({"exponent": exponent.reshape(-1), "sign_mantissa": pack_bits(sign_mant, m + 1)},
                {"mantissa_bits": m})

    @classmethod
    def from_weight_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                          bias: torch.Tensor | None, act: ActQuant) -> QuantLinear:
        m, n = int(meta["mantissa_bits"]), meta["out"] * meta["in"]
        exponent = tensors["exponent"].to(torch.int64).reshape(-1)
        if exponent.numel() != n:
            raise CorruptFileError(f"lmul layer holds {exponent.numel()} exponents, need {n}")
        sign_mant = unpack_bits(tensors["sign_mantissa"], m + 1, n)
        bits = ((sign_mant >> m) << 31) | (exponent << 23) | ((sign_mant & ((1 << m) - 1)) << (23 - m))
        bits = torch.where(bits >= 2**31, bits - 2**32, bits).to(torch.int32)
        weight = bits.view(torch.float32).reshape(meta["out"], meta["in"])
        return cls(weight, m, bias)


def bits_per_weight(module: nn.Module) -> float:
    """Average storage bits per weight over the quantized layers of ``module`` (NaN if none)."""
    bits = n = 0
    for m in module.modules():
        if isinstance(m, QuantLinear):
            bits += m.storage_bits()
            n += m.in_features * m.out_features
    return bits / n if n else math.nan
