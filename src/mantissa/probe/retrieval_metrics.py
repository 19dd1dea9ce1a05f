"""Ranking metrics for retrieval: MRR@k, nDCG@k (binary gains), recall@k.

For query ``q`` with relevant set ``R_q`` and ranked list ``r_1, r_2, ...``:

* ``MRR@k``    = mean of ``1/rank`` of the first relevant item in the top k (0 if none);
* ``nDCG@k``   = ``DCG/IDCG`` with ``DCG = Σ_{i≤k} [r_i ∈ R_q] / log2(i+1)`` and the
  ideal ``IDCG = Σ_{i ≤ min(k, |R_q|)} 1/log2(i+1)`` (Järvelin & Kekäläinen, 2002);
* ``recall@k`` = ``|R_q ∩ top-k| / |R_q|``.

Scores are a ``(queries, corpus)`` similarity matrix; ties break by index.
:func:`submodel_grid` evaluates every ``(layer, dim)`` sub-model of an encoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from mantissa.errors import ShapeError


def _relevant_sets(relevant: Sequence[int] | Sequence[Sequence[int]] | torch.Tensor, n_queries: int,
                   n_docs: int) -> list[set[int]]:
    rel = relevant.tolist() if isinstance(relevant, torch.Tensor) else list(relevant)
    if len(rel) != n_queries:
        raise ShapeError(f"{len(rel)} relevance entries for {n_queries} queries")
    sets = [{int(r)} if isinstance(r, int) else {int(x) for x in r} for r in rel]
    bad = [s for s in sets if not s or min(s) < 0 or max(s) >= n_docs]
    if bad:
        raise ShapeError(f"every query needs relevant documents among 0..{n_docs - 1}; got {sorted(bad[0])}")
    return sets


def top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` best documents per query (stable: ties by lower index)."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    return order[:, :k]


def retrieval_metrics(scores: torch.Tensor, relevant: Sequence[int] | Sequence[Sequence[int]] | torch.Tensor,
                      ks: Sequence[int] = (1, 5, 10), k: int = 10) -> dict[str, float]:
    """``{"mrr@10", "ndcg@10", "recall@1", "recall@5", "recall@10"}`` averaged over queries."""
    if scores.ndim != 2 or scores.shape[0] == 0:
        raise ShapeError(f"scores must be a non-empty (queries, corpus) matrix, got {tuple(scores.shape)}")
    sets = _relevant_sets(relevant, *scores.shape)
    depth = max(k, *ks)
    ranked = top_k(scores, min(depth, scores.shape[1])).tolist()
    disc = [1 / math.log2(i + 2) for i in range(depth)]
    mrr = ndcg = 0.0
    recall = dict.fromkeys(ks, 0.0)
    for rank, rel in zip(ranked, sets):
        hits = [doc in rel for doc in rank]
        first = next((i for i, h in enumerate(hits[:k]) if h), None)
        mrr += 0.0 if first is None else 1.0 / (first + 1)
        ndcg += sum(d for d, h in zip(disc, hits[:k]) if h) / sum(disc[: min(k, len(rel))])
        for kk in ks:
            recall[kk] += sum(hits[:kk]) / len(rel)
    n = len(sets)
    return {f"mrr@{k}": mrr / n, f"ndcg@{k}": ndcg / n, **{f"recall@{kk}": v / n for kk, v in recall.items()}}


def cosine_scores(queries: torch.Tensor, corpus: torch.Tensor) -> torch.Tensor:
    """Cosine similarity matrix (float32)."""
    q = torch.nn.functional.normalize(queries.float(), dim=-1)
    c = torch.nn.functional.normalize(corpus.float(), dim=-1)
    return q @ c.T


def submodel_grid(encoder: Any, queries: Sequence[str], corpus: Sequence[str],
                  relevant: Sequence[Sequence[int]], layers: Sequence[int], dims: Sequence[int],
                  batch_size: int = 64) -> dict[tuple[int, int], dict[str, float]]:
    """Retrieval metrics of every ``(layer, dim)`` sub-model of ``encoder``.

    ``encoder.encode(texts, layers=...)`` (see :class:`mantissa.embed.encoder.Encoder`)
    runs once for queries and once for the corpus; each sub-model is a slice.
    """
    q = encoder.encode(list(queries), layers=list(layers), normalize=False, batch_size=batch_size)
    c = encoder.encode(list(corpus), layers=list(layers), normalize=False, batch_size=batch_size)
    return {(layer, d): retrieval_metrics(cosine_scores(q[layer][:, :d], c[layer][:, :d]), relevant)
            for layer in layers for d in dims}
