"""The run store: ``runs/<id>/<timestamp>-<scale>-s<seed>/`` with JSON records.

A run directory holds ``config.json`` (written first), ``env.json``, the
experiment's artifacts, then ``metrics.json`` (metrics, verdict, the reason of an
inconclusive verdict, checks) or ``error.json``, and last ``manifest.json``: the
SHA-256 of every other file, sealed (:func:`seal_run`). A directory without a
result reads back as ``incomplete``. A finished one without a manifest, with a file
that is unlisted by it, altered, or of the wrong shape
(:mod:`~mantissa.catalogue.record_shape`) reads back as ``corrupt``; reading
never raises, and reads only files the manifest lists.
:func:`new_run_dir` gives simultaneous callers distinct directories
(:func:`mantissa.fresh_dir.fresh_dir`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mantissa.catalogue import record_shape as shape
from mantissa.errors import CorruptFileError
from mantissa.fresh_dir import fresh_dir, timestamp
from mantissa.io import check_seal, read_json, seal, sha256_file, verify_files, write_json

STANDARD_FILES = {"config.json", "env.json", "metrics.json", "error.json", "manifest.json"}
MANIFEST = "manifest.json"


def runs_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The run store: ``path``, else ``$MANTISSA_RUNS``, else ``./runs``."""
    return Path(path or os.environ.get("MANTISSA_RUNS") or "runs")


def new_run_dir(root: Path, exp_id: str, scale: str, seed: int) -> Path:
    """A new run directory, distinct from any other caller's, even a simultaneous one."""
    return fresh_dir(root / exp_id / f"{timestamp()}-{scale}-s{seed}")


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
    #: files the sealed manifest lists and that matched their digests (empty until then)
    files: list[str] = field(default_factory=list)

    @property
    def artifacts(self) -> list[Path]:
        """The run's own files besides the standard records: only those the manifest lists."""
        return sorted(self.path / n for n in self.files if n not in STANDARD_FILES)


def seal_run(path: Path) -> Path:
    """Write the run's ``manifest.json`` last: the SHA-256 of every other (non-hidden) file."""
    files = {p.relative_to(path).as_posix(): sha256_file(p) for p in sorted(path.rglob("*"))
             if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")}
    return write_json(path / MANIFEST, seal({"kind": "mantissa-run", "files": files}))


def _verified(path: Path) -> list[str]:
    """The files of a finished run, checked against its sealed manifest."""
    if not (path / MANIFEST).is_file():
        raise CorruptFileError(f"{path}: no {MANIFEST} (written by an older mantissa, or altered)")
    manifest = check_seal(path / MANIFEST, read_json(path / MANIFEST))
    return list(verify_files(path, manifest.get("files")))


def _read(path: Path, check: Any) -> dict[str, Any]:
    return check(path, read_json(path))


def read_run(path: Path) -> RunRecord:
    """The run in ``path``; a missing, unparsable or misshapen record makes it ``corrupt``."""
    rec = RunRecord(path=path, experiment=path.parent.name, status="incomplete")
    try:
        finished = (path / "metrics.json").exists() or (path / "error.json").exists()
        rec.files = _verified(path) if finished else []
        cfg = _read(path / "config.json", shape.config_record)
        rec.scale, rec.seed = cfg.get("scale") or "?", cfg.get("seed")
        rec.started, rec.config = cfg.get("started") or "", cfg.get("config") or {}
        if "env.json" in rec.files:
            rec.env = _read(path / "env.json", shape.env_record)
        if "metrics.json" in rec.files:
            m = _read(path / "metrics.json", shape.metrics_record)
            rec.metrics, rec.verdict = dict(m["metrics"]), m.get("verdict")
            rec.checks, rec.wall_s = list(m.get("checks") or []), m.get("wall_s")
            rec.verdict_reason = str(m.get("verdict_reason") or "")
            rec.status = "ok"
        elif "error.json" in rec.files:
            e = _read(path / "error.json", shape.error_record)
            rec.status, rec.error, rec.wall_s = "failed", str(e.get("error", "")), e.get("wall_s")
        else:
            rec.error = "the run did not finish (no metrics.json): killed or still running"
    except (CorruptFileError, KeyError, TypeError, AttributeError, ValueError, OSError) as exc:
        _damaged(rec, exc)
    return rec


def _damaged(rec: RunRecord, exc: Exception) -> None:
    """Mark ``rec`` corrupt, keeping nothing half-read that a reader could trip over."""
    rec.status, rec.error = "corrupt", f"unreadable run directory: {exc}"
    rec.metrics, rec.verdict, rec.verdict_reason, rec.checks, rec.files = {}, None, "", [], []


def list_runs(root: Path, exp_id: str | None = None) -> list[RunRecord]:
    """Every run under ``root`` (optionally of one experiment), oldest first. Only run directories
    (those with a ``config.json``) count, so other tools' output folders in the store are ignored."""
    if not root.is_dir():
        return []
    dirs = [root / exp_id] if exp_id else sorted(p for p in _children(root) if p.is_dir())
    runs = []
    for d in dirs:
        runs.extend(read_run(p) for p in sorted(_children(d)) if (p / "config.json").is_file())
    return runs


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:  # missing, not a folder, or unreadable: nothing to list
        return []


def latest(runs: list[RunRecord], scale: str | None = None) -> RunRecord | None:
    chosen = [r for r in runs if scale is None or r.scale == scale]
    return chosen[-1] if chosen else None
