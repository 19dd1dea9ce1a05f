"""Evaluation views for length generalization: accuracy by length bucket,
len(a) × len(b) grids, accuracy-vs-length curves and per-output-digit accuracy,
with plots (in-distribution region marked)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mantissa import plot


def accuracy_by(examples: Sequence[Any], correct: Sequence[bool],
                key: Callable[[Any], Hashable] = lambda e: e.length) -> dict[Hashable, float]:
    """Mean of ``correct`` grouped by ``key(example)`` (default: the length bucket)."""
    tot: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0])
    for ex, ok in zip(examples, correct, strict=True):
        t = tot[key(ex)]
        t[0] += int(ok)
        t[1] += 1
    return {k: v[0] / v[1] for k, v in sorted(tot.items())}


def mean_over(acc: Mapping[Hashable, float], keys: Sequence[Hashable]) -> float:
    """Unweighted mean accuracy over the buckets in ``keys`` that were measured."""
    vals = [acc[k] for k in keys if k in acc]
    return float(np.mean(vals)) if vals else float("nan")


def grid(acc: Mapping[tuple[int, int], float], lens_a: Sequence[int], lens_b: Sequence[int]) -> np.ndarray:
    """``G[i, j] = acc[(lens_a[i], lens_b[j])]`` (NaN where not measured)."""
    g = np.full((len(lens_a), len(lens_b)), np.nan)
    for i, a in enumerate(lens_a):
        for j, b in enumerate(lens_b):
            g[i, j] = acc.get((a, b), np.nan)
    return g


def per_digit_accuracy(answers: Sequence[str], preds: Sequence[str], width: int | None = None) -> np.ndarray:
    """Accuracy of each output character position (0 = first written); a missing
    character counts as wrong."""
    width = width or max(len(a) for a in answers)
    hits = np.zeros(width)
    for ans, pred in zip(answers, preds, strict=True):
        for i in range(min(width, len(ans))):
            hits[i] += i < len(pred) and pred[i] == ans[i]
    return hits / max(1, len(answers))


def plot_grid(g: np.ndarray, lens_a: Sequence[int], lens_b: Sequence[int], path: str | Path,
              title: str = "", train_max: tuple[int, int] | None = None) -> Path:
    """Heatmap of exact-match accuracy; the in-distribution box outlined in white."""
    fig, ax = plot.figure(figsize=(5.2, 4.4))
    im = ax.imshow(g * 100, origin="lower", cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(lens_b)), [str(b) for b in lens_b])
    ax.set_yticks(range(len(lens_a)), [str(a) for a in lens_a])
    ax.set_xlabel("digits of b")
    ax.set_ylabel("digits of a")
    if train_max is not None:
        ia = sum(1 for a in lens_a if a <= train_max[0])
        ib = sum(1 for b in lens_b if b <= train_max[1])
        ax.add_patch(plot.plt.Rectangle((-0.5, -0.5), ib, ia, fill=False, ec="white", lw=2))
    fig.colorbar(im, ax=ax, label="exact match (%)")
    ax.set_title(title)
    return plot.save(fig, path)


def plot_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | Path,
                title: str = "", train_max: float | None = None, xlabel: str = "length",
                ylabel: str = "exact match (%)") -> Path:
    """One line per configuration; the training range shaded."""
    fig, ax = plot.figure()
    for label, (x, y) in curves.items():
        ax.plot(list(x), [100 * v for v in y], marker="o", ms=3, label=label)
    if train_max is not None:
        ax.axvspan(ax.get_xlim()[0], train_max + 0.5, color="0.9", zorder=0, label="trained lengths")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-3, 103)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return plot.save(fig, path)
