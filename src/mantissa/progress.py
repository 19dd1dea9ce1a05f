"""Progress bars for long work (rich), silent when not wanted.

``with progress("training", total=steps) as bar: bar.advance(1, loss=0.3)``.
Bars draw on stderr when it is a terminal; set ``MANTISSA_PROGRESS=0`` to
silence them or ``=1`` to force them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def enabled() -> bool:
    flag = os.environ.get("MANTISSA_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no", "")
    return sys.stderr.isatty()


class Bar:
    """Handle returned by :func:`progress`; ``advance(n, **postfix)``."""

    def __init__(self, prog: Any, task: Any) -> None:
        self._prog, self._task = prog, task

    def advance(self, n: float = 1, **postfix: Any) -> None:
        if self._prog is None:
            return
        text = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in postfix.items())
        self._prog.update(self._task, advance=n, info=text)


_live: Any = None  # the Progress display in use; a bar opened inside another joins it as a new line


@contextlib.contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Bar]:
    global _live
    if not enabled():
        yield Bar(None, None)
        return
    if _live is not None:
        task = _live.add_task(description, total=total, info="")
        try:
            yield Bar(_live, task)
        finally:
            _live.remove_task(task)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as prog:
        _live = prog
        try:
            yield Bar(prog, prog.add_task(description, total=total, info=""))
        finally:
            _live = None


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(description, total) as bar:
        for item in items:
            yield item
            bar.advance(1)
