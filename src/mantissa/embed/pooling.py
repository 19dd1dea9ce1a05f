"""Pooling: token states ``(batch, time, dim)`` + mask ``(batch, time)`` -> ``(batch, dim)``.

Registered by name in :data:`POOLING` (``mean``, ``cls``, ``last``,
``latent-attention``); every pooling is a ``torch.nn.Module`` built by
``POOLING.build(spec, dim=hidden_size)`` so trainable poolings (latent
attention) carry their parameters with the encoder.

``latent-attention`` is NV-Embed's pooling (Lee et al., 2024, "NV-Embed:
Improved Techniques for Training LLMs as Generalist Embedding Models", §3.2):
the token states are the queries of a cross-attention whose keys and values are
a trainable latent array ``(r, d)``; the attention output goes through an MLP
(two linear layers with GELU) and is mean-pooled over the tokens. As in the
reference implementation, the attention and the MLP are residual, so at
initialisation the pooling is close to mean pooling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.registry import Registry

POOLING: Registry = Registry("pooling")


def _check(hidden: torch.Tensor, mask: torch.Tensor) -> None:
    if hidden.ndim != 3 or mask.shape != hidden.shape[:2]:
        raise ShapeError(
            f"pooling expects hidden (batch, time, dim) and mask (batch, time); "
            f"got {tuple(hidden.shape)} and {tuple(mask.shape)}"
        )


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token states over the positions where ``mask`` is true/1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


@POOLING.register("mean")
class MeanPooling(nn.Module):
    """Mean over real tokens (sentence-transformers' default)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(hidden, mask)
        return masked_mean(hidden, mask)


@POOLING.register("cls")
class ClsPooling(nn.Module):
    """The state of the first token ([CLS] for BERT-family models)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(hidden, mask)
        return hidden[:, 0]


@POOLING.register("last")
class LastPooling(nn.Module):
    """The state of the last real token (decoder models; right padding assumed)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(hidden, mask)
        last = mask.long().sum(1).clamp_min(1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


@POOLING.register("latent-attention", aliases=("latent",))
class LatentAttentionPooling(nn.Module):
    """NV-Embed latent-attention pooling (§3.2): ``O = softmax(Q Kᵀ/√d) V`` with
    ``Q`` the token states and ``K = V`` a trainable latent array of ``latents``
    rows, multi-head; then ``O + MLP(O)``, then mean over real tokens.

    Spec: ``latent-attention:latents=512,heads=8``.
    """

    def __init__(self, dim: int | None = None, latents: int = 512, heads: int = 8,
                 mlp_ratio: int = 1) -> None:
        super().__init__()
        if not dim or dim <= 0:
            raise ConfigError("latent-attention pooling needs the hidden size: POOLING.build(spec, dim=...)")
        if dim % heads:
            raise ConfigError(f"latent-attention: hidden size {dim} is not divisible by heads={heads}")
        if latents < 1:
            raise ConfigError(f"latent-attention: latents must be >= 1, got {latents}")
        self.heads = heads
        self.latents = nn.Parameter(torch.randn(latents, dim) * dim**-0.5)
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, mlp_ratio * dim), nn.GELU(),
                                 nn.Linear(mlp_ratio * dim, dim))
        # residual branches start small so the pooling starts near mean pooling
        for layer in (self.out, self.mlp[-1]):
            nn.init.normal_(layer.weight, std=1e-3)
            nn.init.zeros_(layer.bias)

    def attend(self, hidden: torch.Tensor) -> torch.Tensor:
        b, t, d = hidden.shape
        h = self.heads
        q = self.q(self.norm(hidden)).view(b, t, h, d // h).transpose(1, 2)
        k, v = self.kv(self.latents).view(-1, 2, h, d // h).permute(1, 2, 0, 3)
        o = F.scaled_dot_product_attention(q, k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1))
        return self.out(o.transpose(1, 2).reshape(b, t, d))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(hidden, mask)
        x = hidden + self.attend(hidden)
        x = x + self.mlp(x)
        return masked_mean(x, mask)


def build_pooling(spec: str, dim: int) -> nn.Module:
    """``POOLING.build(spec, dim=dim)``; e.g. ``build_pooling("latent-attention:latents=64", 384)``."""
    return POOLING.build(spec, dim=dim)
