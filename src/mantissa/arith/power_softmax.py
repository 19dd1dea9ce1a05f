"""Power-Softmax: an HE-friendly normalisation of attention scores.

Paper: Zimerman et al., "Power-Softmax: Towards Secure LLM Inference over
Encrypted Data" (2024), Sec. 3 (Eq. for Power-Softmax)::

    PowerSoftmax(x)_i = x_i^p / (Σ_j x_j^p + ε),   p an even integer

The exponential is replaced by an even power (non-negative and, unlike ``exp``,
a polynomial), so the only non-polynomial part left is the reciprocal of the
sum; for encrypted inference it is replaced by a polynomial on the range the
sums take (:mod:`mantissa.arith.poly`). The paper's further stabilisers for
billion-parameter training are not reproduced here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mantissa.arith._check import float_tensor, int_in_range
from mantissa.errors import ConfigError


def power_softmax(x: torch.Tensor, p: int = 2, *, dim: int = -1, eps: float = 1e-6,
                  mask: torch.Tensor | None = None,
                  reciprocal: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``x^p / (Σ x^p + eps)`` along ``dim``; ``mask`` (True = keep) zeroes excluded entries.

    ``reciprocal`` replaces ``1 / s`` (e.g. a :class:`~mantissa.arith.poly.PolyApprox`),
    making the whole function a polynomial.
    """
    x = float_tensor(x, "x")
    int_in_range(p, "p", 2, 64)
    if p % 2:
        raise ConfigError(f"p must be an even integer (so x^p >= 0), got {p}")
    if not eps >= 0:
        raise ConfigError(f"eps must be >= 0, got {eps!r}")
    w = x.pow(p)
    if mask is not None:
        w = torch.where(mask, w, torch.zeros_like(w))
    total = w.sum(dim=dim, keepdim=True) + eps
    return w * (reciprocal(total) if reciprocal is not None else 1.0 / total)
