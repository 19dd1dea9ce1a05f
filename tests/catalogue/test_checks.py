"""Declared rules: ``Gate``/``Claim`` judged on metrics, validated when declared and registered."""

import math

import pytest

from mantissa.catalogue.checks import Check, Claim, Gate
from mantissa.experiments import EXPERIMENTS, Experiment, NaNMetrics, Verdict, register


class Declared(Experiment):
    id, title, claim, paper_figure = "declared-test", "t", "c", "f"
    thresholds = {"min_acc": 0.9, "min_gain": 0.0}
    rules = (
        Gate("model learned", "acc >= min_acc"),
        Claim("ours minus baseline", "gain > min_gain", paper=1.5),
        Claim("error below a fixed number", "err < 0.25"),
    )


def test_rules_make_the_checks_in_order_with_kind_bar_and_paper_value():
    checks = Declared().checks({"acc": 0.95, "gain": 0.0, "err": 0.1})
    assert [c.kind for c in checks] == ["gate", "claim", "claim"]
    assert checks[0] == Check("model learned", 0.95, ">=", 0.9, "gate", None, "acc")
    assert checks[1].paper_value == 1.5 and not checks[1].passed  # a tie fails a strict op
    assert checks[2].threshold == 0.25 and checks[2].passed
    assert Declared().verdict({"acc": 0.95, "gain": 1.0, "err": 0.1}) is Verdict.REPRODUCED
    assert Declared().verdict({"acc": 0.5, "gain": 1.0, "err": 0.1}) is Verdict.INCONCLUSIVE


def test_a_missing_metric_fails_and_nan_metrics_list_every_rule():
    assert math.isnan(Declared().checks({})[1].value)
    assert not any(c.passed for c in Declared().checks(NaNMetrics()))


@pytest.mark.parametrize("test", ["acc >= ", "acc => 0.9", "acc >= 0.9 extra", ""])
def test_a_malformed_test_is_refused_when_declared(test):
    with pytest.raises(ValueError, match="is not 'metric op threshold'"):
        Gate("bad", test)


def test_a_rule_naming_an_undeclared_threshold_is_refused_at_register():
    class Bad(Declared):
        id = "bad-rule-test"
        rules = (Claim("gain", "gain > min_gian"),)

    with pytest.raises(TypeError, match="min_gian"):
        register(Bad)
    assert "bad-rule-test" not in EXPERIMENTS


def test_an_experiment_without_rules_or_checks_says_so():
    class Empty(Experiment):
        id, title, claim, paper_figure = "empty-test", "t", "c", "f"

    with pytest.raises(NotImplementedError, match="declares no rules"):
        Empty().checks({})
