"""Modular arithmetic: full tables with corrupted labels, and expressions mod p
with or without chain of thought.

* :func:`modular_table` — every pair ``(a, b)`` of ``Z_p``, labels ``a ∘ b mod p``,
  a random ``train_frac`` for training of which a fraction ``corrupt`` gets a
  wrong, uniformly drawn label (Doshi et al., 2023, "To grok or not to grok",
  Sec. 2).
* ``expr`` task — arithmetic expressions over ``Z_p`` with ``n`` operators
  (``+ - *``), fully parenthesised; the chain-of-thought answer rewrites the
  expression one innermost operation at a time until one number is left (Feng
  et al., 2023, "Towards Revealing the Mystery behind Chain of Thought", Sec. 3.3,
  the arithmetic task). Direct: ``(3+5)*2=`` → ``5``; CoT: ``(3+5)*2=`` →
  ``8*2=5`` (mod 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mantissa.errors import ConfigError
from mantissa.tasks.base import TASKS, Example, Length, Task

OPS = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
    "sq_sum": lambda a, b, p: (a * a + b * b) % p,
}


@dataclass
class ModularData:
    p: int
    train_x: torch.Tensor       # (n_train, 2) long
    train_y: torch.Tensor       # labels as trained on (corrupted ones included)
    train_true: torch.Tensor    # the correct labels
    corrupted: torch.Tensor     # (n_train,) bool
    test_x: torch.Tensor
    test_y: torch.Tensor


def modular_table(p: int = 97, op: str = "add", train_frac: float = 0.5, corrupt: float = 0.0,
                  seed: int = 0) -> ModularData:
    if op not in OPS:
        raise ConfigError(f"unknown modular operation {op!r}; use one of {', '.join(OPS)}")
    if not 0 < train_frac < 1 or not 0 <= corrupt < 1:
        raise ConfigError(f"need 0 < train_frac < 1 and 0 <= corrupt < 1, got {train_frac}, {corrupt}")
    g = torch.Generator().manual_seed(seed)
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    x = torch.stack([a.reshape(-1), b.reshape(-1)], 1)
    y = OPS[op](x[:, 0], x[:, 1], p)
    perm = torch.randperm(len(x), generator=g)
    n_train = int(round(train_frac * len(x)))
    tr, te = perm[:n_train], perm[n_train:]
    y_train = y[tr].clone()
    n_bad = int(round(corrupt * n_train))
    bad = torch.zeros(n_train, dtype=torch.bool)
    bad[torch.randperm(n_train, generator=g)[:n_bad]] = True
    shift = torch.randint(1, p, (n_train,), generator=g)  # never the true label
    y_train[bad] = (y_train[bad] + shift[bad]) % p
    return ModularData(p, x[tr], y_train, y[tr], bad, x[te], y[te])


def _tree(rng: np.random.Generator, n_ops: int, p: int, ops: str) -> object:
    if n_ops == 0:
        return int(rng.integers(0, p))
    left = int(rng.integers(0, n_ops))
    op = ops[int(rng.integers(0, len(ops)))]
    return (op, _tree(rng, left, p, ops), _tree(rng, n_ops - 1 - left, p, ops))


def _show(t: object, top: bool = True) -> str:
    if isinstance(t, int):
        return str(t)
    op, left, right = t  # type: ignore[misc]
    s = f"{_show(left, False)}{op}{_show(right, False)}"
    return s if top else f"({s})"


def _apply(op: str, a: int, b: int, p: int) -> int:
    return {"+": a + b, "-": a - b, "*": a * b}[op] % p


def _reduce_once(t: object, p: int) -> tuple[object, bool]:
    """Evaluate the leftmost operation whose operands are both numbers."""
    if isinstance(t, int):
        return t, False
    op, left, right = t  # type: ignore[misc]
    if isinstance(left, int) and isinstance(right, int):
        return _apply(op, left, right, p), True
    new_left, done = _reduce_once(left, p)
    if done:
        return (op, new_left, right), True
    new_right, done = _reduce_once(right, p)
    return (op, left, new_right), done


@TASKS.register("expr")
class Expression(Task):
    """Expressions mod ``p`` with ``length = (n_operators,)``; ``cot=true`` for chain of thought."""

    name = "expr"

    def __init__(self, p: int = 11, cot: bool = False, ops: str = "+-*") -> None:
        if p < 2:
            raise ConfigError(f"expr modulus must be >= 2, got {p}")
        if not ops or set(ops) - set("+-*"):
            raise ConfigError(f"expr ops must be drawn from '+-*', got {ops!r}")
        self.p, self.cot, self.ops = p, cot, ops

    def sample(self, rng: np.random.Generator, length: Length) -> Example:
        (n,) = self.check_length(length)
        tree = t = _tree(rng, n, self.p, self.ops)
        steps = []
        while not isinstance(t, int):
            t, _ = _reduce_once(t, self.p)
            steps.append(_show(t))
        answer = "=".join(steps) if self.cot else steps[-1]
        return Example(_show(tree) + "=", answer, (n,), (), self.name)

    def table(self) -> list[Example]:
        """Every one-operator expression ``a∘b=`` (the operation table, ``p² · len(ops)``
        examples); direct and chain-of-thought answers coincide here."""
        return [Example(f"{a}{op}{b}=", str(_apply(op, a, b, self.p)), (1,), (), self.name)
                for op in self.ops for a in range(self.p) for b in range(self.p)]


def evaluate_expression(text: str, p: int) -> int:
    """Value of a fully parenthesised expression mod ``p`` (an independent check)."""
    if set(text) - set("0123456789+-*() "):
        raise ConfigError(f"not an arithmetic expression: {text!r}")
    return int(eval(text, {"__builtins__": {}}, {})) % p  # noqa: S307 - characters checked above
