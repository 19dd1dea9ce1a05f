"""Uniform attention: the similarity-free control of the efficient-attention studies
(EcoFormer, #50): every query gets the mean of the values it may see, so a model keeps
token mixing but loses all content-based attention."""

from __future__ import annotations

import torch


def uniform_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **_) -> torch.Tensor:
    """Every query gets the mean value (attention without any similarity); ``k`` is ignored."""
    return v.mean(-2, keepdim=True).expand(*q.shape[:-1], v.shape[-1])


def uniform_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **_) -> torch.Tensor:
    """Causal control: query ``i`` gets the mean of values ``0..i``."""
    return v.cumsum(-2) / torch.arange(1, v.shape[-2] + 1, dtype=v.dtype, device=v.device)[:, None]
