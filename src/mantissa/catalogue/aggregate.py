"""Runs of one experiment over several seeds (``mantissa run --seeds 0-4``), taken together.

Runs are grouped by experiment, scale, git commit and resolved config; within a group the
newest finished run of each seed counts once. A group of two or more seeds has

* ``mean`` and ``se`` of every metric all its runs report (SE: sample standard deviation over
  √n, :func:`~mantissa.catalogue.protocol.mean_se`; a NaN in any seed makes both NaN);
* its **multi-seed checks** and verdict. Every check of the runs (the same checks: same code,
  same config) is judged once on a value that holds over the seeds in the direction of the check:

  - a *claim* on ``mean − 2·SE`` of its per-seed values when it asks for more (``>``, ``>=``)
    and on ``mean + 2·SE`` when it asks for less (``<``, ``<=``): protocol v2's rule for effects
    within seed noise, now over separate runs;
  - a *gate* on its worst seed (the smallest value for ``>``/``>=``, the largest for ``<``/``<=``):
    the setup has to have worked in every run.

  :func:`~mantissa.catalogue.protocol.judge` then gives the verdict as for one run, and
  :func:`~mantissa.catalogue.protocol.inconclusive_reason` the reason. A claim that was already
  judged on a within-run ``_lcb`` keeps that meaning per run; across runs its bound is taken again.

A single seed is not a group: it stays an ordinary run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mantissa.catalogue.protocol import GATE, Check, inconclusive_reason, judge, mean_se
from mantissa.catalogue.store import RunRecord

#: how a check's value over the seeds is chosen, by kind and direction
RULE = {"claim": "mean − 2·SE (mean + 2·SE for < and <=)", "gate": "worst seed"}


@dataclass
class SeedGroup:
    """Finished runs of one experiment, scale, commit and config over distinct seeds."""

    experiment: str
    scale: str
    commit: str | None
    runs: list[RunRecord]  # one per seed, by seed
    mean: dict[str, float] = field(default_factory=dict)
    se: dict[str, float] = field(default_factory=dict)
    #: the multi-seed checks as stored checks are (dicts), plus ``seeds`` {seed: value}, ``mean``,
    #: ``se`` and ``judged_on`` (the rule that chose ``value``)
    checks: list[dict[str, Any]] = field(default_factory=list)
    verdict: str | None = None
    verdict_reason: str = ""
    error: str = ""  # why no verdict could be given (the runs' checks disagree)

    @property
    def seeds(self) -> list[int]:
        return [int(r.seed or 0) for r in self.runs]

    @property
    def started(self) -> str:
        return max(r.started for r in self.runs)

    def spread(self, metric: str) -> str:
        """``"mean ± SE over n seeds"`` of a metric, ``""`` when not every run has it."""
        if metric not in self.mean:
            return ""
        return f"{self.mean[metric]:.4g} ± {self.se[metric]:.2g} over {len(self.runs)} seeds"


def _key(run: RunRecord) -> tuple[str, str, str | None, str]:
    return (run.experiment, run.scale, run.env.get("git_commit"), json.dumps(run.config, sort_keys=True))


def group_runs(runs: list[RunRecord]) -> list[SeedGroup]:
    """Every group of finished runs (see the module docstring), singletons included, in the
    order of each group's newest run."""
    by_key: dict[tuple[str, str, str | None, str], dict[int, RunRecord]] = {}
    for run in runs:  # oldest first: a newer run of the same seed replaces an older one
        if run.status == "ok" and run.seed is not None:
            seeds = by_key.setdefault(_key(run), {})
            seeds.pop(run.seed, None)
            seeds[run.seed] = run
    groups = []
    for (exp, scale, commit, _), seeds in by_key.items():
        group = SeedGroup(exp, scale, commit, [seeds[s] for s in sorted(seeds)])
        if len(group.runs) >= 2:
            _aggregate(group)
        groups.append(group)
    return sorted(groups, key=lambda g: g.started)


def latest_group(runs: list[RunRecord], scale: str | None = None) -> SeedGroup | None:
    """The multi-seed group that holds the newest finished run (at ``scale``), when that run has
    sibling seeds from the same commit and config; None otherwise."""
    done = [r for r in runs if r.status == "ok" and (scale is None or r.scale == scale)]
    if not done:
        return None
    newest = done[-1]
    for group in group_runs(done):
        if len(group.runs) >= 2 and newest in group.runs:
            return group
    return None


def _bound(values: list[float], op: str, kind: str) -> tuple[float, str]:
    more = op in (">", ">=")
    if kind == GATE:
        return (min(values) if more else max(values)), RULE["gate"]
    mean, se = mean_se(values)
    return (mean - 2 * se if more else mean + 2 * se), ("mean − 2·SE" if more else "mean + 2·SE")


def _aggregate(group: SeedGroup) -> None:
    runs = group.runs
    common = set(runs[0].metrics).intersection(*(r.metrics for r in runs[1:]))
    for key in sorted(common):
        group.mean[key], group.se[key] = mean_se([float(r.metrics[key]) for r in runs])
    shapes = [[(c.get("description"), c.get("op"), c.get("kind", "claim")) for c in r.checks] for r in runs]
    if any(s != shapes[0] for s in shapes[1:]) or not shapes[0]:
        group.error = "the runs' checks differ, so no multi-seed verdict is given"
        return
    checks = []
    for i, first in enumerate(runs[0].checks):
        values = [float(r.checks[i].get("value", math.nan)) for r in runs]
        kind = str(first.get("kind") or "claim")
        value, rule = _bound(values, str(first["op"]), kind)
        mean, se = mean_se(values)
        check = Check.from_dict({**first, "value": value, "kind": kind})
        checks.append({**check.as_dict(), "seeds": dict(zip(group.seeds, values)), "mean": mean, "se": se,
                       "judged_on": rule})
    objs = [Check.from_dict(c) for c in checks]
    group.checks = checks
    group.verdict = judge(objs, group.scale).value
    group.verdict_reason = inconclusive_reason(objs, group.scale) or ""


def seeds_text(check: dict[str, Any]) -> str:
    """``"mean ± SE; seeds 0: v0, 1: v1; judged on mean − 2·SE"`` for a multi-seed check."""
    per = ", ".join(f"{s}: {v:.4g}" for s, v in check.get("seeds", {}).items())
    return (f"{check.get('mean', math.nan):.4g} ± {check.get('se', math.nan):.2g}; seeds {per}; "
            f"judged on {check.get('judged_on', '')}")
