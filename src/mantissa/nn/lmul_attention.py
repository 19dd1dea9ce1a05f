"""L-Mul attention: QKᵀ and PV with L-Mul products (Luo & Sun, 2024, Sec. 4).

Registered as the attention kernel ``"lmul"`` (``attention="lmul"`` or
``"lmul:mantissa_bits=4"``): scores and the weighted sum of values use
:func:`mantissa.arith.lmul_matmul` (fp32 accumulation); the softmax stays
exact. Gradients flow straight through (those of the exact matmuls), so a
model can be fine-tuned with it; the paper applies it to trained models.
"""

from __future__ import annotations

import functools

import torch

from mantissa.arith.lmul import lmul_matmul
from mantissa.nn.slots import ATTENTION, masked_scores


@ATTENTION.register("lmul")
def lmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                   bias: torch.Tensor | None = None, causal: bool = True,
                   key_padding_mask: torch.Tensor | None = None, mantissa_bits: int = 3,
                   carry: str = "exponent") -> torch.Tensor:
    """Scaled dot-product attention with every product in QKᵀ and PV an L-Mul."""
    mm = functools.partial(lmul_matmul, mantissa_bits=mantissa_bits, carry=carry, ste=True)
    scores = masked_scores(q, k, bias=bias, causal=causal, key_padding_mask=key_padding_mask, matmul=mm)
    probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return mm(probs, v)
