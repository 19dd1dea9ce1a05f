"""``mantissa list``: the experiment catalogue with each one's last verdict."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mantissa.catalogue.aggregate import latest_group
from mantissa.catalogue.store import latest, list_runs, runs_root
from mantissa.experiments import EXPERIMENTS, load_all

#: colours of the verdicts; any other status (failed, corrupt, a verdict this version does not
#: know) is shown as plain text
_STYLES = {"reproduced": "green", "partial": "yellow", "inconclusive": "dark_orange",
           "not reproduced": "red"}


def _verdict(text: str) -> Text:
    return Text(text, style=_STYLES.get(text, ""))


@click.command("list")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default=None,
              help="Run store to read last results from (default: ./runs or $MANTISSA_RUNS).")
def command(runs_dir: str | None) -> None:
    """List the experiments: id, paper, last verdict, last run time, seeds.

    Where the last run has sibling runs of other seeds (same scale, commit and config), the
    verdict is theirs together (see docs/cluster.md, "Several seeds")."""
    load_all()
    root = runs_root(runs_dir)
    table = Table(title=f"mantissa experiments ({len(EXPERIMENTS)})")
    table.add_column("id", no_wrap=True)
    table.add_column("paper", no_wrap=True, overflow="ellipsis", max_width=44)
    table.add_column("last verdict", no_wrap=True, min_width=14)
    table.add_column("scale", no_wrap=True, min_width=5)
    table.add_column("last run", no_wrap=True, min_width=16)
    table.add_column("seeds", no_wrap=True)
    for exp_id, exp in EXPERIMENTS.items():
        runs = list_runs(root, exp_id)
        run = latest(runs)
        # runs of several seeds (same scale, commit and config) are judged together
        group = latest_group(runs, run.scale) if run is not None and run.status == "ok" else None
        verdict = "-" if run is None else (run.verdict if run.status == "ok" else run.status)
        if group is not None:
            verdict = group.verdict or "-"
        seeds = "-" if run is None else str(run.seed)
        if group is not None:
            seeds = f"{len(group.runs)}: " + ",".join(map(str, group.seeds))
        table.add_row(exp_id, Text(f"{exp.paper} {exp.title}".strip()), _verdict(verdict or "-"),
                      Text(run.scale if run else "-"), Text(run.started[:16] if run else "-"), Text(seeds))
    # a pipe or file gets a wide table instead of rich's 80-column default
    Console(width=None if sys.stdout.isatty() else 140).print(table)
