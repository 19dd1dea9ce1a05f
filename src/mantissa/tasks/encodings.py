"""Data encodings (formats of the text) for binary arithmetic ``a ∘ b = c``: the subject of several papers.

A format turns digit strings into ``(prompt, answer)`` text. The digit order is
stated in the data itself: ``=`` ends a prompt whose answer is written most
significant digit first, ``=<`` one whose answer is reversed (least
significant digit first); a prompt starting with ``<`` has reversed operands.

* ``plain`` — ``123+45=`` → ``168``.
* ``reverse`` — ``123+45=<`` → ``861`` (Lee et al., 2023, "Teaching Arithmetic
  to Small Transformers", Sec. 4: reversed output).
* ``reverse_all`` — ``<321+54=<`` → ``861`` (operands and output LSB first;
  the usual setting of length-generalization work, e.g. abacus).
* ``scratch_simple`` / ``scratch_detailed`` — Lee et al. Sec. 5: per digit the
  partial sum and carry (``A->8,C->0;``), the detailed one also the operand
  digits (``3+5+0=8,A->8,C->0;``), then ``|`` and the result.
* ``zero_pad`` — operands padded with zeros to ``width`` and the answer to its
  maximum length (Shen et al., 2023, "Positional Description Matters", Sec. 4).
* ``random_space`` — spaces inserted at random between operand characters with
  probability ``p`` (Shen et al., 2023, Sec. 4: breaks reliance on absolute position).
* ``index_hints`` — every digit preceded by a letter naming its place value,
  letters taken from a random contiguous window of ``a-z`` (Zhou et al., 2024,
  "What Algorithms can Transformers Learn?", Sec. 5); output reversed.
"""

from __future__ import annotations

import string

import numpy as np

from mantissa.errors import ConfigError
from mantissa.registry import Registry

ENCODINGS: Registry = Registry("data encoding")


class Encoding:
    name = "format"

    def __call__(self, a: str, b: str, op: str, c: str, rng: np.random.Generator) -> tuple[str, str]:
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"<encoding {self.name}>"


def _rev_number(c: str) -> str:
    return ("-" + c[1:][::-1]) if c.startswith("-") else c[::-1]


@ENCODINGS.register("plain")
class Plain(Encoding):
    name = "plain"

    def __call__(self, a, b, op, c, rng):
        return f"{a}{op}{b}=", c


@ENCODINGS.register("reverse")
class Reverse(Encoding):
    name = "reverse"

    def __call__(self, a, b, op, c, rng):
        return f"{a}{op}{b}=<", _rev_number(c)


@ENCODINGS.register("reverse_all")
class ReverseAll(Encoding):
    name = "reverse_all"

    def __call__(self, a, b, op, c, rng):
        return f"<{a[::-1]}{op}{b[::-1]}=<", _rev_number(c)


def _addition_steps(a: str, b: str) -> list[tuple[int, int, int, int, int]]:
    """(digit of a, digit of b, carry in, sum digit, carry out), LSB first."""
    n = max(len(a), len(b))
    da, db = a.zfill(n)[::-1], b.zfill(n)[::-1]
    carry, steps = 0, []
    for x, y in zip(da, db):
        s = int(x) + int(y) + carry
        steps.append((int(x), int(y), carry, s % 10, s // 10))
        carry = s // 10
    return steps


@ENCODINGS.register("scratch_simple")
class ScratchSimple(Encoding):
    name = "scratch_simple"

    def __call__(self, a, b, op, c, rng):
        if op != "+":
            raise ConfigError("scratchpad formats are defined for addition only")
        pad = "".join(f"A->{s},C->{co};" for _, _, _, s, co in _addition_steps(a, b))
        return f"{a}{op}{b}=", f"{pad}|{c}"


@ENCODINGS.register("scratch_detailed")
class ScratchDetailed(Encoding):
    name = "scratch_detailed"

    def __call__(self, a, b, op, c, rng):
        if op != "+":
            raise ConfigError("scratchpad formats are defined for addition only")
        pad = "".join(f"{x}+{y}+{ci}={x + y + ci},A->{s},C->{co};"
                      for x, y, ci, s, co in _addition_steps(a, b))
        return f"{a}{op}{b}=", f"{pad}|{c}"


@ENCODINGS.register("zero_pad")
class ZeroPad(Encoding):
    name = "zero_pad"

    def __init__(self, width: int = 10, reverse: bool = False) -> None:
        if width < 1:
            raise ConfigError(f"zero_pad width must be >= 1, got {width}")
        self.width, self.reverse = width, reverse

    def __call__(self, a, b, op, c, rng):
        if max(len(a), len(b)) > self.width:
            raise ConfigError(f"operand longer than zero_pad width={self.width}")
        out_w = 2 * self.width if op == "*" else self.width + 1
        neg = c.startswith("-")
        body = c.lstrip("-").zfill(out_w)
        ans = body[::-1] if self.reverse else body
        return f"{a.zfill(self.width)}{op}{b.zfill(self.width)}=" + ("<" if self.reverse else ""), (
            "-" if neg else "") + ans


@ENCODINGS.register("random_space")
class RandomSpace(Encoding):
    name = "random_space"

    def __init__(self, p: float = 0.3, reverse: bool = True) -> None:
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"random_space p must be in [0, 1), got {p}")
        self.p, self.reverse = p, reverse

    def _spaced(self, s: str, rng: np.random.Generator) -> str:
        out = []
        for ch in s:
            while rng.random() < self.p:
                out.append(" ")
            out.append(ch)
        return "".join(out)

    def __call__(self, a, b, op, c, rng):
        prompt = self._spaced(a, rng) + op + self._spaced(b, rng) + "="
        return (prompt + "<", _rev_number(c)) if self.reverse else (prompt, c)


@ENCODINGS.register("index_hints")
class IndexHints(Encoding):
    name = "index_hints"

    def __init__(self, random_offset: bool = True) -> None:
        self.random_offset = random_offset

    def __call__(self, a, b, op, c, rng):
        body = c.lstrip("-")
        n = max(len(a), len(b), len(body))
        letters = string.ascii_lowercase
        if n > len(letters):
            raise ConfigError(f"index_hints supports numbers of at most {len(letters)} digits")
        off = int(rng.integers(0, len(letters) - n + 1)) if self.random_offset else 0

        def hinted(s: str) -> str:  # place value i gets letters[off + i]
            return "".join(letters[off + len(s) - 1 - i] + ch for i, ch in enumerate(s))
        ans = "".join(letters[off + i] + ch for i, ch in enumerate(body[::-1]))
        return f"{hinted(a)}{op}{hinted(b)}=<", ("-" if c.startswith("-") else "") + ans
