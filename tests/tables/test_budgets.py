"""The equal-memory sweep: a method without a configuration gets a row without a model; the
summary names winners, the gap to the full table and the coverage; the table marks winners."""

import math

import pytest
import torch

from mantissa.tables.budgets import budget_key, budget_summary, quality_table, sweep_budgets


def _rows(accs, memory=None):
    rows = [{"method": "full", "budget": 1.0, "memory": 1.0, "accuracy": 70.0}]
    for (m, b), a in accs.items():
        rows.append({"method": m, "budget": b, "memory": (memory or {}).get((m, b), b), "accuracy": a})
    return rows


def test_budget_key():
    assert budget_key(0.25) == "b25" and budget_key(0.075) == "b7p5" and budget_key(0.01) == "b1"


def test_summary_winners_gap_and_coverage():
    accs = {("a", 0.25): 69.5, ("b", 0.25): 68.0, ("a", 0.1): 60.0, ("b", 0.1): 65.0}
    s = budget_summary(_rows(accs), ["a", "b"], [0.25, 0.1], 70.0)
    assert s["coverage"] == 1.0 and s["gap_best_at_25pct"] == pytest.approx(0.5)
    assert s["winner_b25_a"] == 1.0 and s["winner_b10_b"] == 1.0 and s["distinct_winners"] == 2
    assert s["quant_margin_moderate"] == -math.inf and s["coverage_feasible"] == 1.0
    # a method over its budget, or without a number, does not count as covered
    bad = _rows({**accs, ("b", 0.1): math.nan}, {("a", 0.1): 0.2})
    over = budget_summary(bad, ["a", "b"], [0.25, 0.1], 70.0)
    assert over["coverage"] == 0.5
    worse = budget_summary(_rows({**accs, ("a", 0.25): 66.0}), ["a", "b"], [0.25, 0.1], 70.0)
    assert worse["gap_best_at_25pct"] == pytest.approx(2.0)


def test_sweep_measures_each_spec_once_and_records_misfits():
    calls = []

    def measure(method, spec):
        calls.append(spec)
        return {"method": method, "spec": spec, "memory": 0.1, "accuracy": 50.0}

    counts = torch.arange(1000, 0, -1).double()
    # 2-bit LSQ codes do not fit 1 % of the table; hashing does, at both budgets with one spec each
    rows = sweep_budgets(["hashing", "qat"], [0.5, 0.01], 1000, 64, counts, measure)
    assert [(r["method"], r["budget"]) for r in rows] == [("hashing", 0.5), ("qat", 0.5), ("hashing", 0.01),
                                                         ("qat", 0.01)]
    assert rows[3]["spec"] == "-" and math.isnan(rows[3]["accuracy"])
    assert len(calls) == len(set(calls)) == 3


def test_quality_table_marks_winners():
    rows = _rows({("a", 0.25): 69.5, ("b", 0.25): 68.0})
    for r in rows:
        r["spec"] = r["method"]
    header, lines = quality_table(rows, [0.25], 70.0)
    assert header[-1] == "winner_at_budget" and [line[-1] for line in lines] == [0, 1, 0]
    assert lines[1][4:6] == ["69.50", "0.50"]
