"""Quantized linear layers, bit packing and the grid adapter (mantissa.quant.layers / .grid)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch

from mantissa.errors import ShapeError, SpecError
from mantissa.quant.grid import get_grid, int_qmax
from mantissa.quant.layers import (
    FloatLinear,
    FloatPerTensor,
    FloatPerToken,
    IntLinear,
    IntPerTensor,
    IntPerToken,
    QuantLinear,
    bits_per_weight,
)


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e2m3fn"])
def test_grid_matches_ml_dtypes(name):
    g = get_grid(name)
    x = (torch.randn(20000) * g.max / 3).clamp(-g.max, g.max)
    ref = x.numpy().astype(getattr(ml_dtypes, name))
    assert torch.equal(g.quantize(x), torch.from_numpy(ref.astype(np.float32)))
    codes = g.encode(x)
    want = torch.from_numpy(ref.astype(np.float32))
    assert torch.equal(g.decode(codes).abs(), want.abs())
    # saturation instead of NaN/inf
    assert g.quantize(torch.tensor([1e9, -1e9])).tolist() == [g.max, -g.max]


@pytest.mark.parametrize("name,grid", [("e1m2", [0, .5, 1, 1.5, 2, 2.5, 3, 3.5]),
                                       ("e2m1", [0, .5, 1, 1.5, 2, 3, 4, 6]),
                                       ("e3m0", [0, .25, .5, 1, 2, 4, 8, 16]), ("int4", list(range(8)))])
def test_fp4_and_int_grids(name, grid):
    g = get_grid(name)
    vals = torch.tensor(grid, dtype=torch.float32)
    assert torch.equal(g.quantize(vals), vals) and g.max == grid[-1]
    x = torch.randn(5000) * g.max
    # the search's fast path equals the exact rounding away from ties
    assert (g.fast_quantize(x) == g.quantize(x)).float().mean() > 0.999


def test_grid_unknown_name():
    with pytest.raises(SpecError, match="eXmY"):
        get_grid("float9_nope")


def test_int_linear_closed_form():
    w = torch.tensor([[1.0, -0.5, 0.25, 0.0], [2.0, 1.0, -2.0, 0.5]])
    layer = IntLinear.from_float(w, None, bits=4, group=0)
    q = int_qmax(4)
    scales = w.abs().amax(1) / q
    expect = (w / scales[:, None]).round().clamp(-q, q) * scales[:, None]
    assert torch.allclose(layer.dequantized_weight(), expect)
    x = torch.randn(3, 4)
    assert torch.allclose(layer(x), x @ expect.T, atol=1e-6)


def test_int_linear_groups_and_bad_group():
    w = torch.randn(8, 64)
    layer = IntLinear.from_float(w, torch.zeros(8), bits=4, group=16)
    assert layer.scales.shape == (8, 4)
    err_group = (layer.dequantized_weight() - w).pow(2).mean()
    err_chan = (IntLinear.from_float(w, None, 4, 0).dequantized_weight() - w).pow(2).mean()
    assert err_group < err_chan
    with pytest.raises(ShapeError, match="divide"):
        IntLinear.from_float(w, None, bits=4, group=24)


def test_activation_quantizers():
    x = torch.randn(5, 32) * torch.linspace(0.1, 10, 32)
    y = IntPerToken(8)(x)
    scale = x.abs().amax(-1, keepdim=True) / 127
    assert torch.allclose(y, (x / scale).round() * scale)
    got = IntPerTensor(4, 0.5)(torch.tensor([0.74, 0.76, 100.0]))
    assert torch.allclose(got, torch.tensor([0.5, 1.0, 3.5]))
    f = FloatPerToken("float8_e4m3fn")(x)
    assert ((f - x).abs() <= x.abs() * 2**-4 + 1e-6).all()
    shift = torch.arange(32) % 3
    g = FloatPerTensor("e2m1", 1.0, shift)(torch.ones(1, 32))
    assert torch.equal(g[0], torch.exp2(shift.float()))


@pytest.mark.parametrize("make", [
    lambda w, b: IntLinear.from_float(w, b, 4, 16, IntPerToken(8)),
    lambda w, b: IntLinear.from_float(w, b, 3, 0, IntPerTensor(4, 0.1)),
    lambda w, b: FloatLinear.from_float(w, b, "float8_e4m3fn", FloatPerToken("float8_e4m3fn")),
    lambda w, b: FloatLinear.from_float(w, b, "e2m1", FloatPerTensor("e2m1", 0.3, torch.arange(32) % 4),
                                        shift=torch.arange(32) % 4),
])
def test_state_roundtrip(make):
    w, b = torch.randn(12, 32), torch.randn(12)
    layer = make(w, b)
    tensors, meta = layer.state()
    again = QuantLinear.from_state(tensors, meta)
    x = torch.randn(4, 32)
    assert torch.equal(layer(x), again(x))
    assert bits_per_weight(layer) == layer.storage_bits() / w.numel()


def test_preshift_is_exact_for_float_weights():
    """Shifting activations by 2**k and weight columns by 2**-k leaves the product unchanged."""
    w, x = torch.randn(6, 16), torch.randn(10, 16) * 10
    shift = torch.randint(0, 5, (16,))
    plain = FloatLinear.from_float(w, None, "float8_e4m3fn")
    shifted = FloatLinear.from_float(w, None, "float8_e4m3fn",
                                     FloatPerTensor("float8_e4m3fn", 1e-30, None), shift=shift)
    xs = x * torch.exp2(shift.float())
    ref = x @ w.T
    assert (xs @ shifted.dequantized_weight().T - ref).norm() / ref.norm() < 2**-4
    assert torch.allclose(plain(x), x @ plain.dequantized_weight().T)
