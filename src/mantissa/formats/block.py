"""Block formats: elements that share one exponent.

* :class:`MXFormat` — OCP Microscaling (MX v1.0, 2023, §5.3 / §6.3): blocks of
  ``block`` (32) consecutive values along the last axis share an
  ``float8_e8m0fnu`` scale ``X = 2 ** (floor(log2 amax) - emax_elem)``; each element
  is the value divided by ``X`` rounded to the element format with saturation.
  Names: ``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e3m2``, ``mxfp6_e2m3``, ``mxfp4``,
  ``mxint8``; spec ``mx:float4_e2m1fn,block=16``.
* :class:`DynamicFixedPoint` — Das et al. 2018 ("Mixed Precision Training of
  Convolutional Neural Networks using Integer Operations", §3.1): a ``bits``-bit
  integer tensor with one shared exponent per tensor, ``x ~ I * 2**E`` with
  ``E = floor(log2 amax) - (bits - 2)`` so the largest magnitude uses the top bit.
  Spec ``dfp:16``.

``quantize`` returns values on the block grid (same dtype); ``encode`` returns the
element codes and the shared exponents.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.formats import fast, native
from mantissa.formats.base import FORMATS, Format, FormatInfo, check_float, check_rounding, get
from mantissa.formats.float import FloatFormat
from mantissa.formats.integer import IntFormat

SCALE_EMIN, SCALE_EMAX = -127, 127


def _emax_elem(elem: Format) -> int:
    return math.floor(math.log2(elem.info.max))


def _pow2(e: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return torch.ldexp(torch.ones((), dtype=like.dtype, device=like.device), e.to(like.dtype))


@dataclass(frozen=True)
class MXFormat(Format):
    """An MX block format: element format + shared E8M0 power-of-two scale per block."""

    element: Format
    block: int = 32
    name: str | None = None

    def __post_init__(self) -> None:
        elem = get(self.element) if isinstance(self.element, str) else self.element
        if not isinstance(elem, FloatFormat | IntFormat):
            raise ConfigError(f"MX elements must be a float or integer format, got {elem}")
        object.__setattr__(self, "element", elem)
        if not isinstance(self.block, int) or self.block < 1:
            raise ConfigError(f"MX block size must be a positive integer, got {self.block!r}")

    @functools.cached_property
    def _sat(self) -> Format:
        """The element format with saturation (OCP MX: elements clamp to ±max)."""
        if isinstance(self.element, FloatFormat) and self.element.overflow != "saturate":
            return replace(self.element, overflow="saturate", name=None)
        return self.element

    @property
    def bits(self) -> float:  # type: ignore[override]
        """Average storage bits per element (element bits + 8 / block)."""
        return self.element.bits + 8 / self.block

    @property
    def _elem_scale(self) -> float:
        # MXINT8 elements are 2's complement fixed point with 6 fraction bits (1.6)
        return 2.0 ** -(self.element.bits - 2) if isinstance(self.element, IntFormat) else 1.0

    @property
    def info(self) -> FormatInfo:
        top = self.element.info.max * self._elem_scale
        return FormatInfo(bits=int(self.bits), max=top * 2.0 ** SCALE_EMAX, min=-top * 2.0 ** SCALE_EMAX,
                          smallest_normal=2.0 ** SCALE_EMIN, smallest_subnormal=2.0 ** SCALE_EMIN,
                          eps=self.element.info.eps, has_inf=False, has_nan=False)

    def __str__(self) -> str:
        if self.name:
            return self.name
        return f"mx:{self.element}" + ("" if self.block == 32 else f",block={self.block}")

    def _blocks(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 0 or x.shape[-1] % self.block:
            raise ShapeError(f"{self} needs the last dimension to be a multiple of {self.block}, "
                             f"got shape {tuple(x.shape)}")
        return x.reshape(*x.shape[:-1], x.shape[-1] // self.block, self.block)

    def shared_exponents(self, x: torch.Tensor) -> torch.Tensor:
        """``floor(log2 amax) - emax_elem`` per block, clamped to E8M0's range."""
        blocks = self._blocks(check_float(x))
        amax = blocks.abs().amax(-1).to(torch.float64)
        e = torch.frexp(amax).exponent - 1 - _emax_elem(self.element) - round(math.log2(self._elem_scale))
        e = torch.where(amax > 0, e, torch.full_like(e, SCALE_EMIN))
        return e.clamp(SCALE_EMIN, SCALE_EMAX)

    def _elements(self, x: torch.Tensor, rounding: str, generator) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.shared_exponents(x)
        blocks = self._blocks(x).to(torch.float64)
        scaled = blocks / _pow2(e, blocks)[..., None] / self._elem_scale
        return self._sat.quantize(scaled, rounding, generator), e

    def _fused(self, x: torch.Tensor, mode: str, codes: bool) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The one-pass kernel's (values or element codes, exponents), or None where the eager path
        runs (not float32 on the CPU, another rounding, an element format it lacks, NaN or inf)."""
        elem = self._sat
        fits = elem.bits <= 8 and (not isinstance(elem, FloatFormat) or fast.supports(elem, x, mode))
        if mode != "nearest-even" or not fits or not native.applies(x):
            return None
        self._blocks(x)  # shape check
        out, e, bad = native.quantize_mx(x, self.block, elem, _emax_elem(self.element),
                                         round(math.log2(self._elem_scale)), codes)
        return None if bad else (out, e)

    def quantize(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        mode = check_rounding(rounding)
        fused = self._fused(check_float(x), mode, codes=False)
        if fused is not None:
            return fused[0]
        q, e = self._elements(x, rounding, generator)
        out = q * self._elem_scale * _pow2(e, q)[..., None]
        return out.reshape(x.shape).to(x.dtype)

    def encode(self, x: torch.Tensor, rounding: str = "nearest-even",
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """``(element codes, scale codes)``: scale codes are E8M0 biased exponents (``e + 127``)."""
        fused = self._fused(check_float(x), check_rounding(rounding), codes=True)
        if fused is not None:
            codes, e = fused
            return codes, (e + 127).to(torch.uint8)
        q, e = self._elements(x, rounding, generator)
        codes = self._sat.encode(q).reshape(x.shape)
        return codes, (e + 127).to(torch.uint8)

    def decode(self, codes: torch.Tensor, scales: torch.Tensor,  # type: ignore[override]
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        if self._decode_fused(codes, scales, dtype):
            self._blocks(codes)  # shape check
            out, bad = native.decode_mx(codes, scales, self._sat.values(torch.float32), self.block,
                                        round(math.log2(self._elem_scale)))
            if bad:
                raise ConfigError(f"codes out of range for {self._sat}")
            return out
        vals = self._sat.decode(codes, torch.float64) * self._elem_scale
        blocks = self._blocks(vals)
        e = scales.to(torch.int64) - 127
        return (blocks * _pow2(e, blocks)[..., None]).reshape(codes.shape).to(dtype)

    def _decode_fused(self, codes: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype) -> bool:
        """Whether the one-pass MX decode takes these codes (uint8 codes and scales, float32 out)."""
        return (codes.dtype == torch.uint8 and scales.dtype == torch.uint8 and self._sat.bits <= 8
                and codes.dim() > 0 and scales.numel() * self.block == codes.numel()
                and native.decode_applies(codes, dtype) and scales.device.type == "cpu")

    def values(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        raise ConfigError(f"{self} is a block format: its values depend on the shared scale; "
                          "use element.values()")


@dataclass(frozen=True)
class DynamicFixedPoint(Format):
    """``bits``-bit integers with one shared power-of-two exponent per tensor."""

    bits: int = 16  # type: ignore[misc]

    def __post_init__(self) -> None:
        if not 2 <= int(self.bits) <= 32:
            raise ConfigError(f"dynamic fixed point needs 2..32 bits, got {self.bits}")

    @property
    def int_format(self) -> IntFormat:
        return IntFormat(self.bits)

    def __str__(self) -> str:
        return f"dfp:{self.bits}"

    @property
    def info(self) -> FormatInfo:
        return FormatInfo(bits=self.bits, max=math.inf, min=-math.inf, smallest_normal=0.0,
                          smallest_subnormal=0.0, eps=2.0 ** -(self.bits - 2), has_inf=False, has_nan=False)

    def exponent(self, x: torch.Tensor) -> int:
        """``floor(log2 max|x|) - (bits - 2)`` (0 for an all-zero tensor)."""
        amax = float(check_float(x).detach().abs().max()) if x.numel() else 0.0
        if not math.isfinite(amax):
            raise ConfigError(f"dynamic fixed point got a non-finite tensor (max |x| = {amax})")
        return math.frexp(amax)[1] - 1 - (self.bits - 2) if amax > 0 else 0

    def encode(self, x: torch.Tensor, rounding: str = "nearest-even",  # type: ignore[override]
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """``(integer mantissas as int64, shared exponent)`` with ``x ~ I * 2**E``."""
        e = self.exponent(x)
        scaled = torch.ldexp(x.to(torch.float64), torch.tensor(-float(e), dtype=torch.float64))
        i = self.int_format.quantize(scaled, rounding, generator)
        return i.to(torch.int64), e

    def quantize(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        i, e = self.encode(x, rounding, generator)
        return (i.to(torch.float64) * 2.0 ** e).to(x.dtype)

    def decode(self, codes: torch.Tensor, exponent: int = 0,  # type: ignore[override]
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return (codes.to(torch.float64) * 2.0 ** exponent).to(dtype)

    def values(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        raise ConfigError(f"{self} has a per-tensor exponent; use int_format.values()")


def _mx(element: str, block: int = 32, **element_kw) -> MXFormat:
    """``mx:ELEMENT[,ELEMENT_KEYS...][,block=N]``, e.g. ``mx:fp:e4m3,special=fn,block=16``."""
    extra = ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in element_kw.items())
    return MXFormat(get(f"{element},{extra}" if extra else str(element)), int(block))


FORMATS.add("mx", _mx)
FORMATS.add("dfp", lambda bits=16: DynamicFixedPoint(int(bits)))
for _name, _elem in {"mxfp8_e4m3": "float8_e4m3fn", "mxfp8_e5m2": "float8_e5m2",
                     "mxfp6_e3m2": "float6_e3m2fn", "mxfp6_e2m3": "float6_e2m3fn",
                     "mxfp4": "float4_e2m1fn", "mxint8": "int8"}.items():
    FORMATS.add(_name, lambda _e=_elem, _n=_name: MXFormat(get(_e), 32, _n))
