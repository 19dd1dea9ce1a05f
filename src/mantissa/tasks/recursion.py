"""Structural-recursion tasks (Zhang et al., 2023, "Transformer-Based Models Are
Not Yet Perfect At Learning to Emulate Structural Recursion", Sec. 4).

* ``binsucc`` — binary successor ``1011=`` → ``1100`` (most significant bit
  first). The recursion ``succ(x0) = x1, succ(x1) = succ(x)0`` makes trailing
  ones the recursive (hard) case; examples are tagged ``edge`` when the number
  ends in at least ``edge_ones`` ones (a long carry chain, or all ones) and
  ``typical`` otherwise. ``edge_frac`` sets how often edge cases are drawn
  (``None`` = their natural frequency under uniform bits, ``2^-edge_ones``).
* ``traverse`` — a binary tree written in prefix form with ``.`` for empty
  subtrees (``ab..c..``) → its in-order traversal (``bac``).
"""

from __future__ import annotations

import string

import numpy as np

from mantissa.errors import ConfigError
from mantissa.tasks.base import TASKS, Example, Length, Task


def trailing_ones(bits: str) -> int:
    return len(bits) - len(bits.rstrip("1"))


@TASKS.register("binsucc")
class BinarySuccessor(Task):
    name = "binsucc"

    def __init__(self, edge_ones: int = 4, edge_frac: float = -1.0) -> None:
        if edge_ones < 1:
            raise ConfigError(f"edge_ones must be >= 1, got {edge_ones}")
        self.edge_ones, self.edge_frac = edge_ones, edge_frac

    def _bits(self, rng: np.random.Generator, n: int, edge: bool | None) -> str:
        """Random ``n``-bit number (leading 1); ``edge`` forces ≥ / < ``edge_ones`` trailing ones."""
        def uniform() -> str:
            return "1" + "".join(str(b) for b in rng.integers(0, 2, size=n - 1))
        if not edge:
            while True:
                bits = uniform()
                if edge is None or trailing_ones(bits) < self.edge_ones or n < 2:
                    return bits
        if n < self.edge_ones:
            raise ConfigError(f"no edge case of length {n} with edge_ones={self.edge_ones}")
        choices = [k for k in range(self.edge_ones, n - 1)] + [n]  # k = n-1 would need a leading 0
        k = choices[int(rng.integers(0, len(choices)))]
        if k == n:
            return "1" * n
        return "1" + "".join(str(b) for b in rng.integers(0, 2, size=n - k - 2)) + "0" + "1" * k

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (n,) = self.check_length(length)
        edge = None if self.edge_frac < 0 else bool(rng.random() < self.edge_frac)
        return self.make(self._bits(rng, n, edge), (n,))

    def make(self, bits: str, length: Length) -> Example:
        succ = bin(int(bits, 2) + 1)[2:]
        tag = "edge" if trailing_ones(bits) >= self.edge_ones else "typical"
        return Example(bits + "=", succ, length, (tag, f"ones{trailing_ones(bits)}"), self.name)

    def probe_sets(self, rng: np.random.Generator, n: int, count: int) -> tuple[list[Example], list[Example]]:
        """``count`` typical and ``count`` edge examples of length ``n``."""
        typical = [self.make(self._bits(rng, n, False), (n,)) for _ in range(count)]
        edge = [self.make(self._bits(rng, n, True), (n,)) for _ in range(count)]
        return typical, edge


def _random_tree(rng: np.random.Generator, n: int, labels: str) -> object:
    if n == 0:
        return None
    left = int(rng.integers(0, n))
    return (labels[int(rng.integers(0, len(labels)))], _random_tree(rng, left, labels),
            _random_tree(rng, n - 1 - left, labels))


def _prefix(t: object) -> str:
    return "." if t is None else t[0] + _prefix(t[1]) + _prefix(t[2])  # type: ignore[index]


def _inorder(t: object) -> str:
    return "" if t is None else _inorder(t[1]) + t[0] + _inorder(t[2])  # type: ignore[index]


@TASKS.register("traverse")
class TreeTraversal(Task):
    """In-order traversal of a random binary tree with ``length = (n_nodes,)``."""

    name = "traverse"

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (n,) = self.check_length(length)
        t = _random_tree(rng, n, string.ascii_lowercase)
        return Example(_prefix(t) + "=", _inorder(t), (n,), (), self.name)
