"""GISTEmbed: guide-model-filtered in-batch negatives.

Solatorio, 2024, "GISTEmbed: Guided In-sample Selection of Training Negatives
for Text Embedding Fine-tuning" (arXiv:2402.16829, §3). A frozen guide model
scores the batch; any in-batch candidate the guide scores above the anchor's
own positive is treated as a false negative and masked out of the student's
softmax. Candidates are the other positives (anchor-positive), the other
anchors (anchor-anchor) and the other positives again from the positive side
(positive-positive), plus hard negatives when given::

    mask_ij = guide(a_i, c_j) > guide(a_i, p_i) - margin          (absolute margin)
    L = CE( [s(a,p) | s(a,a) | s(a,n) | s(p,p)] / τ  with masked entries = -inf , i )

The guide tokenizes the texts itself, so a guide with a different tokenizer
works as is. With ``guide=None`` the loss freezes a copy of the model at the
first step (the model before fine-tuning guides it).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from mantissa.errors import ConfigError
from mantissa.train.losses.base import EmbeddingLoss, check_columns, check_embeddings, cos_sim
from mantissa.train.losses.registry import EMBEDDING_LOSSES


def false_negative_mask(guide_scores: torch.Tensor, guide_positive: torch.Tensor, margin: float = 0.0,
                        strategy: str = "absolute") -> torch.Tensor:
    """True where a candidate's guide score is above the positive's (``guide_positive``: (B, 1))."""
    if strategy == "absolute":
        return guide_scores > guide_positive - margin
    if strategy == "relative":
        return guide_scores > guide_positive * (1 - margin)
    raise ConfigError(f"margin strategy must be 'absolute' or 'relative', got {strategy!r}")


@EMBEDDING_LOSSES.register("gist", aliases=("gistembed",))
class GIST(EmbeddingLoss):
    """``gist:temperature=0.01,margin=0``; pass ``guide=`` an encoder in Python."""

    name = "gist"
    citation = ("Solatorio 2024, GISTEmbed: Guided In-sample Selection of Training Negatives for Text "
                "Embedding Fine-tuning, arXiv:2402.16829")

    def __init__(self, guide: Any = None, temperature: float = 0.01, margin: float = 0.0,
                 margin_strategy: str = "absolute") -> None:
        super().__init__()
        if temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        false_negative_mask(torch.zeros(1, 1), torch.zeros(1, 1), margin, margin_strategy)  # validate
        self._guide = [guide]  # a list: the guide is not a sub-module (not trained, not saved)
        self.temperature, self.margin, self.margin_strategy = temperature, margin, margin_strategy
        self.last_masked_fraction = 0.0

    @torch.no_grad()
    def guide_embed(self, model: Any, texts: Sequence[str] | None) -> torch.Tensor | None:
        if texts is None:
            return None
        if self._guide[0] is None:
            self._guide[0] = copy.deepcopy(model).eval().requires_grad_(False)
        guide = self._guide[0]
        was = guide.training
        guide.eval()
        try:
            return guide(list(texts))
        finally:
            guide.train(was)

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        check_columns(anchors, positives, negatives)
        if positives is None:
            raise ConfigError("gist needs (anchor, positive) pairs; got anchors only")
        student = [model(list(c)) if c is not None else None for c in (anchors, positives, negatives)]
        guide = [self.guide_embed(model, c) for c in (anchors, positives, negatives)]
        return self.compute_loss_from_embeddings(*student[:2], *guide[:2], negatives=student[2],
                                                 guide_negatives=guide[2])

    def compute_loss_from_embeddings(self, anchors: torch.Tensor, positives: torch.Tensor,
                                     guide_anchors: torch.Tensor, guide_positives: torch.Tensor,
                                     negatives: torch.Tensor | None = None,
                                     guide_negatives: torch.Tensor | None = None) -> torch.Tensor:
        check_embeddings(anchors, positives, negatives)
        check_embeddings(guide_anchors, guide_positives, guide_negatives)
        if (negatives is None) != (guide_negatives is None):
            raise ConfigError("gist: give negatives and guide_negatives together")
        g_ap = cos_sim(guide_anchors, guide_positives)
        g_pos = g_ap.diagonal().view(-1, 1)
        eye = torch.eye(len(anchors), dtype=torch.bool, device=anchors.device)
        blocks = [(cos_sim(anchors, positives), g_ap, ~eye), (cos_sim(anchors, anchors),
                  cos_sim(guide_anchors, guide_anchors), ~eye)]
        if negatives is not None:
            blocks.append((cos_sim(anchors, negatives), cos_sim(guide_anchors, guide_negatives), None))
        blocks.append((cos_sim(positives, positives), cos_sim(guide_positives, guide_positives), ~eye))
        logits, masked, total = [], 0, 0
        for i, (s, g, off_diag) in enumerate(blocks):
            mask = false_negative_mask(g, g_pos, self.margin, self.margin_strategy)
            if off_diag is not None:
                mask = mask & off_diag if i == 0 else mask | ~off_diag  # keep the positive; drop self-pairs
            masked += int(mask.sum()) - (0 if i == 0 or off_diag is None else len(anchors))
            total += mask.numel() - (len(anchors) if off_diag is not None else 0)
            logits.append(s.masked_fill(mask, float("-inf")))
        self.last_masked_fraction = masked / max(total, 1)
        labels = torch.arange(len(anchors), device=anchors.device)
        return torch.nn.functional.cross_entropy(torch.cat(logits, dim=1) / self.temperature, labels)
