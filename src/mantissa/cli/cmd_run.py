"""``mantissa run``: run experiments into the run store."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mantissa.catalogue.aggregate import latest_group
from mantissa.catalogue.executors import EXECUTORS, import_ray, make_executor, make_tasks
from mantissa.catalogue.report import render
from mantissa.catalogue.runner import finished_run, run_experiment
from mantissa.catalogue.store import RunRecord, list_runs, runs_root
from mantissa.cli._tables import print_table
from mantissa.cli._types import COUNT, SEED
from mantissa.config import int_ranges
from mantissa.errors import ConfigError, MantissaError
from mantissa.experiments import SCALES, load_all
from mantissa.runtime import check_seed


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` and mixtures (``"0-2,9"``) too; each seed once."""
    try:
        values = int_ranges(text)
    except ValueError as exc:
        hint = str(exc) if "backwards" in str(exc) else "give a range such as 0-4 or a list such as 0,3,7"
        raise ConfigError(f"--seeds {text!r}: {hint}") from None
    seeds: list[int] = []
    for s in values:
        check_seed(s)
        if s not in seeds:
            seeds.append(s)
    if not seeds:
        raise ConfigError(f"--seeds {text!r} names no seed")
    return seeds


@click.command("run")
@click.argument("ids", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every experiment in the catalogue.")
@click.option("--tour", is_flag=True,
              help="Every experiment at quick scale, then render the report (what `make demo` runs).")
@click.option("--scale", type=click.Choice(SCALES), default=None,
              help="smoke (seconds, pipeline check), quick (default; minutes on 2 cores), full.")
@click.option("--seed", type=SEED, default=None, help="The seed of every run (default 0).")
@click.option("--seeds", "seed_list", default=None, metavar="RANGE",
              help="Several seeds, one run each: 0-4, 0,3,7 or 0-2,9. The report, `list` and `show` "
                   "judge them together (mean ± SE; see docs/cluster.md).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run store (default: ./runs or $MANTISSA_RUNS).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value (repeatable); `mantissa show ID` lists the keys.")
@click.option("--resume", is_flag=True,
              help="Skip experiments already finished in the store with the same scale, seed, "
                   "config and git commit (an interrupted tour goes on where it stopped).")
@click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="local: one run after another here; process: a pool of --workers processes; "
                   "ray: one Ray task per run (needs the [cluster] extra; see docs/cluster.md).")
@click.option("--address", default=None,
              help="Ray cluster to join (ray executor), e.g. auto or ray://head:10001; "
                   "default: start a local Ray of --workers CPUs.")
@click.option("--workers", type=COUNT, default=None,
              help="Processes (process), CPUs of a local Ray, or tasks in flight on a cluster (ray).")
@click.option("--store", type=click.Path(file_okay=False), default=None,
              help="Run store on a path every Ray node sees: tasks write there directly instead of "
                   "sending their files back (replaces --out).")
def command(ids: tuple[str, ...], run_all: bool, tour: bool, scale: str | None, seed: int | None,
            seed_list: str | None, out: str | None, overrides: tuple[str, ...], resume: bool,
            executor: str, address: str | None, workers: int | None, store: str | None) -> None:
    """Run experiments by id (see `mantissa list`); results go to runs/<id>/<time>/."""
    if tour and scale not in (None, "quick"):
        raise ConfigError("--tour always runs at quick scale; drop --scale")
    scale = scale or "quick"
    if (run_all or tour) and ids:
        raise ConfigError("give experiment ids or --all/--tour, not both")
    if not (run_all or tour or ids):
        raise ConfigError("name at least one experiment (see `mantissa list`), or use --all or --tour")
    if seed is not None and seed_list is not None:
        raise ConfigError("give --seed or --seeds, not both")
    if store and out and Path(store).resolve() != Path(out).resolve():
        raise ConfigError("--store is the run store on a shared path: give it instead of --out")
    seeds = parse_seeds(seed_list) if seed_list is not None else [0 if seed is None else seed]
    runner = make_executor(executor, address=address, workers=workers, store=store)
    if executor == "ray":
        import_ray()  # a missing extra is refused before anything runs
    out = store or out
    names = load_all() if (run_all or tour) else list(ids)
    if overrides and len(names) > 1:
        raise ConfigError("--set applies to one experiment at a time; run them separately")
    from mantissa.experiments import get_experiment

    for name in names:  # fail fast on bad names and overrides, before running anything
        get_experiment(name).config(scale, overrides)
    runs_root(out).mkdir(parents=True, exist_ok=True)  # and on a store that cannot be created
    con = Console(stderr=True)
    t_all = time.perf_counter()
    if executor == "local":
        records = _run_here(names, scale, seeds, out, overrides, resume, con)
    else:
        tasks = make_tasks(names, scale, seeds, overrides)
        con.print(f"{len(tasks)} task(s) on the {executor} executor ({scale} scale, seeds "
                  f"{', '.join(map(str, seeds))})")
        outcomes = runner.run(tasks, runs_root(out), resume=resume, say=lambda s: con.print(escape(s)))
        records = [(str(o.task) if len(seeds) > 1 else o.task.exp_id, o.record if o.ok else None,
                    "done before (--resume)" if o.resumed else (f"{o.wall_s:.1f}s" if o.ok else o.error))
                   for o in outcomes]
    _summary(records, scale)
    if len(seeds) > 1:
        _seed_summary(names, scale, out)
    con.print(f"wall time: {time.perf_counter() - t_all:.1f}s ({executor} executor)")
    if tour:
        path = render(out)
        click.echo(f"report written to {path.resolve()}")
    if any(rec is None for _, rec, _ in records):
        sys.exit(1)


def _run_here(names: list[str], scale: str, seeds: list[int], out: str | None, overrides: tuple[str, ...],
              resume: bool, con: Console) -> list[tuple[str, RunRecord | None, str]]:
    """The local executor: every run one after another in this process."""
    records: list[tuple[str, RunRecord | None, str]] = []
    tasks = [(n, s) for n in names for s in seeds]
    for i, (name, seed) in enumerate(tasks, 1):
        label = name if len(seeds) == 1 else f"{name} seed {seed}"
        con.print(f"[bold][{i}/{len(tasks)}] {name}[/bold] ({scale} scale, seed {seed})")
        t0 = time.perf_counter()
        done = finished_run(name, scale, seed, out, overrides) if resume else None
        if done is not None:
            records.append((label, done, "done before (--resume)"))
            con.print(f"  -> {done.verdict}  (kept: {done.path})")
            continue
        try:
            rec = run_experiment(name, scale, seed, out, overrides)
            records.append((label, rec, f"{time.perf_counter() - t0:.1f}s"))
            con.print(f"  -> {rec.verdict}  ({rec.path})")
            if rec.verdict_reason:
                con.print(f"     {escape(rec.verdict_reason)}")
        except MantissaError as exc:
            if len(tasks) == 1:
                raise
            records.append((label, None, str(exc)))
            con.print(f"  [red]failed[/red]: {exc}")
        except Exception as exc:  # one broken experiment must not stop a tour
            if len(tasks) == 1:
                raise
            records.append((label, None, f"{type(exc).__name__}: {exc}"))
            con.print(f"  [red]crashed[/red]: {type(exc).__name__}: {exc}")
    return records


def _seed_summary(names: list[str], scale: str, out: str | None) -> None:
    """Each experiment's multi-seed verdict over the seeds now in the store (this commit)."""
    table = Table(title=f"over seeds ({scale} scale, judged as docs/cluster.md says)")
    for col in ("experiment", "seeds", "verdict", "reason"):
        table.add_column(col)
    for name in names:
        group = latest_group(list_runs(runs_root(out), name), scale)
        if group is None:
            table.add_row(name, "-", "-", "fewer than 2 finished seeds of one commit and config")
        else:
            table.add_row(name, ",".join(map(str, group.seeds)), str(group.verdict or "-"),
                          group.verdict_reason or group.error)
    print_table(table)


def _summary(records: list[tuple[str, RunRecord | None, str]], scale: str) -> None:
    table = Table(title=f"{len(records)} run(s) at {scale} scale")
    for col in ("experiment", "verdict", "time / error"):
        table.add_column(col)
    for name, rec, note in records:
        table.add_row(name, rec.verdict if rec else "failed", note)
    print_table(table)
    if scale == "smoke":
        Console().print("smoke scale only checks that the pipeline runs; its verdicts mean nothing.")
