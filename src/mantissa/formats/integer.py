"""Integer formats of any width, signed (two's complement) or unsigned.

``quantize`` rounds to the nearest integer (or any rounding mode) and saturates
to ``[min, max]``; ``narrow=True`` drops the most negative code so the range is
symmetric (``int8`` narrow: -127..127), as symmetric quantizers use. Codes are
the two's-complement bit patterns (``int4`` -1 -> 0b1111). Integers have no
NaN: a NaN input raises :class:`~mantissa.errors.ConfigError`; ±inf saturates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from mantissa.errors import ConfigError
from mantissa.formats import native
from mantissa.formats.base import (
    FORMATS,
    Format,
    FormatInfo,
    check_float,
    check_rounding,
    code_dtype,
    round_signed,
)


@dataclass(frozen=True)
class IntFormat(Format):
    """``bits``-bit integers; ``IntFormat(4)`` is ``int4`` (-8..7)."""

    bits: int  # type: ignore[misc]
    signed: bool = True
    narrow: bool = False
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 32 or (self.signed and self.bits < 2):
            raise ConfigError(f"integer format needs 1..32 bits (2..32 if signed), got {self.bits!r}")

    @property
    def qmin(self) -> int:
        if not self.signed:
            return 0
        return -(2 ** (self.bits - 1)) + int(self.narrow)

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2 ** self.bits - 1 - int(self.narrow)

    @property
    def info(self) -> FormatInfo:
        return FormatInfo(bits=self.bits, max=float(self.qmax), min=float(self.qmin), smallest_normal=1.0,
                          smallest_subnormal=1.0, eps=1.0, has_inf=False, has_nan=False)

    def __str__(self) -> str:
        if self.name:
            return self.name
        base = f"{'int' if self.signed else 'uint'}:{self.bits}"
        return base + (",narrow=true" if self.narrow else "")

    def __repr__(self) -> str:
        return f"IntFormat({self})"

    def quantize(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Round to integers and saturate to ``[qmin, qmax]`` (same dtype as ``x``)."""
        x = check_float(x)
        mode = check_rounding(rounding)
        if self._native(x, mode):
            q, nans = native.quantize_int(x, self.qmin, self.qmax)
            self._refuse_nans(nans)
            return q
        if x.numel() and not bool(torch.isfinite(x.sum())):
            self._refuse_nans(int(torch.isnan(x).sum()))
        work = torch.float64 if x.dtype == torch.float64 or self.bits > 24 else torch.float32
        q = round_signed(x.to(work), mode, generator).clamp(self.qmin, self.qmax)
        return q.to(x.dtype)

    def encode(self, x: torch.Tensor, rounding: str = "nearest-even",
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Two's-complement bit patterns (uint8 for <= 8 bits, else int32/int64)."""
        if self._native(x, check_rounding(rounding)):
            codes, nans = native.encode_int(x, self.qmin, self.qmax, self.bits)
            self._refuse_nans(nans)
            return codes
        q = self.quantize(x.to(torch.float64), rounding, generator).to(torch.int64)
        return (q & (2 ** self.bits - 1)).to(code_dtype(self.bits))

    def _native(self, x: torch.Tensor, mode: str) -> bool:
        """Whether the fused kernel takes ``x`` (float32 exact for <= 24-bit integers)."""
        return mode == "nearest-even" and self.bits <= 24 and native.applies(x)

    def _refuse_nans(self, nans: int) -> None:
        if nans:
            raise ConfigError(f"NaN input to integer format {self}; integers have no NaN")

    def to_int(self, q: torch.Tensor) -> torch.Tensor:
        """Integer values (not bit patterns) as the smallest torch integer dtype that holds them."""
        dtype = torch.int8 if self.bits <= 8 and self.signed else torch.uint8 if self.bits <= 8 else (
            torch.int16 if self.bits <= 15 or (self.bits == 16 and self.signed) else
            torch.int32 if self.bits <= 31 or (self.bits == 32 and self.signed) else torch.int64)
        return q.to(dtype)

    def values(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Value of every code 0 .. 2**bits - 1 (the narrow format's unused code decodes to qmin)."""
        if self.bits > 16:
            raise ConfigError(f"values() enumerates formats of <= 16 bits; {self} has {self.bits}")
        codes = torch.arange(2 ** self.bits, dtype=torch.int64)
        if self.signed:
            codes = torch.where(codes >= 2 ** (self.bits - 1), codes - 2 ** self.bits, codes)
        return codes.clamp(self.qmin, self.qmax).to(dtype)


def _int_factory(bits: int, signed: bool = True, narrow: bool = False) -> IntFormat:
    return IntFormat(int(bits), signed, bool(narrow))


for _bits in range(2, 17):
    FORMATS.add(f"int{_bits}", functools.partial(IntFormat, _bits, True, name=f"int{_bits}"))
for _bits in range(1, 17):
    FORMATS.add(f"uint{_bits}", functools.partial(IntFormat, _bits, False, name=f"uint{_bits}"))
FORMATS.add("int32", functools.partial(IntFormat, 32, True, name="int32"))
FORMATS.add("int", _int_factory)
FORMATS.add("uint", functools.partial(_int_factory, signed=False))
