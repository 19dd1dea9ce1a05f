"""k-means (Lloyd's algorithm) in torch, for PQ codebooks and IVF partitions.

Initialisation is k-means++ (D² sampling, Arthur & Vassilvitskii 2007) on a
random subsample of at most ``64·k`` points; each
iteration assigns points to the nearest centroid in chunks (bounded memory)
and moves centroids to the mean of their points; an empty cluster is re-seeded
with the point farthest from its centroid. ``kmeans(x, k)`` returns the
centroids ``(k, d)``; :func:`assign` gives nearest-centroid ids.
"""

from __future__ import annotations

import torch

from mantissa.errors import ShapeError


def assign(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid (squared L2) of each row: (ids int64, squared distances)."""
    c_norm = (centroids * centroids).sum(1).unsqueeze(0)
    ids, dists = [], []
    for s in range(0, x.shape[0], chunk):
        xs = x[s : s + chunk]
        best, idx = torch.addmm(c_norm, xs, centroids.T, alpha=-2).min(1)
        ids.append(idx)
        dists.append((best + (xs * xs).sum(1)).clamp_min(0))
    return torch.cat(ids), torch.cat(dists)


def kmeans(x: torch.Tensor, k: int, iters: int = 25, seed: int = 0) -> torch.Tensor:
    """Centroids ``(k, d)`` of ``x (n, d)`` after ``iters`` Lloyd iterations."""
    x = x.float()
    n = x.shape[0]
    if k < 1 or n < k:
        raise ShapeError(f"k-means needs at least k={k} training vectors, got {n}")
    gen = torch.Generator().manual_seed(seed)
    centroids = kmeans_pp(x[torch.randperm(n, generator=gen)[: 64 * k]], k, gen)
    for _ in range(iters):
        ids, dist = assign(x, centroids)
        counts = torch.bincount(ids, minlength=k)
        sums = torch.stack([torch.bincount(ids, weights=x[:, j], minlength=k) for j in range(x.shape[1])], 1)
        nonempty = counts > 0
        centroids[nonempty] = (sums[nonempty] / counts[nonempty].unsqueeze(1)).float()
        empty = (~nonempty).nonzero().flatten()
        if len(empty):
            far = torch.topk(dist, len(empty)).indices
            centroids[empty] = x[far]
    return centroids


def kmeans_pp(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability ∝ squared distance."""
    first = int(torch.randint(len(x), (1,), generator=gen))
    centres = [x[first]]
    d2 = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        total = float(d2.sum())
        if total <= 0:
            pick = int(torch.randint(len(x), (1,), generator=gen))
        else:
            pick = int(torch.multinomial(d2 / total, 1, generator=gen))
        centres.append(x[pick])
        d2 = torch.minimum(d2, ((x - x[pick]) ** 2).sum(1))
    return torch.stack(centres).clone()
