"""``mantissa show ID``: one experiment's claim, thresholds, parts and last results."""

from __future__ import annotations

import dataclasses

import click
from rich.console import Console

from mantissa.experiments import SCALES, get_experiment
from mantissa.experiments.store import latest, list_runs, runs_root


@click.command("show")
@click.argument("exp_id")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default=None)
def command(exp_id: str, runs_dir: str | None) -> None:
    """Show an experiment: claim, paper's figure, thresholds, parts, config, last results."""
    exp = get_experiment(exp_id)
    con = Console()
    con.print(f"[bold]{exp.id}[/bold] — {exp.title} {exp.paper}")
    con.print(f"[bold]claim[/bold]: {exp.claim}")
    con.print(f"[bold]paper's figure[/bold]: {exp.paper_figure}")
    if exp.thresholds:
        con.print("[bold]thresholds[/bold]: " + ", ".join(f"{k}={v}" for k, v in exp.thresholds.items()))
    if exp.parts:
        con.print("[bold]parts[/bold]: " + ", ".join(exp.parts))
    cfg = exp.config("quick")
    if dataclasses.fields(cfg):
        con.print("[bold]config (quick)[/bold]: "
                  + ", ".join(f"{f.name}={getattr(cfg, f.name)!r}" for f in dataclasses.fields(cfg)))
    runs = list_runs(runs_root(runs_dir), exp.id)
    for scale in SCALES:
        run = latest(runs, scale)
        if run is None:
            continue
        con.print(f"[bold]last {scale} run[/bold] ({run.started}, {run.path}): "
                  f"{run.verdict if run.status == 'ok' else run.status}")
        for c in run.checks:
            mark = "pass" if c.get("passed") else "FAIL"
            con.print(f"  {mark}  {c['description']}: {c['value']:.4g} {c['op']} {c['threshold']:.4g}")
        if run.error:
            con.print(f"  {run.error}")
