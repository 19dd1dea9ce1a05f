"""Did a training run diverge? The rule of the fp8-stability experiment, on a loss curve."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["curve_divergence"]


def curve_divergence(losses: Sequence[float], spike: float, fail: float) -> tuple[bool, float]:
    """``(diverged, final)`` of a loss curve: ``final`` is the last value of its moving average
    over a tenth of the steps; the run diverged when the curve ended non-finite, when
    ``final`` sits more than ``spike`` above the average's minimum, or when it is not at least
    ``fail`` below the first loss (it never learned)."""
    if not losses or not math.isfinite(losses[-1]):
        return True, math.inf
    k = max(1, len(losses) // 10)
    smooth = [sum(losses[i:i + k]) / k for i in range(len(losses) - k + 1)]
    final = smooth[-1]
    return final > min(smooth) + spike or final > losses[0] - fail, final

