"""Uniform (affine and symmetric) quantization, Gholami et al. 2021 ("A Survey of
Quantization Methods for Efficient Neural Network Inference"), Eq. 2-5:

``Q(r) = clamp(round(r / S) + Z, qmin, qmax)``,  ``r~ = S (Q(r) - Z)``.

Symmetric: ``S = max(|lo|, |hi|) / qmax``, ``Z = 0``. Affine (asymmetric):
``S = (hi - lo) / (qmax - qmin)``, ``Z = qmin - round(lo / S)`` with the range
widened to include 0 so that zero is exact. Float element formats (FP8/FP6/FP4)
use ``S = amax / max(format)`` and round onto the format's grid. Everything here
works on the ``(S, L)`` row view of :mod:`mantissa.quant.granularity`; the
per-row parameters have shape ``(S, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mantissa.errors import ConfigError
from mantissa.formats import FloatFormat, Format, IntFormat

_TINY = 1e-12


@dataclass
class QParams:
    """Per-row scale and zero point (``(S, 1)`` tensors)."""

    scale: torch.Tensor
    zero_point: torch.Tensor


def qparams(lo: torch.Tensor, hi: torch.Tensor, fmt: Format, symmetric: bool = True) -> QParams:
    """Scale and zero point that map ``[lo, hi]`` (per row) onto ``fmt``."""
    lo, hi = torch.minimum(lo, torch.zeros_like(lo)), torch.maximum(hi, torch.zeros_like(hi))
    if isinstance(fmt, FloatFormat):
        if not symmetric:
            raise ConfigError(f"float element format {fmt} supports symmetric quantization only")
        amax = torch.maximum(-lo, hi)
        scale = amax / fmt.info.max
        return QParams(_safe(scale), torch.zeros_like(scale))
    if not isinstance(fmt, IntFormat):
        raise ConfigError(f"uniform quantization needs an integer or float format, got {fmt}")
    if symmetric:
        if not fmt.signed:
            raise ConfigError(f"symmetric quantization needs a signed format, got {fmt}; use sym=false")
        scale = torch.maximum(-lo, hi) / fmt.qmax
        return QParams(_safe(scale), torch.zeros_like(scale))
    scale = _safe((hi - lo) / (fmt.qmax - fmt.qmin))
    zp = torch.clamp(fmt.qmin - torch.round(lo / scale), fmt.qmin, fmt.qmax)
    return QParams(scale, zp)


def _safe(scale: torch.Tensor) -> torch.Tensor:
    return torch.where(scale > _TINY, scale, torch.ones_like(scale))


def quantize_rows(rows: torch.Tensor, qp: QParams, fmt: Format, rounding: str = "nearest-even",
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Grid values ``Q(r)`` (integers for integer formats, format values for floats)."""
    if isinstance(fmt, FloatFormat):
        return fmt.quantize(rows / qp.scale, rounding, generator)
    return fmt.quantize(rows / qp.scale + qp.zero_point, rounding, generator)


def dequantize_rows(q: torch.Tensor, qp: QParams) -> torch.Tensor:
    return (q - qp.zero_point) * qp.scale


def fake_quantize_rows(rows: torch.Tensor, qp: QParams, fmt: Format, rounding: str = "nearest-even",
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``S (Q(r) - Z)``: quantize then dequantize, same dtype as ``rows``."""
    return dequantize_rows(quantize_rows(rows, qp, fmt, rounding, generator), qp).to(rows.dtype)


def clip_range(qp: QParams, fmt: Format) -> tuple[torch.Tensor, torch.Tensor]:
    """The real interval ``[lo, hi]`` that the grid covers (for clipped straight-through gradients)."""
    if isinstance(fmt, FloatFormat):
        top = fmt.info.max * qp.scale
        return -top, top
    assert isinstance(fmt, IntFormat)
    return (fmt.qmin - qp.zero_point) * qp.scale, (fmt.qmax - qp.zero_point) * qp.scale
