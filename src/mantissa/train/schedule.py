"""Learning-rate schedules: linear warm-up then ``cosine`` (default), ``linear``
or ``constant`` decay to ``min_ratio * lr`` at the last step. Pure functions of
the step, so a resumed run follows the same curve bit for bit."""

from __future__ import annotations

import math
from collections.abc import Callable

from mantissa.errors import ConfigError
from mantissa.registry import Registry

SCHEDULES: Registry = Registry("lr schedule")


def _progress(step: int, warmup: int, total: int) -> float:
    return min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))


@SCHEDULES.register("cosine")
def cosine(step: int, warmup: int, total: int, min_ratio: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * _progress(step, warmup, total)))


@SCHEDULES.register("linear")
def linear(step: int, warmup: int, total: int, min_ratio: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 1 - (1 - min_ratio) * _progress(step, warmup, total)


@SCHEDULES.register("constant")
def constant(step: int, warmup: int, total: int, min_ratio: float) -> float:
    return (step + 1) / warmup if step < warmup else 1.0


def lr_factor(name: str) -> Callable[[int, int, int, float], float]:
    """The multiplier function of schedule ``name``: ``f(step, warmup, total, min_ratio)``."""
    if name not in SCHEDULES:
        raise ConfigError(f"unknown lr schedule {name!r}; use one of {', '.join(SCHEDULES.list())}")
    return SCHEDULES.get(name)
