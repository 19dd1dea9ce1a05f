"""vector-compression: a method with no configuration within a budget is reported, not fatal
(the parts it wires are tested in tests/tasks/test_bags.py and tests/tables/)."""

import pytest

from mantissa.experiments.embeddings.vector_compression import VectorCompression
from mantissa.tables.budgets import budget_summary


def test_verdict_from_the_summary():
    rows = [{"method": "full", "budget": 1.0, "memory": 1.0, "accuracy": 70.0}]
    for (m, b), a in {("a", 0.25): 69.5, ("b", 0.25): 66.0, ("a", 0.1): 60.0, ("b", 0.1): 65.0}.items():
        rows.append({"method": m, "budget": b, "memory": b, "accuracy": a})
    s = budget_summary(rows, ["a", "b"], [0.25, 0.1], 70.0)
    s["full_lift"] = 50.0  # the gate on the full table; the other claims need quantization methods
    assert VectorCompression().verdict(s).value == "partial"
    rows[1]["accuracy"] = 66.0  # 4 points behind the full table at 25 %: the gap claim fails too
    worse = budget_summary(rows, ["a", "b"], [0.25, 0.1], 70.0)
    worse["full_lift"] = 50.0
    assert worse["gap_best_at_25pct"] > 1 and VectorCompression().verdict(worse).value == "partial"


def test_a_method_that_cannot_fit_is_reported_not_fatal(tmp_path):
    from mantissa.catalogue.runner import run_experiment

    # at 1 % of a 1000 x 64 table, 1-row mixed-dim blocks and 2-bit LSQ codes do not fit
    rec = run_experiment("vector-compression", "smoke", seed=0, out=tmp_path,
                         overrides={"budgets": "0.01", "methods": "hashing,mixed-dim,qat"})
    assert rec.status == "ok", rec.error
    assert rec.metrics["coverage"] == pytest.approx(1 / 3)
    assert "acc_hashing_b1" in rec.metrics and "acc_qat_b1" not in rec.metrics
    assert rec.verdict != "reproduced"
