"""bit-scaling: verdict logic on hand-made metrics, config validation."""

from __future__ import annotations

import pytest

from mantissa.errors import ConfigError
from mantissa.experiments.bit_scaling import BitScaling, Config


def _metrics(kd: list[float], top: list[float], bits: tuple[int, ...] = (2, 3, 4)) -> dict[str, float]:
    m: dict[str, float] = {}
    for b, k, t in zip(bits, kd, top, strict=True):
        m.update({f"kd_val_loss_{b}": k, f"topkld_val_loss_{b}": t, f"kd_val_acc_{b}": 40.0,
                  f"topkld_val_acc_{b}": 41.0})
    m.update(BitScaling._summary(Config(bits=bits), m))
    return m


def test_majority_of_wins_is_reproduced() -> None:
    m = _metrics([2.0, 1.9, 1.8], [1.95, 1.79, 1.81])
    assert m["win_fraction"] == pytest.approx(2 / 3)
    assert m["level_lift_fraction"] == pytest.approx(0.5)  # int3 TopKLD (1.79) <= int4 KD (1.8) only
    assert BitScaling().verdict(m) == "reproduced"


def test_minority_of_wins_is_not_reproduced() -> None:
    m = _metrics([2.0, 1.9, 1.8], [2.1, 1.85, 1.81])
    assert m["win_fraction"] == pytest.approx(1 / 3)
    assert BitScaling().verdict(m) == "not reproduced"


def test_half_is_not_a_majority() -> None:
    m = _metrics([2.0, 1.9], [1.9, 2.0], bits=(2, 3))
    assert BitScaling().verdict(m) == "not reproduced"


@pytest.mark.parametrize("kw", [{"bits": (1, 2)}, {"bits": (4, 2)}, {"bits": ()}, {"losses": ("kd",)},
                                {"losses": ("kd", "topkld", "js")}, {"k": 0}])
def test_bad_config(kw: dict) -> None:
    with pytest.raises(ConfigError):
        Config(**kw)
