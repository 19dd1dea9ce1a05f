"""Symbolic mutation of identities (Wu et al., 2024, "Alchemy: Amplifying Theorem-Proving
Capability through Symbolic Mutation", paper #21, Sec. 3.1).

Alchemy grows a corpus of theorems by rewriting a statement with a known
equality (its ``rw`` mutation: if ``A = B`` is known, every occurrence of an
instance of ``A`` inside a theorem may be replaced by ``B``) and by applying
known facts to it (its ``apply`` mutation). Here theorems are identities
``lhs = rhs`` between SymPy expressions, universally quantified over positive
real symbols, and the mutation operators (registry :data:`MUTATIONS`) are

* ``rw`` — pick a known identity (either direction) as a rewrite rule with
  pattern variables, match it against a sub-expression of one side, replace;
  pattern variables the rule introduces are bound to symbols of the theorem;
* ``inst`` — instantiate a variable with a term (``x -> 2*x``, ``x -> x + y``,
  ...), which keeps a universally quantified identity true;
* ``combine`` — from ``a = b`` and ``c = d`` derive ``a + c = b + d`` or
  ``a·c = b·d`` (an ``apply`` of the congruence rules).

All three are sound, so every mutant is a true identity; :func:`verify_numeric`
checks that *independently* of the construction (both sides evaluated with
mpmath at 40 digits at random points), and :func:`verify_symbolic` tries SymPy's
``simplify``/``equals``.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from mantissa.errors import ConfigError, SpecError
from mantissa.registry import Registry

SYMBOLS = sp.symbols("x y a b", positive=True)
_LOCALS = {s.name: s for s in SYMBOLS}

#: seed identities: trigonometric, hyperbolic, exponential/logarithmic, algebraic
SEED_IDENTITIES = (
    "sin(x)**2 + cos(x)**2 = 1",
    "sin(2*x) = 2*sin(x)*cos(x)",
    "cos(2*x) = cos(x)**2 - sin(x)**2",
    "tan(x) = sin(x)/cos(x)",
    "sin(a + b) = sin(a)*cos(b) + cos(a)*sin(b)",
    "cos(a + b) = cos(a)*cos(b) - sin(a)*sin(b)",
    "cosh(x)**2 - sinh(x)**2 = 1",
    "exp(a + b) = exp(a)*exp(b)",
    "log(a*b) = log(a) + log(b)",
    "(a + b)**2 = a**2 + 2*a*b + b**2",
    "(a - b)*(a + b) = a**2 - b**2",
    "a**3 - b**3 = (a - b)*(a**2 + a*b + b**2)",
)


@dataclass(frozen=True)
class Identity:
    """``lhs = rhs``; ``origin`` records how it was derived (``seed``, ``rw:...``)."""

    lhs: sp.Expr
    rhs: sp.Expr
    origin: str = "seed"

    @classmethod
    def parse(cls, text: str, origin: str = "seed") -> Identity:
        left, eq, right = text.partition("=")
        if not eq or "=" in right or not left.strip() or not right.strip():
            raise SpecError(f"an identity is written 'lhs = rhs' with one '=', got {text!r}")
        try:
            return cls(sp.sympify(left, locals=_LOCALS), sp.sympify(right, locals=_LOCALS), origin)
        except (sp.SympifyError, SyntaxError, TypeError) as exc:
            raise SpecError(f"cannot parse identity {text!r}: {exc}") from exc

    @property
    def key(self) -> str:
        """Canonical text, the same for ``a = b`` and ``b = a``."""
        return " = ".join(sorted((sp.srepr(self.lhs), sp.srepr(self.rhs))))

    @property
    def trivial(self) -> bool:
        return self.lhs == self.rhs or sp.Eq(self.lhs, self.rhs) is sp.true

    def __str__(self) -> str:
        return f"{sp.sstr(self.lhs)} = {sp.sstr(self.rhs)}"


def seed_corpus(texts: Sequence[str] = SEED_IDENTITIES) -> list[Identity]:
    return [Identity.parse(t) for t in texts]


Mutation = Callable[[Identity, Sequence[Identity], random.Random], Identity | None]
MUTATIONS: Registry = Registry("alchemy mutation")


def needs_positive(identity: Identity) -> bool:
    """True when the identity only holds for positive arguments (it uses ``log`` or a
    non-integer power), so a rewrite may only match positive sub-expressions."""
    nodes = [*sp.preorder_traversal(identity.lhs), *sp.preorder_traversal(identity.rhs)]
    return any(isinstance(n, sp.log) or (n.is_Pow and not n.exp.is_integer) for n in nodes)


def _is_positive(e: sp.Expr) -> bool:
    return e.is_positive is True


def _is_real(e: sp.Expr) -> bool:
    return e.is_real is True


@functools.lru_cache(maxsize=1024)
def _as_rule(identity: Identity, flip: bool) -> tuple[sp.Expr, sp.Expr, list[sp.Wild]]:
    """The identity as a rewrite rule ``pattern -> replacement`` over Wilds, which match
    real sub-expressions only (positive ones for :func:`needs_positive` rules)."""
    src, dst = (identity.rhs, identity.lhs) if flip else (identity.lhs, identity.rhs)
    free = sorted(identity.lhs.free_symbols | identity.rhs.free_symbols, key=lambda s: s.name)
    props = [_is_positive] if needs_positive(identity) else [_is_real]
    wilds = {s: sp.Wild(f"w_{s.name}", properties=props) for s in free}
    return src.xreplace(wilds), dst.xreplace(wilds), list(wilds.values())


def _rewrite_with(target: Identity, rule: Identity, flip: bool, rng: random.Random) -> Identity | None:
    pattern, replacement, wilds = _as_rule(rule, flip)
    if pattern.is_Number or pattern.is_Symbol:  # a bare constant/variable matches everywhere
        return None
    symbols = sorted(target.lhs.free_symbols | target.rhs.free_symbols, key=lambda s: s.name) or [SYMBOLS[0]]
    for side in rng.sample(("lhs", "rhs"), 2):
        expr = getattr(target, side)
        subterms = [s for s in sp.preorder_traversal(expr) if s.func == pattern.func]
        rng.shuffle(subterms)
        for sub in subterms:
            match = sub.match(pattern)
            if not match:
                continue
            bind = {w: match.get(w, rng.choice(symbols)) for w in wilds}
            new = expr.xreplace({sub: replacement.xreplace(bind)})
            if new == expr:
                continue
            other = target.rhs if side == "lhs" else target.lhs
            lhs, rhs = (new, other) if side == "lhs" else (other, new)
            return Identity(lhs, rhs, f"rw[{rule}{' (right to left)' if flip else ''}]")
    return None


@MUTATIONS.register("rw")
def rewrite(target: Identity, rules: Sequence[Identity], rng: random.Random) -> Identity | None:
    """Rewrite one matching sub-expression of ``target`` with the first known identity
    (in random order and direction) that matches somewhere."""
    for rule in rng.sample(list(rules), len(rules)):
        for flip in rng.sample((False, True), 2):
            new = _rewrite_with(target, rule, flip, rng)
            if new is not None:
                return new
    return None


_INSTANCES = (lambda s, o: 2 * s, lambda s, o: s + o, lambda s, o: s * o, lambda s, o: s / 2,
              lambda s, o: s**2, lambda s, o: s + 1)


@MUTATIONS.register("inst")
def instantiate(target: Identity, rules: Sequence[Identity], rng: random.Random) -> Identity | None:
    """Substitute a positive term for one variable (a universally quantified identity stays true)."""
    free = sorted(target.lhs.free_symbols | target.rhs.free_symbols, key=lambda s: s.name)
    if not free:
        return None
    var, other = rng.choice(free), rng.choice(SYMBOLS)
    term = rng.choice(_INSTANCES)(var, other)
    sub = {var: term}
    return Identity(target.lhs.xreplace(sub), target.rhs.xreplace(sub), f"inst[{var} -> {term}]")


@MUTATIONS.register("combine")
def combine(target: Identity, rules: Sequence[Identity], rng: random.Random) -> Identity | None:
    """``a = b`` and ``c = d`` give ``a + c = b + d`` or ``a·c = b·d``."""
    other = rng.choice(rules)
    if rng.random() < 0.5:
        return Identity(target.lhs + other.lhs, target.rhs + other.rhs, f"combine[+ {other}]")
    return Identity(target.lhs * other.lhs, target.rhs * other.rhs, f"combine[* {other}]")


def verify_numeric(identity: Identity, points: int = 5, seed: int = 0, digits: int = 30,
                   tol: float = 1e-20) -> bool:
    """Both sides agree to ``tol`` (relative to ``max(1, |lhs|, |rhs|)``) at ``points``
    random positive points in ``[0.1, 2]``, evaluated with mpmath. The working
    precision is ``digits`` plus the decimal size of the largest sub-expression, so
    cancellation (``cosh(t)**2 - sinh(t)**2`` for large ``t``) cannot fake a mismatch.
    A point where a side is not a finite real number is redrawn (up to 20 tries per point)."""
    import mpmath

    rng = random.Random(seed)
    free = sorted(identity.lhs.free_symbols | identity.rhs.free_symbols, key=lambda s: s.name)
    subs = [e for side in (identity.lhs, identity.rhs) for e in sp.preorder_traversal(side) if not e.is_Atom]
    sizes = sp.lambdify(free, subs or [sp.Integer(1)], modules="mpmath")
    sides = sp.lambdify(free, [identity.lhs, identity.rhs], modules="mpmath")
    good = 0
    for _ in range(20 * points):
        vals = [rng.uniform(0.1, 2.0) for _ in free]
        try:
            with mpmath.workdps(digits):
                scale = max((abs(v) for v in sizes(*map(mpmath.mpf, vals)) if mpmath.isfinite(v)), default=1)
            with mpmath.workdps(digits + max(0, int(mpmath.log10(scale + 1))) + 5):
                lhs, rhs = sides(*map(mpmath.mpf, vals))
                if not all(mpmath.isfinite(v) and mpmath.im(v) == 0 for v in (lhs, rhs)):
                    continue
                ok = abs(lhs - rhs) <= tol * max(1, abs(lhs), abs(rhs))
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            continue
        if not ok:
            return False
        good += 1
        if good == points:
            return True
    return False


def verify_symbolic(identity: Identity) -> bool:
    """``simplify(lhs - rhs) == 0`` or ``lhs.equals(rhs)`` (False when SymPy cannot prove it)."""
    diff = identity.lhs - identity.rhs
    if sp.simplify(sp.expand_trig(diff)) == 0:
        return True
    return bool(identity.lhs.equals(identity.rhs))


DEFAULT_OPS = ("rw", "rw", "inst", "combine")  # rw, Alchemy's main mutation, is drawn twice as often


def mutate_corpus(seeds: Sequence[Identity], target_size: int, ops: Sequence[str] = DEFAULT_OPS,
                  seed: int = 0, max_ops: int = 12, max_tries: int | None = None,
                  on_new: Callable[[Identity], None] | None = None) -> list[Identity]:
    """Grow ``seeds`` to ``target_size`` distinct, non-trivial identities by mutating
    random members with the named operators. Mutants larger than ``max_ops``
    operations are dropped (they stay true but become unreadable)."""
    if not seeds:
        raise ConfigError("need at least one seed identity")
    fns = [MUTATIONS.get(o) for o in ops]
    rng = random.Random(seed)
    corpus = list(seeds)
    seen = {s.key for s in corpus}
    tries = 0
    limit = max_tries if max_tries is not None else 200 * target_size
    while len(corpus) < target_size and tries < limit:
        tries += 1
        new = rng.choice(fns)(rng.choice(corpus), seeds, rng)
        if new is None or new.trivial or new.key in seen:
            continue
        if sp.count_ops(new.lhs) + sp.count_ops(new.rhs) > max_ops:
            continue
        seen.add(new.key)
        corpus.append(new)
        if on_new is not None:
            on_new(new)
    return corpus


# --- a bounded rewriting prover (the downstream use of the grown corpus) ----------------------


def _one_step(expr: sp.Expr, library: Sequence[Identity]) -> set[sp.Expr]:
    """Every expression one rewrite away from ``expr``: one sub-expression replaced by the
    other side of a library identity (either direction) whose pattern matches it, with every
    pattern variable of the replacement bound by the match (Lean's ``rw`` with a lemma)."""
    out: set[sp.Expr] = set()
    subterms = list(sp.preorder_traversal(expr))
    for rule in library:
        for flip in (False, True):
            pattern, replacement, wilds = _as_rule(rule, flip)
            if pattern.is_Number or pattern.is_Symbol:
                continue
            needed = replacement.atoms(sp.Wild)
            for sub in subterms:
                if sub.func != pattern.func:
                    continue
                match = sub.match(pattern)
                if not match or not needed <= set(match):
                    continue
                new = expr.xreplace({sub: replacement.xreplace(match)})
                if new != expr:
                    out.add(new)
    return out


def _instance_of(target: Identity, library: Sequence[Identity]) -> bool:
    """``target`` is a library identity with its variables instantiated (Lean's ``exact``)."""
    pair = sp.Tuple(target.lhs, target.rhs)
    for rule in library:
        for flip in (False, True):
            pattern, replacement, _ = _as_rule(rule, flip)
            if pair.match(sp.Tuple(pattern, replacement)) is not None:
                return True
    return False


def prove_by_rewriting(target: Identity, library: Sequence[Identity], depth: int = 1) -> bool:
    """Search for a proof of ``target`` from ``library`` (identities used as lemmas): it is an
    instance of a lemma, or rewriting each side at most ``depth`` times (breadth first) reaches
    a common expression (equality is SymPy's structural equality, no simplification). Sound
    when every lemma is true; incomplete by design — a larger library proves more, which is
    how Alchemy's grown corpus is meant to help a prover (paper #21, Sec. 4)."""
    if target.lhs == target.rhs or _instance_of(target, library):
        return True
    left, right = {target.lhs}, {target.rhs}
    frontier_l, frontier_r = set(left), set(right)
    for _ in range(depth):
        frontier_l = {e for x in frontier_l for e in _one_step(x, library)} - left
        left |= frontier_l
        if left & right:
            return True
        frontier_r = {e for x in frontier_r for e in _one_step(x, library)} - right
        right |= frontier_r
        if left & right:
            return True
    return False
