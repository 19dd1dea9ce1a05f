"""Symbolic pairs: prefix tokens, float64 evaluation and properties against independent references."""

import math

import numpy as np
import pytest
import sympy as sp

from mantissa.errors import ConfigError
from mantissa.tasks.symbolic import (
    PROPERTIES,
    STATISTICS,
    TOKEN_ID,
    VOCAB,
    X,
    evaluate,
    make_pairs,
    prefix_tokens,
    properties,
    random_expression,
    value_statistics,
)


def _parse_prefix(tokens):
    """Independent reader of the prefix notation (a tiny stack machine)."""
    pos = 0

    def rd():
        nonlocal pos
        t = tokens[pos]
        pos += 1
        if t == "x":
            return X
        if t in ("INT+", "INT-"):
            start = pos
            while pos < len(tokens) and tokens[pos].isdigit():
                pos += 1
            v = int("".join(tokens[start:pos]))
            return sp.Integer(v if t == "INT+" else -v)
        if t in ("add", "mul", "pow", "div"):
            a, b = rd(), rd()
            return {"add": lambda: a + b, "mul": lambda: a * b, "pow": lambda: a**b,
                    "div": lambda: sp.Rational(a, b)}[t]()
        return {"sin": sp.sin, "cos": sp.cos, "exp": sp.exp}[t](rd())

    out = rd()
    assert pos == len(tokens)
    return out


def test_prefix_tokens_hand_computed():
    assert prefix_tokens(X**2 + 3) == ["add", "INT+", "3", "pow", "x", "INT+", "2"]
    assert prefix_tokens(sp.sin(2 * X)) == ["sin", "mul", "INT+", "2", "x"]
    assert prefix_tokens(-12 * X) == ["mul", "INT-", "1", "2", "x"]
    assert prefix_tokens(X / 2) == ["mul", "div", "INT+", "1", "INT+", "2", "x"]
    assert prefix_tokens(sp.exp(X - X + 1) * X) == ["mul", "exp", "INT+", "1", "x"]


def test_prefix_round_trip_on_random_expressions():
    rng = np.random.default_rng(0)
    for _ in range(200):
        e = random_expression(rng)
        try:
            toks = prefix_tokens(e)
        except ConfigError:
            continue
        assert all(t in TOKEN_ID for t in toks)
        assert sp.simplify(_parse_prefix(toks) - e) == 0


def test_evaluate_matches_lambdify():
    rng = np.random.default_rng(1)
    xs = np.linspace(-2, 2, 17)
    for _ in range(100):
        e = random_expression(rng)
        with np.errstate(all="ignore"):
            ref = np.broadcast_to(sp.lambdify(X, e, "numpy")(xs), xs.shape)
        got = evaluate(e, xs)
        ok = np.isfinite(ref)
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-12, atol=1e-12)


def test_properties_hand_cases():
    xs = np.linspace(-2, 2, 32)
    cases = {
        sp.cos(X) + X**2: {"even": True, "has_trig": True, "has_exp": False, "polynomial": False,
                          "monotone": False},
        X**3 + X: {"even": False, "has_trig": False, "has_exp": False, "polynomial": True, "monotone": True},
        sp.exp(X**2): {"even": True, "has_trig": False, "has_exp": True, "polynomial": False,
                       "monotone": False},
        sp.exp(X) - 3: {"even": False, "has_trig": False, "has_exp": True, "polynomial": False,
                        "monotone": True},
    }
    for e, want in cases.items():
        assert properties(e, evaluate(e, xs)) == want, e


def test_value_statistics_hand_computed():
    y = np.array([[0.0, 1.0, 0.0, 1.0]])
    s = dict(zip(STATISTICS, value_statistics(y)[0]))
    assert s["mean"] == 0.5 and s["std"] == pytest.approx(0.5) and s["min"] == 0 and s["max"] == 1
    assert s["upwardness"] == pytest.approx(2 / 3)
    assert s["oscillation"] == 2  # up, down, up: two changes of direction
    assert s["zero_crossings"] == 3
    assert s["mean_abs_diff"] == 1.0
    assert value_statistics(np.zeros((3, 5))).shape == (3, len(STATISTICS))


def test_make_pairs_distinct_finite_and_consistent():
    p = make_pairs(60, seed=3, points=16)
    assert len(p) == 60 and len({str(e) for e in p.exprs}) == 60
    assert p.tokens.shape == (60, 48) and p.y.shape == (60, 16) and p.props.shape == (60, len(PROPERTIES))
    assert np.isfinite(p.y).all()
    for e, row, y in zip(p.exprs, p.tokens, p.y):
        n = int((row > 0).sum())
        assert [VOCAB[i] for i in row[1:n]] == prefix_tokens(e) and row[0] == TOKEN_ID["<cls>"]
        np.testing.assert_allclose(y, evaluate(e, p.x))
    q = make_pairs(20, seed=4, points=16, exclude={str(e) for e in p.exprs})
    assert not {str(e) for e in q.exprs} & {str(e) for e in p.exprs}
    again = make_pairs(60, seed=3, points=16)
    assert [str(e) for e in again.exprs] == [str(e) for e in p.exprs]


def test_bad_arguments():
    with pytest.raises(ConfigError):
        random_expression(np.random.default_rng(0), max_ops=0)
    with pytest.raises(ConfigError):
        prefix_tokens(sp.log(X))
    assert math.isfinite(float(evaluate(sp.Integer(3), np.zeros(2))[0]))
