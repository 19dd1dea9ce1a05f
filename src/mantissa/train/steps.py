"""The plain optimizer loop, once: ``zero_grad → backward → step (→ schedule)`` for a given
number of steps, for the small experiments that need an exact, minimal loop rather than
the full :class:`~mantissa.train.Trainer` (warm-up, clipping, checkpoints).

:func:`run_steps` takes the loss as a closure, so a caller decides what one step sees;
:func:`minibatches` is the usual closure: a classifier's loss on ``batch_size`` rows of
``(x, y)`` drawn with replacement from a seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.progress import track

__all__ = ["minibatches", "run_steps"]


def run_steps(opt: torch.optim.Optimizer, steps: int, loss_of: Callable[[], torch.Tensor], *,
              sched: torch.optim.lr_scheduler.LRScheduler | None = None, desc: str | None = None,
              stop_on_nonfinite: bool = False) -> list[float]:
    """Run ``steps`` optimizer steps on ``loss_of()``; return each step's loss (NaN where it
    was not finite). With ``stop_on_nonfinite`` a non-finite loss ends the loop before its
    step, recorded as ``inf``. ``desc`` shows a progress bar."""
    losses: list[float] = []
    for _ in track(range(steps), desc) if desc else range(steps):
        loss = loss_of()
        finite = bool(torch.isfinite(loss))
        if stop_on_nonfinite and not finite:
            losses.append(math.inf)
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(float(loss.detach()) if finite else math.nan)
    return losses


def minibatches(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
                ) -> Callable[[], torch.Tensor]:
    """A loss closure for :func:`run_steps`: the cross-entropy of ``forward(model, x[idx])``
    (default ``model(x[idx])``) against ``y[idx]``, ``idx`` being ``batch_size`` random rows
    drawn from a generator seeded with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    fwd = forward or (lambda m, xb: m(xb))

    def loss() -> torch.Tensor:
        idx = torch.randint(0, len(x), (batch_size,), generator=g)
        return F.cross_entropy(fwd(model, x[idx]), y[idx])

    return loss
