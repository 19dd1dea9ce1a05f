"""arith.format_mul against ml_dtypes' float8 casts (operands and product rounded)."""

import ml_dtypes
import numpy as np
import pytest
import torch

from mantissa.arith.format_mul import format_mul, pow2_scale


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2"])
def test_products_equal_ml_dtypes_casts(name):
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, generator=gen) * 3, torch.randn(4000, generator=gen) * 3
    dt = getattr(ml_dtypes, name)
    qa, qb = (t.numpy().astype(dt).astype(np.float64) for t in (a, b))
    ref = (qa * qb).astype(dt).astype(np.float64)
    assert np.array_equal(format_mul(a, b, name).numpy(), ref)


def test_scaling_avoids_overflow_and_keeps_mantissas():
    a = torch.tensor([300.0, -2.5, 1e-3])
    b = torch.tensor([400.0, 3.0, 7.0])
    assert torch.isnan(format_mul(a, b, "float8_e4m3fn")[0])  # 288 * 384 overflows e4m3fn: NaN
    scaled = format_mul(a, b, "float8_e4m3fn", scale=True)
    # 300/16 -> 18, 400/16 -> 24 in e4m3; 18 * 24 = 432, a tie between 416 and 448: to even, 448
    assert torch.isfinite(scaled).all() and float(scaled[0]) == 448.0 * 256
    s = pow2_scale(a, 448.0)
    assert s == 2.0 ** round(np.log2(s)) and float(a.abs().max()) * s <= 448.0 ** 0.5
