"""Frozen random ReLU features: a seeded, never-trained stand-in for a frozen encoder.

``relu((x / scale - shift) @ W)`` with ``W ~ N(0, 1) / sqrt(d_in)`` drawn from a seeded
generator. It carries no label information of its own, so whatever a model reads from it
about the labels was learned downstream (the frozen ImageBind encoder of Han et al. 2023,
"ImageBind-LLM: Multi-modality Instruction Tuning", replaced on 8x8 digit images).
"""

from __future__ import annotations

import math

import torch


class RandomReLUFeatures:
    """``x (n, d_in) -> relu((x / scale - shift) @ W) (n, d_feat)``, ``W`` fixed by ``seed``.

    The defaults centre scikit-learn's 0..16 digit pixels (``scale=16``, ``shift=0.3``)."""

    def __init__(self, d_in: int, d_feat: int, seed: int, scale: float = 16.0, shift: float = 0.3) -> None:
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(d_in, d_feat, generator=g) / math.sqrt(d_in)
        self.scale, self.shift = scale, shift

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu((x / self.scale - self.shift) @ self.w)


__all__ = ["RandomReLUFeatures"]
