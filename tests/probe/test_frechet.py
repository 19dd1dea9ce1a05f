import math

import numpy as np
import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.probe.frechet import frechet_distance, frechet_features, gaussian_stats, mean_max_softmax


def test_diagonal_closed_form():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    # diagonal covariances commute: Tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt a - sqrt b)^2
    want = float(((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(want, rel=1e-10)


def test_general_against_scipy_free_formula():
    # 2-D: Tr(sqrt(S1^1/2 S2 S1^1/2)) = sqrt(Tr(S1 S2) + 2 sqrt(det(S1 S2))) for 2x2 PSD matrices
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(2), m2 @ m2.T + 0.1 * np.eye(2)
    p = s1 @ s2
    cross = math.sqrt(np.trace(p) + 2 * math.sqrt(np.linalg.det(p)))
    mu1, mu2 = rng.normal(size=2), rng.normal(size=2)
    want = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross)
    got = frechet_distance(*(torch.tensor(v) for v in (mu1, s1, mu2, s2)))
    assert got == pytest.approx(want, rel=1e-9)


def test_same_distribution_is_zero_and_shift_adds_squared_norm():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(500, 4, generator=g)
    assert frechet_features(f, f) == pytest.approx(0.0, abs=1e-8)
    assert frechet_features(f, f + torch.tensor([3.0, 0, 0, 4.0])) == pytest.approx(25.0, rel=1e-9)
    mu, s = gaussian_stats(f)
    assert torch.allclose(s, torch.tensor(np.cov(f.double().numpy().T)))
    with pytest.raises(ShapeError):
        gaussian_stats(f[:1])


def test_mean_max_softmax():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    assert mean_max_softmax(logits) == pytest.approx((0.5 + 0.75) / 2)
