"""Symbolic-numeric pairs: random univariate SymPy expressions, their prefix tokens,
sampled values and exactly computed properties (the data of SNIP, paper #4).

Meidani, Shojaee, Reddy, Barati Farimani, 2024, "SNIP: Bridging Mathematical
Symbolic and Numeric Realms with Unified Pre-training" (ICLR), Sec. 3: each
pretraining pair is an expression ``f`` in prefix notation and points
``(x_i, f(x_i))``; the generator follows Lample & Charton (2020) in spirit
(random operator trees over ``x`` and small integers, SymPy's automatic
canonicalisation, non-finite or huge samples rejected).

* :func:`random_expression` draws a tree with ``1..max_ops`` operators from
  ``add, sub, mul`` and ``sin, cos, exp, sq, cube`` (``exp`` only of small
  arguments), leaves ``x`` or an integer ``1..max_int`` times ``x``;
* :func:`prefix_tokens` writes any SymPy expression of those parts in prefix
  notation (n-ary ``Add``/``Mul`` as binary chains; integers as
  ``INT+``/``INT-`` and their digits; rationals as ``div p q``);
* :func:`evaluate` evaluates the SymPy tree in float64 NumPy (no ``lambdify``:
  the tree walk is exact to float64 and fast);
* :func:`properties` — five binary properties, each computed exactly from the
  expression or its float64 values: ``even`` (``f(-x) = f(x)`` at 64 points of
  ``[-3, 3]`` to 1e-9 relative), ``has_trig`` (a ``sin``/``cos`` node),
  ``has_exp``, ``polynomial`` (SymPy's ``is_polynomial``) and ``monotone``
  (the sampled values never change direction);
* :func:`value_statistics` — the hand-made summary of sampled values used as a
  baseline feature vector (moments, quantiles, upwardness, oscillation, ...).

:func:`make_pairs` bundles everything for ``n`` distinct expressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from mantissa.errors import ConfigError

X = sp.Symbol("x", real=True)
UNARY = ("sin", "cos", "exp", "sq", "cube")
BINARY = ("add", "sub", "mul")
#: token vocabulary: 0 = pad, 1 = cls
VOCAB = ("<pad>", "<cls>", "add", "mul", "pow", "div", "sin", "cos", "exp", "x", "INT+", "INT-",
         *"0123456789")
TOKEN_ID = {t: i for i, t in enumerate(VOCAB)}
PROPERTIES = ("even", "has_trig", "has_exp", "polynomial", "monotone")
STATISTICS = ("mean", "std", "min", "max", "q10", "q25", "q50", "q75", "q90", "skew", "kurtosis",
              "mean_abs_diff", "upwardness", "oscillation", "convex_fraction", "zero_crossings",
              "autocorr1", "range_over_std")
_FUNCS = {"sin": sp.sin, "cos": sp.cos, "exp": sp.exp}


def _leaf(rng: np.random.Generator, max_int: int) -> sp.Expr:
    c = int(rng.integers(1, max_int + 1)) if rng.random() < 0.3 else 1
    return c * X


def _tree(rng: np.random.Generator, n_ops: int, max_int: int) -> sp.Expr:
    if n_ops == 0:
        return _leaf(rng, max_int)
    if rng.random() < 0.45:
        op = UNARY[int(rng.integers(len(UNARY)))]
        arg = _tree(rng, n_ops - 1, max_int)
        if op == "sq":
            return arg**2
        if op == "cube":
            return arg**3
        return _FUNCS[op](arg)
    left = int(rng.integers(0, n_ops))
    a, b = _tree(rng, left, max_int), _tree(rng, n_ops - 1 - left, max_int)
    op = BINARY[int(rng.integers(len(BINARY)))]
    if rng.random() < 0.3:  # an integer constant in place of one operand
        b = sp.Integer(int(rng.integers(1, max_int + 1)))
    return a + b if op == "add" else a - b if op == "sub" else a * b


def random_expression(rng: np.random.Generator, max_ops: int = 5, max_int: int = 5) -> sp.Expr:
    """A random expression in ``x`` with ``1..max_ops`` operators (SymPy-canonicalised)."""
    if max_ops < 1 or max_int < 1:
        raise ConfigError(f"need max_ops >= 1 and max_int >= 1, got {max_ops}, {max_int}")
    return _tree(rng, int(rng.integers(1, max_ops + 1)), max_int)


def _int_tokens(n: int) -> list[str]:
    return ["INT+" if n >= 0 else "INT-", *str(abs(n))]


def prefix_tokens(expr: sp.Expr) -> list[str]:
    """Prefix (Polish) notation of ``expr``; raises ``ConfigError`` on parts outside :data:`VOCAB`."""
    if expr == X:
        return ["x"]
    if isinstance(expr, sp.Integer):
        return _int_tokens(int(expr))
    if expr == sp.E:
        return ["exp", "INT+", "1"]
    if isinstance(expr, sp.Rational):
        return ["div", *_int_tokens(int(expr.p)), *_int_tokens(int(expr.q))]
    if isinstance(expr, (sp.Add, sp.Mul)):
        name = "add" if isinstance(expr, sp.Add) else "mul"
        args = [prefix_tokens(a) for a in expr.args]
        return [name] * (len(args) - 1) + [t for a in args for t in a]
    if isinstance(expr, sp.Pow):
        return ["pow", *prefix_tokens(expr.base), *prefix_tokens(expr.exp)]
    if isinstance(expr, (sp.sin, sp.cos, sp.exp)):
        return [type(expr).__name__, *prefix_tokens(expr.args[0])]
    raise ConfigError(f"cannot tokenize {expr!r} ({type(expr).__name__}); parts: {', '.join(VOCAB[2:12])}")


def encode_tokens(tokens: list[str], max_len: int) -> list[int]:
    """``<cls>`` + token ids, truncated to ``max_len``."""
    return [TOKEN_ID["<cls>"], *(TOKEN_ID[t] for t in tokens)][:max_len]


def evaluate(expr: sp.Expr, x: np.ndarray) -> np.ndarray:
    """``expr`` at ``x`` in float64 by a walk over the SymPy tree."""
    x = np.asarray(x, dtype=np.float64)
    if expr == X:
        return x
    if expr.is_number:  # integers, rationals, E, exp(2), ...
        return np.full_like(x, float(expr))
    args = [evaluate(a, x) for a in expr.args]
    with np.errstate(all="ignore"):
        if isinstance(expr, sp.Add):
            return np.sum(args, axis=0)
        if isinstance(expr, sp.Mul):
            return np.prod(args, axis=0)
        if isinstance(expr, sp.Pow):
            return np.power(args[0], args[1])
        if isinstance(expr, (sp.sin, sp.cos, sp.exp)):
            return getattr(np, type(expr).__name__)(args[0])
    raise ConfigError(f"cannot evaluate {type(expr).__name__}")


_CHECK_X = np.linspace(-3.0, 3.0, 64)


def properties(expr: sp.Expr, y: np.ndarray) -> dict[str, bool]:
    """The five binary :data:`PROPERTIES` of ``expr`` (``y``: its values on an increasing grid)."""
    a, b = evaluate(expr, _CHECK_X), evaluate(expr, -_CHECK_X)
    with np.errstate(all="ignore"):
        even = bool(np.all(np.abs(a - b) <= 1e-9 * (1.0 + np.abs(a))))
    d = np.diff(y)
    return {"even": even, "has_trig": bool(expr.has(sp.sin, sp.cos)), "has_exp": bool(expr.has(sp.exp)),
            "polynomial": bool(expr.is_polynomial(X)),
            "monotone": bool(np.all(d >= -1e-12) or np.all(d <= 1e-12))}


def value_statistics(y: np.ndarray) -> np.ndarray:
    """Hand-made statistics :data:`STATISTICS` of rows of values ``(n, points)`` -> ``(n, 18)``."""
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    mu, sd = y.mean(1), y.std(1) + 1e-12
    z = (y - mu[:, None]) / sd[:, None]
    q = np.quantile(y, [0.1, 0.25, 0.5, 0.75, 0.9], axis=1)
    d, d2 = np.diff(y, axis=1), np.diff(y, n=2, axis=1)
    sign_change = (np.sign(d[:, 1:]) * np.sign(d[:, :-1]) < 0).sum(1)
    cross = (np.sign(z[:, 1:]) * np.sign(z[:, :-1]) < 0).sum(1)
    cols = [mu, sd, y.min(1), y.max(1), *q, (z**3).mean(1), (z**4).mean(1), np.abs(d).mean(1),
            (d > 0).mean(1), sign_change, (d2 > 0).mean(1), cross, (z[:, 1:] * z[:, :-1]).mean(1),
            (y.max(1) - y.min(1)) / sd]
    return np.stack(cols, axis=1)


@dataclass
class Pairs:
    """``n`` distinct expressions with tokens, sampled values and properties."""

    exprs: list[sp.Expr]
    tokens: np.ndarray  # (n, max_len) int64, 0-padded
    x: np.ndarray  # (points,)
    y: np.ndarray  # (n, points) float64
    props: np.ndarray  # (n, len(PROPERTIES)) bool

    def __len__(self) -> int:
        return len(self.exprs)


def make_pairs(n: int, seed: int, points: int = 32, x_range: float = 2.0, max_ops: int = 5,
               max_int: int = 5, max_len: int = 48, max_abs: float = 1e4,
               exclude: set[str] | None = None) -> Pairs:
    """``n`` distinct (by ``str``) expressions with finite values ``|y| <= max_abs`` on the grid
    ``linspace(-x_range, x_range, points)``; expressions in ``exclude`` (their ``str``) skipped."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(-x_range, x_range, points)
    seen = set(exclude or ())
    exprs, toks, ys, props = [], [], [], []
    tries = 0
    while len(exprs) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise ConfigError(f"could only draw {len(exprs)} distinct expressions of {n}")
        e = random_expression(rng, max_ops, max_int)
        key = str(e)
        if key in seen or not e.has(X):
            continue
        try:
            t = prefix_tokens(e)
        except ConfigError:
            continue
        if len(t) + 1 > max_len:
            continue
        y = evaluate(e, xs)
        if not np.all(np.isfinite(y)) or np.abs(y).max() > max_abs or np.ptp(y) < 1e-9:
            continue
        seen.add(key)
        exprs.append(e)
        ids = encode_tokens(t, max_len)
        toks.append(ids + [0] * (max_len - len(ids)))
        ys.append(y)
        p = properties(e, y)
        props.append([p[k] for k in PROPERTIES])
    return Pairs(exprs, np.array(toks, dtype=np.int64), xs, np.array(ys), np.array(props, dtype=bool))
