"""Matryoshka loss: the base loss on nested prefixes of the embedding.

Kusupati et al., 2022, "Matryoshka Representation Learning" (Eq. 1):
``L = Σ_m w_m · L_base(z[:m])`` over the dims ``m ∈ M``. The encoder runs once;
every prefix is a slice of the same embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mantissa.errors import ConfigError
from mantissa.train.losses.base import EmbeddingLoss, base_loss, check_columns, check_dims, parse_ints
from mantissa.train.losses.registry import EMBEDDING_LOSSES


@EMBEDDING_LOSSES.register("matryoshka")
class Matryoshka(EmbeddingLoss):
    """``matryoshka:dims=32-64-128-256-384,base=infonce``."""

    name = "matryoshka"
    citation = "Kusupati et al. 2022, Matryoshka Representation Learning, NeurIPS, arXiv:2205.13147"

    def __init__(self, base: Any = "infonce", dims: Sequence[int] | str = (32, 64, 128, 256, 384),
                 weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.base = base_loss(base)
        self.dims = parse_ints(dims)
        self.weights = tuple(float(w) for w in weights) if weights is not None else (1.0,) * len(self.dims)
        if len(self.weights) != len(self.dims):
            raise ConfigError(f"matryoshka: {len(self.weights)} weights for {len(self.dims)} dims")

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        check_columns(anchors, positives, negatives)
        emb = [model(list(c)) if c is not None else None for c in (anchors, positives, negatives)]
        return self.compute_loss_from_embeddings(*emb)

    def compute_loss_from_embeddings(self, anchors: torch.Tensor,
                                     *others: torch.Tensor | None) -> torch.Tensor:
        check_dims(self.dims, anchors)
        total = anchors.new_zeros(())
        for d, w in zip(self.dims, self.weights):
            cut = [o[:, :d] if o is not None else None for o in others]
            total = total + w * self.base.compute_loss_from_embeddings(anchors[:, :d], *cut)
        return total
