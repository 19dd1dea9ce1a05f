import numpy as np
import pytest
import torch

from mantissa.arith.poly import fit, newton_steps
from mantissa.arith.power_softmax import power_softmax
from mantissa.errors import ConfigError, UnknownNameError


def test_power_softmax_definition():
    x = torch.tensor([[1.0, -2.0, 0.5, 3.0]], dtype=torch.float64)
    out = power_softmax(x, 2, eps=0.0)
    assert torch.allclose(out, x**2 / (x**2).sum())
    out4 = power_softmax(x, 4, eps=0.0, mask=torch.tensor([[True, True, False, True]]))
    assert out4[0, 2] == 0 and torch.allclose(out4.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_polynomial_reciprocal_in_power_softmax():
    torch.manual_seed(0)
    x = torch.randn(64, 16, dtype=torch.float64)
    sums = (x**2).sum(-1)
    recip = fit("reciprocal", float(sums.min()) * 0.9, float(sums.max()) * 1.1, 12, newton=3)
    err = recip.errors()
    exact, approx = power_softmax(x, 2, eps=0.0), power_softmax(x, 2, eps=0.0, reciprocal=recip)
    assert (approx - exact).abs().max() <= err["max_rel_error"] * exact.max() + 1e-12
    assert err["max_rel_error"] < 1e-3


@pytest.mark.parametrize("target,lo,hi,deg,newton", [
    ("reciprocal", 1.0, 8.0, 10, 0), ("rsqrt", 0.5, 4.0, 8, 1), ("exp", -4.0, 0.0, 10, 0),
    ("gelu", -4.0, 4.0, 14, 0)])
def test_reported_error_is_the_true_max(target, lo, hi, deg, newton):
    pa = fit(target, lo, hi, deg, newton)
    xs = np.random.default_rng(0).uniform(lo, hi, 5000)
    from scipy.special import erf

    exact = {"reciprocal": lambda: 1 / xs, "rsqrt": lambda: 1 / np.sqrt(xs), "exp": lambda: np.exp(xs),
             "gelu": lambda: 0.5 * xs * (1 + erf(xs / np.sqrt(2)))}[target]()
    got = pa(torch.from_numpy(xs)).numpy()
    assert np.abs(got - exact).max() <= pa.errors()["max_abs_error"] * 1.01 + 1e-15
    assert pa.errors()["max_abs_error"] < 0.05


def test_constant_start_newton_reaches_tolerance_on_a_wide_range():
    lo, hi = 1e-3, 500.0
    k = newton_steps(lo, hi, 1e-4)
    pa = fit("reciprocal", lo, hi, 0, newton=k)
    assert pa.errors()["max_rel_error"] <= 1e-4
    assert fit("reciprocal", lo, hi, 0, newton=k - 2).errors()["max_rel_error"] > 1e-4


def test_bad_input():
    with pytest.raises(ConfigError, match="even"):
        power_softmax(torch.ones(3), 3)
    with pytest.raises(ConfigError, match="positive range"):
        fit("reciprocal", 0.0, 1.0, 4)
    with pytest.raises(UnknownNameError, match="reciprocal"):
        fit("tanh", 0.0, 1.0, 4)
    with pytest.raises(ConfigError, match="Newton"):
        fit("exp", 0.0, 1.0, 4, newton=1)
