"""nupes: judged against the best-clipped (MSE-searched) int4, with the baseline as a gate."""

from __future__ import annotations

import pytest

from mantissa.experiments import Verdict, get_experiment

GOOD = {"clip_gain_ratio": 0.8, "weight_ratio_vs_mse_clip": 0.9, "output_ratio_vs_mse_clip": 0.95,
        "weight_ratio": 0.7, "output_ratio": 0.7}


@pytest.mark.parametrize(("change", "verdict"), [
    ({}, Verdict.REPRODUCED),
    ({"weight_ratio_vs_mse_clip": 1.19}, Verdict.PARTIAL),
    ({"weight_ratio_vs_mse_clip": 1.0, "output_ratio_vs_mse_clip": 1.0}, Verdict.NOT_REPRODUCED),  # ties fail
    ({"clip_gain_ratio": 1.1}, Verdict.INCONCLUSIVE),
])
def test_verdicts(change, verdict):
    assert get_experiment("nupes").verdict({**GOOD, **change}) == verdict


def test_min_max_ratios_alone_do_not_reproduce():
    exp = get_experiment("nupes")
    assert exp.verdict({"clip_gain_ratio": 0.8, "weight_ratio": 0.7, "output_ratio": 0.7}) \
        == Verdict.NOT_REPRODUCED
