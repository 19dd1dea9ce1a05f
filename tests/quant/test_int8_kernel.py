"""The int8 recipe's W8A8 layers multiply on int8 × int8 -> int32 (torch._int_mm), with the
fake-quantized float product as the reference (mantissa.quant.layers.IntLinear)."""

from __future__ import annotations

import torch

from mantissa.quant.layers import IntLinear, IntPerToken


def test_w8a8_runs_on_int_mm_and_equals_the_fake_quantized_product(monkeypatch):
    torch.manual_seed(0)
    layer = IntLinear.from_float(torch.randn(64, 48), torch.randn(64), 8, 0, IntPerToken(8))
    x = torch.randn(2, 5, 48) * 3
    calls = []
    real = torch._int_mm
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: calls.append(a.shape) or real(a, b))
    got = layer(x)
    want = torch.nn.functional.linear(layer.act(x), layer.dequantized_weight(), layer.bias)
    assert calls == [(10, 48)]
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-4) and got.shape == (2, 5, 64)


def test_other_int_layers_keep_the_float_path(monkeypatch):
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: (_ for _ in ()).throw(AssertionError("int path")))
    x = torch.randn(3, 32)
    for layer in (IntLinear.from_float(torch.randn(16, 32), None, 4, 16),               # w4-int
                  IntLinear.from_float(torch.randn(16, 32), None, 8, 0),                # weight-only
                  IntLinear.from_float(torch.randn(16, 32), None, 8, 0, IntPerToken(6))):
        assert layer(x).shape == (3, 16)


def test_w8a8_codes_are_per_token_absmax_and_a_zero_row_gives_the_bias(monkeypatch):
    torch.manual_seed(1)
    layer = IntLinear.from_float(torch.randn(32, 64), torch.randn(32), 8, 0, IntPerToken(8))
    x = torch.randn(6, 64) * 5
    x[2] = 0
    seen = []
    real = torch._int_mm
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: seen.append(a.clone()) or real(a, b))
    y = layer(x)
    scale = x.abs().amax(-1, keepdim=True) / 127  # IntPerToken's scale; codes round(x / scale)
    want = torch.round(x / scale).nan_to_num().clamp(-127, 127).to(torch.int8)
    assert torch.equal(seen[0], want) and not want[2].any()
    assert torch.equal(y[2], layer.bias)


def test_w4a8_runs_one_int_mm_per_group_and_equals_the_fake_quantized_product(monkeypatch):
    from mantissa.quant.recipes import parse_recipe

    torch.manual_seed(2)
    linear = torch.nn.Linear(96, 40)
    x = torch.randn(3, 4, 96) * 2
    real = torch._int_mm
    for spec, groups in (("w4-int:act_bits=8", 1), ("w4-int:group=32,act_bits=8", 3)):
        layer = parse_recipe(spec).quantize_linear(linear, None)
        calls = []
        monkeypatch.setattr(torch, "_int_mm", lambda a, b, calls=calls: calls.append(a.shape) or real(a, b))
        got = layer(x)
        want = torch.nn.functional.linear(layer.act(x), layer.dequantized_weight(), layer.bias)
        assert calls == [(12, 96 // groups)] * groups
        assert layer.codes.abs().max() <= 7 and torch.allclose(got, want, rtol=1e-5, atol=1e-4)
