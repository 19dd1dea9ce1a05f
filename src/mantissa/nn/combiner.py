"""Combiner attention: full attention in O(L·sqrt(L)) by structured factorization.

Ren et al., "Combiner: Full Attention Transformer with Sparse Computation
Cost" (NeurIPS 2021), the causal *Combiner-Fixed* factorization (Sec. 3-4):
the sequence is cut into blocks of ``s`` positions. A query attends *directly*
to the earlier positions of its own block and to every earlier block ``r``
through one abstraction (Eq. 3-5):

    p(j | i) = p(Ω_r | i) · p(j | Ω_r),    j ∈ Ω_r,

where ``p(j | Ω_r) = softmax_j(q̄_r·k_j/√d)`` is computed once per block (with
``q̄_r`` the block's mean query), giving a summary value
``v̄_r = Σ_j p(j | Ω_r) v_j`` and key ``k̄_r`` (the block's mean key). The
direct scores ``q_i·k_j/√d`` and the block scores ``q_i·k̄_r/√d + log s``
(the block stands for ``s`` keys) share one softmax, so every position
remains reachable from every later query (full attention support) at cost
O(L·s + L·L/s), i.e. O(L·√L) with ``s = √L``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError
from mantissa.nn.slots import ATTENTION


def _blocks(x: torch.Tensor, s: int) -> torch.Tensor:
    b, h, t, d = x.shape
    pad = (-t) % s
    return F.pad(x, (0, 0, 0, pad)).view(b, h, (t + pad) // s, s, d)


@ATTENTION.register("combiner")
def combiner_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, bias: torch.Tensor | None = None,
                       causal: bool = True, key_padding_mask: torch.Tensor | None = None,
                       block: int = 0) -> torch.Tensor:
    """Causal Combiner-Fixed attention; ``block=0`` picks ``ceil(sqrt(T))``."""
    if not causal or bias is not None or key_padding_mask is not None or q.shape[-2] != k.shape[-2]:
        raise ConfigError("combiner attention supports causal self-attention without score bias or "
                          "padding masks; use pe=rope/nope/ape/sinusoidal with it")
    t, d = q.shape[-2], q.shape[-1]
    s = block or max(1, math.ceil(math.sqrt(t)))
    qb, kb, vb = _blocks(q, s), _blocks(k, s), _blocks(v, s)  # (B, H, n, s, D)
    n = qb.shape[2]
    valid = (torch.arange(n * s, device=q.device) < t).view(n, s)  # padded tail positions
    scale = 1.0 / math.sqrt(d)
    # direct part: within the block, causal
    direct = (qb @ kb.transpose(-1, -2)) * scale  # (B, H, n, s, s)
    tri = torch.ones(s, s, dtype=torch.bool, device=q.device).tril()
    direct = direct.masked_fill(~(tri & valid[:, None, :]), float("-inf"))
    # abstractions: one summary (key, value) per block
    count = valid.sum(-1).clamp_min(1).to(q.dtype)  # (n,)
    mask_f = valid.to(q.dtype)[None, None, :, :, None]
    k_bar = (kb * mask_f).sum(-2) / count[:, None]  # (B, H, n, D)
    q_bar = (qb * mask_f).sum(-2) / count[:, None]
    inner = (q_bar.unsqueeze(-2) @ kb.transpose(-1, -2)).squeeze(-2) * scale  # (B, H, n, s)
    inner = inner.masked_fill(~valid, float("-inf")).softmax(-1)
    v_bar = (inner.unsqueeze(-2) @ vb).squeeze(-2)  # (B, H, n, D)
    summary = (qb @ k_bar[:, :, None].transpose(-1, -2)) * scale + torch.log(count)  # (B,H,n,s,n)
    earlier = torch.ones(n, n, dtype=torch.bool, device=q.device).tril(-1)  # block r < own block
    summary = summary.masked_fill(~earlier[:, None, :], float("-inf"))
    probs = torch.cat([direct, summary], dim=-1).softmax(-1)
    out = probs[..., :s] @ vb + probs[..., s:] @ v_bar[:, :, None]
    return out.reshape(q.shape[0], q.shape[1], n * s, d)[:, :, :t]
