"""How faithfully an embedding reproduces a finite metric (used by paper #45,
neural snowflakes, and by any metric-embedding experiment).

Over all pairs ``i < j`` with true distance ``d_ij > 0`` and embedded distance
``e_ij``:

* **average distortion** (Sala et al., 2018, Eq. 2): ``mean |e_ij - d_ij| / d_ij``;
* **worst-case distortion** (Bourgain; Linial et al., 1995):
  ``max_ij (e_ij / d_ij) · max_ij (d_ij / e_ij)`` — scale-free, 1 for an
  isometry up to scale, ``inf`` when two distinct points collapse;
* **rank correlation**: Spearman's rho between ``d`` and ``e``
  (:func:`mantissa.probe.similarity.spearman`).

:func:`tree_distances` gives the exact shortest-path metric of a sample of
nodes of a tree (or any graph) for the ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mantissa.errors import ShapeError
from mantissa.probe.similarity import spearman

Matrix = torch.Tensor | np.ndarray


def _pairs(d_true: Matrix, d_emb: Matrix) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(torch.as_tensor(d_true).detach().cpu().double())
    e = np.asarray(torch.as_tensor(d_emb).detach().cpu().double())
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape != e.shape:
        raise ShapeError(f"need two square distance matrices of the same shape, got {d.shape} and {e.shape}")
    iu = np.triu_indices(len(d), k=1)
    d, e = d[iu], e[iu]
    keep = d > 0
    if not keep.any():
        raise ShapeError("the true metric has no pair at a positive distance")
    if (d < 0).any() or (e < 0).any() or not np.isfinite(e).all():
        raise ShapeError("distances must be finite and non-negative")
    return d[keep], e[keep]


def average_distortion(d_true: Matrix, d_emb: Matrix) -> float:
    """``mean |e - d| / d`` over pairs at positive true distance."""
    d, e = _pairs(d_true, d_emb)
    return float(np.mean(np.abs(e - d) / d))


def worst_distortion(d_true: Matrix, d_emb: Matrix) -> float:
    """``max(e/d) · max(d/e)``; ``inf`` if some distinct pair is mapped to distance 0."""
    d, e = _pairs(d_true, d_emb)
    if (e == 0).any():
        return float("inf")
    ratio = e / d
    return float(ratio.max() / ratio.min())


def distortion_report(d_true: Matrix, d_emb: Matrix) -> dict[str, float]:
    """All three numbers: ``avg_distortion``, ``worst_distortion``, ``spearman``."""
    d, e = _pairs(d_true, d_emb)
    return {"avg_distortion": average_distortion(d_true, d_emb),
            "worst_distortion": worst_distortion(d_true, d_emb),
            "spearman": spearman(torch.from_numpy(d), torch.from_numpy(e))}


def tree_distances(parent: Sequence[int], nodes: Sequence[int]) -> np.ndarray:
    """Exact shortest-path distances between ``nodes`` in the forest given by
    ``parent[i]`` (``-1`` for a root); unit edge lengths. Nodes in different
    trees are an error."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    par = np.asarray(parent)
    child = np.nonzero(par >= 0)[0]
    n = len(par)
    graph = coo_matrix((np.ones(len(child)), (child, par[child])), shape=(n, n)).tocsr()
    dist = shortest_path(graph, directed=False, unweighted=True, indices=np.asarray(nodes))
    out = dist[:, np.asarray(nodes)]
    if not np.isfinite(out).all():
        raise ShapeError("some sampled nodes lie in different trees (no path between them)")
    return out


def hypernym_forest(synsets: Sequence) -> tuple[list[str], list[int]]:
    """WordNet synsets as a forest: each synset's parent is its *first* hypernym
    (``@`` or ``@i``) present in the list. Returns ``(ids, parent)`` with ``parent[i] = -1``
    for roots; nouns form one tree rooted at ``entity``."""
    ids = [s.id for s in synsets]
    index = {sid: i for i, sid in enumerate(ids)}
    parent = []
    for s in synsets:
        hyper = [index[h] for h in s.hypernyms if h in index]
        parent.append(hyper[0] if hyper else -1)
    return ids, parent


def ancestor_closed_sample(parent: Sequence[int], n: int, seed: int = 0) -> list[int]:
    """About ``n`` nodes forming a subtree: random nodes are added with all their
    ancestors until ``n`` are reached (then trimmed to exactly ``n`` by dropping the
    last-added leaves, which keeps the sample closed under ancestors)."""
    rng = np.random.default_rng(seed)
    par = np.asarray(parent)
    if n < 2 or n > len(par):
        raise ShapeError(f"sample size must be in [2, {len(par)}], got {n}")
    chosen: dict[int, None] = {}
    for start in rng.permutation(len(par)):
        path = []
        node = int(start)
        while node >= 0 and node not in chosen:
            path.append(node)
            node = int(par[node])
        for v in reversed(path):  # ancestors first
            chosen[v] = None
        if len(chosen) >= n:
            break
    return list(chosen)[:n]


def induced_parent(parent: Sequence[int], nodes: Sequence[int]) -> list[int]:
    """``parent`` restricted to an ancestor-closed sample, re-indexed ``0..len(nodes)-1``
    (so :func:`tree_distances` runs on the small subtree)."""
    pos = {int(v): i for i, v in enumerate(nodes)}
    out = []
    for v in nodes:
        p = int(parent[int(v)])
        if p >= 0 and p not in pos:
            raise ShapeError(f"node {v}'s parent {p} is not in the sample; it must be closed under ancestors")
        out.append(pos[p] if p >= 0 else -1)
    return out
