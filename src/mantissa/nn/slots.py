"""Registry slots of the transformer: the places where papers plug in.

* ``ATTENTION`` — attention kernels. A kernel is a callable
  ``kernel(q, k, v, *, bias=None, causal=True, key_padding_mask=None) -> out``
  with ``q, k, v`` of shape ``(batch, heads, time, head_dim)``; ``bias`` is an
  additive score bias broadcastable to ``(batch, heads, t_q, t_k)`` (relative
  position biases such as T5 or ALiBi); ``key_padding_mask`` is ``(batch, t_k)``
  with True for real tokens. It returns ``(batch, heads, t_q, head_dim)``.
  Registered by name: ``attention="softmax"``, ``attention="lmul"``, ...
* ``POSITIONAL`` — positional encodings (``ape``, ``rope``, ``nope``, ...).
* ``FFN`` — feed-forward blocks; ``NORM`` — normalisation layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mantissa.registry import Registry

ATTENTION: Registry = Registry("attention")
POSITIONAL: Registry = Registry("positional encoding")
FFN: Registry = Registry("ffn")
NORM: Registry = Registry("norm")


def _masks(scores: torch.Tensor, causal: bool, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
    t_q, t_k = scores.shape[-2:]
    if causal:
        keep = torch.ones(t_q, t_k, dtype=torch.bool, device=scores.device).tril(t_k - t_q)
        scores = scores.masked_fill(~keep, float("-inf"))
    if key_padding_mask is not None:
        scores = scores.masked_fill(~key_padding_mask[:, None, None, :].bool(), float("-inf"))
    return scores


def masked_scores(q: torch.Tensor, k: torch.Tensor, *, bias: torch.Tensor | None = None,
                  causal: bool = True, key_padding_mask: torch.Tensor | None = None,
                  matmul=torch.matmul) -> torch.Tensor:
    """Scaled scores ``q kᵀ / sqrt(d) + bias`` with causal/padding positions at -inf.

    ``matmul`` lets approximate-arithmetic kernels (L-Mul, ...) reuse the masking.
    """
    scores = matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if bias is not None:
        scores = scores + bias
    return _masks(scores, causal, key_padding_mask)


@ATTENTION.register("softmax")
def softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                      bias: torch.Tensor | None = None, causal: bool = True,
                      key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Standard scaled dot-product attention (Vaswani et al., 2017, Eq. 1)."""
    if bias is None and key_padding_mask is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal and q.shape[-2] > 1)
    scores = masked_scores(q, k, bias=bias, causal=causal, key_padding_mask=key_padding_mask)
    return torch.softmax(scores, dim=-1).nan_to_num(0.0) @ v
