"""Rep4Ex parts: HSIC separates dependent from independent samples, the affine fit
equals NumPy's least squares, the closed-form interventional mean equals Monte Carlo,
and the two-stage estimator runs end to end."""

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.runtime import threads
from mantissa.train.rep4ex import (
    SIGMA_V,
    Rep4Ex,
    Rep4ExConfig,
    affine_fit,
    hsic,
    residual,
    simulate,
    true_interventional_mean,
)


def test_hsic_detects_dependence():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(300, 1, generator=g)
    indep = torch.randn(300, 1, generator=g)
    dep = a**2 + 0.1 * torch.randn(300, 1, generator=g)  # uncorrelated with a but dependent
    assert hsic(a, dep) > 10 * hsic(a, indep)
    assert hsic(a, indep) >= 0


def test_affine_fit_matches_numpy():
    g = torch.Generator().manual_seed(1)
    a, z = torch.randn(50, 2, generator=g, dtype=torch.float64), torch.randn(50, 3, generator=g,
                                                                             dtype=torch.float64)
    design = np.c_[a.numpy(), np.ones(50)]
    want = np.linalg.lstsq(design, z.numpy(), rcond=None)[0]
    np.testing.assert_allclose(affine_fit(a, z).numpy(), want, rtol=1e-10, atol=1e-12)
    r = residual(a, z)
    np.testing.assert_allclose(design.T @ r.numpy(), 0, atol=1e-10)  # residuals orthogonal to [a, 1]


def test_closed_form_interventional_mean():
    a = torch.tensor([[2.5, -1.0], [-3.0, 0.5]])
    g = torch.Generator().manual_seed(2)
    v = torch.randn(400000, 2, generator=g) * SIGMA_V
    for row, want in zip(a, true_interventional_mean(a)):
        z = row + v
        mc = (2 * torch.sin(z[:, 0]) + z[:, 1] + 0.8 * (v[:, 0] + v[:, 1])).mean()
        assert float(mc) == pytest.approx(float(want), abs=0.01)


def test_two_stage_fit_runs():
    with threads(1):
        _two_stage()


def _two_stage():
    s = simulate(512, seed=0)
    m = Rep4Ex(Rep4ExConfig(ae_steps=30, cf_steps=30, batch_size=128, hidden=16)).fit(s.x, s.a, s.y)
    pred = m.interventional_mean(torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
    assert pred.shape == (2,) and torch.isfinite(pred).all()
    assert m.invariance(s.x, s.a) >= 0


def test_bad_input():
    with pytest.raises(ConfigError, match="lam"):
        Rep4ExConfig(lam=-1)
    with pytest.raises(ShapeError, match="hsic"):
        hsic(torch.zeros(3, 1), torch.zeros(4, 1))
    s = simulate(10)
    with pytest.raises(ShapeError, match="need x"):
        Rep4Ex().fit(s.x, s.a, s.y[:5])
