"""Power-of-two weights and the shift-add matmul (DeepShift / ShiftAddNet style, used by ShiftAddLLM).

A weight ``w`` becomes ``sign · 2^p`` with an integer exponent ``p`` (nearest
in log2, clamped to ``[min_exp, max_exp]``; weights below ``2^(min_exp-1)``
become zero). ``shift_matmul`` then needs no multiplier: every product is the
activation shifted by ``p`` (``ldexp``, exact in floating point; an arithmetic
shift on integers) and added or subtracted.
"""

from __future__ import annotations

import torch

from mantissa.arith._check import float_tensor, int_in_range, int_tensor
from mantissa.errors import ShapeError


def shift_quantize(weight: torch.Tensor, *, min_exp: int = -16,
                   max_exp: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sign, exponent)`` int8 tensors with ``weight ≈ sign · 2^exponent`` (sign 0 = zero weight).

    The exponent is ``round(log2|w|)`` (nearest power of two in the log domain).
    """
    weight = float_tensor(weight, "weight")
    int_in_range(min_exp, "min_exp", -126, 126)
    int_in_range(max_exp, "max_exp", min_exp, 126)
    mag = weight.detach().abs().double()
    exp = torch.round(torch.log2(mag.clamp_min(2.0**-200))).clamp(min_exp, max_exp)
    sign = torch.sign(weight.detach()).to(torch.int8)
    sign = torch.where(mag < 2.0 ** (min_exp - 1), torch.zeros_like(sign), sign)
    return sign, exp.to(torch.int8)


def shift_dequantize(sign: torch.Tensor, exp: torch.Tensor,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return sign.to(dtype) * torch.pow(2.0, exp.to(dtype))


def shift_matmul(x: torch.Tensor, sign: torch.Tensor, exp: torch.Tensor) -> torch.Tensor:
    """``x @ (sign · 2^exp)ᵀ`` with additions and shifts only; ``sign``/``exp`` are ``(out, in)``.

    Grouped by exponent: ``Σ_e shift(Σ_{k: exp_k = e} ±x_k, e)`` — the inner sums
    are additions (a product with a {-1, 0, +1} matrix), then one shift per
    exponent value and output. Float ``x``: the shift is ``ldexp`` (exact).
    Integer ``x``: sums are exact in int64, the shift is ``<< e`` for ``e >= 0``
    and a floor ``>> -e`` otherwise (applied to each group sum).
    """
    int_tensor(sign, "sign")
    int_tensor(exp, "exp")
    if sign.shape != exp.shape or sign.dim() != 2 or x.shape[-1] != sign.shape[1]:
        raise ShapeError(f"sign and exp must both be (out, in={x.shape[-1]}), got "
                         f"{tuple(sign.shape)} and {tuple(exp.shape)}")
    x2 = x.reshape(-1, x.shape[-1])
    work = x2 if x.is_floating_point() else x2.to(torch.int64)
    s = sign.to(work.dtype)
    y = torch.zeros(x2.shape[0], sign.shape[0], dtype=work.dtype)
    for e in torch.unique(exp[sign != 0]).tolist():
        part = work @ torch.where(exp == e, s, torch.zeros_like(s)).t()  # adds and subtracts
        if x.is_floating_point():
            y = y + torch.ldexp(part, torch.tensor(float(e), dtype=work.dtype))
        else:
            y = y + (part << e if e >= 0 else part >> -e)
    return y.reshape(*x.shape[:-1], sign.shape[0])
