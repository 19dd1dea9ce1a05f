"""A fast float32 path for round-to-nearest-even onto a float format.

The reference path (:meth:`FloatFormat._quantize_grid`) scales by the ulp and
rounds; this one lets the FPU do the rounding: for ``|x|`` in a binade whose
target ulp is ``2**u``, adding ``C = 2**(u + 23)`` to ``|x|`` in float32 leaves
exactly the bits above the ulp, rounded to nearest-even, and subtracting ``C``
again is exact. ``C`` is built from the exponent bits of ``x``, so the whole
rounding is a handful of elementwise integer and float ops (and fuses into one
loop under ``torch.compile``: :func:`compiled_quantize`). Elements too large for
``C`` to be a finite float32 are scaled by ``2**-64`` first (exact). Tests check
it bit for bit against the reference path and ml_dtypes.
"""

from __future__ import annotations

import functools

import torch

F32_BIAS = 127


def supports(fmt, x: torch.Tensor, mode: str) -> bool:
    """Whether the fast path applies (float32 input, nearest-even, plain grid)."""
    return (x.dtype == torch.float32 and mode == "nearest-even" and fmt.frac_bias == 0
            and fmt.man_bits <= 22 and fmt.subnormals and fmt.special in ("ieee", "fn", "fnuz", "none")
            and fmt.emin - fmt.man_bits >= -149 and fmt.emax <= 127)


def _params(fmt) -> tuple[int, int, int, bool, float]:
    m = fmt.man_bits
    lo_field = fmt.emin + F32_BIAS  # float32 exponent field of the smallest normal binade
    shift = 23 - m                 # C's exponent = field - m + 23
    big_field = 254 - shift       # fields above this would make C overflow
    needs_scaling = fmt.emax + F32_BIAS + 1 > big_field
    return lo_field, shift, big_field, needs_scaling, fmt._max_int


def quantize_rne(fmt, x: torch.Tensor) -> torch.Tensor:
    """Round float32 ``x`` to ``fmt`` (nearest-even), with the format's overflow and special policy."""
    lo_field, shift, big_field, needs_scaling, top = _params(fmt)
    a = x.abs()
    field = a.view(torch.int32) >> 23
    if needs_scaling:
        big = field > big_field
        a = torch.where(big, a * 2.0 ** -64, a)
        field = torch.where(big, field - 64, field)
    c = (field.clamp(min=lo_field, max=big_field) + shift) << 23
    cf = c.view(torch.float32)
    q = (a + cf) - cf
    if needs_scaling:
        q = torch.where(big, q * 2.0 ** 64, q)
    return _finish(fmt, x, q, top)


def _finish(fmt, x: torch.Tensor, q: torch.Tensor, top: float) -> torch.Tensor:
    # q >= 0 here (or NaN); only scalar constants, so torch.compile fuses it into one loop
    if fmt.special == "none":
        q = q.clamp(max=top)  # saturate (NaN propagates through clamp)
    elif fmt.overflow == "saturate":
        keep_inf = torch.isinf(x) if fmt.has_inf else torch.zeros_like(x, dtype=torch.bool)
        q = torch.where((q > top) & ~keep_inf, top, q)
    else:
        q = torch.where(q > top, torch.inf if fmt.has_inf else torch.nan, q)
    q = torch.copysign(q, x)
    if fmt.special == "fnuz":
        q = q + 0.0
    elif fmt.special == "none":
        # ml_dtypes: NaN becomes a zero of the opposite sign (the caller raises first if on_nan='raise')
        flipped = ((x.view(torch.int32) & -(2 ** 31)) ^ -(2 ** 31)).view(torch.float32)  # ±0, sign flipped
        q = torch.where(torch.isnan(q), flipped, q)
    return q


def _compile(fn):
    import torch._dynamo

    # one compiled graph per format, all from the same Python function: allow many
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    return torch.compile(fn, dynamic=False)


@functools.lru_cache(maxsize=32)
def compiled_quantize(fmt):
    """``torch.compile``-d :func:`quantize_rne` for ``fmt`` (one fused loop; needs a C++ compiler)."""
    return _compile(functools.partial(quantize_rne, fmt))


def encode_rne(fmt, x: torch.Tensor) -> torch.Tensor:
    """Codes of float32 ``x`` rounded to ``fmt`` (nearest-even), read off the float32 bits of the grid value.

    A normal grid value's float32 bits are ``(e + 127) << 23 | mant << (23 - m)``, so its code is
    ``bits >> (23 - m)`` minus ``(127 - bias) << m``; a subnormal one's is ``|q| / 2**(emin - m)``,
    obtained exactly as the bits of ``|q| + 2**(emin - m + 23)`` minus those of the constant.
    """
    q = quantize_rne(fmt, x)
    m, bits = fmt.man_bits, fmt.bits
    qb = q.view(torch.int32)
    mag_bits = qb & 0x7FFFFFFF
    normal = (mag_bits >> (23 - m)) - ((F32_BIAS - fmt.int_bias) << m)
    c_bits = (fmt.emin - m + 23 + F32_BIAS) << 23
    c = torch.tensor(c_bits, dtype=torch.int32).view(torch.float32).item()
    sub = (mag_bits.view(torch.float32) + c).view(torch.int32) - c_bits
    code = torch.where(mag_bits >= ((fmt.emin + F32_BIAS) << 23), normal, sub)
    sign = (qb >> 31) & 1
    if fmt.has_inf or fmt.has_nan:
        exp_all = (2 ** fmt.exp_bits - 1) << m
        nan_mag = {"ieee": exp_all | (1 << max(m - 1, 0)), "fn": 2 ** (bits - 1) - 1, "fnuz": 0}[fmt.special]
        code = torch.where(mag_bits >= 0x7F800000, torch.where(mag_bits > 0x7F800000, nan_mag, exp_all), code)
        if fmt.special == "fnuz":  # NaN is the lone sign bit
            sign = sign | (mag_bits > 0x7F800000).to(torch.int32)
    code = code | (sign << (bits - 1))
    return code.to(torch.uint8) if bits <= 8 else code


@functools.lru_cache(maxsize=32)
def compiled_encode(fmt):
    """``torch.compile``-d :func:`encode_rne` for ``fmt``."""
    return _compile(functools.partial(encode_rne, fmt))
