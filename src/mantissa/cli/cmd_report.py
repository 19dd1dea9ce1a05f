"""``mantissa report``: render the run store as one HTML page."""

from __future__ import annotations

import click

from mantissa.experiments.report import render


@click.command("report")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default=None,
              help="Run store (default: ./runs or $MANTISSA_RUNS).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Output HTML file (default: <runs>/report.html).")
def command(runs_dir: str | None, out: str | None) -> None:
    """Render every run into one self-contained static HTML page."""
    path = render(runs_dir, out)
    click.echo(f"report written to {path.resolve()}")
