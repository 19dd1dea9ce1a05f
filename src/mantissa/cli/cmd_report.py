"""``mantissa report``: render the run store as one HTML page, or its verdicts as Markdown."""

from __future__ import annotations

from pathlib import Path

import click

from mantissa.catalogue.report import render


@click.command("report")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default=None,
              help="Run store (default: ./runs or $MANTISSA_RUNS).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: <runs>/report.html, or <runs>/verdicts.md with --markdown).")
@click.option("--markdown", is_flag=True,
              help="Write the verdict table (every gate and claim of each experiment's latest run at "
                   "--scale) as Markdown instead of the HTML page.")
@click.option("--scale", type=click.Choice(["smoke", "quick", "full"]), default="quick", show_default=True,
              help="With --markdown: the scale whose latest runs are tabled.")
def command(runs_dir: str | None, out: str | None, markdown: bool, scale: str) -> None:
    """Render every run into one self-contained static HTML page (or a Markdown verdict table)."""
    if not markdown:
        path = render(runs_dir, out)
    else:
        from mantissa.catalogue.store import runs_root
        from mantissa.catalogue.verdict_table import MARKER
        from mantissa.catalogue.verdict_table import markdown as table
        from mantissa.io import write_owned_text

        path = write_owned_text(Path(out) if out else runs_root(runs_dir) / "verdicts.md",
                                table(runs_dir, scale), MARKER)
    click.echo(f"report written to {path.resolve()}")
