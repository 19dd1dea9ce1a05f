"""Self Positioning: SGD in the interpolation space of task vectors.

Li et al., "Improving General Text Embedding Model: Tackling Task Conflict and
Data Imbalance through Model Merging" (2024), Sec. 4: the merged model is
``theta(alpha) = theta_0 + sum_t alpha_t tau_t`` and the coefficients ``alpha``
are found by stochastic gradient descent on a small, task-balanced probe set,
``min_alpha L_probe(theta(alpha)) + beta * ||alpha||_1`` (the regulariser keeps
the merge close to the base; ``beta=0`` drops it). One coefficient per task
(isotropic), started from uniform averaging ``alpha_t = 1/T``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from mantissa.errors import ConfigError

from .base import MERGE_METHODS, MergeMethod, MergeResult, Objective
from .optimize import minimize
from .task_vector import StateDict, combine, task_vectors


@MERGE_METHODS.register("self-positioning", aliases=("sp",))
class SelfPositioning(MergeMethod):
    """``self-positioning:steps=100,lr=0.05,beta=0.001``."""

    name = "self-positioning"
    needs_objective = True

    def __init__(self, steps: int = 100, lr: float = 0.05, beta: float = 1e-3) -> None:
        if int(steps) < 0 or not 0 < float(lr) < math.inf or not 0 <= float(beta) < math.inf:
            raise ConfigError(
                f"self-positioning needs steps >= 0, lr > 0, beta >= 0; got {steps}, {lr}, {beta}"
            )
        self.steps, self.lr, self.beta = int(steps), float(lr), float(beta)

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:
        objective = self._require_objective(objective)
        tvs = task_vectors(base, finetuned)
        alpha = torch.full((len(tvs),), 1.0 / len(tvs), requires_grad=True)

        def loss() -> torch.Tensor:
            return objective(combine(base, tvs, list(alpha))) + self.beta * alpha.abs().sum()

        curve = minimize([alpha], loss, steps=self.steps, lr=self.lr, desc="Self Positioning")
        final = alpha.detach()
        state = {k: v.detach() for k, v in combine(base, tvs, final.tolist()).items()}
        return MergeResult(state, {"alpha": final.tolist(), "loss_curve": curve})
