"""Recall@k of a compressed index against exact float search, and the real
evaluation set every index benchmark uses.

``recall_at_k(found, truth)`` is the mean over queries of
``|found[:k] ∩ truth[:k]| / k`` (the definition sentence-transformers, FAISS and
the BEBR paper use for "recall@k against exact search").
:func:`gloss_benchmark` gives MiniLM embeddings of WordNet glosses split into a
document set and held-out queries (embedded once through the cache).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from mantissa.errors import ShapeError


def recall_at_k(found: torch.Tensor, truth: torch.Tensor, k: int | None = None) -> float:
    """Mean fraction of the true top-``k`` ids that appear in the found top-``k``."""
    if found.ndim != 2 or truth.ndim != 2 or found.shape[0] != truth.shape[0]:
        raise ShapeError(f"found {tuple(found.shape)} and truth {tuple(truth.shape)} must be (queries, k)")
    k = k or truth.shape[1]
    if k > found.shape[1] or k > truth.shape[1]:
        raise ShapeError(f"k={k} exceeds the ids given ({found.shape[1]} found, {truth.shape[1]} true)")
    f, t = found[:, :k].long(), truth[:, :k].long()
    hits = (f.unsqueeze(2) == t.unsqueeze(1)).any(2).sum(1).double()
    return float(hits.mean() / k) if len(f) else float("nan")


@dataclass
class EvalSet:
    """Documents, held-out queries and their texts."""

    docs: torch.Tensor
    queries: torch.Tensor
    doc_texts: list[str]
    query_texts: list[str]


def gloss_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct WordNet definitions in a seeded random order."""
    from mantissa.data import load_wordnet_glosses

    seen: dict[str, None] = {}
    for s in load_wordnet_glosses():
        if s.definition:
            seen.setdefault(s.definition, None)
    texts = sorted(seen)
    if n > len(texts):
        raise ShapeError(f"asked for {n} glosses; WordNet has {len(texts)} distinct definitions")
    random.Random(seed).shuffle(texts)
    return texts[:n]


def gloss_benchmark(n_docs: int = 20_000, n_queries: int = 1_000, seed: int = 0,
                    model=None) -> EvalSet:
    """MiniLM embeddings of ``n_docs + n_queries`` WordNet glosses (cached), split.

    The text list depends only on the total and ``seed``, so the experiment and
    the benchmark share one cache entry when they ask for the same sizes.
    """
    from mantissa.data import embed_corpus

    texts = gloss_texts(n_docs + n_queries, seed)
    emb = embed_corpus(texts, model)  # loads MiniLM only when the corpus is not cached
    return EvalSet(emb[:n_docs], emb[n_docs:], texts[:n_docs], texts[n_docs:])


def exact_topk(docs: torch.Tensor, queries: torch.Tensor, k: int) -> torch.Tensor:
    """Ids of the exact top-``k`` documents by float inner product (the ground truth)."""
    from mantissa.index.search import topk_stream

    return topk_stream(lambda a, b: queries @ docs[a:b].T, len(docs), k)[1]


def evaluate(spec: str, docs: torch.Tensor, queries: torch.Tensor, k: int = 10,
             truth: torch.Tensor | None = None, seed: int = 0, index=None) -> dict[str, float]:
    """Build ``spec`` on ``docs`` (unless ``index`` is given), search ``queries``; report
    recall@k against exact float search, queries/s, bytes/vector and build time."""
    import time

    from mantissa.index.index import Index

    if truth is None:
        truth = exact_topk(docs, queries, k)
    t0 = time.perf_counter()
    idx = index if index is not None else Index.build(spec, docs, seed=seed)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = idx.search(queries, k)[1]
    search_s = time.perf_counter() - t0
    return {"recall": recall_at_k(found, truth, k), "qps": len(queries) / max(search_s, 1e-9),
            "bytes_per_vector": idx.bytes_per_vector, "disk_bytes_per_vector": idx.disk_bytes_per_vector,
            "aux_bytes": float(idx.aux_bytes), "build_s": build_s}
