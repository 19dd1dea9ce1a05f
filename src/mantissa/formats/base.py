"""The common interface of number formats, rounding modes and the format registry.

Every format (float, integer, power, block) implements :class:`Format`:

* ``quantize(x, rounding=..., generator=...)`` -> values on the format's grid,
  same dtype and shape as ``x``;
* ``encode(x)`` -> integer codes (bit patterns); ``decode(codes)`` -> values;
* ``values()`` -> every code's value (formats of <= 16 bits);
* ``info`` -> a :class:`FormatInfo` (max, smallest normal/subnormal, eps, bits).

Rounding modes (:data:`ROUNDINGS`): ``nearest-even`` (default), ``nearest-away``,
``toward-zero``, ``down`` (toward -inf), ``up`` (toward +inf) and ``stochastic``
(round up with probability equal to the fractional distance; unbiased; seeded by
a ``torch.Generator`` on the tensor's device).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mantissa.errors import ConfigError, DTypeError
from mantissa.formats import native
from mantissa.registry import Registry

ROUNDINGS = ("nearest-even", "nearest-away", "toward-zero", "down", "up", "stochastic")
_ALIASES = {"nearest": "nearest-even", "rne": "nearest-even", "rna": "nearest-away",
            "rtz": "toward-zero", "trunc": "toward-zero", "floor": "down", "ceil": "up",
            "sr": "stochastic"}

#: every number format, by name or spec (``formats.get("fp:e3m2")``)
FORMATS: Registry = Registry("format")


@dataclass(frozen=True)
class FormatInfo:
    """A ``finfo``-like summary of a format (values are Python floats)."""

    bits: int
    max: float
    min: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float
    has_inf: bool
    has_nan: bool


def check_rounding(rounding: str) -> str:
    """Canonical rounding name, or :class:`ConfigError` listing the accepted ones."""
    mode = _ALIASES.get(rounding, rounding)
    if mode not in ROUNDINGS:
        raise ConfigError(f"unknown rounding {rounding!r}; use one of {', '.join(ROUNDINGS)}")
    return mode


def check_float(x: torch.Tensor, what: str = "x") -> torch.Tensor:
    """Accept floating tensors only (integer inputs raise :class:`DTypeError`)."""
    if not isinstance(x, torch.Tensor):
        raise DTypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise DTypeError(f"{what} must be a floating-point tensor (float16/bfloat16/float32/float64),"
                         f" got {x.dtype}; convert with x.float()")
    return x


def round_magnitude(y: torch.Tensor, mode: str, negative: torch.Tensor | None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Round non-negative ``y`` to integers; ``negative`` says where the original was < 0.

    Directed modes (``down``/``up``) depend on the sign: rounding a magnitude
    down toward -inf means rounding it up when the value is negative.
    """
    if mode == "nearest-even":
        return torch.round(y)
    if mode == "nearest-away":
        return torch.floor(y + 0.5)
    if mode == "toward-zero":
        return torch.floor(y)
    if mode in ("down", "up"):
        lo, hi = torch.floor(y), torch.ceil(y)
        if negative is None:
            return lo if mode == "down" else hi
        return torch.where(negative, hi, lo) if mode == "down" else torch.where(negative, lo, hi)
    if mode == "stochastic":
        u = torch.rand(y.shape, generator=generator, device=y.device, dtype=y.dtype)
        return torch.floor(y + u)
    raise ConfigError(f"unknown rounding {mode!r}; use one of {', '.join(ROUNDINGS)}")


def round_signed(y: torch.Tensor, mode: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Round a signed tensor to integers with ``mode``."""
    if mode == "nearest-even":
        return torch.round(y)
    if mode == "down":
        return torch.floor(y)
    if mode == "up":
        return torch.ceil(y)
    if mode == "stochastic":
        u = torch.rand(y.shape, generator=generator, device=y.device, dtype=y.dtype)
        return torch.floor(y + u)
    return torch.copysign(round_magnitude(y.abs(), mode, None), y)


def code_dtype(bits: int) -> torch.dtype:
    """The integer dtype that holds ``bits``-bit codes (unsigned patterns)."""
    if bits <= 8:
        return torch.uint8
    return torch.int32 if bits <= 31 else torch.int64


class Format:
    """Base class of every number format (see the module docstring)."""

    bits: int

    def quantize(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def encode(self, x: torch.Tensor, rounding: str = "nearest-even",
               generator: torch.Generator | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def decode(self, codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Values of ``codes`` (looked up in :meth:`values`)."""
        if codes.is_floating_point():
            raise DTypeError(f"codes must be an integer tensor, got {codes.dtype}")
        table = self.values(torch.float64 if dtype == torch.float64 else torch.float32)
        if native.decode_applies(codes, dtype):
            out, bad = native.decode(codes, table)
            if bad:
                raise ConfigError(f"codes out of range for {self}: expected 0..{table.numel() - 1}")
            return out
        idx = codes.to(torch.int64)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= table.numel()):
            raise ConfigError(f"codes out of range for {self}: expected 0..{table.numel() - 1}")
        return table[idx].to(dtype)

    def values(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    @property
    def info(self) -> FormatInfo:  # pragma: no cover
        raise NotImplementedError


def get(spec: str | Format) -> Format:
    """A format by ml_dtypes-style name (``float8_e4m3fn``, ``int4``) or spec (``fp:e3m2``).

    Unknown names raise :class:`~mantissa.errors.UnknownNameError` listing the
    valid names; the spec grammar is ``fp:eXmY[,bias=B][,special=ieee|fn|fnuz|none|fnu]
    [,subnormals=false][,overflow=saturate]``, ``int:BITS``, ``uint:BITS``.
    """
    if isinstance(spec, Format):
        return spec
    return FORMATS.build(spec)


