"""The merging benchmark's judged numbers: gains paired by repetition and the fine-tuning gate."""

import pytest

from mantissa.merge.suite import gain_metrics, gate_metrics


def _table(ind, base, a, b):
    return {"individual": {"mean": ind}, "base + heads": {"mean": base}, "A": {"mean": a}, "B": {"mean": b}}


def test_gain_metrics_pair_by_repetition_and_a_tie_has_zero_lower_bound():
    tables = [_table(0.7, 0.4, 0.60, 0.55), _table(0.7, 0.4, 0.62, 0.55), _table(0.7, 0.4, 0.58, 0.55)]
    m = gain_metrics("g", tables, "A", "B")
    assert m["g_mean"] == pytest.approx(5.0) and m["g_min"] == pytest.approx(3.0)
    assert m["g_se"] == pytest.approx(2 / 3 ** 0.5) and m["g_lcb"] == pytest.approx(5.0 - 4 / 3 ** 0.5)
    assert m["g_seeds"] == 3
    tie = gain_metrics("g", [_table(0.7, 0.4, 0.5, 0.5)] * 3, "A", "B")
    assert tie["g_lcb"] == 0.0  # fails any strict '>' margin >= 0


def test_gate_metrics_take_the_weakest_repetition():
    tables = [_table(0.70, 0.40, 0, 0), _table(0.60, 0.58, 0, 0)]
    assert gate_metrics(tables)["finetune_gain_min"] == pytest.approx(2.0)
