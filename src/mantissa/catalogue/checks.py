"""Checks: one comparison of a measured value with a bar (:class:`Check`), and the rules
an experiment declares to make them (:class:`Gate`, :class:`Claim`)."""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["CLAIM", "GATE", "KINDS", "Check", "Claim", "Gate", "Rule"]

GATE = "gate"
CLAIM = "claim"
KINDS = (GATE, CLAIM)


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Check:
    """One comparison of a measured value with a threshold.

    ``kind`` is ``"claim"`` (one of the paper's claims; the default) or ``"gate"``
    (the setup worked; a failed gate makes the run inconclusive). ``paper_value`` is
    the paper's own number for this claim, shown beside ours; it is never judged.

    A comparison between two arms (ours minus the baseline, say) must use a strict
    op (``>`` or ``<``) against a margin fixed from the paper before the run, so a
    tie fails: ``gain > 0.0``, never ``gain >= 0.0``. NaN always fails.
    """

    description: str
    value: float
    op: str
    threshold: float
    kind: str = CLAIM
    paper_value: float | str | None = None
    metric: str = ""  # the metrics key the value was read from ("" when computed)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown comparison {self.op!r}; use one of {', '.join(_OPS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown check kind {self.kind!r}; use one of {', '.join(KINDS)}")

    @property
    def passed(self) -> bool:
        v = float(self.value)
        return not math.isnan(v) and _OPS[self.op](v, float(self.threshold))

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Check:
        """A check from :meth:`as_dict` output (``passed`` is recomputed; a stored check
        without a kind, from before protocol v2, is a claim)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def __str__(self) -> str:
        return f"{self.description} ({self.value:.4g} {self.op} {self.threshold:.4g})"


@dataclass(frozen=True)
class Rule:
    """A check declared on an experiment class, judged on each run's metrics.

    ``test`` reads ``"metric op threshold"``: a metrics key, one of ``>= > <= <``, and a
    name in the experiment's ``thresholds`` or a number, e.g. ``"gain_lcb > min_gain"``.
    ``paper`` is the paper's own figure, shown beside ours. Write :class:`Gate` or
    :class:`Claim`; an experiment lists them in ``rules`` and the default
    ``Experiment.checks`` judges them in order.
    """

    description: str
    test: str
    paper: float | str | None = None
    kind: ClassVar[str] = CLAIM

    def __post_init__(self) -> None:
        parts = self.test.split()
        if len(parts) != 3 or parts[1] not in _OPS:
            raise ValueError(f"rule {self.description!r}: test {self.test!r} is not 'metric op threshold' "
                             f"with op one of {', '.join(_OPS)}")

    @property
    def metric(self) -> str:
        return self.test.split()[0]

    @property
    def bar_name(self) -> str | None:
        """The threshold's name in the experiment's ``thresholds``; ``None`` for a number."""
        bar = self.test.split()[2]
        try:
            float(bar)
        except ValueError:
            return bar
        return None

    def check(self, metrics: Mapping[str, float], thresholds: Mapping[str, float]) -> Check:
        """This rule judged on ``metrics``: a missing metric reads as NaN (failed); an
        unknown threshold name is a ``KeyError`` (``register`` refuses such rules)."""
        key, op, bar = self.test.split()
        limit = float(thresholds[bar]) if self.bar_name else float(bar)
        return Check(self.description, float(metrics.get(key, math.nan)), op, limit, self.kind,
                     self.paper, key)


class Gate(Rule):
    """A declared gate: the setup worked (a failed gate makes the run inconclusive)."""

    kind: ClassVar[str] = GATE


class Claim(Rule):
    """A declared claim: one of the paper's claims."""
