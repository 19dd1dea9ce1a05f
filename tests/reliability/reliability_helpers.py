"""Helpers of the reliability suite (imported by its tests; tests/reliability/conftest.py
puts this folder on ``sys.path``).

Every refusal is checked the way a user meets it: exit code 2, exactly one line on
stderr starting with ``error:``, no traceback, and the user's files byte for byte
as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np


def assert_one_error_line(code: int, err: str, *needles: str) -> None:
    """Exit 2 and a single ``error:`` line (mentioning each needle), no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``folder``, by relative path."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def user_folder(path: Path) -> Path:
    """A folder of the user's own work: ``thesis.txt`` and ``sub/notes.md``."""
    (path / "sub").mkdir(parents=True)
    (path / "thesis.txt").write_text("three years of work\n")
    (path / "sub" / "notes.md").write_text("# notes\n")
    return path


def vectors(path: Path, n: int = 300, dim: int = 32, seed: int = 0) -> Path:
    """``n`` random unit vectors saved as ``.npy``."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    np.save(path, x / np.linalg.norm(x, axis=1, keepdims=True))
    return path


def mantissa_subprocess(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m mantissa.cli ARGS`` in a child process."""
    env = {**os.environ, "MANTISSA_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mantissa.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def hidden_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that start with a dot (where temporary folders live)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
