"""Dyadic requantization: rescaling integers by ``m · 2^-k`` with one multiply and one shift.

Used by the integer-only pipelines (Jacob et al., 2018; Yao et al., HAWQ-V3,
2021; Li & Gu, I-ViT, 2023, Eq. 5): a real rescale factor ``r = S_in / S_out``
is folded offline into integers ``(m, k)`` with ``m / 2^k ≈ r``; at run time
``q_out = (q_in · m + 2^(k-1)) >> k`` (round half up), all integer.
"""

from __future__ import annotations

import math

import torch

from mantissa.arith._check import int_in_range, int_tensor
from mantissa.errors import ConfigError


def dyadic_from_scale(ratio: float, bits: int = 24) -> tuple[int, int]:
    """Offline: the integers ``(m, k)`` with ``m < 2^bits`` and ``m / 2^k`` closest to ``ratio``.

    >>> dyadic_from_scale(0.75, bits=4)
    (12, 4)
    """
    if not (isinstance(ratio, int | float) and math.isfinite(ratio) and ratio > 0):
        raise ConfigError(f"ratio must be a finite positive number, got {ratio!r}")
    int_in_range(bits, "bits", 2, 40)
    _, e = math.frexp(ratio)  # ratio = f * 2^e, f in [0.5, 1)
    k = bits - e
    m = round(ratio * 2.0**k)
    if m >= 2**bits:  # rounding reached the next power of two
        m, k = m // 2, k - 1
    while k < 0:  # very large ratios: keep k >= 0 (m grows)
        m, k = m * 2, k + 1
    return int(m), int(k)


def dyadic_tensor(ratios: torch.Tensor, bits: int = 24) -> tuple[torch.Tensor, int]:
    """Offline, per channel: integer multipliers ``m`` (int64) sharing one shift ``k``."""
    r = ratios.detach().double().flatten()
    if not (torch.isfinite(r).all() and (r > 0).all()):
        raise ConfigError("per-channel ratios must be finite and positive")
    k = max(dyadic_from_scale(float(r.max()), bits)[1], 0)
    m = torch.round(r * 2.0**k).to(torch.int64).clamp_min(1)
    return m.reshape(ratios.shape), k


def dyadic_requant(q: torch.Tensor, m: int | torch.Tensor, k: int, *,
                   clamp: tuple[int, int] | None = None) -> torch.Tensor:
    """``(q · m + 2^(k-1)) >> k`` in int64, optionally clamped to ``clamp=(lo, hi)``."""
    q = int_tensor(q, "q").to(torch.int64)
    int_in_range(k, "k", 0, 62)
    if isinstance(m, torch.Tensor):
        m = int_tensor(m, "m").to(torch.int64)
    out = q * m
    if k:
        out = (out + (1 << (k - 1))) >> k
    if clamp is not None:
        out = out.clamp(clamp[0], clamp[1])
    return out
