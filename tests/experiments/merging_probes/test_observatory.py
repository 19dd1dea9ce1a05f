"""observatory: every one of the eight measures is computed (a unit test, not a check)."""

import math

from mantissa.experiments.merging_probes.observatory import PRIMARY


def test_all_eight_measures_are_computed(tmp_path):
    from mantissa.catalogue.runner import run_experiment

    rec = run_experiment("observatory", "smoke", seed=0, out=tmp_path)
    assert rec.status == "ok", rec.error
    assert len(PRIMARY) == 8
    assert all(math.isfinite(rec.metrics[k]) for k in PRIMARY)
    assert rec.metrics["n_measures"] == 8.0
    assert math.isfinite(rec.metrics["column_identity_margin"])
