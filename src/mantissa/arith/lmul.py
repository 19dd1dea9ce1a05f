"""L-Mul: floating-point multiplication approximated by one integer addition.

Paper: Luo & Sun, "Addition is All You Need for Energy-efficient Language
Models" (2024), Eq. 3 (L-Mul) and Eq. 4 (the offset l(m))::

    Mul(x, y)   = (1 + x_m)(1 + y_m) · 2^(x_e + y_e)
    L-Mul(x, y) = (1 + x_m + y_m + 2^-l(m)) · 2^(x_e + y_e),
    l(m) = m if m <= 3;  3 if m = 4;  4 if m > 4,

with the sign the XOR of the signs. Operands carry ``m`` mantissa bits (they
are rounded to nearest-even to ``m`` bits first) and the exponent range of
float32, which is the carrier format of this implementation.

**Carry.** When ``x_m + y_m + 2^-l >= 1`` the two readings differ:

* ``carry="exponent"`` (default) — the hardware form: the magnitudes' bit
  patterns are added as integers, ``bits(x) + bits(y) - bias + 2^(23-l)``, so
  the mantissa overflow carries into the exponent and the value is
  ``2 (x_m + y_m + 2^-l) · 2^(x_e+y_e)`` (Mitchell's logarithmic multiplier).
* ``carry="literal"`` — the formula taken literally: ``(1 + s) · 2^(x_e+y_e)``
  with ``s = x_m + y_m + 2^-l`` in ``[1, 2)``; the result needs one more
  mantissa bit (exact for ``m <= 22``; at ``m = 23`` the last bit is truncated).

**Special values.** Signed zero if either operand is zero; subnormal operands
are flushed to zero, and a result whose exponent underflows is flushed to
(signed) zero; a result whose exponent overflows is (signed) inf; NaN if either
operand is NaN or for inf × 0; inf × finite non-zero is signed inf.
"""

from __future__ import annotations

import math

import torch

from mantissa.arith._check import choice, float_tensor, int_in_range, matmul_shapes

MANT = 23  # float32 mantissa bits (the carrier)
BIAS = 127
CARRIES = ("exponent", "literal")
ACCUMULATE = ("fp32", "fp64")
_MAG = 0x7FFFFFFF
_EXP_MASK = 0xFF << MANT
_FRAC = (1 << MANT) - 1


def offset_bits(mantissa_bits: int) -> int:
    """The paper's l(m): m for m <= 3, 3 for m = 4, 4 for m > 4."""
    m = int_in_range(mantissa_bits, "mantissa_bits", 1, MANT)
    return m if m <= 3 else (3 if m == 4 else 4)


def _bits(x: torch.Tensor) -> torch.Tensor:
    """Float32 bit patterns as non-negative int64."""
    return x.to(torch.float32).contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF


def round_mantissa_bits(mag: torch.Tensor, m: int) -> torch.Tensor:
    """Round non-negative float32 magnitude patterns to ``m`` mantissa bits (nearest-even)."""
    drop = MANT - m
    if drop == 0:
        return mag
    lsb = (mag >> drop) & 1
    return ((mag + (1 << (drop - 1)) - 1 + lsb) >> drop) << drop


def round_to_mantissa(x: torch.Tensor, mantissa_bits: int) -> torch.Tensor:
    """``x`` rounded to ``mantissa_bits`` mantissa bits (float32 exponent range, RNE)."""
    x = float_tensor(x, "x").to(torch.float32)
    m = int_in_range(mantissa_bits, "mantissa_bits", 1, MANT)
    bits = _bits(x)
    mag = round_mantissa_bits(bits & _MAG, m)
    out = ((bits & 0x80000000) | mag).to(torch.int64)
    out = torch.where(out >= 2**31, out - 2**32, out).to(torch.int32).view(torch.float32)
    return torch.where(torch.isnan(x), x, out)


def _prepare(x: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sign bit, rounded magnitude pattern) with subnormals flushed to zero."""
    bits = _bits(x)
    mag = bits & _MAG
    finite = mag < _EXP_MASK
    mag = torch.where(finite & (mag < (1 << MANT)), torch.zeros_like(mag), mag)
    mag = torch.where(finite, round_mantissa_bits(mag, m), mag)
    return bits & 0x80000000, mag


def _combine(sa, ma, sb, mb, m: int, carry: str) -> torch.Tensor:
    """L-Mul on prepared patterns; returns float32."""
    off = 1 << (MANT - offset_bits(m))
    if carry == "exponent":
        total = ma + mb - (BIAS << MANT) + off
    else:
        frac = (ma & _FRAC) + (mb & _FRAC) + off
        exp = (ma >> MANT) + (mb >> MANT) - BIAS
        over = frac >= (1 << MANT)
        frac = torch.where(over, (frac - (1 << MANT)) >> 1, frac)
        total = ((exp + over.to(torch.int64)) << MANT) + frac
    total = torch.where(total < (1 << MANT), torch.zeros_like(total), total)
    total = total.clamp_max(_EXP_MASK)  # exponent overflow -> inf
    a_zero, b_zero = ma == 0, mb == 0
    a_inf, b_inf = ma == _EXP_MASK, mb == _EXP_MASK
    a_nan, b_nan = ma > _EXP_MASK, mb > _EXP_MASK
    total = torch.where(a_zero | b_zero, torch.zeros_like(total), total)
    total = torch.where(a_inf | b_inf, torch.full_like(total, _EXP_MASK), total)
    nan = a_nan | b_nan | (a_inf & b_zero) | (b_inf & a_zero)
    total = torch.where(nan, torch.full_like(total, 0x7FC00000), total)
    sign = torch.where(nan, torch.zeros_like(sa), sa ^ sb)
    out = sign | total
    return torch.where(out >= 2**31, out - 2**32, out).to(torch.int32).view(torch.float32)


def _combine_finite(sa, ma, sb, mb, m: int) -> torch.Tensor:
    """Fast path of :func:`_combine` (carry into the exponent) for finite operands whose
    zero magnitudes were replaced by a large negative number."""
    total = ma + mb + ((1 << (MANT - offset_bits(m))) - (BIAS << MANT))
    total = torch.where(total < (1 << MANT), 0, total).clamp_max_(_EXP_MASK)
    out = (sa ^ sb) | total
    return torch.where(out >= 2**31, out - 2**32, out).to(torch.int32).view(torch.float32)


def lmul(a: torch.Tensor, b: torch.Tensor, mantissa_bits: int = 3, *,
         carry: str = "exponent") -> torch.Tensor:
    """Element-wise L-Mul of ``a`` and ``b`` (broadcast) with ``mantissa_bits`` mantissa bits.

    >>> lmul(torch.tensor([1.5]), torch.tensor([1.5]), 3)   # 1 + .5 + .5 + 1/8, carried
    tensor([2.2500])
    """
    a, b = float_tensor(a, "a"), float_tensor(b, "b")
    m = int_in_range(mantissa_bits, "mantissa_bits", 1, MANT)
    carry = choice(carry, "carry", CARRIES)
    a, b = torch.broadcast_tensors(a, b)
    return _combine(*_prepare(a, m), *_prepare(b, m), m, carry)


def _split(x: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(X rounded to ``m`` bits, E = sign·2^e of X, the mantissa code i of X: X = E·(1 + i/2^m))."""
    sign, mag = _prepare(x, m)
    value = ((sign | mag).to(torch.int64))
    value = torch.where(value >= 2**31, value - 2**32, value).to(torch.int32).view(torch.float32)
    power = (sign | (mag & _EXP_MASK)).to(torch.int64)
    power = torch.where(power >= 2**31, power - 2**32, power).to(torch.int32).view(torch.float32)
    code = (mag & _FRAC) >> (MANT - m)
    return value, power, code


def _decomposable(pa: torch.Tensor, pb: torch.Tensor) -> bool:
    """True when no product can underflow or overflow float32's exponent range (then the
    element-wise flushes never fire and the L-Mul matmul is a sum of ordinary matmuls)."""
    def rng(p: torch.Tensor) -> tuple[int, int] | None:
        e = torch.frexp(p[p != 0].abs())[1] - 1
        return None if e.numel() == 0 else (int(e.min()), int(e.max()))
    ra, rb = rng(pa), rng(pb)
    if ra is None or rb is None:
        return True
    return ra[0] + rb[0] >= 2 - BIAS and ra[1] + rb[1] <= BIAS - 2


def _lmul_matmul_decomposed(a: torch.Tensor, b: torch.Tensor, m: int, carry: str,
                            acc: torch.dtype) -> torch.Tensor | None:
    """L-Mul matmul as at most ``2^m + 3`` dense matmuls, or None when not applicable.

    With ``X = E(1 + x_m)``, ``Y = F(1 + y_m)`` (E, F signed powers of two) and ``δ = 2^-l``,
    ``E·F·(1 + x_m + y_m + δ) = X·F + E·Y − (1 − δ)·E·F`` — three matmuls (``carry="literal"``).
    The exponent carry (bit patterns added) makes the value ``E·F·g(s)``, ``s = x_m + y_m + δ``,
    with ``g(s) = 1 + s + max(0, s − 1) + 2·max(0, s − 2)`` (``s`` reaches 2 when ``m >= 5``:
    the mantissa field then carries twice); grouping the rows of ``a`` by their mantissa code
    ``i`` turns the correction into one matmul per code:
    ``Σ_i (E·[x_m = i/2^m]) @ (F·(g(i/2^m + y_m + δ) − 1 − i/2^m − y_m − δ))``.
    Every term is an exact product; only the summation order differs from the element-wise form.
    """
    if m > (22 if carry == "literal" else 7):  # literal m=23 truncates; 2^m matmuls for the carry
        return None
    xa, ea, ca = _split(a, m)
    xb, eb, cb = _split(b, m)
    if not (torch.isfinite(xa).all() and torch.isfinite(xb).all() and _decomposable(ea, eb)):
        return None
    xa, ea, xb, eb = xa.to(acc), ea.to(acc), xb.to(acc), eb.to(acc)
    delta = 2.0 ** -offset_bits(m)
    out = xa @ eb + ea @ xb - (1 - delta) * (ea @ eb)
    if carry == "exponent":
        frac_b = cb.to(acc) / 2**m
        for i in range(2**m):
            rows = ea * (ca == i)
            base = frac_b + (i / 2**m + delta)
            extra = (base - 1).clamp_min(0) + 2 * (base - 2).clamp_min(0)  # carries of 1 and 2
            if bool((extra > 0).any()) and bool((ca == i).any()):
                out = out + rows @ (eb * extra)
    return out


def lmul_matmul(a: torch.Tensor, b: torch.Tensor, mantissa_bits: int = 3, *,
                carry: str = "exponent", accumulate: str = "fp32",
                chunk_elems: int = 1 << 22, ste: bool = False, decompose: bool = True) -> torch.Tensor:
    """``a @ b`` with every scalar product an L-Mul, summed in ``accumulate`` precision.

    ``a``: ``(..., M, K)``, ``b``: ``(..., K, N)`` (batch dims broadcast). When every
    operand is finite and no product can leave float32's exponent range, the sum of
    L-Mul products is computed as at most ``2^m + 3`` ordinary matmuls of exact terms
    (:func:`_lmul_matmul_decomposed`; same values up to summation order). Otherwise
    (or ``decompose=False``) the products are formed element-wise as an
    ``(M_chunk, K, N)`` block in chunks of at most ``chunk_elems`` elements.
    ``ste=True`` adds a straight-through gradient (that of the exact matmul) so a
    model can be fine-tuned through it.
    """
    a, b = float_tensor(a, "a"), float_tensor(b, "b")
    matmul_shapes(a, b, "a", "b")
    m = int_in_range(mantissa_bits, "mantissa_bits", 1, MANT)
    carry = choice(carry, "carry", CARRIES)
    acc = torch.float64 if choice(accumulate, "accumulate", ACCUMULATE) == "fp64" else torch.float32
    fast_out = _lmul_matmul_decomposed(a.detach(), b.detach(), m, carry, acc) if decompose else None
    if fast_out is not None:
        out = fast_out.to(torch.promote_types(a.dtype, b.dtype)) if acc == torch.float32 else fast_out
        return _with_ste(out, a, b) if ste else out
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    A = a.detach().expand(*batch, *a.shape[-2:])
    B = b.detach().expand(*batch, *b.shape[-2:])
    sa, ma = _prepare(A, m)
    sb, mb = _prepare(B, m)
    M, K, N = A.shape[-2], A.shape[-1], B.shape[-1]
    per_row = max(1, K * N * max(1, math.prod(batch)))
    step = max(1, chunk_elems // per_row)
    fast = carry == "exponent" and bool((ma < _EXP_MASK).all() and (mb < _EXP_MASK).all())
    if fast:  # no inf/NaN: zeros become a large negative so they flush like underflow
        ma = torch.where(ma == 0, torch.full_like(ma, -(1 << 40)), ma)
        mb = torch.where(mb == 0, torch.full_like(mb, -(1 << 40)), mb)
    rows = []
    for i in range(0, M, step):
        a_s, a_m = sa[..., i:i + step, :, None], ma[..., i:i + step, :, None]
        if fast:
            prod = _combine_finite(a_s, a_m, sb[..., None, :, :], mb[..., None, :, :], m)
        else:
            prod = _combine(a_s, a_m, sb[..., None, :, :], mb[..., None, :, :], m, carry)
        rows.append(prod.to(acc).sum(dim=-2))
    out = torch.cat(rows, dim=-2) if rows else torch.zeros(*batch, 0, N, dtype=acc)
    out = out.to(torch.promote_types(a.dtype, b.dtype)) if acc == torch.float32 else out
    return _with_ste(out, a, b) if ste else out


def _with_ste(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``out`` in the forward pass, the exact matmul's gradient in the backward pass."""
    if not (a.requires_grad or b.requires_grad):
        return out
    exact = a @ b
    return exact + (out.to(exact.dtype) - exact).detach()


def lmul_reference(x: float, y: float, mantissa_bits: int, carry: str = "exponent") -> float:
    """The formula in float64 on Python floats (an independent reference for tests).

    Uses ``math.frexp`` and Python's round-half-even on the mantissa; flushes
    subnormals and underflow to zero like :func:`lmul`.
    """
    m = int_in_range(mantissa_bits, "mantissa_bits", 1, MANT)
    if math.isnan(x) or math.isnan(y):
        return math.nan
    sign = -1.0 if (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0) else 1.0
    tiny = 2.0 ** (1 - BIAS)

    def split(v: float) -> tuple[float, float]:
        """(m-bit mantissa fraction, exponent); exponent inf for inf, -inf for zero/subnormal."""
        if math.isinf(v):
            return 0.0, math.inf
        if abs(v) < tiny:  # zero or subnormal: flushed
            return 0.0, -math.inf
        fr, e = math.frexp(abs(v))  # |v| = fr * 2^e, fr in [0.5, 1)
        q = round((2 * fr - 1) * 2**m)  # round half to even
        xm, xe = (0.0, e) if q == 2**m else (q / 2**m, e - 1)  # may round up a binade
        return (0.0, math.inf) if xe > BIAS else (xm, xe)

    (xm, xe), (ym, ye) = split(x), split(y)
    if math.inf in (xe, ye):
        return math.nan if -math.inf in (xe, ye) else sign * math.inf
    if -math.inf in (xe, ye):
        return sign * 0.0
    s = xm + ym + 2.0 ** -offset_bits(m)
    c = 0 if carry == "literal" else math.floor(s)  # integer add: each whole unit carries
    value = (1 + s - c) * 2.0 ** (xe + ye + c)
    if value < tiny:
        return sign * 0.0
    if value >= 2.0 ** (BIAS + 1):
        return sign * math.inf
    return sign * value


def lmul_error_model(mantissa_bits: int, carry: str = "exponent") -> dict[str, float]:
    """Expected and maximum relative error of the L-Mul step for m-bit operands.

    Exact over the m-bit grid: every pair of mantissas ``(i/2^m, j/2^m)`` is
    enumerated (uniform mantissas), in float64. Also returns the error of an
    exact product rounded back to m bits (ordinary m-bit float multiplication)
    on the same grid, for comparison.
    """
    m = int_in_range(mantissa_bits, "mantissa_bits", 1, 12)
    carry = choice(carry, "carry", CARRIES)
    g = torch.arange(2**m, dtype=torch.float64) / 2**m
    xm, ym = g[:, None], g[None, :]
    exact = (1 + xm) * (1 + ym)
    s = xm + ym + 2.0 ** -offset_bits(m)
    c = torch.floor(s) if carry == "exponent" else torch.zeros_like(s)
    approx = (1 + s - c) * 2**c
    rel = ((approx - exact) / exact).abs()
    e = torch.floor(torch.log2(exact))
    rounded = torch.round(exact / 2**e * 2**m) / 2**m * 2**e  # torch.round is half-to-even
    rel_fp = ((rounded - exact) / exact).abs()
    return {"mean_rel_error": float(rel.mean()), "max_rel_error": float(rel.max()),
            "bias": float(((approx - exact) / exact).mean()),
            "fp_mean_rel_error": float(rel_fp.mean()), "fp_max_rel_error": float(rel_fp.max())}
