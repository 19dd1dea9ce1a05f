"""Alignment and uniformity of embeddings on the unit hypersphere.

Wang & Isola, 2020, "Understanding Contrastive Representation Learning through
Alignment and Uniformity on the Hypersphere" (ICML, Eqs. 2-3)::

    align(f; α)   = E_{(x,y) ~ positives} ||f(x) - f(y)||₂^α                (lower is better)
    uniform(f; t) = log E_{x,y ~ data, i.i.d.} exp(-t ||f(x) - f(y)||₂²)  (lower is better)

with the defaults α = 2, t = 2. Uniformity is averaged over distinct pairs
(``i < j``), as in the paper's reference code (``torch.pdist``). Inputs are
L2-normalised first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mantissa.errors import ShapeError


def _unit(x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 2 or len(x) == 0:
        raise ShapeError(f"expected a non-empty (n, dim) tensor, got {tuple(x.shape)}")
    return F.normalize(x.double(), dim=-1)


def alignment(x: torch.Tensor, y: torch.Tensor, alpha: float = 2.0) -> float:
    """Mean ``||x_i - y_i||^α`` over positive pairs (rows of ``x`` and ``y``)."""
    if x.shape != y.shape:
        raise ShapeError(f"alignment needs paired rows of equal shape, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    return float((_unit(x) - _unit(y)).norm(dim=1).pow(alpha).mean())


def uniformity(x: torch.Tensor, t: float = 2.0) -> float:
    """``log`` of the mean Gaussian potential ``exp(-t ||x_i - x_j||²)`` over pairs ``i < j``."""
    u = _unit(x)
    if len(u) < 2:
        raise ShapeError("uniformity needs at least two embeddings")
    sq = torch.pdist(u, p=2).pow(2)
    return float(torch.logsumexp(-t * sq, dim=0) - torch.log(torch.tensor(float(len(sq)), dtype=sq.dtype)))
