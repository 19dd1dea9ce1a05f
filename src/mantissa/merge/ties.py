"""TIES-merging: trim, elect sign, disjoint merge.

Yadav et al., "TIES-Merging: Resolving Interference When Merging Models"
(NeurIPS 2023), Algorithm 1: keep the top-``k`` fraction of each task vector by
magnitude (trim), elect per parameter the sign with the larger total mass
``sign(sum_t tau_t)``, average only the entries that agree with it (disjoint
mean), and add ``scale`` times the result to the base.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mantissa.errors import ConfigError

from .base import MERGE_METHODS, MergeMethod, MergeResult, Objective
from .task_vector import StateDict, combine, task_vectors


def trim(tv: dict[str, Tensor], k: float) -> dict[str, Tensor]:
    """Zero all but the ``k`` fraction of largest-magnitude entries (over the whole vector)."""
    flat = torch.cat([v.reshape(-1) for v in tv.values()]).abs()
    keep = max(1, int(round(k * flat.numel())))
    threshold = flat.kthvalue(flat.numel() - keep + 1).values  # the keep-th largest magnitude
    return {n: torch.where(v.abs() >= threshold, v, torch.zeros_like(v)) for n, v in tv.items()}


def ties_vector(tvs: Sequence[dict[str, Tensor]], k: float) -> dict[str, Tensor]:
    trimmed = [trim(tv, k) for tv in tvs]
    out = {}
    for key in trimmed[0]:
        stack = torch.stack([t[key] for t in trimmed])
        sign = torch.sign(stack.sum(0))
        agree = (torch.sign(stack) == sign) & (stack != 0)
        count = agree.sum(0).clamp_min(1)
        out[key] = (stack * agree).sum(0) / count
    return out


@MERGE_METHODS.register("ties")
class Ties(MergeMethod):
    """``ties:k=0.2,scale=1.0`` (k: fraction of each task vector kept)."""

    name = "ties"

    def __init__(self, k: float = 0.2, scale: float = 1.0) -> None:
        if not 0 < float(k) <= 1:
            raise ConfigError(f"ties k must be a fraction in (0, 1], got {k!r}")
        self.k, self.scale = float(k), float(scale)

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:
        merged = ties_vector(task_vectors(base, finetuned), self.k)
        return MergeResult(combine(base, [merged], [self.scale]), {"k": self.k, "scale": self.scale})
