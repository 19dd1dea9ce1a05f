"""Recipes (spec strings) and quantize() on plain modules (mantissa.quant.recipes / .api)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mantissa.errors import ConfigError, SpecError, UnknownNameError
from mantissa.quant.api import collect_inputs, quantize, quantized_layers, select_layers
from mantissa.quant.layers import FloatLinear, IntLinear
from mantissa.quant.recipes import RECIPES, describe_recipes, parse_recipe


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(10, 32)
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 32)
        self.conv = nn.Conv1d(4, 4, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test_spec_roundtrip_and_errors():
    assert parse_recipe("w4-int:group=64").spec() == "w4-int:group=64"
    assert parse_recipe("w4-int").spec() == "w4-int"
    assert parse_recipe("w4a4-fp:search=false").spec() == "w4a4-fp:search=false"
    with pytest.raises(UnknownNameError, match="valid names"):
        parse_recipe("int9")
    with pytest.raises(SpecError, match="valid keys: group, bits"):
        parse_recipe("w4-int:gruop=64")
    with pytest.raises(SpecError, match="must be"):
        parse_recipe("w4-int:group=abc")
    with pytest.raises(SpecError, match="calib"):
        parse_recipe("w4a4-int:calib=kl")
    assert {"int8", "fp8", "w4-int", "w4a4-fp", "w4a4-int"} <= set(RECIPES.list())
    assert all(summary for _, _, summary in describe_recipes())


def test_select_layers_and_warning():
    m = Tiny()
    names, skipped = select_layers(m)
    assert names == ["fc1", "fc2"] and skipped == ["conv (Conv1d)"]
    assert select_layers(m, exclude=["fc2"])[0] == ["fc1"]
    with pytest.warns(UserWarning, match="conv"):
        quantize(m, "int8")
    assert set(quantized_layers(m)) == {"fc1", "fc2", "emb"}  # int8 quantizes embedding tables too
    assert m.mantissa_quant["recipe"] == "int8"


@pytest.mark.parametrize("spec,kind,max_rel", [("int8", IntLinear, 0.02), ("fp8", FloatLinear, 0.05),
                                               ("w4-int:group=32", IntLinear, 0.15)])
def test_quantize_fidelity(spec, kind, max_rel):
    m = Tiny()
    x = torch.randn(50, 32)
    ref = m(x)
    with pytest.warns(UserWarning):
        quantize(m, spec)
    assert isinstance(m.fc1, kind)
    rel = (m(x) - ref).norm() / ref.norm()
    assert rel < max_rel


def test_calibration_required_and_collected():
    m = Tiny()
    with pytest.raises(ConfigError, match="needs calibration"):
        quantize(m, "w4a4-fp", include=["fc*"])
    batches = [torch.randn(20, 32) for _ in range(3)]
    ins = collect_inputs(m, ["fc1", "fc2"], batches, max_rows=40)
    assert ins["fc1"].shape == (40, 32) and ins["fc2"].shape == (40, 64)
    with pytest.raises(ConfigError, match="tokenizer"):
        quantize(m, "w4a4-fp", calibration=["some text"], include=["fc*"])


def test_w4a4_fp_search_beats_no_search_on_outlier_inputs():
    torch.manual_seed(1)
    x = torch.randn(400, 32) * torch.where(torch.arange(32) < 2, 30.0, 1.0)
    errs = {}
    for spec in ("w4a4-fp", "w4a4-fp:search=false", "w4a4-int:calib=minmax"):
        m = Tiny()
        ref = m(x)
        quantize(m, spec, calibration=[x], include=["fc*"])
        errs[spec] = float((m(x) - ref).detach().norm() / ref.norm())
    assert errs["w4a4-fp"] < errs["w4a4-fp:search=false"]
    assert errs["w4a4-fp"] < errs["w4a4-int:calib=minmax"]


def test_bad_inputs():
    with pytest.raises(ConfigError, match="torch.nn.Module"):
        quantize(object(), "int8")
    with pytest.raises(ConfigError, match="no nn.Linear"):
        quantize(Tiny(), "int8", include=["nothing*"])
    with pytest.raises(ConfigError, match="list of glob"):
        quantize(Tiny(), "int8", include="fc1")


def test_arith_recipes_use_the_arith_kernels():
    from mantissa.arith import lut_matmul

    m = Tiny()
    with pytest.warns(UserWarning):
        quantize(m, "bcq3:group=32")
    x = torch.randn(5, 32)
    dense = x @ m.fc1.dequantized_weight().T + m.fc1.bias
    assert torch.allclose(m.fc1(x), dense, atol=1e-5)
    assert torch.allclose(lut_matmul(x, m.fc1.bcq()) + m.fc1.bias, m.fc1(x))
    m2 = Tiny()
    with pytest.warns(UserWarning):
        quantize(m2, "nupes4:a=0.5")
    assert m2.fc1.a == 0.5 and m2.fc1.codes.abs().max() <= 7


def test_int8_outlier_keeps_outlier_columns_exact():
    torch.manual_seed(0)
    lin = nn.Linear(64, 16)
    x = torch.randn(10, 64)
    x[:, 3] = 40.0
    ref = lin(x).detach()
    errs = {}
    for spec in ("int8-outlier", "int8"):
        m = nn.Sequential(nn.Linear(64, 16))
        m[0].load_state_dict(lin.state_dict())
        quantize(m, spec)
        errs[spec] = float((m(x) - ref).norm() / ref.norm())
    assert errs["int8-outlier"] < errs["int8"]


@pytest.mark.parametrize("spec", ["w4-int:group=5", "bcq3:group=7"])
def test_a_group_that_does_not_divide_the_inputs_falls_back_per_channel_with_a_warning(spec):
    model = torch.nn.Sequential(torch.nn.Linear(384, 8))
    with pytest.warns(UserWarning, match=r"does not divide 384 input features; that layer uses one scale"):
        quantize(model, spec)
