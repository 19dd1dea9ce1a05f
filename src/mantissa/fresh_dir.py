"""New folders that no other process can also get: ``mkdir`` decides, not ``exists()``.

:func:`fresh_dir` tries ``BASE``, ``BASE-2``, ``BASE-3``... with
``mkdir(exist_ok=False)``; the first that the file system creates for this call is
returned, so simultaneous callers (threads or processes) always get distinct folders.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

_TRIES = 10_000


def fresh_dir(base: Path) -> Path:
    """Create and return ``base`` or the first free ``base-N`` (N = 2, 3, ...)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, _TRIES + 1):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{base}: {_TRIES} folders of this name exist already")


def timestamp() -> str:
    """The current UTC time as ``YYYYmmddTHHMMSS``, the stem of run folders."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
