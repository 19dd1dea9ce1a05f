"""``mantissa show ID``: one experiment's claim, gates and claims, history and last results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from mantissa.catalogue.aggregate import SeedGroup, latest_group, seeds_text
from mantissa.catalogue.store import RunRecord, latest, list_runs, runs_root
from mantissa.experiments import CLAIM, GATE, SCALES, Experiment, NaNMetrics, get_experiment, seed_spread


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _paper(check: Mapping[str, Any]) -> str:
    paper = check.get("paper_value", check.get("paper"))
    return "" if paper is None else f"  (paper: {escape(_num(paper))})"


def _by_kind(checks: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Gates, then claims (a stored check without a kind is a claim); empty groups left out."""
    groups = [(kind, [c for c in checks if c.get("kind", CLAIM) == kind]) for kind in (GATE, CLAIM)]
    return [(f"{kind}s", group) for kind, group in groups if group]


def _declared(exp: Experiment, runs: list[RunRecord]) -> list[Mapping[str, Any]]:
    """The checks the class declares (computed from all-NaN metrics), else the latest run's."""
    try:
        return [c.as_dict() for c in exp.checks(NaNMetrics())]
    except Exception:  # checks() that cannot run without real metrics: show what a run stored
        done = [r for r in runs if r.status == "ok" and r.checks]
        return done[-1].checks if done else []


def _print_declared(con: Console, checks: Sequence[Mapping[str, Any]]) -> None:
    for label, group in _by_kind(checks):
        con.print(f"[bold]{label}[/bold]:")
        for c in group:
            con.print(f"  {escape(str(c['description']))}: {escape(str(c['op']))} "
                      f"{escape(_num(c['threshold']))}{_paper(c)}")


def _print_history(con: Console, exp: Experiment) -> None:
    if exp.history:
        con.print("[bold]history[/bold] (changed after a result was seen):")
    for date, change, reason in exp.history:
        con.print(f"  {escape(date)}  {escape(change)} — {escape(reason)}")


def _check_line(c: dict) -> str:
    """``pass|FAIL  description: value op bar (paper)``, escaped for the console."""
    mark = "pass" if c.get("passed") else "FAIL"
    return (f"{mark}  {escape(str(c['description']))}: {escape(_num(c['value']))} "
            f"{escape(str(c['op']))} {escape(_num(c['threshold']))}{_paper(c)}")


def _print_checks(con: Console, reason: str, checks: list[dict], note: Callable[[dict], str]) -> None:
    """The reason of an inconclusive verdict, then the checks by kind, each followed by ``note``."""
    if reason:
        con.print(f"  {escape(reason)}")
    for label, group in _by_kind(checks):
        con.print(f"  {label}:")
        for c in group:
            con.print(f"    {_check_line(c)}{note(c)}")


def _print_run(con: Console, scale: str, run: RunRecord) -> None:
    con.print(f"[bold]last {scale} run[/bold] ({escape(run.started)}, {escape(str(run.path))}): "
              f"{escape(str(run.verdict if run.status == 'ok' else run.status))}")
    def spread(c: dict) -> str:
        text = seed_spread(str(c.get("metric") or ""), run.metrics)
        return f" [{escape(text)}]" if text else ""

    _print_checks(con, run.verdict_reason, run.checks, spread)
    if run.error:
        con.print(f"  {escape(run.error)}")


def _print_group(con: Console, scale: str, group: SeedGroup) -> None:
    """The verdict over several seeds, and the seeds behind each check's figure."""
    commit = (group.commit or "?")[:10]
    con.print(f"[bold]{scale} over {len(group.runs)} seeds[/bold] ({', '.join(map(str, group.seeds))}; "
              f"commit {escape(commit)}): {escape(str(group.verdict or group.error))}")
    _print_checks(con, group.verdict_reason, group.checks, lambda c: f"\n          {escape(seeds_text(c))}")
    for run in group.runs:
        con.print(f"  seed {run.seed}: {escape(str(run.verdict))}  ({escape(str(run.path))})")


@click.command("show")
@click.argument("exp_id")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default=None)
def command(exp_id: str, runs_dir: str | None) -> None:
    """Show an experiment: claim, paper's figure, gates and claims, history, config, last results."""
    exp = get_experiment(exp_id)
    con = Console()
    con.print(f"[bold]{exp.id}[/bold] — {escape(exp.title)} {escape(exp.paper)}")
    con.print(f"[bold]claim[/bold]: {escape(exp.claim)}")
    con.print(f"[bold]paper's figure[/bold]: {escape(exp.paper_figure)}")
    if exp.thresholds:
        con.print("[bold]thresholds[/bold]: " + ", ".join(f"{k}={v}" for k, v in exp.thresholds.items()))
    runs = list_runs(runs_root(runs_dir), exp.id)
    _print_declared(con, _declared(exp, runs))
    _print_history(con, exp)
    if exp.parts:
        con.print("[bold]parts[/bold]: " + ", ".join(exp.parts))
    cfg = exp.config("quick")
    if dataclasses.fields(cfg):
        con.print("[bold]config (quick)[/bold]: " + escape(
            ", ".join(f"{f.name}={getattr(cfg, f.name)!r}" for f in dataclasses.fields(cfg))))
    for scale in SCALES:
        run = latest(runs, scale)
        if run is not None:
            _print_run(con, scale, run)
        group = latest_group(runs, scale)
        if group is not None:
            _print_group(con, scale, group)
