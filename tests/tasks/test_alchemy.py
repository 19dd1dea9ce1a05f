"""Alchemy mutations: every mutant of the sound operators is a true identity (checked
independently by high-precision evaluation), and the check rejects false ones."""

import random

import pytest
import sympy as sp

from mantissa.errors import ConfigError, SpecError
from mantissa.tasks.alchemy import (
    MUTATIONS,
    Identity,
    mutate_corpus,
    needs_positive,
    rewrite,
    seed_corpus,
    verify_numeric,
    verify_symbolic,
)


def test_seeds_are_true():
    for s in seed_corpus():
        assert verify_numeric(s), s
        assert verify_symbolic(s), s


def test_mutants_are_distinct_and_true():
    seeds = seed_corpus()
    corpus = mutate_corpus(seeds, 60, seed=3)
    assert len(corpus) == 60 and len({c.key for c in corpus}) == 60
    assert corpus[:len(seeds)] == seeds
    assert {c.origin.split("[")[0] for c in corpus[len(seeds):]} == {"rw", "inst", "combine"}
    assert all(verify_numeric(c, seed=i) for i, c in enumerate(corpus))
    assert mutate_corpus(seeds, 30, seed=3) == corpus[:30]  # deterministic given the seed


def test_numeric_check_rejects_false_identities():
    assert not verify_numeric(Identity.parse("sin(x) = cos(x)"))
    assert not verify_numeric(Identity.parse("sin(x)**2 + cos(x)**2 = 1 + 1e-15"))
    # huge cancellation: must pass when true and fail when off by one
    assert verify_numeric(Identity.parse("cosh(16*x**4)**2 - sinh(16*x**4)**2 = 1"))
    assert not verify_numeric(Identity.parse("cosh(16*x**4)**2 - sinh(16*x**4)**2 = 2"))
    assert not verify_symbolic(Identity.parse("sin(x) = cos(x)"))


def test_unsound_rule_is_caught():
    bogus = [Identity.parse("sin(x) = cos(x)")]
    rng = random.Random(0)
    mutant = rewrite(Identity.parse("sin(2*x) = 2*sin(x)*cos(x)"), bogus, rng)
    assert mutant is not None and not verify_numeric(mutant)


def test_positivity_guard():
    log_rule = Identity.parse("log(a*b) = log(a) + log(b)")
    assert needs_positive(log_rule) and not needs_positive(Identity.parse("tan(x) = sin(x)/cos(x)"))
    # log(a*b) must not be split when a factor can be negative
    target = Identity(sp.log(-sp.sin(sp.Symbol("x", positive=True)) * 2), sp.log(2) + sp.log(-sp.sin(
        sp.Symbol("x", positive=True))), "test")
    assert rewrite(target, [log_rule], random.Random(0)) is None


def test_bad_input():
    with pytest.raises(SpecError, match="lhs = rhs"):
        Identity.parse("sin(x)")
    with pytest.raises(SpecError, match="cannot parse"):
        Identity.parse("sin(( = 1")
    with pytest.raises(ConfigError, match="seed identity"):
        mutate_corpus([], 10)
    assert set(MUTATIONS.list()) == {"rw", "inst", "combine"}


def test_prover_proves_instances_and_one_rewrite_away_and_nothing_false():
    from mantissa.tasks.alchemy import prove_by_rewriting

    seeds = seed_corpus()
    # an instance of a seed (x -> 2*x)
    assert prove_by_rewriting(Identity.parse("sin(2*x)**2 + cos(2*x)**2 = 1"), seeds, depth=0)
    # tan(x) rewritten inside the double-angle identity: needs one rewrite per side
    target = Identity.parse("sin(2*x)*cos(x) = 2*sin(x)*cos(x)**2")
    assert not prove_by_rewriting(target, seeds, depth=0)
    assert prove_by_rewriting(target, seeds, depth=1)
    # false identities are never proved (the lemmas are true)
    assert not prove_by_rewriting(Identity.parse("sin(2*x) = 2*sin(x)*cos(x) + 1"), seeds, depth=1)
    assert not prove_by_rewriting(Identity.parse("sin(x) = cos(x)"), seeds, depth=1)


def test_a_larger_library_proves_at_least_as_much():
    from mantissa.tasks.alchemy import prove_by_rewriting

    seeds = seed_corpus()
    grown = mutate_corpus(seeds, 40, seed=5)
    held = [c for c in mutate_corpus(seeds, 30, seed=6)[len(seeds):] if c.key not in {g.key for g in grown}]
    for h in held[:8]:
        assert prove_by_rewriting(h, grown) >= prove_by_rewriting(h, seeds)
