"""The experiments: one module per seed paper, each only wiring parts together.

Experiment modules in this package are discovered automatically by the catalogue
engine (:mod:`mantissa.catalogue`); extra modules named in the environment
variable ``MANTISSA_PLUGINS`` (comma-separated import paths) are loaded too, so
users can add their own experiments. An experiment module imports what it needs
of the engine from here: ``from mantissa.experiments import Experiment, Result, register``.
"""

from mantissa.catalogue.discovery import get_experiment, load_all
from mantissa.catalogue.protocol import (
    CLAIM,
    EXPERIMENTS,
    GATE,
    KINDS,
    SCALES,
    Check,
    Claim,
    Experiment,
    Gate,
    NaNMetrics,
    Result,
    Verdict,
    card_config,
    inconclusive_reason,
    judge,
    mean_se,
    register,
    seed_metrics,
    seed_spread,
)

__all__ = [
    "CLAIM",
    "EXPERIMENTS",
    "GATE",
    "KINDS",
    "SCALES",
    "Check",
    "Claim",
    "Experiment",
    "Gate",
    "NaNMetrics",
    "Result",
    "Verdict",
    "card_config",
    "get_experiment",
    "inconclusive_reason",
    "judge",
    "load_all",
    "mean_se",
    "register",
    "seed_metrics",
    "seed_spread",
]
