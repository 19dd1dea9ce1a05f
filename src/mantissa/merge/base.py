"""The merge protocol and the registry of merge methods.

A merge method turns a base state dict and fine-tuned state dicts of the same
architecture into one state dict. Data-free methods (averaging, task
arithmetic, TIES) need nothing else; learned methods (aTLAS, Self Positioning,
Concrete masks) also need an *objective*: a callable that maps a candidate
state dict (tensors that may carry gradients) to a scalar loss on a small probe
set, e.g. ``lambda sd: F.cross_entropy(torch.func.functional_call(model, sd, x), y)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from mantissa.errors import ConfigError
from mantissa.registry import Registry

from .task_vector import StateDict

Objective = Callable[[dict[str, Tensor]], Tensor]


@dataclass
class MergeResult:
    """The merged state dict and what the method learned (coefficients, mask density...)."""

    state: dict[str, Tensor]
    info: dict[str, Any] = field(default_factory=dict)


class MergeMethod:
    """Base class: ``merge(base, finetuned, objective=None) -> MergeResult``."""

    name: str = ""
    needs_objective: bool = False

    def merge(self, base: StateDict, finetuned: Sequence[StateDict],
              objective: Objective | None = None) -> MergeResult:  # pragma: no cover
        raise NotImplementedError

    def _require_objective(self, objective: Objective | None) -> Objective:
        if objective is None:
            raise ConfigError(
                f"merge method {self.name!r} learns its coefficients and needs an objective "
                "(a callable state_dict -> loss on a probe set); data-free methods: "
                "average, task-arithmetic, ties"
            )
        return objective


MERGE_METHODS: Registry[type[MergeMethod]] = Registry("merge method")


def build_merge(spec: str) -> MergeMethod:
    """A merge method from a spec such as ``task-arithmetic:scale=0.3`` or ``atlas:steps=200``."""
    return MERGE_METHODS.build(spec)


def merge(spec: str, base: StateDict, finetuned: Sequence[StateDict],
          objective: Objective | None = None) -> MergeResult:
    """Merge with the method named by ``spec``."""
    return build_merge(spec).merge(base, finetuned, objective)


def scalar_info(coeffs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in coeffs.items()}
