"""The catalogue: one experiment per seed paper (see ``CATALOGUE``).

Experiment modules in this package are discovered automatically; extra modules
named in the environment variable ``MANTISSA_PLUGINS`` (comma-separated import
paths) are loaded too, so users can add their own experiments.
"""

from mantissa.experiments.base import (
    EXPERIMENTS,
    SCALES,
    Check,
    Experiment,
    Result,
    Verdict,
    judge,
    register,
)
from mantissa.experiments.catalogue import get_experiment, load_all

__all__ = [
    "EXPERIMENTS",
    "SCALES",
    "Check",
    "Experiment",
    "Result",
    "Verdict",
    "get_experiment",
    "judge",
    "load_all",
    "register",
]
