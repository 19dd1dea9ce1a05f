"""Round-to-nearest group-wise integer weight quantization: the baseline BCQ is compared with.

Asymmetric min-max per (row, group): ``scale = (max - min) / (2^b - 1)``,
``zero = round(-min / scale)``, ``q = clamp(round(w / scale) + zero, 0, 2^b - 1)``
(as in GPTQ's and AWQ's RTN baselines); ``symmetric=True`` uses absmax and
``[-(2^(b-1) - 1), 2^(b-1) - 1]``.
"""

from __future__ import annotations

import torch

from mantissa.arith._check import float_tensor, int_in_range
from mantissa.errors import ShapeError


def rtn_quantize(weight: torch.Tensor, bits: int, group: int = 128, *,
                 symmetric: bool = False) -> torch.Tensor:
    """Dequantized RTN approximation of an ``(out, in)`` weight with ``group`` inputs per scale."""
    weight = float_tensor(weight, "weight")
    b = int_in_range(bits, "bits", 1, 16)
    if weight.dim() != 2:
        raise ShapeError(f"weight must be 2-D (out_features, in_features), got {tuple(weight.shape)}")
    out, n_in = weight.shape
    g = n_in if group == -1 else group
    if isinstance(g, bool) or not isinstance(g, int) or g <= 0 or n_in % g:
        raise ShapeError(f"group must be a positive divisor of in_features={n_in} (or -1), got {group!r}")
    w = weight.detach().double().reshape(out, n_in // g, g)
    if symmetric:
        qmax = 2 ** (b - 1) - 1 if b > 1 else 1
        scale = (w.abs().amax(-1, keepdim=True) / qmax).clamp_min(1e-30)
        deq = torch.round(w / scale).clamp(-qmax, qmax) * scale
    else:
        lo, hi = w.amin(-1, keepdim=True), w.amax(-1, keepdim=True)
        scale = ((hi - lo) / (2**b - 1)).clamp_min(1e-30)
        zero = torch.round(-lo / scale)
        deq = (torch.round(w / scale + zero).clamp(0, 2**b - 1) - zero) * scale
    return deq.reshape(out, n_in).to(weight.dtype)
