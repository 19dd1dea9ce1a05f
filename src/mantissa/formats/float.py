"""Floating-point formats of any width: one frozen descriptor, ml_dtypes-exact.

A format is ``sign? | E exponent bits | M mantissa bits`` with a bias (the IEEE
default ``2**(E-1) - 1`` or any real number, as LLM-FP4 uses) and a policy for
special values:

========  =====================================================================
special   meaning (names as in LLVM/MLIR and ml_dtypes)
========  =====================================================================
``ieee``  all-ones exponent holds ±inf (mantissa 0) and NaN (quiet bit set)
``fn``    finite: no inf; NaN is the all-ones code (either sign); overflow -> NaN
``fnuz``  finite, unsigned zero: no inf, no -0; NaN is the code ``1000...0``
``none``  finite, no NaN either (OCP MX FP6/FP4); overflow saturates
``fnu``   finite, NaN, unsigned, no zero (``float8_e8m0fnu``: exponent field 0 is normal)
========  =====================================================================

Rounding follows the format grid exactly: ``quantize`` works in the input's own
precision (float32 for float32/float16/bfloat16 inputs, float64 for float64, so a
float64 input is never double-rounded through float32) with exact power-of-two
scalings, and reproduces ml_dtypes' ``astype`` bit for bit, including its quirks
(NaN into a format without NaN becomes a zero of the opposite sign; ``float8_e8m0fnu``
rounds float32-subnormal inputs by value, as ml_dtypes >= 0.7 does: [2^-127, 1.5 * 2^-127) -> 2^-127).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from mantissa.errors import ConfigError, SpecError
from mantissa.formats import fast, native
from mantissa.formats.base import (
    FORMATS,
    Format,
    FormatInfo,
    check_float,
    check_rounding,
    code_dtype,
    round_magnitude,
)

SPECIALS = ("ieee", "fn", "fnuz", "none", "fnu")
OVERFLOWS = ("special", "saturate")
NAN_POLICIES = ("zero", "raise")


@dataclass(frozen=True)
class FloatFormat(Format):
    """A floating-point format (see the module docstring).

    >>> f = FloatFormat(4, 3, special="fn")      # == formats.get("float8_e4m3fn")
    >>> f.info.max
    448.0
    """

    exp_bits: int
    man_bits: int
    bias: float | None = None
    special: str = "ieee"
    subnormals: bool = True
    overflow: str | None = None
    on_nan: str | None = None
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        e, m = self.exp_bits, self.man_bits
        if not (isinstance(e, int) and isinstance(m, int)) or not (1 <= e <= 11 and 0 <= m <= 52):
            raise ConfigError(f"float format needs 1 <= exponent bits <= 11 and 0 <= mantissa bits <= 52, "
                              f"got e{e}m{m}")
        if self.special not in SPECIALS:
            raise ConfigError(f"unknown special-value policy {self.special!r}; "
                              f"use one of {', '.join(SPECIALS)}")
        if self.special == "ieee" and m == 0:
            raise ConfigError("an 'ieee' format needs >= 1 mantissa bit to tell inf from NaN; "
                              "use special='fn', 'fnuz' or 'none'")
        if self.special == "ieee" and e == 1:
            raise ConfigError("an 'ieee' format needs >= 2 exponent bits")
        bias = float(2 ** (e - 1) - 1) if self.bias is None else float(self.bias)
        object.__setattr__(self, "bias", bias)
        overflow = self.overflow or ("saturate" if self.special == "none" else "special")
        if overflow not in OVERFLOWS:
            raise ConfigError(f"unknown overflow policy {overflow!r}; use one of {', '.join(OVERFLOWS)}")
        if overflow == "special" and self.special == "none":
            raise ConfigError("a format without inf/NaN (special='none') can only saturate on overflow")
        object.__setattr__(self, "overflow", overflow)
        on_nan = self.on_nan or ("raise" if self.special == "none" else "zero")
        if on_nan not in NAN_POLICIES:
            raise ConfigError(f"unknown NaN policy {on_nan!r}; use one of {', '.join(NAN_POLICIES)}")
        object.__setattr__(self, "on_nan", on_nan)
        if self.emax > 1023 or self.emin - m < -1074:
            raise ConfigError(f"format {self} exceeds float64's range; use a bias closer to the IEEE default")

    # ----------------------------------------------------------------- layout
    @property
    def signed(self) -> bool:
        return self.special != "fnu"

    @property
    def bits(self) -> int:  # type: ignore[override]
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def has_inf(self) -> bool:
        return self.special == "ieee"

    @property
    def has_nan(self) -> bool:
        return self.special != "none"

    @property
    def has_zero(self) -> bool:
        return self.special != "fnu"

    @property
    def int_bias(self) -> int:
        """The integer part of the bias (the grid before the fractional scaling)."""
        return math.floor(self.bias)

    @property
    def frac_bias(self) -> float:
        return self.bias - self.int_bias

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal binade (on the integer-bias grid)."""
        return (0 if self.special == "fnu" else 1) - self.int_bias

    @property
    def _top_field(self) -> int:
        top = 2 ** self.exp_bits - 1
        if self.special == "ieee" or (self.special in ("fn", "fnu") and self.man_bits == 0):
            top -= 1
        return top

    @property
    def _top_mantissa(self) -> int:
        full = 2 ** self.man_bits - 1
        at_top = self.special in ("fn", "fnu") and self.man_bits > 0
        return full - 1 if at_top else full

    @property
    def emax(self) -> int:
        return self._top_field - self.int_bias

    @property
    def _max_int(self) -> float:
        """Largest finite value on the integer-bias grid."""
        return math.ldexp(1.0 + self._top_mantissa / 2 ** self.man_bits, self.emax)

    @property
    def info(self) -> FormatInfo:
        s = 2.0 ** -self.frac_bias
        normal = math.ldexp(1.0, self.emin) * s
        sub = math.ldexp(1.0, self.emin - self.man_bits) * s if self.subnormals and self.has_zero else normal
        top = self._max_int * s
        return FormatInfo(bits=self.bits, max=top, min=-top if self.signed else normal,
                          smallest_normal=normal, smallest_subnormal=sub, eps=2.0 ** -self.man_bits,
                          has_inf=self.has_inf, has_nan=self.has_nan)

    def __str__(self) -> str:
        if self.name:
            return self.name
        parts = [f"e{self.exp_bits}m{self.man_bits}"]
        if self.bias != 2 ** (self.exp_bits - 1) - 1:
            parts.append(f"bias={_num(self.bias)}")
        if self.special != "ieee":
            parts.append(f"special={self.special}")
        if not self.subnormals:
            parts.append("subnormals=false")
        if self.overflow != ("saturate" if self.special == "none" else "special"):
            parts.append(f"overflow={self.overflow}")
        if self.on_nan != ("raise" if self.special == "none" else "zero"):
            parts.append(f"on_nan={self.on_nan}")
        return "fp:" + ",".join(parts)

    # -------------------------------------------------------------- quantize
    def quantize(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Round ``x`` onto the format's grid (same dtype and shape as ``x``)."""
        x = check_float(x)
        mode = check_rounding(rounding)
        if fast.supports(self, x, mode):
            if native.applies(x):
                q, nans = native.quantize_float(self, x)
                return self._check_nans(nans, q)
            if self.special == "none" and self.on_nan == "raise":
                self._specials(x, x, torch.signbit(x))  # raises on NaN
            return fast.quantize_rne(self, x)
        work = self._work_dtype(x)
        xw = x.to(work)
        q = self._quantize_grid(xw * 2.0 ** self.frac_bias if self.frac_bias else xw, mode, generator)
        if self.frac_bias:
            q = q * 2.0 ** -self.frac_bias
        return q.to(x.dtype)

    def _work_dtype(self, x: torch.Tensor) -> torch.dtype:
        if x.dtype == torch.float64 or self.frac_bias:
            return torch.float64
        fits32 = self.man_bits <= 23 and self.emin - self.man_bits >= -149 and self.emax <= 127
        return torch.float32 if fits32 else torch.float64

    def quantize_reference(self, x: torch.Tensor, rounding: str = "nearest-even",
                           generator: torch.Generator | None = None) -> torch.Tensor:
        """The reference path (ulp scaling and ``torch.round``), whatever the input."""
        x = check_float(x)
        mode = check_rounding(rounding)
        xw = x.to(self._work_dtype(x))
        q = self._quantize_grid(xw * 2.0 ** self.frac_bias if self.frac_bias else xw, mode, generator)
        if self.frac_bias:
            q = q * 2.0 ** -self.frac_bias
        return q.to(x.dtype)

    def _quantize_grid(self, x: torch.Tensor, mode: str, generator: torch.Generator | None) -> torch.Tensor:
        """Quantize on the integer-bias grid (``x`` already in the working dtype)."""
        a = x.abs()
        neg = torch.signbit(x)
        e = torch.frexp(a).exponent - 1
        m = self.man_bits
        small = e < self.emin
        e = e.clamp(min=self.emin)
        ulp_exp = e - m
        if not self.subnormals:
            ulp_exp = torch.where(small, torch.full_like(e, self.emin), ulp_exp)
        ulp = torch.ldexp(torch.ones((), dtype=a.dtype, device=a.device), ulp_exp.to(a.dtype))
        r = round_magnitude(a / ulp, mode, neg, generator)
        q = r * ulp
        if self.special == "fnu":
            q = self._fnu_fixups(a, q)
        q = self._overflow(q, a, neg, mode)
        q = torch.where(neg, -q, q)
        if self.special == "fnuz":
            q = q + 0.0  # no negative zero: -0 + 0 == +0
        return self._specials(q, x, neg)

    def _fnu_fixups(self, a: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        lo = math.ldexp(1.0, self.emin)
        return torch.clamp(q, min=lo)  # no zero: tiny positives round to the smallest value

    def _overflow(self, q: torch.Tensor, a: torch.Tensor, neg: torch.Tensor, mode: str) -> torch.Tensor:
        top = self._max_int
        over = q > top
        inf_in = torch.isinf(a)
        if self.overflow == "saturate" or not self.has_inf and not self.has_nan:
            repl = torch.full_like(q, top)
            if self.has_inf:
                repl = torch.where(inf_in, a, repl)
        else:
            repl = torch.full_like(q, math.inf if self.has_inf else math.nan)
        # directed rounding away from the overflow direction gives the largest finite value (IEEE 754)
        if mode == "toward-zero":
            repl = torch.where(inf_in, repl, torch.full_like(q, top))
        elif mode in ("down", "up"):
            towards_max = ~neg if mode == "down" else neg
            repl = torch.where(towards_max & ~inf_in, torch.full_like(q, top), repl)
        return torch.where(over, repl, q)

    def _check_nans(self, nans: int, out: torch.Tensor) -> torch.Tensor:
        """``out`` from a native kernel that saw ``nans`` NaN inputs (raises where the format must)."""
        if nans and self.special == "none" and self.on_nan == "raise":
            self._raise_nan()
        return out

    def _raise_nan(self) -> None:
        raise ConfigError(f"NaN input to {self}, which has no NaN; "
                          "use a format with NaN or build it with on_nan='zero'")

    def _specials(self, q: torch.Tensor, x: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        if self.special == "fnu":
            bad = torch.isnan(x) | neg | (x == 0)
            return torch.where(bad, torch.full_like(q, math.nan), q)
        nan = torch.isnan(x)
        if self.has_nan:
            return q  # NaN propagated through the arithmetic
        if self.on_nan == "raise" and bool(nan.any()):
            self._raise_nan()
        # ml_dtypes: NaN becomes a zero of the opposite sign
        zero = torch.where(neg, torch.zeros_like(q), torch.full_like(q, -0.0))
        return torch.where(nan, zero, q)

    # ------------------------------------------------------- encode / decode
    def encode(self, x: torch.Tensor, rounding: str = "nearest-even",
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Bit patterns of ``x`` rounded to the format (uint8 for <= 8 bits, else int32/int64)."""
        x = check_float(x)
        mode = check_rounding(rounding)
        if fast.supports(self, x, mode):
            if native.applies(x):
                codes, nans = native.encode_float(self, x)
                return self._check_nans(nans, codes).to(code_dtype(self.bits))
            if self.special == "none" and self.on_nan == "raise":
                self._specials(x, x, torch.signbit(x))  # raises on NaN
            return fast.encode_rne(self, x).to(code_dtype(self.bits))
        xw = x.to(self._work_dtype(x))
        if self.frac_bias:
            xw = xw * 2.0 ** self.frac_bias
        q = self._quantize_grid(xw, mode, generator)
        return self._codes_of_grid(q).to(code_dtype(self.bits))

    def _codes_of_grid(self, q: torch.Tensor) -> torch.Tensor:
        m, bits = self.man_bits, self.bits
        a = q.abs().to(torch.float64)  # float64 holds every significand scaling exactly
        e = (torch.frexp(a).exponent - 1).clamp(min=self.emin)
        normal = a >= math.ldexp(1.0, self.emin)
        field_e = torch.where(normal, e - self.emin + (0 if self.special == "fnu" else 1), 0)
        sig = torch.ldexp(a, (m - e).to(a.dtype))  # exact: a / 2^(e - m)
        mant = torch.where(normal, sig - 2 ** m, sig).nan_to_num(0.0, 0.0, 0.0)
        code = (field_e.to(torch.int64) << m) | mant.to(torch.int64)
        sign = torch.signbit(q)
        if self.signed:
            code = code | (sign.to(torch.int64) << (bits - 1))
        code = torch.where(torch.isinf(q), self._inf_code(sign), code)
        return torch.where(torch.isnan(q), self._nan_code(sign), code)

    def _inf_code(self, sign: torch.Tensor) -> torch.Tensor:
        return (sign.to(torch.int64) << (self.bits - 1)) | ((2 ** self.exp_bits - 1) << self.man_bits)

    def _nan_code(self, sign: torch.Tensor) -> torch.Tensor:
        s = sign.to(torch.int64) << (self.bits - 1)
        if self.special == "ieee":
            return s | ((2 ** self.exp_bits - 1) << self.man_bits) | (1 << (self.man_bits - 1))
        if self.special == "fn":
            return s | (2 ** (self.bits - 1) - 1)
        if self.special == "fnu":
            return torch.full_like(s, 2 ** self.bits - 1)
        return torch.full_like(s, 2 ** (self.bits - 1))  # fnuz

    def values(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The value of every code 0 .. 2**bits - 1 (formats of <= 16 bits)."""
        if self.bits > 16:
            raise ConfigError(f"values() enumerates formats of <= 16 bits; {self} has {self.bits}")
        return _value_table(self).to(dtype)

    def __repr__(self) -> str:
        return f"FloatFormat({self})"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


@functools.lru_cache(maxsize=64)
def _value_table(fmt: FloatFormat) -> torch.Tensor:
    """Decode every code from its fields (independent of the rounding code path)."""
    m, bits = fmt.man_bits, fmt.bits
    out = []
    for code in range(2 ** bits):
        sign = -1.0 if fmt.signed and code >> (bits - 1) else 1.0
        field_e = (code >> m) & (2 ** fmt.exp_bits - 1)
        mant = code & (2 ** m - 1)
        out.append(sign * _field_value(fmt, field_e, mant, code))
    return torch.tensor(out, dtype=torch.float64)


def _field_value(fmt: FloatFormat, field_e: int, mant: int, code: int) -> float:
    m, top_e = fmt.man_bits, 2 ** fmt.exp_bits - 1
    sp = fmt.special
    if sp == "ieee" and field_e == top_e:
        return math.inf if mant == 0 else math.nan
    magnitude_mask = 2 ** (fmt.bits - int(fmt.signed)) - 1
    if sp in ("fn", "fnu") and code & magnitude_mask == magnitude_mask:
        return math.nan
    if sp == "fnuz" and code == 2 ** (fmt.bits - 1):
        return math.nan
    scale = 2.0 ** -fmt.frac_bias
    if sp == "fnu":
        return math.ldexp(1.0 + mant / 2 ** m, field_e - fmt.int_bias) * scale
    if field_e == 0:
        if not fmt.subnormals:
            return 0.0
        return math.ldexp(mant, fmt.emin - m) * scale
    return math.ldexp(1.0 + mant / 2 ** m, field_e - fmt.int_bias) * scale


# ------------------------------------------------------------------ registry
#: ml_dtypes names -> (exp bits, mantissa bits, bias, special)
ML_DTYPES_FORMATS: dict[str, tuple[int, int, float | None, str]] = {
    "float8_e4m3fn": (4, 3, None, "fn"),
    "float8_e5m2": (5, 2, None, "ieee"),
    "float8_e4m3fnuz": (4, 3, 8, "fnuz"),
    "float8_e5m2fnuz": (5, 2, 16, "fnuz"),
    "float8_e4m3b11fnuz": (4, 3, 11, "fnuz"),
    "float8_e3m4": (3, 4, None, "ieee"),
    "float8_e4m3": (4, 3, None, "ieee"),
    "float6_e2m3fn": (2, 3, None, "none"),
    "float6_e3m2fn": (3, 2, None, "none"),
    "float4_e2m1fn": (2, 1, None, "none"),
    "float8_e8m0fnu": (8, 0, None, "fnu"),
    "bfloat16": (8, 7, None, "ieee"),
    "float16": (5, 10, None, "ieee"),
    "float32": (8, 23, None, "ieee"),
}


def _named(name: str, e: int, m: int, bias: float | None, special: str) -> FloatFormat:
    # ml_dtypes' MX formats turn NaN into a zero (it has no NaN code): keep that for exactness
    on_nan = "zero" if special == "none" else None
    return FloatFormat(e, m, bias, special, on_nan=on_nan, name=name)


for _name, _args in ML_DTYPES_FORMATS.items():
    FORMATS.add(_name, functools.partial(_named, _name, *_args))


def fp(layout: str, bias: float | None = None, special: str = "ieee", subnormals: bool = True,
       overflow: str | None = None, on_nan: str | None = None) -> FloatFormat:
    """Spec factory: ``fp:e3m2``, ``fp:e4m3,bias=8,special=fnuz``, ``fp:e5m7,overflow=saturate``."""
    text = str(layout).lower()
    try:
        e_txt, m_txt = text[1:].split("m")
        e, m = int(e_txt), int(m_txt)
        assert text[0] == "e"
    except (AssertionError, ValueError, IndexError):
        raise SpecError(f"bad float layout {layout!r}; expected 'eXmY' as in 'fp:e4m3'") from None
    return FloatFormat(e, m, bias, special, bool(subnormals), overflow, on_nan)


FORMATS.add("fp", fp)
