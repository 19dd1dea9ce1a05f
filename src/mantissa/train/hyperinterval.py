"""HyperInterval (Krukowski et al., "HyperInterval: Hypernetwork approach to training weight
interval regions in continual learning", 2024): each task ``t`` gets an embedding box
``[e_t − ε, e_t + ε]``; a hypernetwork maps the box, by interval arithmetic
(:mod:`mantissa.nn.interval`), to interval weights of the target network, whose logit
bounds give a worst-case cross-entropy. Training task ``t`` minimises

    κ · CE(centre logits) + (1 − κ) · CE(worst-case logits) + β · R,

where ``R`` keeps the hypernetwork's outputs (point weights and their interval bounds) for
the earlier tasks' boxes where they were after those tasks. Each new box is kept
overlapping the running intersection of the earlier ones (its centre clamped to within
``ε`` of it), so the intersection is never empty; its centre is the universal embedding,
whose weights lie in every task's certified weight box.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mantissa.nn.interval import HyperNet, interval_mlp, mlp_forward, worst_case_logits
from mantissa.train.continual import Task, accuracy, task_head

__all__ = ["HyperInterval"]


class HyperInterval:
    """A hypernetwork over interval task embeddings, trained task after task (see the module
    docstring): ``train_task`` learns task ``t``'s box, ``evaluate`` scores it,
    ``universal`` is the centre of the boxes' intersection."""

    def __init__(self, shapes: Sequence[tuple[int, ...]], *, embed_dim: int, hyper_hidden: int, eps: float,
                 steps: int, lr: float, kappa: float, beta: float, multi_head: bool) -> None:
        self.embed_dim, self.steps, self.lr = embed_dim, steps, lr
        self.kappa, self.beta, self.multi_head = kappa, beta, multi_head
        self.hnet = HyperNet(embed_dim, shapes, hidden=(hyper_hidden,))
        self.eps = torch.full((embed_dim,), eps)
        self.centers: list[torch.Tensor] = []
        self.saved: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.lo = self.hi = None  # running intersection of the boxes

    def _center(self, raw: torch.Tensor) -> torch.Tensor:
        if self.lo is None:
            return raw
        margin = 0.05 * self.eps  # keep a non-degenerate overlap
        return torch.maximum(torch.minimum(raw, self.hi + self.eps - margin), self.lo - self.eps + margin)

    def _reg(self) -> torch.Tensor:
        total = torch.zeros(())
        for e, (p0, c0, r0) in zip(self.centers, self.saved, strict=True):
            c, r = self.hnet.flat_bounds(e, self.eps)
            p = self.hnet.flat(e)
            total = total + ((p - p0) ** 2).mean() + ((c - c0) ** 2).mean() + ((r - r0) ** 2).mean()
        return total / max(len(self.centers), 1)

    def train_task(self, x: torch.Tensor, y: torch.Tensor, t: int) -> None:
        """Learn task ``t``'s box: ``steps`` Adam steps on ``kappa``·CE(centre) + (1 − ``kappa``)·CE(worst
        case over the box) + ``beta``·(drift of the earlier boxes' outputs); its centre is kept
        within ``eps`` of the running intersection, and the box radius ramps up over the first
        half of the steps."""
        start = torch.randn(self.embed_dim) * 0.1 if self.lo is None else (self.lo + self.hi) / 2
        raw = start.clone().requires_grad_()
        opt = torch.optim.Adam([*self.hnet.parameters(), raw], lr=self.lr)
        for step in range(self.steps):
            ramp = min(1.0, 2.0 * (step + 1) / self.steps)  # radius ramps up over the first half
            opt.zero_grad()
            c = self._center(raw)
            bounds = interval_mlp(x, self.hnet.bounds(c, self.eps * ramp))
            lc, lr = (task_head(v, t, self.multi_head) for v in bounds)
            loss = self.kappa * F.cross_entropy(lc, y) + (1 - self.kappa) * F.cross_entropy(
                worst_case_logits(lc, lr, y), y)
            if self.centers:
                loss = loss + self.beta * self._reg()
            loss.backward()
            opt.step()
        with torch.no_grad():
            e = self._center(raw).detach()
            self.centers.append(e)
            self.saved.append((self.hnet.flat(e), *self.hnet.flat_bounds(e, self.eps)))
            lo, hi = e - self.eps, e + self.eps
            self.lo = lo if self.lo is None else torch.maximum(self.lo, lo)
            self.hi = hi if self.hi is None else torch.minimum(self.hi, hi)

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, j: int) -> tuple[float, float]:
        """(accuracy at the task's centre, certified accuracy over its whole box)."""
        e = self.centers[j]
        lc, lr = (task_head(v, j, self.multi_head) for v in interval_mlp(x, self.hnet.bounds(e, self.eps)))
        point = task_head(mlp_forward(x, self.hnet(e)), j, self.multi_head)
        return accuracy(point, y), accuracy(worst_case_logits(lc, lr, y), y)

    @torch.no_grad()
    def universal(self) -> torch.Tensor:
        """The universal embedding: the centre of every box's intersection."""
        return (self.lo + self.hi) / 2

    @torch.no_grad()
    def universal_accuracy(self, tasks: Sequence[Task]) -> torch.Tensor:
        """Test accuracy of every task with the weights of the universal embedding."""
        w_u = self.hnet(self.universal())
        return torch.tensor([accuracy(task_head(mlp_forward(xt, w_u), j, self.multi_head), yt)
                             for j, (_, (xt, yt)) in enumerate(tasks)])

    @torch.no_grad()
    def in_box(self, u: torch.Tensor, j: int) -> bool:
        """Are the universal embedding's weights inside task j's certified weight box?"""
        w = self.hnet.flat(u)
        c, r = self.hnet.flat_bounds(self.centers[j], self.eps)
        return bool(((w - c).abs() <= r + 1e-6).all())
