"""Uniform averaging and task arithmetic.

Ilharco et al., "Editing Models with Task Arithmetic" (ICLR 2023):
``theta = theta_0 + lambda * sum_t tau_t`` (Sec. 2, addition); the paper picks
``lambda`` on held-out validation data, which ``scale=auto`` does here with the
objective over a grid. Uniform averaging of the fine-tuned weights (model soups,
Wortsman et al. 2022) is the special case ``lambda = 1/T``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .base import MERGE_METHODS, MergeMethod, MergeResult, Objective
from .task_vector import StateDict, combine, task_vectors

AUTO_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@MERGE_METHODS.register("average", aliases=("avg", "uniform"))
class Average(MergeMethod):
    """``theta_0 + (1/T) sum_t tau_t`` = the mean of the fine-tuned weights."""

    name = "average"

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:
        tvs = task_vectors(base, finetuned)
        return MergeResult(combine(base, tvs, [1.0 / len(tvs)] * len(tvs)), {"scale": 1.0 / len(tvs)})


@MERGE_METHODS.register("task-arithmetic", aliases=("ta",))
class TaskArithmetic(MergeMethod):
    """``theta_0 + scale * sum_t tau_t``; ``scale=auto`` picks it on the objective."""

    name = "task-arithmetic"

    def __init__(self, scale: float | str = 0.3) -> None:
        if scale != "auto" and (not isinstance(scale, int | float) or not math.isfinite(scale)):
            from mantissa.errors import ConfigError

            raise ConfigError(f"task-arithmetic scale must be a finite number or 'auto', got {scale!r}")
        self.scale = scale

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:
        tvs = task_vectors(base, finetuned)
        if self.scale != "auto":
            s = float(self.scale)
            return MergeResult(combine(base, tvs, [s] * len(tvs)), {"scale": s})
        objective = self._require_objective(objective)
        losses = {}
        with torch.no_grad():
            for s in AUTO_GRID:
                losses[s] = float(objective(combine(base, tvs, [s] * len(tvs))))
        best = min(losses, key=losses.__getitem__)
        return MergeResult(combine(base, tvs, [best] * len(tvs)), {"scale": best, "grid_loss": losses})
