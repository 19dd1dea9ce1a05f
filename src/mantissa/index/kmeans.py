"""k-means on FAISS's kernels, with k-means++ seeds (the imaginator's object clusters).

IVF partitions are not trained here: :func:`mantissa.index.faiss_kernels.ivf_centroids`
trains them as FAISS's ``IndexIVF`` does (so the lists are as balanced as FAISS's,
and a probe scans as many vectors); PQ trains its codebooks with FAISS directly.

``kmeans(x, k)`` returns the centroids ``(k, d)`` after ``iters`` Lloyd
iterations of ``faiss.Kmeans`` (at most 256 points per centroid, empty
clusters split as FAISS does), started from k-means++ seeds (D² sampling,
Arthur & Vassilvitskii 2007, on a seeded subsample of at most ``16·k`` points:
FAISS's random start can put two seeds in one cluster and never recover);
:func:`assign` gives each row's nearest centroid (squared L2) through FAISS's
exact search.
"""

from __future__ import annotations

import torch

from mantissa.errors import ShapeError
from mantissa.index.faiss_kernels import nearest, train_kmeans


def assign(x: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid (squared L2) of each row: (ids int64, squared distances)."""
    ids, dist = nearest(x.float(), centroids.float(), 1, "l2")
    return ids[:, 0], dist[:, 0].clamp_min(0)


def kmeans(x: torch.Tensor, k: int, iters: int = 25, seed: int = 0) -> torch.Tensor:
    """Centroids ``(k, d)`` of ``x (n, d)`` after ``iters`` Lloyd iterations."""
    n = x.shape[0]
    if k < 1 or n < k:
        raise ShapeError(f"k-means needs at least k={k} training vectors, got {n}")
    x = x.float()
    gen = torch.Generator().manual_seed(seed)
    seeds = kmeans_pp(x[torch.randperm(n, generator=gen)[: 16 * k]], k, gen)
    return train_kmeans(x, k, iters, seed, init=seeds)


def kmeans_pp(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability ∝ squared distance."""
    norms = (x * x).sum(1)
    first = int(torch.randint(len(x), (1,), generator=gen))
    picks = [first]
    d2 = (norms - 2 * (x @ x[first]) + norms[first]).clamp_min(0)
    for _ in range(1, k):
        total = float(d2.sum())
        if total <= 0:
            pick = int(torch.randint(len(x), (1,), generator=gen))
        else:
            pick = int(torch.multinomial(d2 / total, 1, generator=gen))
        picks.append(pick)
        d2 = torch.minimum(d2, (norms - 2 * (x @ x[pick]) + norms[pick]).clamp_min(0))
    return x[picks].clone()
