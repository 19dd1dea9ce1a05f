"""Seed statistics for protocol v2: the mean and standard error of seed-paired differences,
and the metrics a check judges them on (mean − 2·SE)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mantissa.errors import ConfigError

__all__ = ["mean_se", "rank_correlation", "seed_metrics"]


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean and its standard error (sample std with n - 1, over sqrt(n)); n >= 2."""
    n = len(values)
    if n < 2:
        raise ConfigError(f"a standard error needs at least 2 values (seeds), got {n}")
    mean = sum(values) / n  # plain sum: inf - inf gives NaN (a failed check), not an error
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def seed_metrics(name: str, diffs: Sequence[float]) -> dict[str, float]:
    """Metrics of seed-paired differences for a check inside ``run``: ``<name>_mean``,
    ``<name>_se`` and ``<name>_lcb`` (mean − 2·SE, the value a margin is judged on:
    ``check(..., "<name>_lcb", ">", margin)``), plus ``<name>_seeds``."""
    mean, se = mean_se([float(d) for d in diffs])
    return {f"{name}_mean": mean, f"{name}_se": se, f"{name}_lcb": mean - 2 * se,
            f"{name}_seeds": float(len(diffs))}


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y``; NaN when either is constant (no
    ranking to correlate), so a check judged on it fails."""
    from scipy.stats import spearmanr

    if len(set(y)) < 2 or len(set(x)) < 2:
        return math.nan
    return float(spearmanr(x, y).statistic)
