import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.probe.ipr import fourier_ipr, low_ipr_mask


def test_periodic_neuron_has_high_ipr_random_has_low():
    p = 31
    k = torch.arange(p, dtype=torch.float64)
    periodic = torch.cat([torch.cos(2 * torch.pi * 3 * k / p), torch.cos(2 * torch.pi * 3 * k / p + 1.0)])
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(2 * p, generator=g, dtype=torch.float64)
    ipr = fourier_ipr(torch.stack([periodic, noise]), p)
    # one frequency pair (k, -k) per operand: 4 equal peaks -> IPR = 1/4 exactly
    assert ipr[0] == pytest.approx(0.25, abs=1e-9)
    assert ipr[1] < 0.1
    assert low_ipr_mask(ipr, 0.2).tolist() == [1.0, 0.0]


def test_ipr_shape_check():
    with pytest.raises(ShapeError, match="neurons"):
        fourier_ipr(torch.zeros(3, 10), p=7)
