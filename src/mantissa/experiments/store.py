"""The run store: ``runs/<id>/<timestamp>-<scale>-s<seed>/`` with JSON records.

A run directory holds ``config.json`` (written first), ``env.json``, the
experiment's artifacts, and finally ``metrics.json`` (metrics, verdict, the
reason of an inconclusive verdict, checks) or ``error.json``. A directory without either, or with a file that
does not parse, reads back as a run with status ``incomplete`` or ``corrupt``;
reading never raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mantissa.errors import CorruptFileError
from mantissa.io import read_json

STANDARD_FILES = {"config.json", "env.json", "metrics.json", "error.json"}


def runs_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The run store: ``path``, else ``$MANTISSA_RUNS``, else ``./runs``."""
    return Path(path or os.environ.get("MANTISSA_RUNS") or "runs")


def new_run_dir(root: Path, exp_id: str, scale: str, seed: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = root / exp_id / f"{stamp}-{scale}-s{seed}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


@dataclass
class RunRecord:
    """One run read back from disk (never raises on a broken directory)."""

    path: Path
    experiment: str
    status: str  # ok | failed | incomplete | corrupt
    scale: str = "?"
    seed: int | None = None
    started: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    verdict: str | None = None
    #: why the verdict is inconclusive (the failed gates); empty otherwise and in older runs
    verdict_reason: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    wall_s: float | None = None

    @property
    def artifacts(self) -> list[Path]:
        try:
            return sorted(p for p in self.path.iterdir()
                          if p.is_file() and p.name not in STANDARD_FILES and not p.name.startswith("."))
        except OSError:
            return []


def read_run(path: Path) -> RunRecord:
    rec = RunRecord(path=path, experiment=path.parent.name, status="incomplete")
    try:
        cfg = read_json(path / "config.json")
        rec.scale, rec.seed = cfg.get("scale", "?"), cfg.get("seed")
        rec.started, rec.config = cfg.get("started", ""), cfg.get("config", {})
        if (path / "env.json").exists():
            rec.env = read_json(path / "env.json")
        if (path / "metrics.json").exists():
            m = read_json(path / "metrics.json")
            rec.metrics, rec.verdict = dict(m["metrics"]), m.get("verdict")
            rec.checks, rec.wall_s = list(m.get("checks", [])), m.get("wall_s")
            rec.verdict_reason = str(m.get("verdict_reason") or "")
            rec.status = "ok"
        elif (path / "error.json").exists():
            e = read_json(path / "error.json")
            rec.status, rec.error, rec.wall_s = "failed", str(e.get("error", "")), e.get("wall_s")
        else:
            rec.error = "the run did not finish (no metrics.json): killed or still running"
    except (CorruptFileError, KeyError, TypeError, AttributeError, ValueError, OSError) as exc:
        rec.status, rec.error = "corrupt", f"unreadable run directory: {exc}"
    return rec


def list_runs(root: Path, exp_id: str | None = None) -> list[RunRecord]:
    """Every run under ``root`` (optionally of one experiment), oldest first. Only run directories
    (those with a ``config.json``) count, so other tools' output folders in the store are ignored."""
    if not root.is_dir():
        return []
    dirs = [root / exp_id] if exp_id else sorted(p for p in root.iterdir() if p.is_dir())
    runs = []
    for d in dirs:
        if d.is_dir():
            runs.extend(read_run(p) for p in sorted(d.iterdir()) if (p / "config.json").is_file())
    return runs


def latest(runs: list[RunRecord], scale: str | None = None) -> RunRecord | None:
    chosen = [r for r in runs if scale is None or r.scale == scale]
    return chosen[-1] if chosen else None
