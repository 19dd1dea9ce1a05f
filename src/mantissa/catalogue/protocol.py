"""The experiment protocol: a seed paper's claim, its run and its verdict.

An experiment is a subclass of :class:`Experiment` registered with
:func:`register`. It declares the paper, the claim in one sentence, the paper's
figure, the thresholds that make the bar for ``reproduced``, a typed ``Config``
dataclass with per-scale presets, and implements

* ``run(cfg, seed, out_dir) -> Result`` — does the work with mantissa's own
  parts and returns measured metrics (a flat dict of numbers) and artifacts;
* ``checks(metrics) -> list[Check]`` — compares measured metrics with the
  thresholds; :meth:`Experiment.verdict` turns them into a :class:`Verdict`.

Protocol v2: each check has a kind. A *gate* says the setup worked (the model
learned its in-distribution task, the baseline trained); a *claim* is one of the
paper's claims. A failed gate makes the verdict ``inconclusive`` whatever the
claims say (:func:`judge`, :func:`inconclusive_reason`). A claim may carry the
paper's own number (``paper_value``). Effects within seed noise are judged on
seed-paired differences stored by :func:`seed_metrics`. Thresholds, baselines,
budgets or seeds changed after a result was seen go into ``Experiment.history``.

Scales: ``smoke`` (seconds; proves the pipeline works, its verdict means
nothing), ``quick`` (2 CPU cores, minutes: the verdict that counts) and
``full`` (the paper's setting as far as one machine allows).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from mantissa.catalogue.cards import card_config, card_has_config, read_card  # noqa: F401
from mantissa.catalogue.checks import CLAIM, GATE, KINDS, Check, Claim, Gate, Rule  # noqa: F401  (re-exported)
from mantissa.config import apply_overrides
from mantissa.errors import ConfigError
from mantissa.registry import Registry
from mantissa.stats import mean_se, seed_metrics  # noqa: F401  (re-exported)

SCALES = ("smoke", "quick", "full")


class Verdict(StrEnum):
    REPRODUCED = "reproduced"
    PARTIAL = "partial"
    NOT_REPRODUCED = "not reproduced"
    INCONCLUSIVE = "inconclusive"


def judge(checks: Sequence[Check], scale: str | None = None) -> Verdict:
    """Any failed gate -> inconclusive; otherwise all claims pass -> reproduced, some ->
    partial, none -> not reproduced. ``scale`` is the run's scale; it does not change the
    verdict (see :func:`inconclusive_reason`). A list without a claim is a ConfigError."""
    claims = [c for c in checks if c.kind == CLAIM]
    if not claims:
        raise ConfigError("an experiment's checks must include at least one claim "
                          f"(got {len(checks)} check(s), none of kind 'claim')")
    if any(not c.passed for c in checks if c.kind == GATE):
        return Verdict.INCONCLUSIVE
    passed = sum(c.passed for c in claims)
    if passed == len(claims):
        return Verdict.REPRODUCED
    return Verdict.PARTIAL if passed else Verdict.NOT_REPRODUCED


def _larger_scale(scale: str | None) -> str:
    if scale in SCALES[:-1]:
        return (f"a larger scale ({SCALES[SCALES.index(scale) + 1]}) may settle it, "
                "or the setup needs fixing")
    if scale == SCALES[-1]:
        return "it failed at full scale: the setup needs fixing before the claims can be judged"
    return "a larger scale may settle it, or the setup needs fixing"


def inconclusive_reason(checks: Sequence[Check], scale: str | None = None) -> str | None:
    """Why a run is inconclusive: the failed gates and which scale to try next,
    e.g. ``"gate failed: model learned (0.4 >= 0.9); a larger scale (full) may settle it,
    or the setup needs fixing"``; None when every gate passed."""
    failed = [c for c in checks if c.kind == GATE and not c.passed]
    if not failed:
        return None
    label = "gate failed" if len(failed) == 1 else f"{len(failed)} gates failed"
    return f"{label}: {'; '.join(map(str, failed))}; {_larger_scale(scale)}"


def seed_spread(metric: str, metrics: Mapping[str, float]) -> str:
    """``"mean ± SE over n seeds"`` for a check judged on a ``<name>_lcb`` metric written by
    :func:`seed_metrics`; ``""`` for any other metric."""
    name = metric.removesuffix("_lcb")
    keys = (f"{name}_mean", f"{name}_se", f"{name}_seeds")
    if name == metric or not all(k in metrics for k in keys):
        return ""
    mean, se, n = (float(metrics[k]) for k in keys)
    return f"{mean:.4g} ± {se:.2g} over {n:.0f} seeds"


@dataclass
class Result:
    """What ``run`` returns: flat numeric metrics, and the run's outputs: ``tables`` (file
    name -> a list of records, dicts sharing their keys, or ``(header, rows)``) and
    ``figures`` (file name -> a matplotlib figure), which the runner writes into the run's
    folder as CSV and PNG and lists; ``artifacts`` names files ``run`` wrote there itself."""

    metrics: dict[str, float]
    artifacts: list[str] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.artifacts = [Path(a).name for a in self.artifacts]  # a path written in out_dir: its name
        for name in (*self.tables, *self.figures):
            if not name or Path(name).name != name:
                raise ValueError(f"an output is named by a plain file name, got {name!r}")
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


#: what a run asks of a cluster scheduler unless its experiment declares ``resources``: smoke runs
#: are single-threaded seconds, quick runs the 2-core minutes the catalogue is sized for
DEFAULT_RESOURCES: Mapping[str, Mapping[str, float]] = {
    "smoke": {"cpus": 1, "gpus": 0, "memory_gb": 1},
    "quick": {"cpus": 2, "gpus": 0, "memory_gb": 4},
    "full": {"cpus": 4, "gpus": 0, "memory_gb": 16},
}


class Experiment:
    """Base class of every catalogue experiment (see the module docstring)."""

    id: ClassVar[str]
    title: ClassVar[str]
    paper: ClassVar[str] = ""  # number of the paper in the seed file, e.g. "#8"
    claim: ClassVar[str]
    paper_figure: ClassVar[str]
    thresholds: ClassVar[Mapping[str, float]] = {}
    #: the gates and claims, declared: ``(Gate("...", "metric > threshold"), Claim(...), ...)``
    rules: ClassVar[tuple[Rule, ...]] = ()
    parts: ClassVar[tuple[str, ...]] = ()
    Config: ClassVar[type] = NoConfig
    #: overrides of the Config defaults per scale; defaults should be the quick scale
    scales: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: (date, change, reason) for each threshold, baseline, budget or seed changed after a
    #: result was seen, oldest first, e.g. ("2026-03-02", "min_gain 1.0 -> 0.5", "..."); usually
    #: declared in the experiment's card (:func:`read_card`)
    history: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    #: torch threads the runner gives each run (0: leave the setting as it is); tiny models
    #: run fastest on one thread and leave the other cores to other runs
    threads: ClassVar[int] = 0
    #: what one run asks of a cluster's scheduler (``mantissa run --executor ray``), per scale:
    #: ``{"full": {"cpus": 8, "gpus": 1, "memory_gb": 32}}``; a scale or key left out takes
    #: :data:`DEFAULT_RESOURCES`' value (see :func:`mantissa.catalogue.executors.resources_of`)
    resources: ClassVar[Mapping[str, Mapping[str, float]]] = {}

    def config(self, scale: str = "quick", overrides: Sequence[str] | Mapping[str, Any] = ()) -> Any:
        if scale not in SCALES:
            raise ConfigError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
        cfg = apply_overrides(self.Config(), dict(self.scales.get(scale, {})))
        return apply_overrides(cfg, overrides)

    def run(self, cfg: Any, seed: int, out_dir: Path) -> Result:  # pragma: no cover
        raise NotImplementedError

    def checks(self, metrics: Mapping[str, float]) -> list[Check]:
        """The declared ``rules`` judged on ``metrics``; an experiment whose checks depend on
        the run (a loop over budgets, say) overrides this."""
        if not self.rules:
            raise NotImplementedError(f"experiment {self.id!r} declares no rules and no checks()")
        return [rule.check(metrics, self.thresholds) for rule in self.rules]

    def check(self, description: str, metrics: Mapping[str, float], key: str, op: str,
              threshold: str | float, *, kind: str = CLAIM,
              paper_value: float | str | None = None) -> Check:
        """A check of ``metrics[key] op threshold`` (a name in ``thresholds`` or a number);
        a missing metric counts as NaN, i.e. failed. ``kind`` is "claim" or "gate"."""
        limit = self.thresholds[threshold] if isinstance(threshold, str) else threshold
        return Check(description, float(metrics.get(key, math.nan)), op, float(limit), kind, paper_value,
                     key)

    def verdict(self, metrics: Mapping[str, float], scale: str | None = None) -> Verdict:
        return judge(self.checks(metrics), scale)


class NaNMetrics(Mapping[str, float]):
    """Metrics in which every key reads as NaN (and is present): feeding them to
    ``checks`` gives the declared checks with no values, all failed."""

    def __getitem__(self, key: str) -> float:
        return math.nan

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


EXPERIMENTS: Registry[type[Experiment]] = Registry("experiment")


def register(cls: type[Experiment]) -> type[Experiment]:
    """Class decorator: add an experiment to the catalogue under its ``id``."""
    card = read_card(cls)
    if "checks" in card:
        card["rules"] = card.pop("checks")
    if card_has_config(cls):
        if "Config" in cls.__dict__ and cls.Config is not card_config(cls.__module__):
            raise TypeError(f"experiment {cls.__name__}: its card has a [config] table, so its Config is "
                            "card_config(__name__), not another class")
        cls.Config = card_config(cls.__module__)
    twice = sorted(k for k in card if k in cls.__dict__)
    if twice:
        raise TypeError(f"experiment {cls.__name__} declares {twice} both in its class and its card")
    for name, value in card.items():
        setattr(cls, name, value)
    for attr in ("id", "title", "claim", "paper_figure"):
        if not getattr(cls, attr, None):
            raise TypeError(f"experiment {cls.__name__} must define {attr!r}")
    unknown = [r.test for r in cls.rules if r.bar_name and r.bar_name not in cls.thresholds]
    if unknown:
        raise TypeError(f"experiment {cls.__name__}: rules name thresholds it does not declare: {unknown}")
    if not all(isinstance(e, tuple) and len(e) == 3 for e in cls.history):
        raise TypeError(f"experiment {cls.__name__}: history entries are (date, change, reason)")
    return EXPERIMENTS.add(cls.id, cls)
