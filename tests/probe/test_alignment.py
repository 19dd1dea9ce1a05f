import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from mantissa.errors import ShapeError
from mantissa.probe.alignment import alignment, uniformity


def test_alignment_and_uniformity_match_numpy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 8)), rng.normal(size=(50, 8))
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert alignment(torch.tensor(x), torch.tensor(y)) == pytest.approx(
        np.mean(np.sum((xn - yn) ** 2, axis=1)))
    assert alignment(torch.tensor(x), torch.tensor(y), alpha=1) == pytest.approx(
        np.mean(np.linalg.norm(xn - yn, axis=1)))
    assert uniformity(torch.tensor(x)) == pytest.approx(np.log(np.mean(np.exp(-2 * pdist(xn) ** 2))))


def test_closed_forms():
    antipodal = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert uniformity(antipodal) == pytest.approx(-8.0)  # log exp(-2 * 2²)
    assert alignment(antipodal, antipodal) == 0.0
    assert alignment(antipodal[:1], antipodal[1:]) == pytest.approx(4.0)
    # uniform on the circle: E exp(-2|x-y|²) = e^{-4} I0(4)
    theta = torch.linspace(0, 2 * math.pi, 2001)[:-1]
    circle = torch.stack([theta.cos(), theta.sin()], 1)
    assert uniformity(circle) == pytest.approx(-4 + math.log(np.i0(4.0)), abs=5e-3)  # finite grid, i<j


def test_bad_shapes():
    with pytest.raises(ShapeError):
        alignment(torch.zeros(3, 2), torch.zeros(2, 2))
    with pytest.raises(ShapeError):
        uniformity(torch.zeros(1, 4))
