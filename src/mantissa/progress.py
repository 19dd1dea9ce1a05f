"""Progress bars for long work (rich), silent when not wanted.

``with progress("training", total=steps) as bar: bar.advance(1, loss=0.3)``.
Bars draw on stderr when it is a terminal. When it is not (a log file, CI, a
pipe), long work prints one plain line every ``MANTISSA_PROGRESS_EVERY``
seconds (default 5) instead: ``training: 120/300 (40%), 12s, ~18s left, loss=0.3``;
work shorter than that prints nothing. Set ``MANTISSA_PROGRESS=0`` to silence
both, ``=1`` to force bars, ``=log`` to force log lines.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def enabled() -> bool:
    """Whether bars are drawn (``MANTISSA_PROGRESS`` set and not off, or stderr is a terminal)."""
    flag = os.environ.get("MANTISSA_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no", "", "log")
    return sys.stderr.isatty()


def logging_lines() -> bool:
    """Whether log lines replace bars: stderr is not a terminal (or ``MANTISSA_PROGRESS=log``)."""
    flag = os.environ.get("MANTISSA_PROGRESS")
    if flag is not None:
        return flag == "log"
    return not sys.stderr.isatty()


def _every() -> float:
    try:
        return max(0.0, float(os.environ.get("MANTISSA_PROGRESS_EVERY", "5")))
    except ValueError:
        return 5.0


class Bar:
    """Handle returned by :func:`progress`; ``advance(n, **postfix)``."""

    def __init__(self, prog: Any, task: Any) -> None:
        self._prog, self._task = prog, task

    def advance(self, n: float = 1, **postfix: Any) -> None:
        if self._prog is None:
            return
        self._prog.update(self._task, advance=n, info=_postfix(postfix))


def _postfix(postfix: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in postfix.items())


class LogBar(Bar):
    """Off a terminal: one line on stderr every ``every`` seconds while work advances."""

    def __init__(self, description: str, total: float | None, every: float) -> None:
        super().__init__(None, None)
        self.description, self.total, self.every = description, total, every
        self.done = 0.0
        self.start = self.last = time.monotonic()

    def advance(self, n: float = 1, **postfix: Any) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        print(self.line(now - self.start, _postfix(postfix)), file=sys.stderr, flush=True)

    def line(self, elapsed: float, info: str = "") -> str:
        parts = [f"{self.done:g}" + (f"/{self.total:g} ({100 * self.done / self.total:.0f}%)"
                                    if self.total else ""), f"{elapsed:.0f}s"]
        if self.total and self.done:
            parts.append(f"~{elapsed * (self.total - self.done) / self.done:.0f}s left")
        return f"{self.description}: " + ", ".join(parts + ([info] if info else []))


_live: Any = None  # the Progress display in use; a bar opened inside another joins it as a new line


@contextlib.contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Bar]:
    global _live
    if not enabled():
        yield LogBar(description, total, _every()) if logging_lines() else Bar(None, None)
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
