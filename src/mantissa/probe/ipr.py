"""Inverse participation ratio of neurons in Fourier space (Doshi et al., 2023,
"To grok or not to grok", Sec. 4, Eq. 7).

For neuron ``n`` of a modular-arithmetic MLP, take its input weights for each
operand, ``u = W1[n, :p]`` and ``v = W1[n, p:]``, and their discrete Fourier
transforms ``U, V``. With ``c = (|U|, |V|)`` (the concatenated spectra)

    IPR_r(n) = Σ_k c_k^{2r} / (Σ_k c_k^2)^r,    r = 2.

A periodic (generalising) neuron concentrates its weight on one frequency:
high IPR. A memorising neuron spreads it out: low IPR. Pruning the low-IPR
neurons removes memorisation (the paper's Sec. 4).
"""

from __future__ import annotations

import torch

from mantissa.errors import ShapeError


def fourier_ipr(w1: torch.Tensor, p: int, r: int = 2) -> torch.Tensor:
    """IPR of every row of ``w1`` (shape ``(neurons, 2p)``)."""
    if w1.dim() != 2 or w1.shape[1] != 2 * p:
        raise ShapeError(f"expected first-layer weights of shape (neurons, {2 * p}), got {tuple(w1.shape)}")
    w = w1.detach().double()
    spec = torch.cat([torch.fft.fft(w[:, :p], dim=1).abs(), torch.fft.fft(w[:, p:], dim=1).abs()], dim=1)
    power = spec ** 2
    return (power ** r).sum(1) / power.sum(1).clamp_min(1e-300) ** r


def low_ipr_mask(ipr: torch.Tensor, threshold: float) -> torch.Tensor:
    """Keep-mask (1.0 / 0.0) that prunes neurons whose IPR is below ``threshold``."""
    return (ipr >= threshold).float()
