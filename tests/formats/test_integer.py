"""IntFormat against exact integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa import formats
from mantissa.errors import ConfigError
from mantissa.formats import IntFormat


@pytest.mark.parametrize("spec,lo,hi", [("int8", -128, 127), ("int4", -8, 7), ("uint4", 0, 15),
                                        ("int:5", -16, 15), ("int:8,narrow=true", -127, 127),
                                        ("uint:3", 0, 7)])
def test_ranges_and_codes(spec, lo, hi):
    fmt = formats.get(spec)
    assert (fmt.qmin, fmt.qmax) == (lo, hi)
    x = torch.arange(lo - 3, hi + 4, dtype=torch.float64)
    q = fmt.quantize(x)
    np.testing.assert_array_equal(q.numpy(), np.clip(x.numpy(), lo, hi))
    codes = fmt.encode(x).to(torch.int64)
    assert torch.equal(fmt.decode(codes, torch.float64), q)
    assert str(formats.get(spec)) == spec


def test_rounding_modes_on_integers():
    fmt = formats.get("int8")
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7, -2.7])
    assert fmt.quantize(x).tolist() == [-2, -2, -0.0, 0, 2, 2, 3, -3]
    assert fmt.quantize(x, "nearest-away").tolist() == [-3, -2, -1, 1, 2, 3, 3, -3]
    assert fmt.quantize(x, "toward-zero").tolist() == [-2, -1, 0, 0, 1, 2, 2, -2]
    assert fmt.quantize(x, "down").tolist() == [-3, -2, -1, 0, 1, 2, 2, -3]
    assert fmt.quantize(x, "up").tolist() == [-2, -1, 0, 1, 2, 3, 3, -2]


def test_stochastic_rounding_unbiased():
    fmt = formats.get("int4")
    x = torch.full((100_000,), -2.3, dtype=torch.float64)
    q = fmt.quantize(x, "stochastic", torch.Generator().manual_seed(0))
    assert abs(q.mean().item() + 2.3) < 0.01


def test_twos_complement_codes():
    assert formats.get("int4").encode(torch.tensor([-1.0, -8.0, 7.0])).tolist() == [15, 8, 7]
    assert formats.get("int4").values().tolist()[:9] == [0, 1, 2, 3, 4, 5, 6, 7, -8]


def test_bad_input():
    with pytest.raises(ConfigError, match="NaN"):
        formats.get("int8").quantize(torch.tensor([float("nan")]))
    with pytest.raises(ConfigError):
        IntFormat(1, signed=True)
    assert formats.get("int8").quantize(torch.tensor([float("inf")])).item() == 127
