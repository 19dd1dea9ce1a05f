"""Integer-only non-linear ops of I-ViT: Shiftmax, ShiftGELU, I-LayerNorm.

Paper: Li & Gu, "I-ViT: Integer-only Quantization for Efficient Vision
Transformer Inference" (ICCV 2023), Sec. 3.3 (Shiftmax, Eq. 8-12), Sec. 3.4
(ShiftGELU, Eq. 13-14) and Sec. 3.5 (I-LayerNorm: integer square root by
Newton iteration, as in I-BERT, Kim et al. 2021).

Every op takes an integer tensor ``q`` with its real scale ``S`` (``x ≈ q·S``)
and returns an int64 tensor with its new scale. Constants that depend on the
scales (``x0 = floor(-1/S)``, shifts, dyadic multipliers) are folded offline in
Python; every tensor operation inside is on integers — run them under
:func:`mantissa.arith.integer_guard.integer_only` to have that asserted.

Shiftmax (for the last dimension)::

    d  = q - max(q)                      # <= 0
    p  = d + (d >> 1) - (d >> 4)         # d · log2(e) with shifts (1.0111b)
    p  = max(p, n · x0)                  # clip at -n
    u  = floor(p / x0);  r = p - u · x0  # p = -u + r in units of -x0 ≈ 1/S
    e  = ((r >> 1) - x0) << n >> u       # 2^r ≈ 1 + r/2, then 2^-u as a shift
    out = (e · floor((2^31-1) / Σe)) >> (32 - out_bits)   # scale 2^-(out_bits-1)
"""

from __future__ import annotations

import math

import torch

from mantissa.arith._check import int_in_range, int_tensor
from mantissa.arith.dyadic import dyadic_requant
from mantissa.errors import ConfigError

INT31 = 2**31 - 1


def _scale(scale: float) -> float:
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ConfigError(f"scale must be a finite positive number, got {scale!r}")
    return float(scale)


def _floor_div(a: torch.Tensor, b: int | torch.Tensor) -> torch.Tensor:
    return torch.div(a, b, rounding_mode="floor")


def shift_exp(d: torch.Tensor, scale: float, n: int = 15) -> tuple[torch.Tensor, float]:
    """Integer ``exp(d·S)`` for ``d <= 0`` (I-ViT Eq. 9-11); returns ``(e, S / 2^n)``."""
    d = int_tensor(d, "d").to(torch.int64)
    x0 = math.floor(-1.0 / _scale(scale))  # offline constant, < 0
    p = d + (d >> 1) - (d >> 4)
    below = p < n * x0  # e^p < 2^-n: zero (I-ViT clamps here, leaving 2^-n)
    p = torch.maximum(p, torch.full_like(p, n * x0))
    u = _floor_div(p, x0)
    r = p - x0 * u
    e = (((r >> 1) - x0) << n) >> u
    return torch.where(below, torch.zeros_like(e), e.clamp_min(0)), scale / 2**n


def _normalise(num: torch.Tensor, total: torch.Tensor, out_bits: int, recip_bits: int) -> torch.Tensor:
    """``num / total`` at scale ``2^-(out_bits-1)`` through one integer reciprocal per row:
    ``(num · floor((2^R - 1) / total)) >> (R + 1 - out_bits)`` (the paper: ``R = 31``).
    The reciprocal keeps about ``R - log2(total)`` significant bits; ``R <= 62`` fits int64
    because ``num <= total``."""
    limit = 2**recip_bits - 1
    total = total.clamp(1, limit)
    factor = _floor_div(torch.full_like(total, limit), total)
    return (num * factor) >> (recip_bits + 1 - out_bits)


def shiftmax(q: torch.Tensor, scale: float, *, out_bits: int = 8, n: int = 15,
             mask: torch.Tensor | None = None, recip_bits: int = 31) -> tuple[torch.Tensor, float]:
    """Integer-only softmax over the last dimension; returns ``(p, 2^-(out_bits-1))``.

    ``mask`` (bool, broadcastable, True = keep) zeroes excluded positions
    (causal or padding masks) before normalisation. ``recip_bits``: width of the
    normalising reciprocal (the paper's 31; wider keeps precision when ``S`` is small
    and the exponentials are large, see :func:`_normalise`).
    """
    q = int_tensor(q, "q").to(torch.int64)
    int_in_range(out_bits, "out_bits", 2, 16)
    int_in_range(n, "n", 1, 30)
    if mask is not None:
        low = torch.full_like(q, torch.iinfo(torch.int32).min)
        q = torch.where(mask, q, low)
    d = q - q.amax(dim=-1, keepdim=True)
    e, _ = shift_exp(d, scale, n)
    if mask is not None:
        e = torch.where(mask, e, torch.zeros_like(e))
    int_in_range(recip_bits, "recip_bits", out_bits, 62)
    return _normalise(e, e.sum(dim=-1, keepdim=True), out_bits, recip_bits), 2.0 ** -(out_bits - 1)


def shift_gelu(q: torch.Tensor, scale: float, *, out_bits: int = 8, n: int = 15, recip_bits: int = 31,
               form: str = "elementwise") -> tuple[torch.Tensor, float]:
    """Integer-only GELU ``x · sigmoid(1.702 x)`` (I-ViT Eq. 13-14); returns ``(y, S · 2^-(out_bits-1))``.

    ``1.702 x ≈ x + x>>1 + x>>3 + x>>4`` (1.1011b). The sigmoid uses ShiftExp:

    * ``form="rowmax"`` — the paper's ``e^(z-zmax) / (e^(z-zmax) + e^(-zmax))`` with
      ``zmax`` the max over the last dimension; loses small inputs when a row also
      holds large ones (both terms fall below the clip);
    * ``form="elementwise"`` (default) — ``t = e^(-|z|)``, ``sigmoid = 1/(1+t)`` for
      ``z >= 0`` and ``t/(1+t)`` otherwise: the same integer ShiftExp per element.
    """
    q = int_tensor(q, "q").to(torch.int64)
    int_in_range(out_bits, "out_bits", 2, 16)
    z = q + (q >> 1) + (q >> 3) + (q >> 4)
    if form == "rowmax":
        zmax = z.amax(dim=-1, keepdim=True).clamp_min(0)
        num, _ = shift_exp(z - zmax, scale, n)
        other, _ = shift_exp(-zmax, scale, n)
    elif form == "elementwise":
        t, _ = shift_exp(-z.abs(), scale, n)
        one = torch.full_like(t, -math.floor(-1.0 / _scale(scale)) << n)  # e^0 in t's units
        num, other = torch.where(z >= 0, one, t), torch.where(z >= 0, t, one)
    else:
        raise ConfigError(f"form must be 'elementwise' or 'rowmax', got {form!r}")
    int_in_range(recip_bits, "recip_bits", out_bits, 62)
    sig = _normalise(num, num + other, out_bits, recip_bits)
    return q * sig, _scale(scale) * 2.0 ** -(out_bits - 1)


def isqrt(n: torch.Tensor) -> torch.Tensor:
    """Exact ``floor(sqrt(n))`` of non-negative int64 values by Newton iteration (I-BERT Alg. 4).

    Starts at ``2^ceil(bits(n)/2) >= sqrt(n)`` and iterates ``x <- (x + n // x) >> 1``
    while that decreases.
    """
    n = int_tensor(n, "n").to(torch.int64)
    if (n < 0).any():
        raise ConfigError("isqrt takes non-negative integers")
    bits = torch.zeros_like(n)
    for i in range(63):  # bit length by comparisons (integer-only)
        bits = bits + (n >= (1 << i)).to(torch.int64)
    x = torch.ones_like(n) << ((bits + 1) >> 1)
    for _ in range(64):
        y = (x + _floor_div(n, x)) >> 1
        done = y >= x
        if bool(done.all()):
            break
        x = torch.where(done, x, y).clamp_min(1)
    return torch.where(n == 0, torch.zeros_like(x), x)


def i_layernorm(q: torch.Tensor, *, gamma_m: torch.Tensor | None = None, gamma_k: int = 0,
                beta_q: torch.Tensor | None = None, clamp: tuple[int, int] | None = None
                ) -> tuple[torch.Tensor, float]:
    """Integer-only LayerNorm over the last dimension (I-ViT Sec. 3.5).

    Without affine constants returns the normalised ``y`` at scale
    ``sqrt(C) / 2^30`` (``(q - mean) / sqrt(Σ(q-mean)²) · 2^30``). With
    ``gamma_m``/``gamma_k``/``beta_q`` (from :func:`layernorm_constants`,
    folded offline) returns ``(y · gamma_m + beta_q + 2^(k-1)) >> k`` at the
    chosen output scale: ``beta_q`` is held at ``out_scale · 2^-k`` so that the
    affine output is rounded once (the returned scale is then 0.0: the caller
    knows it).
    """
    q = int_tensor(q, "q").to(torch.int64)
    c = q.shape[-1]
    mean = _floor_div(q.sum(dim=-1, keepdim=True) + c // 2, c)
    y = q - mean
    std = isqrt((y * y).sum(dim=-1, keepdim=True)).clamp_min(1)
    factor = _floor_div(torch.full_like(std, INT31), std)
    y = (y * factor) >> 1
    if gamma_m is None:
        return y, math.sqrt(c) / 2**30
    y = y * int_tensor(gamma_m, "gamma_m").to(torch.int64)
    if beta_q is not None:
        y = y + int_tensor(beta_q, "beta_q").to(torch.int64)
    y = dyadic_requant(y, 1, gamma_k)
    if clamp is not None:
        y = y.clamp(*clamp)
    return y, 0.0


def layernorm_constants(weight: torch.Tensor, bias: torch.Tensor, out_scale: float,
                        bits: int = 24) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Offline: fold LayerNorm's affine and the output scale into ``(gamma_m, gamma_k, beta_q)``.

    Negative ``weight`` entries are kept by sign: ``gamma_m`` is signed. ``beta_q`` is the
    bias at the pre-shift scale ``out_scale · 2^-gamma_k``.
    """
    from mantissa.arith.dyadic import dyadic_tensor

    c = weight.numel()
    ratio = weight.detach().double() * math.sqrt(c) / 2**30 / _scale(out_scale)
    m, k = dyadic_tensor(ratio.abs().clamp_min(1e-30), bits)
    m = torch.where(ratio < 0, -m, m)
    m = torch.where(ratio == 0, torch.zeros_like(m), m)
    beta = torch.round(bias.detach().double() / out_scale * 2.0**k).to(torch.int64)
    return m, k, beta
