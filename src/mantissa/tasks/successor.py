"""Successor sequences: numbers, weekdays, months, letters (the ordinal
sequences of successor-head studies). ``length = (k,)`` items are shown and
the next one is the answer: ``mon tue wed `` → ``thu``."""

from __future__ import annotations

import numpy as np

from mantissa.errors import ConfigError
from mantissa.tasks.base import TASKS, Example, Length, Task

SEQUENCES = {
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "months": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "letters": list("abcdefghijklmnopqrstuvwxyz"),
    "numbers": [str(i) for i in range(100)],
}


@TASKS.register("successor")
class Successor(Task):
    name = "successor"

    def __init__(self, kind: str = "numbers", wrap: bool = True) -> None:
        if kind not in SEQUENCES:
            raise ConfigError(f"unknown successor sequence {kind!r}; use one of {', '.join(SEQUENCES)}")
        self.kind, self.wrap = kind, wrap

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (k,) = self.check_length(length)
        items = SEQUENCES[self.kind]
        n = len(items)
        start = int(rng.integers(0, n if self.wrap else max(1, n - k)))
        shown = [items[(start + i) % n] for i in range(k + 1)]
        return Example(" ".join(shown[:-1]) + " ", shown[-1], (k,), (self.kind,), self.name)
