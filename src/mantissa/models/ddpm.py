"""A small denoiser for DDPM on flat images (for the ``fp-diffusion`` experiment).

Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models" (NeurIPS 2020):
the network :math:`\\epsilon_\\theta(x_t, t)` predicts the noise added to an image
at step ``t`` (Eq. 14's target). Here it is an MLP on flattened 8x8 images with a
sinusoidal timestep embedding (the Transformer's positional encoding, as in
DDPM §4 / Appendix B) added inside every residual block. Every weight sits in an
``nn.Linear``, so the post-training quantizers of :mod:`mantissa.quant` see the
whole network. The noise schedule, loss and sampler live in
:mod:`mantissa.train.diffusion`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps ``t`` (N,) -> (N, dim): ``[cos(t w_i), sin(t w_i)]``
    with ``w_i = max_period ** (-i / (dim/2))``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, dim % 2))


class _Block(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc1, self.temb = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(F.silu(self.fc1(F.silu(h)) + self.temb(temb)))


class MLPDenoiser(nn.Module):
    """``eps_theta(x_t, t)`` for flat images of ``dim`` values: an input projection, ``depth``
    residual blocks with the timestep embedding added, and an output projection."""

    def __init__(self, dim: int = 64, hidden: int = 256, depth: int = 2, t_dim: int = 64) -> None:
        super().__init__()
        self.dim, self.t_dim = dim, t_dim
        self.t_in = nn.Linear(t_dim, hidden)
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(_Block(hidden) for _ in range(depth))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = F.silu(self.t_in(timestep_embedding(t, self.t_dim)))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(F.silu(h))
