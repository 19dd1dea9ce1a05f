"""Unsupervised SimCSE and ESimCSE.

* ``simcse`` — Gao, Yao, Chen, 2021, "SimCSE: Simple Contrastive Learning of
  Sentence Embeddings" (Eq. 4): the positive of a sentence is the sentence
  itself, encoded a second time with a different dropout mask; in-batch negatives.
* ``esimcse`` — Wu et al., 2022, "ESimCSE: Enhanced Sample Building Method for
  Contrastive Learning of Unsupervised Sentence Embedding" (COLING, §3, Eq. 5):
  the positive is a *word-repetition* copy (``dup_len ~ U{0, max(2, ⌊r·N⌋)}``
  random words of the N-word sentence duplicated in place, so the positive's
  length differs and length stops being a shortcut), and extra negatives come
  from a queue of earlier batches' embeddings made by a momentum encoder
  ``θ_m ← λ θ_m + (1-λ) θ``::

      L = -log e^{s(h_i, h_i⁺)/τ} / ( Σ_j e^{s(h_i, h_j⁺)/τ} + Σ_m e^{s(h_i, q_m)/τ} )

  We repeat whitespace-separated words (the paper repeats subword tokens).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError
from mantissa.train.losses.base import EmbeddingLoss, check_columns, check_embeddings, cos_sim
from mantissa.train.losses.registry import EMBEDDING_LOSSES


def word_repetition(text: str, rng: random.Random, dup_rate: float = 0.32) -> str:
    """ESimCSE's positive: duplicate ``U{0, max(2, ⌊dup_rate·N⌋)}`` random words in place."""
    words = text.split()
    if not words:
        return text
    n_dup = rng.randint(0, max(2, int(dup_rate * len(words))))
    dup = set(rng.sample(range(len(words)), min(n_dup, len(words))))
    out: list[str] = []
    for i, w in enumerate(words):
        out.extend((w, w) if i in dup else (w,))
    return " ".join(out)


@EMBEDDING_LOSSES.register("simcse")
class SimCSE(EmbeddingLoss):
    """``simcse:temperature=0.05`` — anchors only; the positive is a second dropout pass."""

    name = "simcse"
    citation = "Gao, Yao, Chen 2021, SimCSE: Simple Contrastive Learning of Sentence Embeddings, EMNLP"

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__()
        if temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        check_columns(anchors)
        return self.compute_loss_from_embeddings(model(list(anchors)), model(list(anchors)))

    def compute_loss_from_embeddings(self, anchors: torch.Tensor, positives: torch.Tensor,
                                     queue: torch.Tensor | None = None) -> torch.Tensor:
        check_embeddings(anchors, positives, queue)
        cands = positives if queue is None or len(queue) == 0 else torch.cat([positives, queue])
        labels = torch.arange(len(anchors), device=anchors.device)
        return F.cross_entropy(cos_sim(anchors, cands) / self.temperature, labels)


@EMBEDDING_LOSSES.register("esimcse")
class ESimCSE(SimCSE):
    """``esimcse:temperature=0.05,dup_rate=0.32,queue_size=64,momentum=0.995``."""

    name = "esimcse"
    citation = ("Wu et al. 2022, ESimCSE: Enhanced Sample Building Method for Contrastive Learning of "
                "Unsupervised Sentence Embedding, COLING, arXiv:2109.04380")

    def __init__(self, temperature: float = 0.05, dup_rate: float = 0.32, queue_size: int = 64,
                 momentum: float = 0.995, seed: int | None = None) -> None:
        super().__init__(temperature)
        if not 0 <= dup_rate <= 1 or not 0 <= momentum <= 1 or queue_size < 0:
            raise ConfigError("esimcse: need 0 <= dup_rate <= 1, 0 <= momentum <= 1, queue_size >= 0")
        self.dup_rate, self.queue_size, self.momentum = dup_rate, queue_size, momentum
        self.rng = random.Random(seed)
        self._momentum_encoder: list[Any] = [None]  # not a sub-module
        self.queue: torch.Tensor | None = None

    @torch.no_grad()
    def _update_momentum(self, model: Any, texts: list[str]) -> None:
        if self._momentum_encoder[0] is None:
            self._momentum_encoder[0] = copy.deepcopy(model).eval().requires_grad_(False)
        enc = self._momentum_encoder[0]
        for pm, p in zip(enc.parameters(), model.parameters()):
            pm.mul_(self.momentum).add_(p.detach(), alpha=1 - self.momentum)
        if self.queue_size:
            new = enc(texts).detach()
            q = new if self.queue is None else torch.cat([new, self.queue])
            self.queue = q[: self.queue_size]

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        check_columns(anchors)
        texts = list(anchors)
        pos = [word_repetition(t, self.rng, self.dup_rate) for t in texts]
        loss = self.compute_loss_from_embeddings(model(texts), model(pos), self.queue)
        self._update_momentum(model, texts)
        return loss
