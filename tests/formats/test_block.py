"""MX block formats against a per-block loop using ml_dtypes; dynamic fixed point in exact arithmetic."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
import torch

from mantissa import formats
from mantissa.errors import ConfigError, ShapeError

MX = {"mxfp4": ("float4_e2m1fn", 6.0), "mxfp6_e3m2": ("float6_e3m2fn", 28.0),
      "mxfp6_e2m3": ("float6_e2m3fn", 7.5), "mxfp8_e4m3": ("float8_e4m3fn", 448.0),
      "mxfp8_e5m2": ("float8_e5m2", 57344.0)}


def reference_mx(x: np.ndarray, elem: str, top: float, block: int = 32) -> np.ndarray:
    out = np.empty_like(x, dtype=np.float64)
    emax = math.floor(math.log2(top))
    for i in range(0, x.size, block):
        b = x[i:i + block].astype(np.float64)
        amax = np.abs(b).max()
        e = max(-127, min(127, math.floor(math.log2(amax)) - emax)) if amax > 0 else -127
        scaled = np.clip(b / 2.0 ** e, -top, top).astype(np.float32)
        out[i:i + block] = scaled.astype(getattr(ml_dtypes, elem)).astype(np.float64) * 2.0 ** e
    return out


@pytest.mark.parametrize("name", list(MX))
def test_mx_matches_blockwise_reference(name):
    elem, top = MX[name]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(32 * 64) * np.exp(rng.uniform(-8, 8, 32 * 64).repeat(1))).astype(np.float32)
    x[:32] = 0.0
    got = formats.get(name).quantize(torch.from_numpy(x).reshape(8, -1)).reshape(-1).double().numpy()
    np.testing.assert_array_equal(got, reference_mx(x, elem, top).astype(np.float32))


def test_mx_encode_decode_round_trip_and_scale_codes():
    fmt = formats.get("mxfp4")
    x = torch.randn(3, 64)
    codes, scales = fmt.encode(x)
    assert codes.dtype == torch.uint8 and scales.shape == (3, 2)
    assert torch.equal(fmt.decode(codes, scales), fmt.quantize(x))
    x = torch.full((32,), 5.0)  # amax 5 -> floor(log2 5) - 2 = 0 -> scale code 127
    assert fmt.encode(x)[1].tolist() == [127]


def test_mx_spec_and_errors():
    assert str(formats.get("mx:float4_e2m1fn,block=16")) == "mx:float4_e2m1fn,block=16"
    assert formats.get("mx:fp:e4m3,special=fn,block=16").element == formats.get("float8_e4m3fn")
    with pytest.raises(ShapeError, match="multiple of 32"):
        formats.get("mxfp4").quantize(torch.randn(4, 40))
    with pytest.raises(ConfigError):
        formats.get("mxfp4").values()


def test_mxint8_fixed_point_elements():
    x = torch.tensor([1.0] + [0.0] * 31)
    # amax 1 -> scale 2^0; element 1.0 is 64 / 64 on the 1.6 fixed-point grid
    assert formats.get("mxint8").quantize(x)[0].item() == 1.0
    y = torch.linspace(-1, 1, 32)
    assert torch.allclose(formats.get("mxint8").quantize(y), torch.round(y * 64) / 64)


def test_dynamic_fixed_point_exact():
    fmt = formats.get("dfp:16")
    x = torch.tensor([3.0, -0.7, 1e-3], dtype=torch.float64)
    i, e = fmt.encode(x)
    assert e == 1 - 14  # floor(log2 3) = 1
    assert i.tolist() == [round(v * 2 ** 13) for v in x.tolist()]
    assert i.abs().max() < 2 ** 15
    assert torch.equal(fmt.decode(i, e, torch.float64), fmt.quantize(x))
    assert fmt.encode(torch.zeros(3))[1] == 0
    with pytest.raises(ConfigError, match="non-finite"):
        fmt.encode(torch.tensor([math.inf]))


def test_power_format_grid():
    p = formats.get("power:4,a=0.5")
    assert str(p) == "power:4,a=0.5"
    v = p.values()
    assert v.max().item() == 1.0 and sorted(v.tolist())[8] == 0.0
    assert torch.allclose(p.quantize(torch.tensor([0.5])), torch.tensor([(round(0.5 ** 0.5 * 7) / 7) ** 2]))
    assert torch.equal(formats.get("power:4,a=1.0").quantize(torch.linspace(-1, 1, 15)),
                       torch.round(torch.linspace(-1, 1, 15) * 7) / 7)
    k = p.encode(torch.tensor([-1.0, 1.0]))
    assert k.tolist() == [9, 7]
