"""``mantissa list``: the experiment catalogue with each one's last verdict."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from mantissa.experiments import EXPERIMENTS, load_all
from mantissa.experiments.store import latest, list_runs, runs_root


@click.command("list")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default=None,
              help="Run store to read last results from (default: ./runs or $MANTISSA_RUNS).")
def command(runs_dir: str | None) -> None:
    """List the experiments: id, paper, last verdict, last run time."""
    load_all()
    root = runs_root(runs_dir)
    table = Table(title=f"mantissa experiments ({len(EXPERIMENTS)})")
    for col in ("id", "paper", "last verdict", "scale", "last run"):
        table.add_column(col)
    for exp_id, exp in EXPERIMENTS.items():
        run = latest(list_runs(root, exp_id))
        verdict = "-" if run is None else (run.verdict if run.status == "ok" else run.status)
        table.add_row(exp_id, f"{exp.paper} {exp.title}".strip(), verdict or "-",
                      run.scale if run else "-", run.started if run else "-")
    Console().print(table)
