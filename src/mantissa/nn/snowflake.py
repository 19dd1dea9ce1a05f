"""Neural snowflakes: a trainable metric on ``R^d`` (Borde & Kratsios, 2024,
"Neural Snowflakes: Universal Latent Graph Inference via Trainable Latent
Geometries", paper #45, Sec. 3).

A neural snowflake is a function ``f: [0, ∞) -> [0, ∞)`` applied to the Euclidean
distance, ``d_f(x, y) = f(||x - y||)``, with the iterative representation

    u_0 = t,    u_j = σ_{a_j, p_j}(A_j u_{j-1})  (j = 1..J),    f(t) = B u_J

where ``A_j`` and ``B`` have non-negative entries and the activation mixes a
bounded and a fractal ("snowflake") response per unit,

    σ_{a, p}(s) = a (1 - e^{-s}) + (1 - a) s^p,   a ∈ [0, 1],  p ∈ (0, 1].

Every ``σ_{a,p}`` is concave, non-decreasing and vanishes at 0; non-negative
linear maps and composition keep those three properties, so ``f`` is
*metric-preserving*: ``f(||x - y||)`` is a metric for every parameter value
(the property tested in ``tests/nn/test_snowflake.py``). With ``a = 0, p = 1``
it reduces to a rescaled Euclidean distance, so the Euclidean MLP embedding is
a special case. (The activation is written from the paper's description: a
bounded part for the large scales and a power ``s^p`` for the snowflake part.)

:class:`MetricEmbedding` is the paper's "MLP encoder + neural snowflake"
(``metric="snowflake"``) or the Euclidean baseline (``metric="euclidean"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError

_EPS = 1e-6  # keeps d/ds s^p finite at s = 0


def snowflake_activation(s: torch.Tensor, a: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``σ_{a,p}(s) = a (1 - e^{-s}) + (1 - a) ((s + ε)^p - ε^p)`` for ``s >= 0``."""
    power = (s + _EPS).pow(p) - torch.as_tensor(_EPS, dtype=s.dtype).pow(p)
    return a * (-torch.expm1(-s)) + (1 - a) * power


class NeuralSnowflake(nn.Module):
    """``f(t)`` elementwise on distances ``t >= 0`` (any shape); ``widths`` are the
    hidden sizes ``d_1..d_J``."""

    def __init__(self, widths: Sequence[int] = (16, 16), p_min: float = 0.05) -> None:
        super().__init__()
        if not widths or any(w < 1 for w in widths):
            raise ConfigError(f"snowflake widths must be a non-empty list of sizes >= 1, got {list(widths)}")
        if not 0.0 < p_min < 1.0:
            raise ConfigError(f"p_min must be in (0, 1), got {p_min}")
        self.p_min = p_min
        dims = [1, *widths]
        g = torch.Generator().manual_seed(0)
        self.A = nn.ParameterList(nn.Parameter(torch.randn(o, i, generator=g) * 0.5 - 1.0)
                                  for i, o in zip(dims[:-1], dims[1:]))
        self.a_logit = nn.ParameterList(nn.Parameter(torch.zeros(o)) for o in widths)
        self.p_logit = nn.ParameterList(nn.Parameter(torch.full((o,), 1.0)) for o in widths)
        self.B = nn.Parameter(torch.randn(1, widths[-1], generator=g) * 0.5 - 1.0)

    def exponents(self) -> list[torch.Tensor]:
        """The per-unit powers ``p_j`` in ``(p_min, 1]``."""
        return [self.p_min + (1 - self.p_min) * torch.sigmoid(p) for p in self.p_logit]

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        if (t < 0).any():
            raise ShapeError("a neural snowflake is applied to distances; got negative inputs")
        u = t.reshape(-1, 1)
        for A, a, p in zip(self.A, self.a_logit, self.exponents()):
            u = snowflake_activation(u @ F.softplus(A).T, torch.sigmoid(a), p)
        return (u @ F.softplus(self.B).T).reshape(t.shape)


def pairwise_euclidean(z: torch.Tensor) -> torch.Tensor:
    """``||z_i - z_j||`` with a gradient that stays finite on the diagonal."""
    diff = z[:, None, :] - z[None, :, :]
    sq = (diff * diff).sum(-1)
    off = ~torch.eye(len(z), dtype=torch.bool, device=z.device)
    out = torch.zeros_like(sq)
    out[off] = sq[off].clamp_min(1e-12).sqrt()
    return out


METRICS = ("euclidean", "snowflake")


class MetricEmbedding(nn.Module):
    """An MLP encoder ``φ: R^in -> R^dim`` and a latent metric on its outputs:
    ``distances(x) = f(||φ(x_i) - φ(x_j)||)`` (``snowflake``) or ``||·||`` (``euclidean``)."""

    def __init__(self, in_dim: int, dim: int, hidden: int = 128, metric: str = "snowflake",
                 widths: Sequence[int] = (8, 8)) -> None:
        super().__init__()
        if metric not in METRICS:
            raise ConfigError(f"unknown latent metric {metric!r}; use one of {', '.join(METRICS)}")
        if min(in_dim, dim, hidden) < 1:
            raise ConfigError(f"need in_dim, dim, hidden >= 1, got {in_dim}, {dim}, {hidden}")
        self.metric = metric
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                     nn.ReLU(), nn.Linear(hidden, dim))
        self.snowflake = NeuralSnowflake(widths) if metric == "snowflake" else None

    def latent(self, t: torch.Tensor) -> torch.Tensor:
        """The latent metric applied to Euclidean distances ``t``."""
        return self.snowflake(t) if self.snowflake is not None else t

    def pair_distances(self, x: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """Latent distances of the index pairs ``(i[k], j[k])`` of the rows of ``x``
        (pairs with ``i == j`` give 0)."""
        z = self.encoder(x)
        sq = ((z[i] - z[j]) ** 2).sum(-1)
        t = torch.where(i == j, torch.zeros_like(sq), sq.clamp_min(1e-12).sqrt())
        return self.latent(t)

    def distances(self, x: torch.Tensor) -> torch.Tensor:
        """All pairwise latent distances of the rows of ``x`` ``(n, in_dim) -> (n, n)``."""
        return self.latent(pairwise_euclidean(self.encoder(x)))
