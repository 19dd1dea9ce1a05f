"""Uniform quantizers: closed forms on small tensors, granularities, spec strings."""

from __future__ import annotations

import pytest
import torch

from mantissa.errors import ConfigError, ShapeError, SpecError
from mantissa.quant import Granularity, parse_quantizer


def test_symmetric_int8_closed_form():
    x = torch.tensor([-1.0, -0.5, 0.0, 0.25, 2.0])
    qt = parse_quantizer("int8").quantize(x)
    s = 2.0 / 127
    assert qt.qparams.scale.item() == pytest.approx(s)
    assert qt.q.tolist() == [round(v / s) for v in x.tolist()]
    assert torch.allclose(qt.dequantize(), torch.round(x / s) * s)


def test_affine_uint8_closed_form():
    x = torch.tensor([0.5, 1.0, 3.0])  # range widened to include 0: [0, 3]
    qt = parse_quantizer("uint8:sym=false").quantize(x)
    s = 3.0 / 255
    assert qt.qparams.scale.item() == pytest.approx(s)
    assert qt.qparams.zero_point.item() == 0
    assert qt.q.tolist() == [round(0.5 / s), round(1.0 / s), 255]
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    qt = parse_quantizer("uint8:sym=false").quantize(x)
    s = 4.0 / 255
    assert qt.qparams.zero_point.item() == round(1.0 / s)
    assert qt.dequantize()[1].item() == 0.0  # zero is exact


def test_per_channel_and_group_scales():
    w = torch.tensor([[1.0, -2.0, 0.5, 0.25], [0.1, 0.2, -0.4, 0.3]])
    qt = parse_quantizer("int4:channel").quantize(w)
    assert torch.allclose(qt.scale, torch.tensor([2.0 / 7, 0.4 / 7]))
    qt = parse_quantizer("int4:group=2").quantize(w)
    assert qt.scale.shape == (2, 2)
    assert torch.allclose(qt.scale, torch.tensor([[2.0, 0.5], [0.2, 0.4]]) / 7)
    qt = parse_quantizer("int8:token").quantize(torch.ones(3, 5, 4) * torch.arange(1, 6.0)[:, None])
    assert qt.scale.shape == (3, 5)


def test_granularity_round_trip_views():
    x = torch.randn(3, 4, 6)
    grans = (Granularity.tensor(), Granularity.channel(1), Granularity.group(3),
             Granularity.group(2, axis=1), Granularity.token())
    for g in grans:
        rows = g.rows(x)
        assert rows.shape[0] == g.n_rows(tuple(x.shape))
        assert torch.equal(g.unrows(rows, x.shape), x)


def test_group_size_must_divide():
    with pytest.raises(ShapeError, match="does not divide"):
        parse_quantizer("int4:group=5").fake(torch.randn(4, 12))


def test_float_element_format():
    x = torch.tensor([[0.1, -448.0 * 2, 3.0]])
    q = parse_quantizer("float8_e4m3fn:channel")
    qt = q.quantize(x)
    assert qt.qparams.scale.item() == pytest.approx(2.0)
    assert qt.q.tolist()[0] == [0.05078125, -448.0, 1.5]
    with pytest.raises(ConfigError, match="symmetric"):
        parse_quantizer("float8_e4m3fn:sym=false")


def test_finer_granularity_lowers_error():
    torch.manual_seed(0)
    w = torch.randn(64, 256) * torch.logspace(-2, 1, 64)[:, None]
    err = {s: (parse_quantizer(s).fake(w) - w).pow(2).mean().item()
           for s in ("int4", "int4:channel", "int4:group=32")}
    assert err["int4:group=32"] < err["int4:channel"] < err["int4"]


@pytest.mark.parametrize("spec", ["int4:group=64", "float8_e4m3fn:channel", "int8:token",
                                  "int8:sym=false,observer=mse", "fp:e3m2,group=32",
                                  "int4:channel=1,observer=percentile,pct=99.9", "int8:rounding=stochastic"])
def test_spec_round_trip(spec):
    assert str(parse_quantizer(spec)) == spec


def test_bad_specs():
    with pytest.raises(SpecError, match="two granularities"):
        parse_quantizer("int4:channel,group=4")
    with pytest.raises(ConfigError, match="observer"):
        parse_quantizer("int4:observer=magic")
    with pytest.raises(ConfigError, match="signed"):
        parse_quantizer("uint8").fake(torch.randn(4))
