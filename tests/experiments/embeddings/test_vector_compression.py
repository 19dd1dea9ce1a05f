"""vector-compression: the synthetic stand-in, the bag classifier's pooling, the
post-training quantized model and the summary (coverage, winners, gap) are right."""

import math

import pytest
import torch

from mantissa.embed.tables import build_table
from mantissa.experiments.embeddings.vector_compression import (
    PAD,
    BagClassifier,
    VectorCompression,
    _post_training,
    shuffle_ids,
    synthetic_bags,
)


def test_synthetic_bags_are_frequency_ranked():
    d = synthetic_bags(500, 300, seed=1)
    assert d.x.shape == (500, 8) and d.y.max() < d.n_classes
    assert torch.equal(torch.bincount(d.x.flatten(), minlength=300).double(), d.counts)
    assert (d.counts[:-1] >= d.counts[1:]).all()


def test_shuffled_ids_keep_the_words():
    d = synthetic_bags(300, 100, seed=4)
    d.x[0, 5:] = PAD
    d.counts = torch.bincount(d.x[d.x != PAD], minlength=100).double()
    s = shuffle_ids(d, seed=0)
    assert torch.equal(s.x == PAD, d.x == PAD)
    assert torch.equal(s.counts, torch.bincount(s.x[s.x != PAD], minlength=100).double())
    assert not torch.equal(s.x, d.x)


def test_bag_classifier_is_mean_then_linear():
    table = build_table("full", 20, 4, seed=0)
    model = BagClassifier(table, 3)
    x = torch.tensor([[1, 2, PAD], [5, PAD, PAD], [PAD, PAD, PAD]])
    w = table.weight.detach()
    pooled = torch.stack([(w[1] + w[2]) / 2, w[5], torch.zeros(4)])
    torch.testing.assert_close(model(x).detach(), model.head(pooled).detach())


def test_post_training_reuses_trained_model():
    d = synthetic_bags(200, 50, seed=2)
    full = BagClassifier(build_table("full", 50, 8, seed=3), d.n_classes)
    q = _post_training("quant:bits=16", full, d)
    torch.testing.assert_close(q(d.x).detach(), full(d.x).detach(), atol=1e-4, rtol=0)
    assert q.table.memory_bytes() == 50 * 16 + 50 * 8


def _rows(accs, memory=None):
    rows = [{"method": "full", "budget": 1.0, "memory": 1.0, "accuracy": 70.0}]
    for (m, b), a in accs.items():
        rows.append({"method": m, "budget": b, "memory": (memory or {}).get((m, b), b), "accuracy": a})
    return rows


def test_summary_winners_gap_and_coverage():
    exp = VectorCompression()
    accs = {("a", 0.25): 69.5, ("b", 0.25): 68.0, ("a", 0.1): 60.0, ("b", 0.1): 65.0}
    s = exp._summary(_rows(accs), ["a", "b"], [0.25, 0.1], 70.0)
    assert s["coverage"] == 1.0 and s["gap_best_at_25pct"] == pytest.approx(0.5)
    assert s["winner_b25_a"] == 1.0 and s["winner_b10_b"] == 1.0 and s["distinct_winners"] == 2
    s["full_lift"] = 50.0  # the gate on the full table; the other claims need quantization methods
    assert s["quant_margin_moderate"] == -math.inf and s["coverage_feasible"] == 1.0
    assert exp.verdict(s).value == "partial"
    # a method over its budget, or without a number, does not count as covered
    bad = _rows({**accs, ("b", 0.1): math.nan}, {("a", 0.1): 0.2})
    over = exp._summary(bad, ["a", "b"], [0.25, 0.1], 70.0)
    assert over["coverage"] == 0.5
    worse = exp._summary(_rows({**accs, ("a", 0.25): 66.0}), ["a", "b"], [0.25, 0.1], 70.0)
    worse["full_lift"] = 50.0
    assert worse["gap_best_at_25pct"] == pytest.approx(2.0) and exp.verdict(worse).value == "partial"


def test_a_method_that_cannot_fit_is_reported_not_fatal(tmp_path):
    from mantissa.catalogue.runner import run_experiment

    # at 1 % of a 1000 x 64 table, 1-row mixed-dim blocks and 2-bit LSQ codes do not fit
    rec = run_experiment("vector-compression", "smoke", seed=0, out=tmp_path,
                         overrides={"budgets": "0.01", "methods": "hashing,mixed-dim,qat"})
    assert rec.status == "ok", rec.error
    assert rec.metrics["coverage"] == pytest.approx(1 / 3)
    assert "acc_hashing_b1" in rec.metrics and "acc_qat_b1" not in rec.metrics
    assert rec.verdict != "reproduced"
