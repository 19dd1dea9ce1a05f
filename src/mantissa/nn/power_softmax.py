"""Power-Softmax attention (Zimerman et al., 2024): ``attention="power"``.

Scores ``q kᵀ / sqrt(d) + bias`` are normalised by
:func:`mantissa.arith.power_softmax` (``x^p / (Σ x^p + ε)``, masked positions
get weight 0). ``reciprocal`` swaps the division for a polynomial
(:class:`mantissa.arith.poly.PolyApprox`) for HE-style inference; build such a
kernel with :func:`power_attention_kernel`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from mantissa.arith.power_softmax import power_softmax
from mantissa.nn.slots import ATTENTION


def _keep_mask(t_q: int, t_k: int, causal: bool, key_padding_mask: torch.Tensor | None,
               device: torch.device) -> torch.Tensor | None:
    keep = None
    if causal:
        keep = torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril(t_k - t_q)
    if key_padding_mask is not None:
        pad = key_padding_mask[:, None, None, :].bool()
        keep = pad if keep is None else keep & pad
    return keep


@ATTENTION.register("power")
def power_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                    bias: torch.Tensor | None = None, causal: bool = True,
                    key_padding_mask: torch.Tensor | None = None, p: int = 2, eps: float = 1e-6,
                    reciprocal: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Attention with Power-Softmax weights instead of softmax."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if bias is not None:
        scores = scores + bias
    keep = _keep_mask(q.shape[-2], k.shape[-2], causal, key_padding_mask, q.device)
    return power_softmax(scores, p, eps=eps, mask=keep, reciprocal=reciprocal) @ v


def power_attention_kernel(p: int = 2, eps: float = 1e-6,
                           reciprocal: Callable[[torch.Tensor], torch.Tensor] | None = None):
    """A Power-Softmax kernel with fixed settings (e.g. a polynomial reciprocal)."""
    return functools.partial(power_attention, p=p, eps=eps, reciprocal=reciprocal)
