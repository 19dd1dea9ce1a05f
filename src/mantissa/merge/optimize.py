"""The small gradient loop shared by the learned merge methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from mantissa.progress import progress


def minimize(params: Sequence[Tensor], loss_fn: Callable[[], Tensor], *, steps: int, lr: float,
             desc: str = "merging") -> list[float]:
    """Adam on ``params`` for ``steps`` steps; returns the loss curve."""
    opt = torch.optim.Adam(list(params), lr=lr)
    curve: list[float] = []
    with progress(desc, total=steps) as bar:
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
            curve.append(float(loss.detach()))
            bar.advance(1, loss=curve[-1])
    return curve
