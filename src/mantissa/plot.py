"""Matplotlib without a screen: one place that sets the backend and saves figures."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mantissa.io import atomic_write  # noqa: E402


def figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` with a readable default size."""
    kwargs.setdefault("figsize", (6.4, 4.0))
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)


def save(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write(path, buf.getvalue())


def arm_bars(rows: list, arms: tuple[str, ...] | list[str], columns: list[str],
             path: str | os.PathLike[str], *,
             ylabel: str, title: str, first: int = 2) -> Path:
    """Grouped bars of per-arm means: ``rows`` are ``[arm, seed, value per column..., ...]``
    (values from index ``first``), one bar group per column, one bar per arm (mean over its rows)."""
    import numpy as np

    width = 0.8 / len(arms)
    fig, ax = figure()
    for k, arm in enumerate(arms):
        vals = [np.mean([r[first + i] for r in rows if r[0] == arm]) for i in range(len(columns))]
        ax.bar(np.arange(len(columns)) + (k - (len(arms) - 1) / 2) * width, vals, width, label=arm)
    ax.set_xticks(range(len(columns)), columns)
    ax.set(ylabel=ylabel, title=title)
    ax.legend()
    return save(fig, path)


def grouped_bars(series: dict[str, Sequence[float]], positions: Sequence[float], labels: Sequence[str], *,
                 ylabel: str, log: bool = False) -> Any:
    """One bar per named series at each x position (side by side, 0.8 wide in all), with the
    positions labelled ``labels`` and a legend; ``log`` sets a log y axis. Returns the figure."""
    fig, ax = figure()
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + (i - (len(series) - 1) / 2) * width for x in positions], list(values), width, label=name)
    ax.set_xticks(list(positions), list(labels))
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return fig


def seed_bars(ax: Any, values: Sequence[Sequence[float]], labels: Sequence[str], *, ylabel: str,
              title: str) -> None:
    """On ``ax``: one bar per arm at the mean of its per-seed ``values`` with each seed as a dot;
    the y axis from 5 below the lowest value (at least 0) to 100 (percentages)."""
    for i, vals in enumerate(values):
        ax.bar(i, sum(vals) / len(vals), alpha=0.5)
        ax.scatter([i] * len(vals), vals, color="k", s=12)
    ax.set_xticks(range(len(values)), labels)
    ax.set_ylim(max(0, min(min(v) for v in values) - 5), 100)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def curves(series: dict[str, Sequence[tuple[float, float]]], *, xlabel: str, ylabel: str, title: str) -> Any:
    """One line per named series of ``(x, y)`` points, with a legend; returns the figure."""
    fig, ax = figure()
    for name, pts in series.items():
        ax.plot([x for x, _ in pts], [y for _, y in pts], label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig
