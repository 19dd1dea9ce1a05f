"""Continual learning on a sequence of classification tasks: the plain fine-tuning and EWC
baselines of the HyperInterval comparison, and the helpers they share with it."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mantissa.nn.interval import mlp_forward
from mantissa.train.ewc import EWC, fisher_diagonal

__all__ = ["Task", "accuracy", "finetune_tasks", "task_head"]

#: one task: ((train x, train y), (test x, test y))
Task = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def task_head(logits: torch.Tensor, j: int, multi: bool) -> torch.Tensor:
    """Task ``j``'s two logits of a multi-head output (``multi``), else the shared 2-way head."""
    return logits[..., 2 * j:2 * j + 2] if multi else logits


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy in percent."""
    return 100.0 * (logits.argmax(-1) == y).float().mean().item()


def finetune_tasks(tasks: Sequence[Task], shapes: Sequence[tuple[int, ...]], *, steps: int, lr: float,
                   multi_head: bool, ewc_lambda: float = 0.0, fisher_examples: int = 200,
                   seed: int = 0) -> torch.Tensor:
    """The continual-learning baselines: one ReLU MLP (parameter ``shapes``, see
    :func:`~mantissa.nn.interval.mlp_forward`) trained on ``tasks`` in order, ``steps`` Adam
    steps each on the whole task. ``acc[i, j]`` is the test accuracy on task ``j`` after
    training tasks ``0..i``. With ``ewc_lambda > 0`` an elastic-weight-consolidation penalty
    (Kirkpatrick et al. 2017; :class:`~mantissa.train.ewc.EWC`, true Fisher on
    ``fisher_examples`` examples) anchors the weights of every earlier task."""
    params = []
    for s in shapes:
        p = torch.empty(s)
        if len(s) == 2:
            torch.nn.init.kaiming_uniform_(p, a=5 ** 0.5)
        else:
            p.zero_()
        params.append(p.requires_grad_())
    opt = torch.optim.Adam(params, lr=lr)
    ewc = EWC(ewc_lambda)
    acc = torch.zeros(len(tasks), len(tasks))
    for i, ((x, y), _) in enumerate(tasks):
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(task_head(mlp_forward(x, params), i, multi_head), y)
            if ewc_lambda > 0 and ewc.anchors:
                loss = loss + ewc.penalty(params)
            loss.backward()
            opt.step()
        if ewc_lambda > 0:
            perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + i))
            logits = lambda xb, i=i: task_head(mlp_forward(xb, params), i, multi_head)  # noqa: E731
            fisher = fisher_diagonal(params, logits, x[perm], max_examples=fisher_examples, seed=seed + i)
            ewc.consolidate(params, fisher)
        with torch.no_grad():
            for j, (_, (xt, yt)) in enumerate(tasks):
                acc[i, j] = accuracy(task_head(mlp_forward(xt, params), j, multi_head), yt)
    return acc
