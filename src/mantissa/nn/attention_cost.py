"""Attention cost against sequence length, for the efficient-attention experiments
(``combiner``, ``ecoformer``): thread CPU time of one forward and the exponent of a
log-log fit (≈1 for linear attention, ≈1.5 for O(L·√L), ≈2 for softmax).

The time is the thread's CPU time (``time.thread_time``, best of ``repeats``), not wall
time: on a shared machine wall time includes the waits while other processes hold the
core, which made single points jump several-fold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from mantissa.progress import track


def log_log_slope(lengths: Sequence[int], times: Sequence[float]) -> float:
    """Slope of the least-squares line through ``(log length, log time)``."""
    return float(np.polyfit(np.log(lengths), np.log(times), 1)[0])


def cpu_timed(kernel: Callable[..., torch.Tensor], t: int, *, heads: int = 4, head_dim: int = 16,
              repeats: int = 5) -> float:
    """Best-of-``repeats`` thread CPU seconds of ``kernel(q, k, v)`` (its default, causal) on
    random ``(1, heads, t, head_dim)`` inputs, after one warm-up call."""
    q, k, v = (torch.randn(1, heads, t, head_dim) for _ in range(3))
    with torch.no_grad():
        kernel(q, k, v)
        best = math.inf
        for _ in range(repeats):
            t0 = time.thread_time()
            kernel(q, k, v)
            best = min(best, time.thread_time() - t0)
    return best


def attention_times(kernels: dict[str, Callable[..., torch.Tensor]], lengths: Sequence[int],
                    desc: str = "attention time vs length") -> dict[str, list[float]]:
    """:func:`cpu_timed` of every kernel at every length (lengths outer, kernels inner)."""
    times: dict[str, list[float]] = {name: [] for name in kernels}
    with torch.no_grad():
        for t in track(lengths, desc):
            for name, kernel in kernels.items():
                times[name].append(cpu_timed(kernel, t))
    return times


def plot_time_vs_length(ax, lengths: Sequence[int], times: dict[str, Sequence[float]]) -> None:
    """Log-log time against length on ``ax``, one line per kernel labelled with its fitted
    slope, the lengths as ticks."""
    for name, ts in times.items():
        slope = log_log_slope(lengths, ts)
        ax.loglog(lengths, ts, "o-", label=f"{name} (slope {slope:.2f})")
    ax.set_xticks(lengths, [str(t) for t in lengths])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("causal attention forward, thread CPU time (s)")
    ax.legend()
