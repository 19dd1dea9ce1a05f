"""Calibration observers on data with outliers (where clipping must beat min-max)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.quant import parse_quantizer
from mantissa.quant.observers import kl_threshold


def outlier_data(n=20_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g)
    x[:10] = 15.0  # a handful of outliers that stretch the min-max range
    return x


def mse(spec, x):
    q = parse_quantizer(spec)
    qp = q.calibrate(x)
    return (q.fake(x, qp) - x).pow(2).mean().item()


def test_clipping_observers_beat_minmax_on_outliers():
    x = outlier_data()
    base = mse("int4", x)
    for obs in ("percentile,pct=99.9", "mse", "kl"):
        assert mse(f"int4:observer={obs}", x) < 0.5 * base, obs


def test_mse_observer_never_worse_than_minmax():
    for seed in range(3):
        x = outlier_data(5000, seed) * (seed + 1)
        x[:10] = 60.0 * (seed + 1)
        assert mse("int4:observer=mse", x) <= mse("int4", x) + 1e-9


def test_minmax_is_best_without_outliers_for_8_bits():
    x = torch.rand(10_000, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert mse("int8", x) <= mse("int8:observer=percentile,pct=95.0", x)


def test_percentile_closed_form():
    x = torch.arange(1, 101, dtype=torch.float32)
    q = parse_quantizer("int8:observer=percentile,pct=90")
    assert q.calibrate(x).scale.item() == pytest.approx(90 / 127)


def test_accumulates_batches():
    q = parse_quantizer("int8")
    qp = q.calibrate([torch.tensor([1.0, -2.0]), torch.tensor([5.0])])
    assert qp.scale.item() == pytest.approx(5 / 127)


def test_kl_threshold_uniform_keeps_range():
    x = np.random.default_rng(0).uniform(0, 1, 100_000)
    assert kl_threshold(x, 128, 1024) > 0.95


def test_kl_needs_symmetric_int():
    with pytest.raises(ConfigError, match="KL"):
        parse_quantizer("float8_e4m3fn:observer=kl").calibrate(torch.randn(100))
    with pytest.raises(ConfigError, match="no data"):
        parse_quantizer("int8").qparams_from(parse_quantizer("int8").new_observer())
