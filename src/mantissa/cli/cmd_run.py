"""``mantissa run``: run experiments into the run store."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mantissa.cli._tables import print_table
from mantissa.cli._types import SEED
from mantissa.errors import ConfigError, MantissaError
from mantissa.experiments import SCALES, load_all
from mantissa.experiments.report import render
from mantissa.experiments.runner import finished_run, run_experiment
from mantissa.experiments.store import RunRecord, runs_root


@click.command("run")
@click.argument("ids", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every experiment in the catalogue.")
@click.option("--tour", is_flag=True,
              help="Every experiment at quick scale, then render the report (what `make demo` runs).")
@click.option("--scale", type=click.Choice(SCALES), default=None,
              help="smoke (seconds, pipeline check), quick (default; minutes on 2 cores), full.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run store (default: ./runs or $MANTISSA_RUNS).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value (repeatable); `mantissa show ID` lists the keys.")
@click.option("--resume", is_flag=True,
              help="Skip experiments already finished in the store with the same scale, seed, "
                   "config and git commit (an interrupted tour goes on where it stopped).")
def command(ids: tuple[str, ...], run_all: bool, tour: bool, scale: str | None, seed: int,
            out: str | None, overrides: tuple[str, ...], resume: bool) -> None:
    """Run experiments by id (see `mantissa list`); results go to runs/<id>/<time>/."""
    if tour and scale not in (None, "quick"):
        raise ConfigError("--tour always runs at quick scale; drop --scale")
    scale = scale or "quick"
    if (run_all or tour) and ids:
        raise ConfigError("give experiment ids or --all/--tour, not both")
    if not (run_all or tour or ids):
        raise ConfigError("name at least one experiment (see `mantissa list`), or use --all or --tour")
    names = load_all() if (run_all or tour) else list(ids)
    if overrides and len(names) > 1:
        raise ConfigError("--set applies to one experiment at a time; run them separately")
    from mantissa.experiments import get_experiment

    for name in names:  # fail fast on bad names and overrides, before running anything
        get_experiment(name).config(scale, overrides)
    runs_root(out).mkdir(parents=True, exist_ok=True)  # and on a store that cannot be created
    con = Console(stderr=True)
    records: list[tuple[str, RunRecord | None, str]] = []
    for i, name in enumerate(names, 1):
        con.print(f"[bold][{i}/{len(names)}] {name}[/bold] ({scale} scale, seed {seed})")
        t0 = time.perf_counter()
        done = finished_run(name, scale, seed, out, overrides) if resume else None
        if done is not None:
            records.append((name, done, "done before (--resume)"))
            con.print(f"  -> {done.verdict}  (kept: {done.path})")
            continue
        try:
            rec = run_experiment(name, scale, seed, out, overrides)
            records.append((name, rec, f"{time.perf_counter() - t0:.1f}s"))
            con.print(f"  -> {rec.verdict}  ({rec.path})")
            if rec.verdict_reason:
                con.print(f"     {escape(rec.verdict_reason)}")
        except MantissaError as exc:
            if len(names) == 1:
                raise
            records.append((name, None, str(exc)))
            con.print(f"  [red]failed[/red]: {exc}")
        except Exception as exc:  # one broken experiment must not stop a tour
            if len(names) == 1:
                raise
            records.append((name, None, f"{type(exc).__name__}: {exc}"))
            con.print(f"  [red]crashed[/red]: {type(exc).__name__}: {exc}")
    _summary(records, scale)
    if tour:
        path = render(out)
        click.echo(f"report written to {path.resolve()}")
    if any(rec is None for _, rec, _ in records):
        sys.exit(1)


def _summary(records: list[tuple[str, RunRecord | None, str]], scale: str) -> None:
    table = Table(title=f"{len(records)} run(s) at {scale} scale")
    for col in ("experiment", "verdict", "time / error"):
        table.add_column(col)
    for name, rec, note in records:
        table.add_row(name, rec.verdict if rec else "failed", note)
    print_table(table)
    if scale == "smoke":
        Console().print("smoke scale only checks that the pipeline runs; its verdicts mean nothing.")
