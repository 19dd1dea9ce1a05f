"""Running an experiment into the run store."""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from mantissa import runtime
from mantissa.catalogue.discovery import get_experiment
from mantissa.catalogue.protocol import Result, inconclusive_reason, judge
from mantissa.catalogue.store import RunRecord, list_runs, new_run_dir, read_run, runs_root, seal_run
from mantissa.config import to_dict
from mantissa.io import write_csv, write_json, write_records

_PACKAGES = ("mantissa", "torch", "numpy", "ml_dtypes", "transformers", "scikit-learn", "safetensors")


def git_commit() -> str | None:
    """The git commit of the checkout holding this code; None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(seed: int) -> dict[str, Any]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": git_commit(),
        "seed": seed,
        **runtime.describe(),
    }


def finished_run(exp_id: str, scale: str = "quick", seed: int = 0, out: str | Path | None = None,
                 overrides: Sequence[str] | Mapping[str, Any] = ()) -> RunRecord | None:
    """The newest finished run of ``exp_id`` in the store with this scale, seed and resolved
    config, made by the current git commit (so changed code runs again); None otherwise."""
    exp = get_experiment(exp_id)
    config = json.loads(json.dumps(to_dict(exp.config(scale, overrides))))
    commit = git_commit()
    if commit is None:
        return None
    for rec in reversed(list_runs(runs_root(out), exp.id)):
        if (rec.status == "ok" and rec.scale == scale and rec.seed == seed and rec.config == config
                and rec.env.get("git_commit") == commit):
            return rec
    return None


def run_experiment(
    exp_id: str,
    scale: str = "quick",
    seed: int = 0,
    out: str | Path | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> RunRecord:
    """Run one experiment and store it; returns the stored record.

    Bad names or overrides raise before anything is written. An exception
    inside the run is recorded in ``error.json`` and re-raised.
    """
    exp, cfg, run_dir = start_run(exp_id, scale, seed, out, overrides)
    return finish_run(exp, cfg, scale, seed, run_dir)


def start_run(exp_id: str, scale: str = "quick", seed: int = 0, out: str | Path | None = None,
              overrides: Sequence[str] | Mapping[str, Any] = ()) -> tuple[Any, Any, Path]:
    """Check the name, scale, seed and overrides, then create the run folder holding
    ``config.json``; returns (experiment, config, run folder) for :func:`finish_run`."""
    exp = get_experiment(exp_id)
    cfg = exp.config(scale, overrides)
    runtime.check_seed(seed)
    run_dir = new_run_dir(runs_root(out), exp.id, scale, seed)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(run_dir / "config.json", {
        "experiment": exp.id, "scale": scale, "seed": seed, "started": started,
        "overrides": list(overrides) if not isinstance(overrides, Mapping) else dict(overrides),
        "config": to_dict(cfg),
    })
    return exp, cfg, run_dir


def write_outputs(result: Result, out_dir: Path) -> list[str]:
    """Write ``result``'s tables (CSV, :func:`mantissa.io.write_csv`) and figures (PNG,
    :func:`mantissa.plot.save`) into ``out_dir``; return their file names, tables first."""
    names = []
    for name, table in result.tables.items():
        target = out_dir / (name if name.endswith(".csv") else f"{name}.csv")
        if isinstance(table, tuple):
            write_csv(target, *table)
        else:
            write_records(target, table)
        names.append(target.name)
    if result.figures:
        from mantissa import plot  # matplotlib only for a run that made figures
    for name, fig in result.figures.items():
        names.append(plot.save(fig, out_dir / (name if name.endswith(".png") else f"{name}.png")).name)
    return names


def finish_run(exp: Any, cfg: Any, scale: str, seed: int, run_dir: Path) -> RunRecord:
    """Run ``exp`` into the folder :func:`start_run` made and seal it; an exception inside the
    run is recorded in ``error.json`` (the folder sealed) and re-raised."""
    env = environment(seed)
    t0 = time.perf_counter()
    try:
        runtime.seed_everything(seed)
        with runtime.threads(exp.threads) if exp.threads else contextlib.nullcontext():
            result = exp.run(cfg, seed, run_dir)
        checks = exp.checks(result.metrics)
        verdict = judge(checks, scale)
    except BaseException as exc:
        wall = time.perf_counter() - t0
        write_json(run_dir / "env.json", {**env, "wall_s": wall})
        write_json(run_dir / "error.json", {
            "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(), "wall_s": wall,
        })
        seal_run(run_dir)
        raise
    wall = time.perf_counter() - t0
    write_json(run_dir / "env.json", {**env, "wall_s": wall})
    write_json(run_dir / "metrics.json", {
        "metrics": result.metrics,
        "verdict": verdict.value,
        "verdict_reason": inconclusive_reason(checks, scale),
        "checks": [c.as_dict() for c in checks],
        "artifacts": result.artifacts + write_outputs(result, run_dir),
        "wall_s": wall,
        "scale": scale,
    })
    seal_run(run_dir)
    return read_run(run_dir)
