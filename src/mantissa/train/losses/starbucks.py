"""Starbucks representation learning (SRL): a fixed (layer, dim) schedule.

Zhuang, Wang, Koopman, Zuccon, 2024, "Starbucks: Improved Training for 2D
Matryoshka Embeddings" (arXiv:2410.13230, §3.2). Instead of sampling one
sub-model per step (2DMSE), every step trains a fixed list of (layer, dim) pairs
from small to large, e.g. (2, 32), (4, 64), ..., (12, 768) for BERT-base; for
each pair the base contrastive loss plus a KL term that pulls the sub-model's
in-batch score distribution towards the full model's::

    L = 1/|S| Σ_{(l,d)∈S} [ L_base(l, d) + w_kl · KL(softmax(s_full/T) || softmax(s_{l,d}/T)) ]

The encoder runs once per column; all pairs are pooled from cached hidden states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mantissa.errors import ShapeError
from mantissa.train.losses.base import (
    EmbeddingLoss,
    base_loss,
    check_dims,
    column_features,
    cos_sim,
    kl_to_teacher,
    parse_pairs,
    pool_layers,
)
from mantissa.train.losses.registry import EMBEDDING_LOSSES

#: the schedule for a 6-layer, 384-dim model (MiniLM-L6): layer +1 and dims growing to the full size
MINILM_PAIRS = ((1, 32), (2, 64), (3, 96), (4, 128), (5, 256), (6, 384))

Columns = list[torch.Tensor | None]


@EMBEDDING_LOSSES.register("starbucks", aliases=("srl",))
class Starbucks(EmbeddingLoss):
    """``starbucks:pairs=1x32-2x64-3x96-4x128-5x256-6x384,kl_weight=1,kl_temperature=1``."""

    name = "starbucks"
    citation = ("Zhuang, Wang, Koopman, Zuccon 2024, Starbucks: Improved Training for 2D Matryoshka "
                "Embeddings, arXiv:2410.13230")

    def __init__(self, base: Any = "infonce", pairs: Sequence[tuple[int, int]] | str = MINILM_PAIRS,
                 kl_weight: float = 1.0, kl_temperature: float = 1.0) -> None:
        super().__init__()
        self.base = base_loss(base)
        self.pairs = parse_pairs(pairs)
        self.kl_weight, self.kl_temperature = kl_weight, kl_temperature

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        feats = column_features(model, anchors, positives, negatives)
        last = feats[0].n_layers
        bad = [p for p in self.pairs if p[0] > last]
        if bad:
            raise ShapeError(f"starbucks pair {bad[0]} is beyond the model: it has layers 1..{last}")
        emb = pool_layers(model, feats, sorted({last, *(layer for layer, _ in self.pairs)}))
        return self.compute_loss_from_embeddings(emb, last=last)

    def _scores(self, cols: Columns, dim: int) -> torch.Tensor:
        a, p, n = cols
        cands = p[:, :dim] if n is None else torch.cat([p[:, :dim], n[:, :dim]])
        return cos_sim(a[:, :dim], cands) / self.base_temperature

    @property
    def base_temperature(self) -> float:
        return float(getattr(self.base, "temperature", 0.05))

    def compute_loss_from_embeddings(self, layer_embeddings: dict[int, Columns], *,
                                     last: int) -> torch.Tensor:
        """``layer_embeddings[l]`` = [anchors, positives, negatives-or-None] at layer ``l`` (full width)."""
        missing = [layer for layer, _ in self.pairs if layer not in layer_embeddings]
        if missing or last not in layer_embeddings:
            raise ShapeError(f"layer_embeddings lacks layers {missing or [last]}; "
                             f"has {sorted(layer_embeddings)}")
        top = layer_embeddings[last]
        check_dims([d for _, d in self.pairs], top[0])
        full_scores = self._scores(top, top[0].shape[1]) if top[1] is not None else None
        loss = top[0].new_zeros(())
        for layer, dim in self.pairs:
            cols = layer_embeddings[layer]
            cut = [c[:, :dim] if c is not None else None for c in cols]
            term = self.base.compute_loss_from_embeddings(*cut)
            is_full = layer == last and dim == top[0].shape[1]
            if self.kl_weight and full_scores is not None and not is_full:
                term = term + self.kl_weight * kl_to_teacher(self._scores(cols, dim), full_scores,
                                                             self.kl_temperature)
            loss = loss + term
        return loss / len(self.pairs)
