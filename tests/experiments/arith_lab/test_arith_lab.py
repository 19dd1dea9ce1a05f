"""The arithmetic-lab experiments' checks can fail: gates apart from claims, strict margins."""

import pytest

from mantissa.experiments import EXPERIMENTS, NaNMetrics, Verdict, inconclusive_reason, judge, load_all

load_all()

#: per experiment: metrics that pass every gate, metrics that pass / fail every claim
CASES = {
    "teaching-arith": ({"reverse_acc": 100.0},
                       {"reverse_minus_plain_mean": 21.7, "reverse_rise": 100.0},
                       {"reverse_minus_plain_mean": 10.0, "reverse_rise": 40.0}),
    "positional-description": ({"min_id": 95.0},
                               {"trick_n_plus_2": 60.0, "usual_n_plus_2": 0.0},
                               {"trick_n_plus_2": 0.0, "usual_n_plus_2": 40.0}),
    "dissect-mult": ({"improved_acc": 99.0},
                     {"gain": 30.0, "edge_minus_middle_auc": 40.0},
                     {"gain": 10.0, "edge_minus_middle_auc": 5.0}),
    "pe-length-gen": ({"add_min_id_nope_ape": 95.0, "reverse_min_id_nope_ape": 99.0},
                      {"add_nope_minus_ape_ood": 20.0, "reverse_nope_minus_ape_ood": 30.0},
                      {"add_nope_minus_ape_ood": 0.0, "reverse_nope_minus_ape_ood": 5.0}),
    "rasp-l": ({"min_id": 95.0}, {"gain_ood": 40.0}, {"gain_ood": 10.0}),
    "task-hinting": ({"min_id": 98.7}, {"gain_ood": 30.0}, {"gain_ood": -22.0}),
    "cot-theory": ({"min_table": 99.0},
                   {"cot_deepest": 99.0, "cot_minus_direct": 35.0},
                   {"cot_deepest": 10.0, "cot_minus_direct": 20.0}),
    "structural-recursion": ({"typical_acc_worst_seed": 100.0}, {"typical_minus_edge_lcb": 60.0},
                             {"typical_minus_edge_lcb": 10.0}),
    "grok-corrupted": ({"weak_clean_train": 100.0, "strong_clean_train": 95.0},
                       {"weak_test": 97.0, "weak_corrupted_memorized": 100.0, "prune_drop_corrupted": 65.0,
                        "test_loss_from_pruning": -0.9, "wd_drop_corrupted": 98.0, "strong_test": 99.0},
                       {"weak_test": 50.0, "weak_corrupted_memorized": 30.0, "prune_drop_corrupted": 20.0,
                        "test_loss_from_pruning": 2.0, "wd_drop_corrupted": 20.0, "strong_test": 60.0}),
}


def checks(exp_id, *parts):
    metrics = {k: v for part in parts for k, v in part.items()}
    return EXPERIMENTS.get(exp_id)().checks(metrics)


@pytest.mark.parametrize("exp_id", sorted(CASES))
def test_gates_and_claims_decide_apart(exp_id):
    gates, good, bad = CASES[exp_id]
    assert judge(checks(exp_id, gates, good), "quick") is Verdict.REPRODUCED
    assert judge(checks(exp_id, gates, bad), "quick") is Verdict.NOT_REPRODUCED  # ties and margins fail


@pytest.mark.parametrize("exp_id", sorted(CASES))
def test_each_failed_gate_makes_it_inconclusive(exp_id):
    gates, good, _ = CASES[exp_id]
    for key in gates:
        failed = checks(exp_id, gates, good, {key: 0.0})
        assert judge(failed, "quick") is Verdict.INCONCLUSIVE, key
        reason = inconclusive_reason(failed, "quick")
        assert "a larger scale (full) may settle it, or the setup needs fixing" in reason


@pytest.mark.parametrize("exp_id", sorted(CASES))
def test_declared_checks_history_and_devices(exp_id):
    cls = EXPERIMENTS.get(exp_id)
    declared = cls().checks(NaNMetrics())
    assert {c.kind for c in declared} == {"gate", "claim"}
    for c in declared:
        if "minus" in c.description or "drop" in c.description:  # a comparison of arms: a tie fails
            assert c.op in (">", "<"), c.description
    assert cls.history and all(date.startswith("2026-") for date, _, _ in cls.history)
    assert cls().config("quick").device == "cpu" and cls().config("full").device == "auto"
