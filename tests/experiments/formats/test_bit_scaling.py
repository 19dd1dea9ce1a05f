"""bit-scaling: verdict logic on hand-made metrics, config validation (the distillation parts:
tests/train/test_distill.py)."""

from __future__ import annotations

import pytest

from mantissa.errors import ConfigError
from mantissa.experiments import seed_metrics
from mantissa.experiments.formats.bit_scaling import BitScaling, Config


def _judged(gains: list[float], teacher: float = 1.8, kd_over_ptq: float = 0.5) -> dict[str, float]:
    return {**seed_metrics("gain", gains), "worst_teacher_val_loss": teacher, "min_kd_over_ptq": kd_over_ptq}


def test_gain_beyond_seed_noise_is_reproduced() -> None:
    assert BitScaling().verdict(_judged([0.03, 0.04, 0.05])) == "reproduced"


def test_gain_within_seed_noise_is_not_reproduced() -> None:
    # seed 0 of the old quick run lost, seeds 1 and 2 won: mean > 0 but mean - 2 SE < 0
    assert BitScaling().verdict(_judged([-0.0027, -0.0031, 0.0044])) == "not reproduced"
    assert BitScaling().verdict(_judged([0.01, -0.002, 0.004])) == "not reproduced"


def test_untrained_teacher_or_baseline_is_inconclusive() -> None:
    assert BitScaling().verdict(_judged([0.03, 0.04, 0.05], teacher=3.2)) == "inconclusive"
    assert BitScaling().verdict(_judged([0.03, 0.04, 0.05], kd_over_ptq=-0.1)) == "inconclusive"


@pytest.mark.parametrize("kw", [{"bits": (1, 2)}, {"bits": (4, 2)}, {"bits": ()}, {"losses": ("kd",)},
                                {"losses": ("kd", "topkld", "js")}, {"k": 0}, {"seeds": 1}])
def test_bad_config(kw: dict) -> None:
    with pytest.raises(ConfigError):
        Config(**kw)
