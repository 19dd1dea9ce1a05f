"""fp8 (W8A8 float) layers multiply the unscaled grid values in one bfloat16 matmul, with the
fake-quantized float32 product as the reference (mantissa.quant.layers.FloatLinear)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mantissa.quant.layers import FloatLinear, FloatPerToken


def layer_and_input(fmt: str, seed: int = 0) -> tuple[FloatLinear, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    layer = FloatLinear.from_float(torch.randn(64, 96, generator=g), torch.randn(64, generator=g), fmt,
                                   FloatPerToken(fmt))
    return layer, torch.randn(2, 7, 96, generator=g) * 3


def fake_quantized(layer: FloatLinear, x: torch.Tensor) -> torch.Tensor:
    return nn.functional.linear(layer.act(x), layer.dequantized_weight(), layer.bias)


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e5m2", "e2m1"])
def test_fp8_runs_on_a_bfloat16_matmul_within_its_output_rounding(fmt, monkeypatch):
    layer, x = layer_and_input(fmt)
    seen = []
    real = nn.functional.linear
    monkeypatch.setattr(nn.functional, "linear", lambda a, w, b=None: seen.append(a.dtype) or real(a, w, b))
    got = layer(x)
    monkeypatch.setattr(nn.functional, "linear", real)
    want = fake_quantized(layer, x)
    assert seen == [torch.bfloat16] and got.dtype == torch.float32 and got.shape == (2, 7, 64)
    # exact products, float32 sums; the bfloat16 output is within 2**-8 of each sum (before the bias)
    product = (want - layer.bias).abs()
    assert ((got - want).abs() <= 2**-8 * product + 1e-5 * product.max()).all()
    assert not torch.equal(got, want)


def test_a_zero_row_gives_the_bias():
    layer, x = layer_and_input("float8_e4m3fn")
    x[0, 3] = 0
    assert torch.equal(layer(x)[0, 3], layer.bias)


def test_grids_bfloat16_cannot_hold_keep_the_float_path(monkeypatch):
    layer, x = layer_and_input("e4m9")  # 9 mantissa bits: bfloat16 has 7
    seen = []
    real = nn.functional.linear
    monkeypatch.setattr(nn.functional, "linear", lambda a, w, b=None: seen.append(a.dtype) or real(a, w, b))
    torch.testing.assert_close(layer(x), fake_quantized(layer, x))
    assert torch.bfloat16 not in seen


def test_recipe_bf16_false_keeps_the_fake_quantized_product_through_a_save(tmp_path):
    from mantissa.quant.layers import QuantLinear
    from mantissa.quant.recipes import parse_recipe

    linear = nn.Linear(96, 64)
    x = torch.randn(5, 96) * 3
    exact = parse_recipe("fp8:bf16=false").quantize_linear(linear, None)
    fast = parse_recipe("fp8").quantize_linear(linear, None)
    again = QuantLinear.from_state(*exact.state())
    with torch.no_grad():
        assert torch.equal(exact(x), fake_quantized(exact, x)) and torch.equal(again(x), exact(x))
        assert not torch.equal(fast(x), exact(x)) and QuantLinear.from_state(*fast.state()).bf16
