"""Which quantized layers get a torchao tensor, and that it holds mantissa's codes and scales.

The reference is torchao's own ``F.linear`` / ``F.embedding`` on the tensor: weight-only
layers must compute what mantissa's layer computes (the same grid values), W8A8 layers the
same up to the activation rounding (torchao rounds activations on its own per-token grid)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

pytest.importorskip("torchao")

from mantissa.quant.export_torchao import layout, torchao_weight  # noqa: E402
from mantissa.quant.layers import FloatLinear, IntLinear, IntPerToken, OutlierInt8Linear  # noqa: E402
from mantissa.quant.lookup import as_lookup  # noqa: E402

W, B = torch.randn(48, 64, generator=torch.Generator().manual_seed(0)), torch.randn(48)
X = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(1)) * 3


@pytest.mark.parametrize(("bits", "group", "kind"), [(8, 0, "Int8Tensor"), (8, 16, "Int8Tensor"),
                                                     (4, 16, "IntxUnpackedToInt8Tensor"),
                                                     (3, 0, "IntxUnpackedToInt8Tensor")])
def test_weight_only_layers_hold_our_codes_and_compute_our_product(bits, group, kind):
    layer = IntLinear.from_float(W, B, bits, group)
    weight = torchao_weight(layer)
    assert type(weight).__name__ == kind
    assert torch.equal(weight.qdata, layer.codes)
    assert torch.equal(weight.scale.reshape(-1), layer.scales.reshape(-1))
    with torch.no_grad():
        torch.testing.assert_close(nn.functional.linear(X, weight, B), layer(X), rtol=1e-5, atol=1e-4)


def torchao_grid(x: torch.Tensor) -> torch.Tensor:
    """torchao's symmetric per-token int8 rounding: scale absmax / 127.5, codes in [-128, 127]
    (``x * (1 / scale)``, as torchao computes it: a row's negative extreme lands on -128 or -127)."""
    scale = x.abs().amax(-1, keepdim=True) / 127.5
    return (x * (1.0 / scale)).round().clamp(-128, 127) * scale


def test_w8a8_layer_has_our_weights_and_torchao_activation_rounding():
    layer = IntLinear.from_float(W, B, 8, 0, IntPerToken(8))
    weight = torchao_weight(layer)
    assert weight.act_quant_kwargs is not None and torch.equal(weight.qdata, layer.codes)
    with torch.no_grad():
        ours, got = layer(X), nn.functional.linear(X, weight, B)
    reference = nn.functional.linear(torchao_grid(X), layer.dequantized_weight(), B)
    torch.testing.assert_close(got, reference, rtol=1e-4, atol=1e-3)
    assert not torch.allclose(got, ours, rtol=1e-4, atol=1e-3)  # mantissa's grid is absmax / 127
    assert torch.nn.functional.cosine_similarity(got.flatten(), ours.flatten(), dim=0) > 0.9999


def test_embedding_tables_are_looked_up_through_torchao():
    table = nn.Embedding(48, 64, padding_idx=0)
    layer = as_lookup(IntLinear.from_float(table.weight, None, 4, 16), table)
    ids = torch.tensor([[0, 3, 47]])
    with torch.no_grad():
        torch.testing.assert_close(nn.functional.embedding(ids, torchao_weight(layer)), layer(ids))


@pytest.mark.parametrize("layer", [
    IntLinear.from_float(W, B, 8, 0, IntPerToken(4)),  # 4-bit activations: no torchao kernel
    IntLinear.from_float(W, B, 8, 16, IntPerToken(8)),  # grouped W8A8
    FloatLinear.from_float(W, B, "float8_e4m3fn"),
    OutlierInt8Linear(IntLinear.from_float(W, None, 8, 0).codes, IntLinear.from_float(W, None, 8, 0).scales,
                      8, 0, B),
], ids=["a4", "w8a8-group", "fp8", "int8-outlier"])
def test_layers_without_a_torchao_layout_are_left(layer):
    assert layout(layer) is None and torchao_weight(layer) is None


def test_a_conv1d_layer_is_left():
    layer = IntLinear.from_float(W, B, 8, 0)
    layer.transposed = True
    assert layout(layer) is None
