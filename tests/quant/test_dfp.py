"""DFP integer matmuls: exact integer arithmetic, overflow detection and handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.quant.dfp import DFPConv2d, OverflowCounter, convert_to_dfp, dfp_matmul, int_matmul


def test_int_matmul_exact_without_overflow():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(-300, 300, (7, 40), generator=g)
    b = torch.randint(-300, 300, (40, 5), generator=g)
    c = OverflowCounter()
    out = int_matmul(a.double(), b.double(), 0, "split", c)
    assert torch.equal(out.double(), (a @ b).double())
    assert c.overflows == 0 and c.partial_sums == 35


def test_overflow_counted_and_handled():
    big = 2 ** 15 - 1
    a = torch.full((1, 4), float(big), dtype=torch.float64)
    b = torch.full((4, 1), float(big), dtype=torch.float64)
    exact = 4 * big * big  # > 2**31 - 1
    c = OverflowCounter()
    assert int_matmul(a, b, 0, "split", c).item() == pytest.approx(exact, rel=1e-7)
    assert c.overflows == 1
    assert int_matmul(a, b, 0, "saturate", None).item() == pytest.approx(2 ** 31 - 1, rel=1e-7)  # FP32
    wrapped = int(np.array([big] * 4, np.int32).astype(np.int64).dot([big] * 4).astype(np.int32))
    assert int_matmul(a, b, 0, "wrap", None).item() == pytest.approx(wrapped, rel=1e-7)
    c2 = OverflowCounter()
    # one product per int32 partial sum always fits
    assert int_matmul(a, b, 1, "wrap", c2).item() == pytest.approx(exact, rel=1e-7)
    assert c2.overflows == 0
    with pytest.raises(ConfigError):
        int_matmul(a, b, 0, "ignore", None)


def test_dfp_matmul_close_to_float():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(20, 30, generator=g), torch.randn(30, 10, generator=g)
    ref = a @ b
    assert (dfp_matmul(a, b) - ref).abs().max() < 1e-3 * ref.abs().max()


def test_dfp_layers_forward_and_backward():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25, 3))
    import copy
    d = convert_to_dfp(copy.deepcopy(m))
    assert isinstance(d[0], DFPConv2d)
    x = torch.randn(5, 2, 5, 5)
    assert torch.allclose(d(x), m(x), atol=1e-3)
    d(x).sum().backward()
    m(x).sum().backward()
    assert torch.allclose(d[0].weight.grad, m[0].weight.grad, atol=1e-2, rtol=1e-3)
