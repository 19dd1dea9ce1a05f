"""Tasks: seeded generators of (prompt, answer) examples keyed by length.

A task is registered in :data:`TASKS` and built from a spec string such as
``add:format=reverse``. ``task.sample(rng, length)`` draws one
:class:`Example` whose ``length`` tuple is its bucket (operand lengths for
arithmetic, sequence length for sorting). :func:`make_split` draws exact,
de-duplicated train/test sets by length bucket, and refuses test buckets that
overlap training ones when disjointness is required.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mantissa.config import int_ranges
from mantissa.errors import ConfigError
from mantissa.registry import Registry

TASKS: Registry = Registry("task")

Length = tuple[int, ...]


@dataclass(frozen=True)
class Example:
    prompt: str
    answer: str
    length: Length
    tags: tuple[str, ...] = ()
    task: str = ""


class Task:
    """Base class; subclasses set ``name`` and implement :meth:`sample`."""

    name = "task"
    #: number of integers in a length key (2 for binary arithmetic)
    arity = 1

    def sample(self, rng: np.random.Generator, length: Length) -> Example:  # pragma: no cover
        raise NotImplementedError

    def check_length(self, length: Length) -> Length:
        length = tuple(int(v) for v in (length if isinstance(length, Sequence) else (length,)))
        if len(length) == 1 and self.arity > 1:
            length = length * self.arity
        if len(length) != self.arity or min(length) < 1:
            raise ConfigError(f"task {self.name!r} takes lengths of {self.arity} positive integer(s), "
                              f"got {length}")
        return length

    def generate(self, n: int, lengths: Sequence[Length], seed: int,
                 exclude: Iterable[str] = ()) -> list[Example]:
        """``n`` distinct examples spread evenly over ``lengths`` (prompts in
        ``exclude`` skipped); fewer if a bucket runs out of distinct examples."""
        lengths = [self.check_length(le) for le in lengths]
        if not lengths:
            raise ConfigError("need at least one length bucket")
        rng = np.random.default_rng(seed)
        seen = set(exclude)
        out: list[Example] = []
        per = [n // len(lengths) + (i < n % len(lengths)) for i in range(len(lengths))]
        for length, want in zip(lengths, per):
            got, tries = 0, 0
            while got < want and tries < 20 * want + 100:
                tries += 1
                ex = self.sample(rng, length)
                if ex.prompt in seen:
                    continue
                seen.add(ex.prompt)
                out.append(ex)
                got += 1
        order = rng.permutation(len(out))
        return [out[i] for i in order]


def length_range(text: str | Sequence[int] | int) -> list[int]:
    """``"1-8"`` -> [1..8]; ``"3,5"`` -> [3, 5]; ``7`` -> [7]."""
    if isinstance(text, int):
        return [text]
    if not isinstance(text, str):
        return [int(v) for v in text]
    try:
        out = int_ranges(text)
    except ValueError:
        raise ConfigError(f"bad length range {text!r}; use e.g. '1-8' or '3,5,9-12'") from None
    if not out or min(out) < 1:
        raise ConfigError(f"length range {text!r} must name positive lengths")
    return out


def buckets(lengths: Sequence[int], arity: int, square_only: bool = False) -> list[Length]:
    """All length keys over ``lengths`` (a grid for arity 2, the diagonal with ``square_only``)."""
    if arity == 1:
        return [(n,) for n in lengths]
    if square_only:
        return [(n,) * arity for n in lengths]
    import itertools
    return [tuple(t) for t in itertools.product(lengths, repeat=arity)]


@dataclass
class Split:
    train: list[Example]
    test: list[Example]
    train_lengths: list[Length] = field(default_factory=list)
    test_lengths: list[Length] = field(default_factory=list)


def make_split(task: Task, train_lengths: Sequence[Length], test_lengths: Sequence[Length],
               n_train: int, n_test_per_bucket: int, seed: int, disjoint: bool = False) -> Split:
    """Train on ``train_lengths``, test on ``test_lengths``; no test prompt occurs in training.

    With ``disjoint=True`` a test bucket that is also a training bucket is an error."""
    train_lengths = [task.check_length(le) for le in train_lengths]
    test_lengths = [task.check_length(le) for le in test_lengths]
    if disjoint:
        overlap = sorted(set(train_lengths) & set(test_lengths))
        if overlap:
            raise ConfigError(f"test lengths {overlap} overlap the training lengths; this experiment "
                              "needs disjoint ranges (e.g. train 1-8, test 9-16)")
    train = task.generate(n_train, train_lengths, seed)
    seen = {ex.prompt for ex in train}
    test = task.generate(n_test_per_bucket * len(test_lengths), test_lengths, seed + 7919, exclude=seen)
    return Split(train, test, train_lengths, test_lengths)
