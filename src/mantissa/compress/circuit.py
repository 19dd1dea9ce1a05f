"""A hidden Chow-Liu tree (HCLT) probabilistic circuit over binary variables
(Liu, Mandt & Van den Broeck, 2022, "Lossless Compression with Probabilistic
Circuits", paper #18, Sec. 3-4 and App. B; HCLTs after Liu & Van den Broeck, 2021).

Every observed bit ``X_i`` has a latent ``Z_i`` with ``K`` states; the latents
form the Chow-Liu tree of the observed data (maximum spanning tree of pairwise
mutual information, Chow & Liu, 1968)::

    p(x, z) = p(z_r) · Π_{i ≠ r} p(z_i | z_pa(i)) · Π_i p(x_i | z_i)

Summing out ``z`` bottom-up is exactly the evaluation of a smooth, decomposable
sum-product circuit, so any *marginal* ``p(x_S)`` costs one upward pass: a
variable outside ``S`` gets the indicator value 1 (Eq. 2 of the paper). The
conditionals an arithmetic coder needs (Eq. 1),

    p(x_i = 1 | x_<i) = p(x_<i, x_i = 1) / p(x_<i),

come from two marginal queries per position; :meth:`HCLT.conditionals` batches
them (the naive ``O(D·|circuit|)`` algorithm; the paper's Alg. 1 shares work
between positions and is faster but computes the same numbers).

Learning: full-batch EM, where the expected counts are ``θ ⊙ ∂ log L / ∂θ``
(the circuit-gradient form of EM, Peharz et al., 2016) with a Laplace prior.
``K = 1`` makes all pixels independent (the baseline without structure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.progress import progress

DTYPE = torch.float64


def _check_binary(x: torch.Tensor, d: int | None = None) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.dim() != 2 or (d is not None and x.shape[1] != d):
        want = f"(n, {d})" if d is not None else "(n, d)"
        raise ShapeError(f"expected binary data of shape {want}, got {tuple(x.shape)}")
    if x.numel() and not ((x == 0) | (x == 1)).all():
        raise ShapeError("data must be binary (0/1)")
    return x.to(DTYPE)


def mutual_information(x: torch.Tensor, alpha: float = 0.01) -> np.ndarray:
    """Pairwise mutual information (nats) of binary columns, from counts with
    pseudocount ``alpha`` per cell."""
    x = _check_binary(x).numpy()
    n, d = x.shape
    p1 = (x.sum(0) + 2 * alpha) / (n + 4 * alpha)
    mi = np.zeros((d, d))
    for a in (0, 1):
        for b in (0, 1):
            xa = x if a else 1 - x
            xb = x if b else 1 - x
            pab = ((xa.T @ xb) + alpha) / (n + 4 * alpha)
            pa = p1 if a else 1 - p1
            pb = p1 if b else 1 - p1
            mi += pab * np.log(pab / np.outer(pa, pb))
    np.fill_diagonal(mi, 0.0)
    return np.maximum(mi, 0.0)


def chow_liu_tree(x: torch.Tensor, root: int = 0) -> list[int]:
    """Parent array of the maximum-mutual-information spanning tree, rooted at ``root``."""
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    mi = mutual_information(x)
    d = len(mi)
    weight = (mi.max() + 1.0) - mi  # all positive: the minimum tree is the maximum-MI tree
    np.fill_diagonal(weight, 0.0)
    mst = minimum_spanning_tree(weight)
    _, pred = breadth_first_order(mst + mst.T, root, directed=False)
    parent = [int(p) if p >= 0 else -1 for p in pred]
    parent[root] = -1
    if sum(p < 0 for p in parent) != 1 or len(parent) != d:
        raise ShapeError("Chow-Liu tree is not connected")  # pragma: no cover - MST of a full graph
    return parent


def preorder(parent: list[int]) -> list[int]:
    """Nodes with every parent before its children (breadth-first from the root)."""
    children: dict[int, list[int]] = {}
    for c, p in enumerate(parent):
        children.setdefault(p, []).append(c)
    order, frontier = [], list(children.get(-1, []))
    while frontier:
        order.extend(frontier)
        frontier = [c for v in frontier for c in children.get(v, [])]
    if len(order) != len(parent):
        raise ShapeError("parent array is not a single tree")
    return order


@dataclass
class HCLTConfig:
    latent: int = 16  # K
    em_steps: int = 60
    pseudocount: float = 0.1
    seed: int = 0


class HCLT:
    """A hidden Chow-Liu tree PC over ``d`` binary variables (see the module docstring)."""

    def __init__(self, parent: list[int], latent: int, seed: int = 0) -> None:
        if latent < 1:
            raise ConfigError(f"latent states K must be >= 1, got {latent}")
        self.parent, self.d, self.k = list(parent), len(parent), latent
        self.order = preorder(self.parent)
        self.root = self.order[0]
        g = torch.Generator().manual_seed(seed)
        rand = lambda *s: torch.rand(*s, generator=g, dtype=DTYPE) + 0.5  # noqa: E731
        self.prior = _normalise(rand(latent))
        self.trans = _normalise(rand(self.d, latent, latent))  # trans[i, z_parent, z_i]
        self.emit = _normalise(rand(self.d, latent, 2))  # emit[i, z_i, x_i]

    @classmethod
    def fit(cls, x: torch.Tensor, cfg: HCLTConfig | None = None) -> HCLT:
        cfg = cfg or HCLTConfig()
        x = _check_binary(x)
        model = cls(chow_liu_tree(x), cfg.latent, cfg.seed)
        model.em(x, cfg.em_steps, cfg.pseudocount)
        return model

    def _params(self) -> list[torch.Tensor]:
        return [self.prior, self.trans, self.emit]

    def log_marginal(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``log p(x_S)`` per row, ``S`` = positions where ``mask`` is True (all if None).
        Values of ``x`` outside ``S`` are ignored."""
        x = _check_binary(x, self.d)
        n = len(x)
        mask = torch.ones_like(x, dtype=torch.bool) if mask is None else mask.expand(n, self.d)
        # leaves: p(x_i | z_i) for observed i, 1 for marginalised i
        ev = torch.where(x[:, :, None] > 0.5, self.emit[None, :, :, 1], self.emit[None, :, :, 0])
        ev = torch.where(mask[:, :, None], ev, torch.ones_like(ev))  # (n, d, K)
        logscale = torch.zeros(n, dtype=DTYPE)
        up = [ev[:, i] for i in range(self.d)]
        for i in reversed(self.order):  # children before parents
            m = up[i]
            s = m.sum(-1, keepdim=True)
            m = m / s
            logscale = logscale + s.squeeze(-1).log()
            p = self.parent[i]
            if p < 0:
                return logscale + (m @ self.prior).log()
            up[p] = up[p] * (m @ self.trans[i].T)  # Σ_{z_i} p(z_i | z_p) m(z_i), a function of z_p
        raise AssertionError("unreachable")  # pragma: no cover

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_marginal(x)

    def bits_per_dim(self, x: torch.Tensor) -> float:
        """``-log2 p(x)`` averaged over rows and dimensions."""
        with torch.no_grad():
            return float(-self.log_likelihood(x).mean() / (self.d * np.log(2)))

    def em(self, x: torch.Tensor, steps: int, pseudocount: float = 0.1) -> list[float]:
        """Full-batch EM; returns the train log-likelihood (nats/row) before each step."""
        x = _check_binary(x, self.d)
        history = []
        with progress("HCLT EM", total=steps) as bar:
            for _ in range(steps):
                params = [p.detach().requires_grad_(True) for p in self._params()]
                self.prior, self.trans, self.emit = params
                ll = self.log_likelihood(x).sum()
                grads = torch.autograd.grad(ll, params)
                counts = [p.detach() * g for p, g in zip(params, grads)]
                self.prior, self.trans, self.emit = (_normalise(c + pseudocount) for c in counts)
                history.append(float(ll.detach()) / len(x))
                bar.advance(1, ll=history[-1])
        return history

    def conditionals(self, x: torch.Tensor, positions: list[int] | None = None) -> torch.Tensor:
        """``p(x_i = 1 | x_<i)`` in :attr:`order` (variables coded root first), shape ``(n, d)``:
        column ``t`` is the probability of variable ``order[t]`` given those before it.
        Row ``r`` only reads ``x[r, order[:t]]`` for column ``t``."""
        x = _check_binary(x, self.d)
        steps = range(self.d) if positions is None else positions
        out = torch.empty(len(x), len(steps), dtype=DTYPE)
        with torch.no_grad():
            for col, t in enumerate(steps):
                out[:, col] = self.conditional_at(x, t)
        return out

    def conditional_at(self, x: torch.Tensor, t: int) -> torch.Tensor:
        """``p(x_{order[t]} = 1 | x_{order[:t]})`` per row, from two marginal queries on a
        copy of ``x`` with everything from ``order[t]`` on zeroed (so encoder and decoder
        feed bit-identical inputs)."""
        prefix = torch.tensor(self.order[:t], dtype=torch.long)
        var = self.order[t]
        xin = torch.zeros_like(x)
        xin[:, prefix] = x[:, prefix]
        mask = torch.zeros(self.d, dtype=torch.bool)
        mask[prefix] = True
        log_prefix = self.log_marginal(xin, mask)
        xin[:, var] = 1.0
        mask[var] = True
        log_one = self.log_marginal(xin, mask)
        return (log_one - log_prefix).exp().clamp(0.0, 1.0)


def _normalise(t: torch.Tensor) -> torch.Tensor:
    return t / t.sum(-1, keepdim=True)
