"""In-batch contrastive loss: InfoNCE / multiple negatives ranking.

van den Oord et al., 2018, "Representation Learning with Contrastive Predictive
Coding" (InfoNCE, Eq. 4); Henderson et al., 2017, "Efficient Natural Language
Response Suggestion for Smart Reply" (multiple negatives ranking). For anchor
``a_i`` with positive ``p_i`` and the other in-batch positives (and optional
hard negatives) as negatives::

    L = -1/B Σ_i log  exp(cos(a_i, p_i)/τ) / Σ_j exp(cos(a_i, c_j)/τ)

``symmetric=True`` adds the positive -> anchor direction (CLIP-style, averaged).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError
from mantissa.train.losses.base import EmbeddingLoss, check_embeddings, cos_sim
from mantissa.train.losses.registry import EMBEDDING_LOSSES


def info_nce(anchors: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor | None = None,
             temperature: float = 0.05, symmetric: bool = False) -> torch.Tensor:
    """InfoNCE with in-batch negatives (functional form)."""
    check_embeddings(anchors, positives, negatives)
    cands = positives if negatives is None else torch.cat([positives, negatives])
    logits = cos_sim(anchors, cands) / temperature
    labels = torch.arange(len(anchors), device=anchors.device)
    loss = F.cross_entropy(logits, labels)
    if symmetric:
        loss = (loss + F.cross_entropy(logits[:, : len(anchors)].T, labels)) / 2
    return loss


@EMBEDDING_LOSSES.register("infonce", aliases=("mnrl",))
class InfoNCE(EmbeddingLoss):
    """``infonce:temperature=0.05,symmetric=false`` (alias ``mnrl``)."""

    name = "infonce"
    citation = ("van den Oord, Li, Vinyals 2018, Representation Learning with Contrastive Predictive "
                "Coding, arXiv:1807.03748; Henderson et al. 2017, arXiv:1705.00652")

    def __init__(self, temperature: float = 0.05, symmetric: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.symmetric = bool(symmetric)

    def compute_loss_from_embeddings(self, anchors: torch.Tensor, positives: torch.Tensor,
                                     negatives: torch.Tensor | None = None) -> torch.Tensor:
        return info_nce(anchors, positives, negatives, self.temperature, self.symmetric)
