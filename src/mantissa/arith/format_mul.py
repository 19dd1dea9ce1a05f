"""Products in a number format: the reference multiplier that L-Mul is measured against.

L-Mul (Luo & Sun, "Addition is All You Need for Energy-efficient Language Models", 2024,
Sec. 3) compares its error with multiplying in float8: both operands rounded to the format,
the exact product rounded again (``round(round(a) · round(b))``, Eq. 1's ``Mul`` in the
format's precision). :func:`format_mul` computes exactly that in float64 with
:mod:`mantissa.formats` (ml_dtypes-exact rounding), optionally after scaling each operand
by a power of two (:func:`pow2_scale`) so that no product overflows the format, and undoes
the scaling afterwards (a power of two changes no mantissa bit).
"""

from __future__ import annotations

import math

import torch

from mantissa import formats


def pow2_scale(x: torch.Tensor, fmt_max: float) -> float:
    """A power of two mapping max|x| to at most sqrt(``fmt_max``): no product can overflow."""
    return 2.0 ** math.floor(math.log2(math.sqrt(fmt_max) / float(x.abs().max())))


def format_mul(a: torch.Tensor, b: torch.Tensor, fmt: str | formats.Format,
               scale: bool = False) -> torch.Tensor:
    """``round(round(a) · round(b))`` in ``fmt`` (float64 result), element-wise.

    ``scale=True`` first scales ``a`` and ``b`` by powers of two (:func:`pow2_scale`) and
    divides the product by them again, so the format's range never clips a product."""
    f = formats.get(fmt)
    sa = pow2_scale(a, f.info.max) if scale else 1.0
    sb = pow2_scale(b, f.info.max) if scale else 1.0
    qa, qb = f.quantize(a * sa), f.quantize(b * sb)
    return f.quantize(qa.double() * qb.double()) / (sa * sb)
