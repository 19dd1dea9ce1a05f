"""Simulated-precision GEMMs: every tensor on the format grid, forward and backward."""

from __future__ import annotations

import torch
from torch import nn

from mantissa import formats
from mantissa.quant.simulate import SimLinear, cast, sharpness, simulate_precision


def on_grid(t: torch.Tensor, fmt) -> bool:
    return bool(torch.equal(fmt.quantize(t), t))


def test_sim_linear_forward_and_gradients_on_grid():
    fmt = formats.get("fp:e8m2")
    torch.manual_seed(0)
    lin = SimLinear(8, 4, bias=False, fmt=fmt)
    x = torch.randn(5, 8, requires_grad=True)
    y = lin(x)
    assert on_grid(y, fmt)
    expected = fmt.quantize(fmt.quantize(x) @ fmt.quantize(lin.weight).t())
    assert torch.equal(y, expected)
    y.pow(2).sum().backward()
    assert on_grid(x.grad, fmt) and on_grid(lin.weight.grad, fmt)


def test_scaled_cast_uses_power_of_two_scale():
    fmt = formats.get("float8_e4m3fn")
    x = torch.tensor([1e-4, 3e-5, -2e-4])
    unscaled, scaled = cast(x, fmt), cast(x, fmt, scaled=True)
    assert (scaled - x).abs().max() < (unscaled - x).abs().max()
    assert torch.equal(cast(scaled, fmt, scaled=True), scaled)


def test_simulate_precision_keeps_parameters_and_sharpness_is_finite():
    m = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    params = [id(p) for p in m.parameters()]
    simulate_precision(m, "bfloat16")
    assert isinstance(m[0], SimLinear) and [id(p) for p in m.parameters()] == params
    x = torch.randn(20, 3)
    s = sharpness(m, lambda mm: (mm(x) ** 2).mean(), radius=0.1, directions=2)
    assert torch.isfinite(torch.tensor(s))
