"""Interval bound propagation (IBP) and a tiny hypernetwork, for HyperInterval.

Paper: "HyperInterval: Hypernetwork approach to training weight interval regions
in continual learning" (Krukowski et al., seed paper #3). A task's embedding is a
box ``[e - eps, e + eps]``; a hypernetwork ``H`` maps embeddings to target-network
weights, and interval arithmetic in midpoint-radius form carries the box through
``H`` (and then through the target network with interval weights), so every
embedding in the box yields weights — and logits — inside the computed bounds.

Rules used (all sound, i.e. the true set is always inside the returned interval):

* linear layer, point weights: ``c' = W c + b``, ``r' = |W| r``;
* linear layer, interval weights ``[W_c ± W_r]`` (Rump's midpoint-radius product):
  ``c' = W_c c + b_c``, ``r' = |W_c| r + W_r |c| + W_r r + b_r``;
* monotone non-decreasing activations (ReLU, tanh, sigmoid, ...): map the end
  points ``lo = f(c - r)``, ``hi = f(c + r)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError

Interval = tuple[torch.Tensor, torch.Tensor]  # (center, radius), radius >= 0

def _check_pair(center: torch.Tensor, radius: torch.Tensor) -> None:
    if center.shape != radius.shape:
        raise ShapeError(f"center {tuple(center.shape)} and radius {tuple(radius.shape)} "
                         "must have the same shape")
    if radius.numel() and bool((radius < 0).any()):
        raise ConfigError("interval radius must be >= 0 everywhere")


def interval_linear(center: torch.Tensor, radius: torch.Tensor, weight: torch.Tensor,
                    bias: torch.Tensor | None = None, weight_radius: torch.Tensor | None = None,
                    bias_radius: torch.Tensor | None = None) -> Interval:
    """Bounds of ``x @ W.T + b`` over ``x in [c ± r]`` (and ``W in [W ± W_r]``).

    ``weight`` is ``(out, in)`` like ``nn.Linear``; inputs are ``(..., in)``."""
    _check_pair(center, radius)
    if center.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"input has {center.shape[-1]} features but the weight expects "
                         f"{weight.shape[-1]}")
    c = center @ weight.T
    r = radius @ weight.abs().T
    if weight_radius is not None:
        if weight_radius.shape != weight.shape:
            raise ShapeError("weight_radius must have the weight's shape")
        r = r + (center.abs() + radius) @ weight_radius.T
    if bias is not None:
        c = c + bias
    if bias_radius is not None:
        r = r + bias_radius
    return c, r


def interval_monotone(center: torch.Tensor, radius: torch.Tensor, fn) -> Interval:
    """Bounds of a monotone non-decreasing elementwise ``fn`` over ``[c ± r]``."""
    _check_pair(center, radius)
    lo, hi = fn(center - radius), fn(center + radius)
    return (lo + hi) / 2, (hi - lo) / 2


def interval_sequential(module: nn.Module, center: torch.Tensor, radius: torch.Tensor) -> Interval:
    """IBP through an ``nn.Sequential`` of ``nn.Linear`` and monotone activations
    (or through one such layer)."""
    _check_pair(center, radius)
    layers = list(module) if isinstance(module, nn.Sequential) else [module]
    for layer in layers:
        if isinstance(layer, nn.Linear):
            center, radius = interval_linear(center, radius, layer.weight, layer.bias)
        elif isinstance(layer, nn.ReLU | nn.Tanh | nn.Sigmoid | nn.LeakyReLU):
            center, radius = interval_monotone(center, radius, layer)
        elif isinstance(layer, nn.Identity):
            continue
        else:
            raise ConfigError(f"interval propagation does not support {type(layer).__name__}; "
                              "use nn.Linear, ReLU, LeakyReLU, Tanh, Sigmoid or Identity")
    return center, radius


class HyperNet(nn.Module):
    """MLP hypernetwork: an embedding (or an embedding box) -> target weights.

    ``target_shapes`` lists the target network's parameter shapes in order, e.g.
    ``[(32, 64), (32,), (2, 32), (2,)]``. ``forward(e)`` gives point weights,
    ``bounds(c, r)`` gives each weight as a sound (center, radius) interval."""

    def __init__(self, embed_dim: int, target_shapes: Sequence[Sequence[int]],
                 hidden: Sequence[int] = (64,)) -> None:
        super().__init__()
        if embed_dim < 1 or not target_shapes or any(h < 1 for h in hidden):
            raise ConfigError("HyperNet needs embed_dim >= 1, a non-empty target_shapes list "
                              f"and positive hidden sizes; got {embed_dim}, {target_shapes}, {hidden}")
        self.embed_dim = embed_dim
        self.target_shapes = [tuple(int(d) for d in s) for s in target_shapes]
        self.sizes = [math.prod(s) for s in self.target_shapes]
        dims = [embed_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], sum(self.sizes)))
        self.net = nn.Sequential(*layers)

    def _split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        return [p.reshape(s) for p, s in zip(flat.split(self.sizes), self.target_shapes, strict=True)]

    def _check(self, e: torch.Tensor) -> None:
        if e.shape != (self.embed_dim,):
            raise ShapeError(f"embedding must have shape ({self.embed_dim},), got {tuple(e.shape)}")

    def flat(self, e: torch.Tensor) -> torch.Tensor:
        self._check(e)
        return self.net(e)

    def forward(self, e: torch.Tensor) -> list[torch.Tensor]:
        return self._split(self.flat(e))

    def flat_bounds(self, center: torch.Tensor, radius: torch.Tensor) -> Interval:
        self._check(center)
        return interval_sequential(self.net, center, radius)

    def bounds(self, center: torch.Tensor, radius: torch.Tensor) -> list[Interval]:
        c, r = self.flat_bounds(center, radius)
        return list(zip(self._split(c), self._split(r), strict=True))


def interval_mlp(x: torch.Tensor, params: Sequence[Interval]) -> Interval:
    """Logit bounds of a ReLU MLP whose weights are intervals: ``params`` is
    ``[(W1, W1_r), (b1, b1_r), (W2, W2_r), (b2, b2_r), ...]`` (HyperNet.bounds order).
    The input ``x`` is a point (radius 0)."""
    if len(params) % 2 or not params:
        raise ConfigError("params must alternate weight and bias intervals")
    c, r = x, torch.zeros_like(x)
    n = len(params) // 2
    for i in range(n):
        (w, wr), (b, br) = params[2 * i], params[2 * i + 1]
        c, r = interval_linear(c, r, w, b, wr, br)
        if i < n - 1:
            c, r = interval_monotone(c, r, torch.relu)
    return c, r


def mlp_forward(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Plain forward of the ReLU MLP with point weights ``[W1, b1, W2, b2, ...]``."""
    n = len(params) // 2
    for i in range(n):
        x = x @ params[2 * i].T + params[2 * i + 1]
        if i < n - 1:
            x = torch.relu(x)
    return x


def worst_case_logits(center: torch.Tensor, radius: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Adversarial logits inside the bounds: the true class at its lower end,
    every other class at its upper end (the IBP worst case for cross-entropy)."""
    hi, lo = center + radius, center - radius
    onehot = torch.nn.functional.one_hot(y, center.shape[-1]).bool()
    return torch.where(onehot, lo, hi)
