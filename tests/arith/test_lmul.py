import math
import random

import ml_dtypes
import numpy as np
import pytest
import torch

from mantissa.arith.lmul import (
    CARRIES,
    lmul,
    lmul_error_model,
    lmul_matmul,
    lmul_reference,
    offset_bits,
    round_to_mantissa,
)
from mantissa.errors import ConfigError, DTypeError, ShapeError


def _random_floats(n, rng):
    vals = [rng.choice([-1, 1]) * math.exp(rng.uniform(-92, 92)) for _ in range(n)]
    vals += [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-39, 3.4e38, 1.0, 1.5, 1.9375]
    return torch.tensor(vals, dtype=torch.float32)


def test_offset_rule():
    assert [offset_bits(m) for m in range(1, 8)] == [1, 2, 3, 3, 4, 4, 4]


@pytest.mark.parametrize("carry", CARRIES)
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 22])
def test_lmul_equals_float64_formula(m, carry):
    rng = random.Random(m)
    x, y = _random_floats(800, rng), _random_floats(800, rng)
    x, y = torch.cat([x, x]), torch.cat([y, y.flip(0)])  # specials meet everything
    out = lmul(x, y, m, carry=carry).double()
    ref = torch.tensor([lmul_reference(float(a), float(b), m, carry) for a, b in zip(x, y)],
                       dtype=torch.float64)
    same = (out == ref) | (out.isnan() & ref.isnan())
    assert same.all(), (x[~same][:3], y[~same][:3], out[~same][:3], ref[~same][:3])
    assert torch.equal(torch.signbit(out[ref == 0]), torch.signbit(ref[ref == 0]))


def test_carry_modes_agree_below_carry_and_differ_above():
    a, b = torch.tensor([1.25, 1.5]), torch.tensor([1.25, 1.5])
    e, lit = lmul(a, b, 3), lmul(a, b, 3, carry="literal")
    assert e[0] == lit[0] == 1 + 0.25 + 0.25 + 0.125  # no carry: same
    assert e[1] == 2 * 1.125 and lit[1] == 2.125  # carry: 2s vs 1+s


def test_special_values():
    nan, inf = math.nan, math.inf
    a = torch.tensor([0.0, -2.0, inf, inf, nan, 3e38, 1e-30, 1e-45])
    b = torch.tensor([5.0, 0.0, 0.0, -2.0, 1.0, 3e38, 1e-30, 2.0])
    out = lmul(a, b, 3)
    assert out[0] == 0 and not out[0].signbit()
    assert out[1] == 0 and out[1].signbit()
    assert out[2].isnan() and out[4].isnan()
    assert out[3] == -inf and out[5] == inf
    assert out[6] == 0 and out[7] == 0  # underflow and subnormal flushed


def test_round_to_mantissa_matches_bfloat16():
    x = torch.randn(20000) * torch.exp(torch.randn(20000) * 20)
    x = torch.cat([x, torch.tensor([1e-40, -3e-39, 3.3e38, math.inf, 0.0])])
    ours = round_to_mantissa(x, 7).numpy()
    ref = x.numpy().astype(ml_dtypes.bfloat16).astype(np.float32)
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("accumulate", ["fp32", "fp64"])
def test_lmul_matmul_is_sum_of_lmuls(accumulate):
    torch.manual_seed(0)
    a, b = torch.randn(2, 5, 7), torch.randn(7, 3)
    out = lmul_matmul(a, b, 4, accumulate=accumulate, chunk_elems=30)
    ref = lmul(a[..., :, :, None], b[None, None], 4).double().sum(-2)
    assert out.shape == (2, 5, 3)
    assert torch.allclose(out.double(), ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("carry", ["exponent", "literal"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7])
def test_decomposed_matmul_equals_elementwise(m, carry):
    """The sum-of-matmuls form gives the element-wise L-Mul products' sum (summation order aside)."""
    torch.manual_seed(m)
    a, b = torch.randn(3, 6, 40), torch.randn(40, 9) * 3
    a[0, 0, :5] = 0  # zeros stay exact zeros
    fast = lmul_matmul(a, b, m, carry=carry, accumulate="fp64")
    slow = lmul_matmul(a, b, m, carry=carry, accumulate="fp64", decompose=False)
    assert torch.allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_decomposed_falls_back_where_products_underflow():
    a = torch.tensor([[1e-30, 1.0]])
    b = torch.tensor([[1e-15], [2.0]])
    out = lmul_matmul(a, b, 3, accumulate="fp64")  # 1e-30 · 1e-15 underflows: flushed to zero
    ref = lmul(a[0], b[:, 0], 3).double().sum()
    assert float(out) == float(ref)


def test_lmul_matmul_ste_gradient():
    a = torch.randn(3, 4, requires_grad=True)
    b = torch.randn(4, 2)
    lmul_matmul(a, b, 3, ste=True).sum().backward()
    assert torch.allclose(a.grad, b.sum(1).expand(3, 4))


def test_error_model_matches_monte_carlo():
    g = torch.Generator().manual_seed(1)
    m = 3
    a = round_to_mantissa(torch.rand(200000, generator=g) + 1, m)
    b = round_to_mantissa(torch.rand(200000, generator=g) + 1, m)
    rel = ((lmul(a, b, m).double() - a.double() * b.double()) / (a.double() * b.double())).abs()
    model = lmul_error_model(m)
    assert abs(rel.mean().item() - model["mean_rel_error"]) < 2e-3
    assert rel.max().item() <= model["max_rel_error"] + 1e-12
    assert lmul_error_model(4)["mean_rel_error"] > lmul_error_model(6)["fp_mean_rel_error"]


def test_bad_input():
    with pytest.raises(ConfigError, match=r"\[1, 23\]"):
        lmul(torch.ones(2), torch.ones(2), 0)
    with pytest.raises(ConfigError, match="carry"):
        lmul(torch.ones(2), torch.ones(2), 3, carry="round")
    with pytest.raises(DTypeError, match="floating-point"):
        lmul(torch.ones(2, dtype=torch.int32), torch.ones(2), 3)
    with pytest.raises(ShapeError, match="inner sizes"):
        lmul_matmul(torch.ones(2, 3), torch.ones(4, 2))
    with pytest.raises(ConfigError, match="accumulate"):
        lmul_matmul(torch.ones(2, 3), torch.ones(3, 2), accumulate="int")
