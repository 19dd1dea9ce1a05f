import pytest
import torch

from mantissa.arith.bcq import (
    BCQ,
    bcq_quantize,
    lut_matmul,
    round_pow2,
)
from mantissa.arith.rtn import rtn_quantize
from mantissa.arith.shift import shift_dequantize, shift_matmul, shift_quantize
from mantissa.errors import ConfigError, ShapeError
from mantissa.formats.bits import unpack_signs


@pytest.fixture
def weight():
    torch.manual_seed(0)
    return torch.randn(48, 128, dtype=torch.float64) * 0.05


def test_greedy_one_bit_is_sign_times_mean_abs(weight):
    b = bcq_quantize(weight, 1, 32)
    w = weight.reshape(48, 4, 32)
    ref = torch.where(w >= 0, 1.0, -1.0) * w.abs().mean(-1, keepdim=True)
    assert torch.allclose(b.dequantize(), ref.reshape(48, 128))


def test_refinement_lowers_error_and_beats_rtn(weight):
    for bits in (2, 3):
        greedy = (bcq_quantize(weight, bits, 32, iters=0).dequantize() - weight).norm()
        refined = (bcq_quantize(weight, bits, 32).dequantize() - weight).norm()
        assert refined < greedy
    assert (rtn_quantize(weight, 3, 32) - weight).norm() < (rtn_quantize(weight, 2, 32) - weight).norm()


def test_pow2_scales_are_powers_of_two(weight):
    b = bcq_quantize(weight, 2, 32, scales="pow2")
    a = b.alpha.abs()
    assert torch.equal(a, 2.0 ** torch.round(torch.log2(a)))
    assert torch.equal(round_pow2(torch.tensor([0.3, -5.0, 0.0, 0.8])), torch.tensor([0.25, -4.0, 0.0, 1.0]))


def test_packed_codes_are_lsb_first_sign_bits(weight):
    b = bcq_quantize(weight, 3, 32)
    p = b.packed()
    assert p.dtype == torch.uint8 and p.shape == (3, 48, 16)
    assert torch.equal(unpack_signs(p.reshape(-1, 16), 128, order="lsb").view(3, 48, 128), b.codes)
    first = b.codes[0, 0, :8].tolist()
    assert p[0, 0, 0].item() == sum(1 << j for j, c in enumerate(first) if c > 0)


@pytest.mark.parametrize("batch", [(1,), (7,), (2, 3)])
def test_lut_matmul_equals_dequantized_matmul(weight, batch):
    b = bcq_quantize(weight, 3, 32, scales="pow2")
    x = torch.randint(-50, 50, (*batch, 128)).double()  # integers, pow2 scales: exact in float64
    assert torch.equal(lut_matmul(x, b, chunk_rows=4), x @ b.dequantize().t())
    b = bcq_quantize(weight, 3, 32)
    xf = torch.randn(5, 128, dtype=torch.float64)
    assert torch.allclose(lut_matmul(xf, b), xf @ b.dequantize().t(), rtol=1e-12, atol=1e-12)


def test_importance_weighting_shifts_error(weight):
    imp = torch.ones(128, dtype=torch.float64)
    imp[:16] = 100.0
    plain = bcq_quantize(weight, 2, 32)
    aware = bcq_quantize(weight, 2, 32, importance=imp)
    err = lambda b: ((b.dequantize() - weight)[:, :16] ** 2).sum()  # noqa: E731
    assert err(aware) < err(plain)


def test_shift_matmul_exact(weight):
    s, e = shift_quantize(weight, min_exp=-12, max_exp=0)
    wq = shift_dequantize(s, e, torch.float64)
    x = torch.randn(6, 128, dtype=torch.float64)
    assert torch.allclose(shift_matmul(x, s, e), x @ wq.t(), rtol=1e-12, atol=1e-14)
    assert ((wq - weight).abs() <= weight.abs() * 0.42 + 2.0**-13).all()
    xi = torch.randint(-1000, 1000, (3, 128))
    s2, e2 = shift_quantize(weight * 64, min_exp=-2, max_exp=3)

    def group_sum(row, srow, erow):  # Σ_e shift(Σ_{k: e_k = e} s_k x_k, e), in Python integers
        total = 0
        for e in set(erow[k] for k in range(len(row)) if srow[k]):
            part = sum(srow[k] * row[k] for k in range(len(row)) if erow[k] == e)
            total += part << e if e >= 0 else part >> -e
        return total

    ref = [[group_sum(row.tolist(), srow.tolist(), erow.tolist()) for srow, erow in zip(s2, e2)]
           for row in xi]
    assert shift_matmul(xi, s2, e2).tolist() == ref


def test_bad_input(weight):
    with pytest.raises(ShapeError, match="positive divisor"):
        bcq_quantize(weight, 2, 48)
    with pytest.raises(ConfigError, match=r"\[1, 8\]"):
        bcq_quantize(weight, 0, 32)
    with pytest.raises(ConfigError, match="scales"):
        bcq_quantize(weight, 2, 32, scales="log")
    with pytest.raises(ShapeError, match="divisible by 8"):
        lut_matmul(torch.randn(2, 12), BCQ(torch.ones(1, 3, 12, dtype=torch.int8), torch.ones(1, 3, 3), 4))
    with pytest.raises(ShapeError, match="features"):
        lut_matmul(torch.randn(2, 64), bcq_quantize(weight, 2, 32))
    with pytest.raises(ShapeError, match="positive divisor"):
        rtn_quantize(weight, 3, 100)


def test_bit_allocation_greedy_knapsack():
    from mantissa.arith.bit_allocation import allocate_bits

    errors = {"a": {2: 1.0, 3: 0.2}, "b": {2: 0.3, 3: 0.25}, "c": {2: 0.5, 3: 0.1}}
    sizes = {"a": 10, "b": 10, "c": 20}
    assert allocate_bits(errors, sizes, 2.0) == {"a": 2, "b": 2, "c": 2}
    assert allocate_bits(errors, sizes, 2.25) == {"a": 3, "b": 2, "c": 2}  # best gain per bit
    assert allocate_bits(errors, sizes, 2.75) == {"a": 3, "b": 2, "c": 3}
    assert allocate_bits(errors, sizes, 3.0) == {"a": 3, "b": 3, "c": 3}
    with pytest.raises(ConfigError, match="budget"):
        allocate_bits(errors, sizes, 1.5)


def test_lut_rel_diff_is_rounding_small():
    from mantissa.arith.bcq import bcq_quantize, lut_rel_diff

    g = torch.Generator().manual_seed(0)
    b = bcq_quantize(torch.randn(16, 64, generator=g), 3, 32)
    assert 0 <= lut_rel_diff(torch.randn(5, 64, generator=g), b) <= 1e-9
    assert b.alpha.dtype == torch.float64
