"""Sequence tasks: sorting (with the task-hinting auxiliary task), copy,
reverse and parity. ``length = (n,)`` is the number of elements.

Sorting uses single-letter elements ``a``-``z`` (duplicates allowed), so an
element is one token. The hint task of Awasthi & Gupta (2023), "Improving
Length-Generalization in Transformers via Task Hinting" (Sec. 3, the
*successor* hint): given the sequence and one of its elements ``x``, output the
next element of the sorted sequence after ``x`` (the smallest element strictly
greater than ``x``; ``.`` if none).
"""

from __future__ import annotations

import string

import numpy as np

from mantissa.errors import ConfigError
from mantissa.tasks.base import TASKS, Example, Length, Task

LETTERS = string.ascii_lowercase


@TASKS.register("sort")
class Sort(Task):
    """``sort``: ``dbca=`` → ``abcd``; ``hint=true`` draws half the examples
    from the successor hint task ``dbca|c?`` → ``d``."""

    name = "sort"

    def __init__(self, alphabet: int = 26, hint: bool = False, hint_frac: float = 0.5) -> None:
        if not 2 <= alphabet <= 26:
            raise ConfigError(f"sort alphabet must be 2..26 letters, got {alphabet}")
        self.alphabet, self.hint, self.hint_frac = alphabet, hint, hint_frac

    def _seq(self, rng: np.random.Generator, n: int) -> str:
        return "".join(LETTERS[i] for i in rng.integers(0, self.alphabet, size=n))

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (n,) = self.check_length(length)
        seq = self._seq(rng, n)
        if self.hint and rng.random() < self.hint_frac:
            return self.hint_example(seq, seq[int(rng.integers(0, n))], (n,))
        return Example(seq + "=", "".join(sorted(seq)), (n,), ("main",), self.name)

    def hint_example(self, seq: str, x: str, length: Length) -> Example:
        larger = [c for c in seq if c > x]
        return Example(f"{seq}|{x}?", min(larger) if larger else ".", length, ("hint",), self.name)


@TASKS.register("copy")
class Copy(Task):
    """``copy``: digits ``3141:`` → ``3141``."""

    name = "copy"

    def transform(self, s: str) -> str:
        return s

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (n,) = self.check_length(length)
        s = "".join(str(d) for d in rng.integers(0, 10, size=n))
        return Example(s + ":", self.transform(s), (n,), (), self.name)


@TASKS.register("reverse")
class ReverseTask(Copy):
    """``reverse``: digits ``3141:`` → ``1413``."""

    name = "reverse"

    def transform(self, s: str) -> str:
        return s[::-1]


@TASKS.register("parity")
class Parity(Task):
    """``parity``: bits ``1101=`` → ``1`` (odd number of ones); ``scratch=true``
    writes the running parity first (``1011|1``)."""

    name = "parity"

    def __init__(self, scratch: bool = False) -> None:
        self.scratch = scratch

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (n,) = self.check_length(length)
        bits = rng.integers(0, 2, size=n)
        running = np.cumsum(bits) % 2
        s = "".join(map(str, bits))
        ans = "".join(map(str, running)) + "|" + str(running[-1]) if self.scratch else str(running[-1])
        return Example(s + "=", ans, (n,), (), self.name)
