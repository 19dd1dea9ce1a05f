"""The catalogue: one experiment per seed paper (see ``CATALOGUE``).

Experiment modules in this package are discovered automatically; extra modules
named in the environment variable ``MANTISSA_PLUGINS`` (comma-separated import
paths) are loaded too, so users can add their own experiments.
"""

from mantissa.experiments.base import (
    CLAIM,
    EXPERIMENTS,
    GATE,
    KINDS,
    SCALES,
    Check,
    Experiment,
    NaNMetrics,
    Result,
    Verdict,
    inconclusive_reason,
    judge,
    mean_se,
    register,
    seed_metrics,
    seed_spread,
)
from mantissa.experiments.catalogue import get_experiment, load_all

__all__ = [
    "CLAIM",
    "EXPERIMENTS",
    "GATE",
    "KINDS",
    "SCALES",
    "Check",
    "Experiment",
    "NaNMetrics",
    "Result",
    "Verdict",
    "get_experiment",
    "inconclusive_reason",
    "judge",
    "load_all",
    "mean_se",
    "register",
    "seed_metrics",
    "seed_spread",
]
