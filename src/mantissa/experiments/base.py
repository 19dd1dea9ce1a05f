"""The experiment protocol: a seed paper's claim, its run and its verdict.

An experiment is a subclass of :class:`Experiment` registered with
:func:`register`. It declares the paper, the claim in one sentence, the paper's
figure, the thresholds that make the bar for ``reproduced``, a typed ``Config``
dataclass with per-scale presets, and implements

* ``run(cfg, seed, out_dir) -> Result`` — does the work with mantissa's own
  parts and returns measured metrics (a flat dict of numbers) and artifacts;
* ``checks(metrics) -> list[Check]`` — compares measured metrics with the
  thresholds; :meth:`Experiment.verdict` turns them into a :class:`Verdict`.

Scales: ``smoke`` (seconds; proves the pipeline works, its verdict means
nothing), ``quick`` (2 CPU cores, minutes: the verdict that counts) and
``full`` (the paper's setting as far as one machine allows).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from mantissa.config import apply_overrides
from mantissa.errors import ConfigError
from mantissa.registry import Registry

SCALES = ("smoke", "quick", "full")


class Verdict(StrEnum):
    REPRODUCED = "reproduced"
    PARTIAL = "partial"
    NOT_REPRODUCED = "not reproduced"


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Check:
    """One comparison of a measured value with a threshold."""

    description: str
    value: float
    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown comparison {self.op!r}; use one of {', '.join(_OPS)}")

    @property
    def passed(self) -> bool:
        v = float(self.value)
        return not math.isnan(v) and _OPS[self.op](v, float(self.threshold))

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed}


def judge(checks: Sequence[Check]) -> Verdict:
    """All checks pass -> reproduced; some -> partial; none -> not reproduced."""
    passed = sum(c.passed for c in checks)
    if checks and passed == len(checks):
        return Verdict.REPRODUCED
    return Verdict.PARTIAL if passed else Verdict.NOT_REPRODUCED


@dataclass
class Result:
    """What ``run`` returns: flat numeric metrics and artifact file names in out_dir."""

    metrics: dict[str, float]
    artifacts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        flat: dict[str, float] = {}
        for key, value in self.metrics.items():
            if isinstance(value, bool):
                value = float(value)
            if not isinstance(value, int | float) and hasattr(value, "item"):
                value = value.item()
            if not isinstance(value, int | float):
                raise TypeError(f"metric {key!r} must be a number, got {type(value).__name__}")
            flat[str(key)] = value
        self.metrics = flat


@dataclass
class NoConfig:
    """Config of an experiment without settings."""


class Experiment:
    """Base class of every catalogue experiment (see the module docstring)."""

    id: ClassVar[str]
    title: ClassVar[str]
    paper: ClassVar[str] = ""  # number of the paper in the seed file, e.g. "#8"
    claim: ClassVar[str]
    paper_figure: ClassVar[str]
    thresholds: ClassVar[Mapping[str, float]] = {}
    parts: ClassVar[tuple[str, ...]] = ()
    Config: ClassVar[type] = NoConfig
    #: overrides of the Config defaults per scale; defaults should be the quick scale
    scales: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def config(self, scale: str = "quick", overrides: Sequence[str] | Mapping[str, Any] = ()) -> Any:
        if scale not in SCALES:
            raise ConfigError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
        cfg = apply_overrides(self.Config(), dict(self.scales.get(scale, {})))
        return apply_overrides(cfg, overrides)

    def run(self, cfg: Any, seed: int, out_dir: Path) -> Result:  # pragma: no cover
        raise NotImplementedError

    def checks(self, metrics: Mapping[str, float]) -> list[Check]:  # pragma: no cover
        raise NotImplementedError

    def check(self, description: str, metrics: Mapping[str, float], key: str, op: str,
              threshold: str | float) -> Check:
        """A check of ``metrics[key] op threshold`` (a name in ``thresholds`` or a number);
        a missing metric counts as NaN, i.e. failed."""
        limit = self.thresholds[threshold] if isinstance(threshold, str) else threshold
        return Check(description, float(metrics.get(key, math.nan)), op, float(limit))

    def verdict(self, metrics: Mapping[str, float]) -> Verdict:
        return judge(self.checks(metrics))


EXPERIMENTS: Registry[type[Experiment]] = Registry("experiment")


def register(cls: type[Experiment]) -> type[Experiment]:
    """Class decorator: add an experiment to the catalogue under its ``id``."""
    for attr in ("id", "title", "claim", "paper_figure"):
        if not getattr(cls, attr, None):
            raise TypeError(f"experiment {cls.__name__} must define {attr!r}")
    return EXPERIMENTS.add(cls.id, cls)
