"""Seed statistics and rank correlation."""

import math

import pytest

from mantissa.errors import ConfigError
from mantissa.stats import mean_se, rank_correlation, seed_metrics


def test_mean_se_and_seed_metrics_follow_the_closed_form():
    mean, se = mean_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(math.sqrt(1.0 / 3))
    m = seed_metrics("gain", [1.0, 2.0, 3.0])
    assert m["gain_lcb"] == pytest.approx(2.0 - 2 * math.sqrt(1.0 / 3)) and m["gain_seeds"] == 3.0
    with pytest.raises(ConfigError):
        mean_se([1.0])


def test_rank_correlation_is_nan_without_a_ranking():
    assert rank_correlation([1, 2, 3], [10, 20, 35]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation([1, 2, 3], [5, 5, 5]))
