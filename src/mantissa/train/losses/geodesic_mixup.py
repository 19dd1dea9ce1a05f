"""Geodesic multi-modal mixup (m²-mix): slerp hard negatives on the hypersphere.

Oh et al., 2023, "Geodesic Multi-Modal Mixup for Robust Fine-Tuning" (NeurIPS,
arXiv:2203.03897, §4). For unit embeddings ``a`` (one modality) and ``b`` (the
other) with angle ``θ = arccos(a·b)`` the geodesic mix is::

    m_λ(a, b) = sin(λθ)/sin θ · a + sin((1-λ)θ)/sin θ · b        (Eq. 3), λ ~ Beta(β, β)

The mixes of the *other* pairs, ``m_λ(a_j, b_j)`` for j ≠ i, replace the
in-batch negatives of a CLIP-style contrastive loss (the positive stays
``a_i·b_i``), from both sides; the total loss is the plain symmetric
contrastive loss plus ``weight`` times this m²-mix loss.

``forward(towers, anchors, positives)`` expects ``towers(anchors, positives)``
to return the two modalities' embeddings.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError
from mantissa.train.losses.base import EmbeddingLoss, check_columns, check_embeddings
from mantissa.train.losses.infonce import info_nce
from mantissa.train.losses.registry import EMBEDDING_LOSSES


def slerp(a: torch.Tensor, b: torch.Tensor, lam: float | torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation of unit rows: ``λ = 1`` gives ``a``, ``λ = 0`` gives ``b``."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    theta = torch.acos((a * b).sum(-1, keepdim=True).clamp(-1 + eps, 1 - eps))
    s = torch.sin(theta)
    return torch.sin(lam * theta) / s * a + torch.sin((1 - lam) * theta) / s * b


@EMBEDDING_LOSSES.register("geodesic-mixup", aliases=("m2-mix",))
class GeodesicMixup(EmbeddingLoss):
    """``geodesic-mixup:temperature=0.05,weight=1,beta=0.5``."""

    name = "geodesic-mixup"
    citation = ("Oh et al. 2023, Geodesic Multi-Modal Mixup for Robust Fine-Tuning, NeurIPS, "
                "arXiv:2203.03897")

    def __init__(self, temperature: float = 0.05, weight: float = 1.0, beta: float = 0.5,
                 mix_temperature: float | None = None, seed: int | None = None) -> None:
        super().__init__()
        if temperature <= 0 or beta <= 0 or (mix_temperature is not None and mix_temperature <= 0):
            raise ConfigError("geodesic-mixup: temperature, mix_temperature and beta must be > 0")
        self.temperature, self.weight, self.beta = temperature, weight, beta
        self.mix_temperature = mix_temperature or temperature
        self.rng = random.Random(seed)

    def forward(self, model: Any, anchors: Sequence[Any], positives: Sequence[Any] | None = None,
                negatives: Sequence[Any] | None = None) -> torch.Tensor:
        check_columns(anchors, positives)
        if positives is None:
            raise ConfigError("geodesic-mixup needs paired inputs of two modalities")
        a, b = model(anchors, positives)
        return self.compute_loss_from_embeddings(a, b)

    def compute_loss_from_embeddings(self, a: torch.Tensor, b: torch.Tensor,
                                     lam: float | None = None) -> torch.Tensor:
        check_embeddings(a, b)
        if lam is None:
            lam = self.rng.betavariate(self.beta, self.beta)
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        plain = info_nce(a, b, temperature=self.temperature, symmetric=True)
        if not self.weight:
            return plain
        mixed = slerp(a, b, lam)
        eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
        pos = (a * b).sum(-1) / self.temperature
        labels = torch.arange(len(a), device=a.device)
        terms = []
        for x in (a, b):
            logits = (x @ mixed.T / self.mix_temperature).masked_fill(eye, 0.0)
            logits = logits + torch.diag(pos)
            terms.append(F.cross_entropy(logits, labels))
        return plain + self.weight * (terms[0] + terms[1]) / 2
