"""Relative representations and zero-shot model stitching.

Moschella et al., "Relative representations enable zero-shot latent space
communication" (ICLR 2023), Eq. 1: a sample's relative representation is its
similarity to a fixed set of anchor samples embedded by the same encoder,
``r(x) = (cos(e(x), e(a_1)), ..., cos(e(x), e(a_A)))``. Cosine similarity is
invariant to rotations, reflections and rescalings of the latent space, so a
decoder trained on ``r`` from encoder B can consume ``r`` from encoder A
(trained from another seed) without any further training: zero-shot stitching.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mantissa.errors import ShapeError


def relative_projection(x: Tensor, anchors: Tensor) -> Tensor:
    """Cosine similarity of each row of ``x`` (N, d) to each anchor (A, d) -> (N, A)."""
    if x.ndim != 2 or anchors.ndim != 2 or x.shape[1] != anchors.shape[1]:
        raise ShapeError(f"relative_projection needs x (N, d) and anchors (A, d), got {tuple(x.shape)} "
                         f"and {tuple(anchors.shape)}")
    if len(anchors) == 0:
        raise ShapeError("relative_projection needs at least one anchor")
    return F.normalize(x, dim=-1) @ F.normalize(anchors, dim=-1).T


class RelativeClassifier(nn.Module):
    """Encoder -> (absolute latent | relative projection on anchors) -> decoder.

    ``mode='relative'`` decodes ``relative_projection(enc(x), enc(anchors))``;
    ``mode='absolute'`` decodes ``enc(x)``. ``stitch(other)`` runs this model's
    encoder into ``other``'s decoder.
    """

    def __init__(self, encoder: nn.Module, latent: int, n_anchors: int, n_classes: int,
                 mode: str = "relative") -> None:
        super().__init__()
        if mode not in ("relative", "absolute"):
            raise ValueError(f"mode must be 'relative' or 'absolute', got {mode!r}")
        self.encoder, self.mode = encoder, mode
        width = n_anchors if mode == "relative" else latent
        self.decoder = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, n_classes))

    def represent(self, x: Tensor, anchors: Tensor) -> Tensor:
        z = self.encoder(x)
        return relative_projection(z, self.encoder(anchors)) if self.mode == "relative" else z

    def forward(self, x: Tensor, anchors: Tensor) -> Tensor:
        return self.decoder(self.represent(x, anchors))

    def stitch(self, other: RelativeClassifier, x: Tensor, anchors: Tensor) -> Tensor:
        """Logits of ``other.decoder`` on this encoder's representation (zero-shot)."""
        if other.mode != self.mode:
            raise ValueError("stitching needs two models of the same mode")
        return other.decoder(self.represent(x, anchors))


def latent_similarity(a: Tensor, b: Tensor) -> float:
    """Mean cosine similarity between matching rows of two representations."""
    if a.shape != b.shape:
        return float("nan")
    return float(F.cosine_similarity(a, b, dim=-1).mean())


def pick_anchors(n: int, k: int, generator: torch.Generator | None = None) -> Tensor:
    """``k`` distinct random indices out of ``n`` (the anchor set)."""
    if not 0 < k <= n:
        raise ShapeError(f"cannot pick {k} anchors out of {n} samples")
    return torch.randperm(n, generator=generator)[:k]
