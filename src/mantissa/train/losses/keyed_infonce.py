"""InfoNCE with in-batch negatives, where candidates that share the positive's key are
not counted as negatives.

van den Oord et al., 2018, "Representation Learning with Contrastive Predictive Coding"
(InfoNCE, Eq. 4) with the usual false-negative mask of supervised/multi-task contrastive
training (e.g. VLM2Vec, Jiang et al. 2024, §3: in-batch negatives; CLIP-style caption
training where many images share one caption). For query ``q_i`` with positive ``c_i``::

    L = -1/B Σ_i log  exp(s_ii/τ) / ( exp(s_ii/τ) + Σ_{j: key_j ≠ key_i} exp(s_ij/τ) ),
    s_ij = cos(q_i, c_j)

A candidate ``c_j`` (j ≠ i) with ``key_j == key_i`` (the same label text, another image of
the digit the query asks for, the same caption) is removed from the denominator instead of
being pushed away. Without keys it is plain InfoNCE (:func:`~mantissa.train.losses.info_nce`).
``symmetric=True`` averages with the candidate → query direction (CLIP).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError, ShapeError
from mantissa.train.losses.base import check_embeddings, cos_sim


def keyed_info_nce(queries: torch.Tensor, candidates: torch.Tensor, keys: torch.Tensor | None = None,
                   temperature: float = 0.05, symmetric: bool = False) -> torch.Tensor:
    """Mean InfoNCE of ``queries[i]`` against ``candidates[i]`` with the other candidates as
    negatives, except those whose ``keys`` (``(B,)`` integers) equal ``keys[i]``."""
    check_embeddings(queries, candidates)
    if queries.shape[0] != candidates.shape[0]:
        raise ShapeError(f"need one candidate per query, got {queries.shape[0]} and {candidates.shape[0]}")
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    logits = cos_sim(queries, candidates) / temperature
    if keys is not None:
        if keys.shape != (queries.shape[0],):
            raise ShapeError(f"keys must be ({queries.shape[0]},), got {tuple(keys.shape)}")
        same = keys[:, None] == keys[None, :]
        same.fill_diagonal_(False)
        logits = logits.masked_fill(same, float("-inf"))
    labels = torch.arange(len(queries), device=queries.device)
    loss = F.cross_entropy(logits, labels)
    if symmetric:
        loss = (loss + F.cross_entropy(logits.T, labels)) / 2
    return loss
