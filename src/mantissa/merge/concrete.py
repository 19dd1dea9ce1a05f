"""Concrete subspace merging: a shared relaxed-Bernoulli mask over task vectors.

Tang et al., "Concrete Subspace Learning based Interference Elimination for
Multi-task Model Fusion" (2023), Sec. 3: one mask logit per parameter, shared by
all tasks; a Concrete (relaxed Bernoulli, temperature ``tau``) sample
``m = sigmoid((logit + log u - log(1 - u)) / tau)`` masks every task vector and
rescales it, ``tau_t ⊙ m / mean(m)`` (per tensor), and the masked vectors are
merged inside the mask. Bi-level: the upper level learns the mask logits on the
objective; the lower level merges — with a fixed task-arithmetic scale
(``inner=ta``, Concrete TA) or with per-task coefficients learned in the inner
steps (``inner=adamerging``, Concrete AM). After training the mask is made
binary (``p >= 0.5``) for the final model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mantissa.errors import ConfigError
from mantissa.progress import progress

from .arithmetic import AUTO_GRID
from .base import MERGE_METHODS, MergeMethod, MergeResult, Objective
from .task_vector import StateDict, combine, task_vectors


def concrete_sample(logits: Tensor, temperature: float, generator: torch.Generator | None = None) -> Tensor:
    """A reparameterised relaxed-Bernoulli sample in (0, 1) with the given logits."""
    u = torch.rand(logits.shape, generator=generator).clamp(1e-6, 1 - 1e-6)
    return torch.sigmoid((logits + torch.log(u) - torch.log1p(-u)) / temperature)


def apply_mask(tv: dict[str, Tensor], mask: dict[str, Tensor]) -> dict[str, Tensor]:
    """``tau ⊙ m / mean(m)`` per tensor (the rescaling keeps the vector's scale)."""
    return {k: v * mask[k] / mask[k].mean().clamp_min(1e-8) for k, v in tv.items()}


@MERGE_METHODS.register("concrete")
class ConcreteMerge(MergeMethod):
    """``concrete:steps=200,lr=0.05,temperature=0.5,scale=0.3,inner=ta,inner_steps=1,tune=false``.

    ``tune=true`` (with ``inner=ta``) picks the task-arithmetic scale for the final
    binary mask on the objective from the same grid as ``task-arithmetic:scale=auto``.
    """

    name = "concrete"
    needs_objective = True

    def __init__(self, steps: int = 200, lr: float = 0.05, temperature: float = 0.5, scale: float = 0.3,
                 inner: str = "ta", inner_steps: int = 1, inner_lr: float = 0.02, seed: int = 0,
                 tune: bool = False) -> None:
        if inner not in ("ta", "adamerging"):
            raise ConfigError(f"concrete inner level must be 'ta' or 'adamerging', got {inner!r}")
        if (int(steps) < 0 or not 0 < float(lr) < math.inf or not 0 < float(temperature) < math.inf
                or not math.isfinite(float(scale))):
            raise ConfigError("concrete needs steps >= 0, finite lr > 0 and temperature > 0, a finite scale")
        self.steps, self.lr, self.temperature = int(steps), float(lr), float(temperature)
        self.scale, self.inner, self.inner_steps = float(scale), inner, int(inner_steps)
        self.inner_lr, self.seed, self.tune = float(inner_lr), int(seed), bool(tune)

    def _sample(self, logits: dict[str, Tensor], gen: torch.Generator,
                detach: bool = False) -> dict[str, Tensor]:
        t = self.temperature
        return {k: concrete_sample(v.detach() if detach else v, t, gen) for k, v in logits.items()}

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:
        objective = self._require_objective(objective)
        tvs = task_vectors(base, finetuned)
        logits = {k: torch.zeros_like(v, requires_grad=True) for k, v in tvs[0].items()}
        lam = torch.full((len(tvs),), self.scale, requires_grad=self.inner == "adamerging")
        outer = torch.optim.Adam(list(logits.values()), lr=self.lr)
        inner = torch.optim.Adam([lam], lr=self.inner_lr) if self.inner == "adamerging" else None
        gen = torch.Generator().manual_seed(self.seed)
        curve: list[float] = []

        def loss_at(mask: dict[str, Tensor]) -> Tensor:
            return objective(combine(base, [apply_mask(tv, mask) for tv in tvs], list(lam)))

        with progress("Concrete mask", total=self.steps) as bar:
            for _ in range(self.steps):
                if inner is not None:  # lower level: merging coefficients under the current mask
                    for _ in range(self.inner_steps):
                        inner.zero_grad()
                        loss_at(self._sample(logits, gen, detach=True)).backward()
                        inner.step()
                mask = self._sample(logits, gen)
                outer.zero_grad()
                loss = loss_at(mask)
                loss.backward()
                outer.step()
                curve.append(float(loss.detach()))
                bar.advance(1, loss=curve[-1])
        binary = {k: (v.detach() >= 0).float() for k, v in logits.items()}  # p >= 0.5
        final = [apply_mask(tv, binary) for tv in tvs]
        scales = lam.detach().tolist()
        if self.tune and self.inner == "ta":
            with torch.no_grad():
                losses = {g: float(objective(combine(base, final, [g] * len(tvs)))) for g in AUTO_GRID}
            scales = [min(losses, key=losses.__getitem__)] * len(tvs)
        state = {k: v.detach() for k, v in combine(base, final, scales).items()}
        kept = sum(float(m.sum()) for m in binary.values()) / sum(m.numel() for m in binary.values())
        return MergeResult(state, {"mask_density": kept, "scale": scales, "loss_curve": curve})
