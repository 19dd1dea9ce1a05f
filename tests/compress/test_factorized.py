"""The fully factorized Bernoulli baseline: add-alpha estimates, closed-form code length, exact round trip."""

import math

import pytest
import torch

from mantissa.compress.factorized import FactorizedBernoulli
from mantissa.errors import ConfigError


def test_fit_is_the_add_alpha_estimate():
    x = torch.tensor([[1, 0, 1], [1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.float64)
    m = FactorizedBernoulli.fit(x, alpha=0.5)
    torch.testing.assert_close(m.p1, torch.tensor([3.5 / 5, 1.5 / 5, 1.5 / 5], dtype=torch.float64))
    with pytest.raises(ConfigError):
        FactorizedBernoulli.fit(x, alpha=0.0)


def test_bits_per_dim_is_the_binary_cross_entropy():
    m = FactorizedBernoulli(torch.tensor([0.5, 0.25]))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = (1 + 1 + -math.log2(0.75) + 2) / 4  # -log2 of 0.5, 0.5, 0.75, 0.25
    assert m.bits_per_dim(x) == pytest.approx(expected)


def test_round_trip_and_code_length_near_ideal():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(20, generator=g) * 0.9 + 0.05
    x = (torch.rand(300, 20, generator=g) < p).double()
    m = FactorizedBernoulli.fit(x)
    data = m.compress(x)
    assert torch.equal(m.decompress(data), x)
    # 4-byte header + at most a few bytes of coder overhead over the quantised ideal
    assert 8 * (len(data) - 4) <= m.quantised_bits(x) + 16
    assert 8 * (len(data) - 4) >= m.quantised_bits(x) - 1
