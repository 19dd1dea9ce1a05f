"""2D Matryoshka Sentence Embeddings (2DMSE).

Li, Li, Li, Xie, Li, 2024, "2D Matryoshka Sentence Embeddings" (arXiv:2402.14776,
§3.2-3.4). Each step samples a shallow layer ``i`` (``n_layers_per_step`` of
them, from 1..n-1) and one dim ``d`` from ``dims``; with ``n`` the last layer
and ``D`` the full width the objective is::

    L = w_last·[L(n, D) + L(n, d)]
        + w_prior/|I| Σ_i ω(i)·[L(i, D) + L(i, d)]
        + w_kl · T · Σ_i KL(softmax(z_n / T) || softmax(z_i / T))      (alignment, §3.3)

where ``L(l, m)`` is the base loss on the layer-``l`` embedding truncated to
``m`` dims and ``ω(i)`` is 1 (``layer_weighting="uniform"``) or ESE's
``1/(1 + ln i)`` (``"log"``). The encoder runs once per column per step; every
sub-model is pooled from the cached hidden states (no monkey-patching).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.train.losses.base import (
    EmbeddingLoss,
    base_loss,
    check_dims,
    column_features,
    kl_to_teacher,
    parse_ints,
    pool_layers,
)
from mantissa.train.losses.registry import EMBEDDING_LOSSES

Columns = list[torch.Tensor | None]


@EMBEDDING_LOSSES.register("2dmse", aliases=("matryoshka-2d",))
class TwoDMSE(EmbeddingLoss):
    """``2dmse:dims=32-64-128-256,n_layers_per_step=1,kl_weight=1,kl_temperature=0.3``."""

    name = "2dmse"
    citation = "Li, Li, Li, Xie, Li 2024, 2D Matryoshka Sentence Embeddings, arXiv:2402.14776"

    def __init__(self, base: Any = "infonce", dims: Sequence[int] | str = (32, 64, 128, 256),
                 n_layers_per_step: int = 1, last_layer_weight: float = 1.0,
                 prior_layers_weight: float = 1.0, kl_weight: float = 1.0, kl_temperature: float = 0.3,
                 layer_weighting: str = "uniform", seed: int | None = None) -> None:
        super().__init__()
        if layer_weighting not in ("uniform", "log"):
            raise ConfigError(f"layer_weighting must be 'uniform' or 'log', got {layer_weighting!r}")
        if n_layers_per_step < 1:
            raise ConfigError(f"n_layers_per_step must be >= 1, got {n_layers_per_step}")
        self.base = base_loss(base)
        self.dims = parse_ints(dims)
        self.n_layers_per_step = n_layers_per_step
        self.last_layer_weight, self.prior_layers_weight = last_layer_weight, prior_layers_weight
        self.kl_weight, self.kl_temperature = kl_weight, kl_temperature
        self.layer_weighting = layer_weighting
        self.rng = random.Random(seed)

    def sample(self, n_layers: int) -> tuple[list[int], int]:
        """The shallow layers and the dim of this step."""
        if n_layers < 2:
            raise ShapeError(f"2dmse needs a model with >= 2 layers, got {n_layers}")
        k = min(self.n_layers_per_step, n_layers - 1)
        return sorted(self.rng.sample(range(1, n_layers), k)), self.rng.choice(self.dims)

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        feats = column_features(model, anchors, positives, negatives)
        last = feats[0].n_layers
        layers, dim = self.sample(last)
        emb = pool_layers(model, feats, [*layers, last])
        return self.compute_loss_from_embeddings(emb, last=last, layers=layers, dim=dim)

    def _weight(self, layer: int) -> float:
        return 1.0 if self.layer_weighting == "uniform" else 1.0 / (1.0 + math.log(layer))

    def _pair(self, cols: Columns, dim: int) -> torch.Tensor:
        full = self.base.compute_loss_from_embeddings(*cols)
        cut = [c[:, :dim] if c is not None else None for c in cols]
        return full + self.base.compute_loss_from_embeddings(*cut)

    def compute_loss_from_embeddings(self, layer_embeddings: dict[int, Columns], *, last: int,
                                     layers: Sequence[int], dim: int) -> torch.Tensor:
        """``layer_embeddings[l]`` = [anchors, positives, negatives-or-None] at layer ``l`` (full width)."""
        if last not in layer_embeddings or any(i not in layer_embeddings for i in layers):
            raise ShapeError(f"layer_embeddings lacks a needed layer: has {sorted(layer_embeddings)}, "
                             f"needs {sorted({last, *layers})}")
        check_dims([dim], layer_embeddings[last][0])
        top = layer_embeddings[last]
        loss = self.last_layer_weight * self._pair(top, dim)
        for i in layers:
            cols = layer_embeddings[i]
            loss = loss + self.prior_layers_weight * self._weight(i) / len(layers) * self._pair(cols, dim)
            if self.kl_weight and self.kl_temperature > 0:
                kl = sum(kl_to_teacher(s, t, self.kl_temperature) for s, t in zip(cols, top) if s is not None)
                loss = loss + self.kl_weight * self.kl_temperature * kl
        return loss
