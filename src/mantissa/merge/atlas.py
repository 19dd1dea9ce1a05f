"""aTLAS: anisotropic scaling of task vectors, one learned coefficient per block.

Zhang et al., "Knowledge Composition using Task Vectors with Learned
Anisotropic Scaling" (NeurIPS 2024), Eq. 3:
``theta = theta_0 + sum_t sum_b lambda_t^(b) tau_t^(b)``, where ``b`` runs over
parameter blocks (each weight / bias tensor by default) and the ``T x B``
coefficients are learned by gradient descent on the objective (cross-entropy on
a few labelled examples, or entropy without labels) while ``theta_0`` and the
task vectors stay frozen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from mantissa.errors import ConfigError

from .base import MERGE_METHODS, MergeMethod, MergeResult, Objective
from .optimize import minimize
from .task_vector import StateDict, blocks, combine, task_vectors


@MERGE_METHODS.register("atlas")
class Atlas(MergeMethod):
    """``atlas:steps=200,lr=0.02,init=0.3,by=tensor``."""

    name = "atlas"
    needs_objective = True

    def __init__(self, steps: int = 200, lr: float = 0.02, init: float = 0.3, by: str = "tensor") -> None:
        if int(steps) < 0 or not 0 < float(lr) < math.inf or not math.isfinite(float(init)):
            raise ConfigError(f"atlas needs steps >= 0, a finite lr > 0 and init, got steps={steps}, lr={lr}")
        self.steps, self.lr, self.init, self.by = int(steps), float(lr), float(init), by

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:
        objective = self._require_objective(objective)
        tvs = task_vectors(base, finetuned)
        groups = blocks(list(tvs[0]), self.by)
        lam = torch.full((len(tvs), len(groups)), self.init, requires_grad=True)
        names = list(groups)

        def coeffs(weights: torch.Tensor) -> list[dict[str, torch.Tensor]]:
            return [{k: weights[t, j] for j, g in enumerate(names) for k in groups[g]}
                    for t in range(len(tvs))]

        curve = minimize([lam], lambda: objective(combine(base, tvs, coeffs(lam))),
                         steps=self.steps, lr=self.lr, desc="aTLAS coefficients")
        final = lam.detach()
        state = {k: v.detach() for k, v in combine(base, tvs, coeffs(final)).items()}
        return MergeResult(state, {"blocks": names, "coefficients": final.tolist(), "loss_curve": curve})
