"""Integer arithmetic tasks: addition, subtraction, multiplication.

``length = (len(a), len(b))`` in digits; operands are uniform among numbers
with exactly that many digits. Examples are tagged ``carry<k>`` with the
longest carry chain of an addition (long chains are the hard cases).
"""

from __future__ import annotations

import numpy as np

from mantissa.tasks.base import TASKS, Example, Length, Task
from mantissa.tasks.encodings import ENCODINGS


def random_number(rng: np.random.Generator, digits: int) -> int:
    """A uniform integer with exactly ``digits`` digits (0-9 for one digit)."""
    if digits == 1:
        return int(rng.integers(0, 10))
    lo = 10 ** (digits - 1)
    # numpy integers overflow past 18 digits: draw digit by digit
    first = int(rng.integers(1, 10))
    rest = "".join(str(d) for d in rng.integers(0, 10, size=digits - 1))
    return int(str(first) + rest) if digits > 18 else int(rng.integers(lo, 10 * lo))


def carry_chain(a: int, b: int) -> int:
    """Length of the longest run of consecutive carries in ``a + b``."""
    best = run = carry = 0
    while a or b:
        s = a % 10 + b % 10 + carry
        carry = s // 10
        run = run + 1 if carry else 0
        best = max(best, run)
        a, b = a // 10, b // 10
    return best


class Arithmetic(Task):
    arity = 2
    op = "+"

    def __init__(self, format: str = "plain") -> None:
        self.format_spec = format
        self.fmt = ENCODINGS.build(format)

    def compute(self, a: int, b: int) -> int:  # pragma: no cover
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        la, lb = self.check_length(length)
        a, b = random_number(rng, la), random_number(rng, lb)
        return self.render(a, b, rng, (la, lb))

    def render(self, a: int, b: int, rng: np.random.Generator, length: Length | None = None) -> Example:
        c = self.compute(a, b)
        prompt, answer = self.fmt(str(a), str(b), self.op, str(c), rng)
        tags = (f"carry{carry_chain(a, b)}",) if self.op == "+" else ()
        return Example(prompt, answer, length or (len(str(a)), len(str(b))), tags, self.name)


@TASKS.register("add")
class Addition(Arithmetic):
    name, op = "add", "+"

    def compute(self, a: int, b: int) -> int:
        return a + b


@TASKS.register("sub")
class Subtraction(Arithmetic):
    name, op = "sub", "-"

    def compute(self, a: int, b: int) -> int:
        return a - b


@TASKS.register("mul")
class Multiplication(Arithmetic):
    name, op = "mul", "*"

    def compute(self, a: int, b: int) -> int:
        return a * b
