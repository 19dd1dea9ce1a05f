"""Integer-only ops against a Python-integer reference written from the paper's equations."""

import math

import pytest
import torch
import torch.nn.functional as F

from mantissa.arith.dyadic import dyadic_from_scale, dyadic_requant, dyadic_tensor
from mantissa.arith.i_vit import i_layernorm, isqrt, layernorm_constants, shift_gelu, shiftmax
from mantissa.arith.integer_guard import FloatOpError, integer_only
from mantissa.errors import ConfigError, DTypeError

M31 = 2**31 - 1


def py_exp(d: int, s: float, n: int = 15) -> int:
    x0 = math.floor(-1 / s)
    p = d + (d >> 1) - (d >> 4)
    if p < n * x0:
        return 0
    u = p // x0
    r = p - x0 * u
    return max(0, (((r >> 1) - x0) << n) >> u)


def py_shiftmax(row: list[int], s: float, bits: int = 8) -> list[int]:
    mx = max(row)
    e = [py_exp(v - mx, s) for v in row]
    factor = M31 // min(max(sum(e), 1), M31)
    return [(v * factor) >> (32 - bits) for v in e]


def py_gelu(v: int, s: float, bits: int = 8) -> int:
    z = v + (v >> 1) + (v >> 3) + (v >> 4)
    t = py_exp(-abs(z), s)
    one = -math.floor(-1 / s) << 15
    num, other = (one, t) if z >= 0 else (t, one)
    return v * ((num * (M31 // min(max(num + other, 1), M31))) >> (32 - bits))


def py_layernorm(row: list[int]) -> list[int]:
    c = len(row)
    mean = (sum(row) + c // 2) // c
    y = [v - mean for v in row]
    std = max(math.isqrt(sum(v * v for v in y)), 1)
    return [(v * (M31 // std)) >> 1 for v in y]


@pytest.fixture
def q_and_scale():
    torch.manual_seed(0)
    x = torch.randn(6, 40) * 2.5
    s = x.abs().max().item() / 127
    return torch.round(x / s).long(), s


def test_shiftmax_exact_and_close_to_softmax(q_and_scale):
    q, s = q_and_scale
    with integer_only() as guard:
        p, ps = shiftmax(q, s)
    assert guard.ops > 10 and p.dtype == torch.int64
    assert p.tolist() == [py_shiftmax(r, s) for r in q.tolist()]
    assert (p * ps - torch.softmax(q * s, -1)).abs().max() < 0.05


def test_shiftmax_mask():
    q = torch.tensor([[10, 50, -3, 7]])
    mask = torch.tensor([[True, False, True, True]])
    p, _ = shiftmax(q, 0.05, mask=mask)
    assert p[0, 1] == 0
    assert [p[0, i].item() for i in (0, 2, 3)] == py_shiftmax([10, -3, 7], 0.05)


def test_shift_gelu_exact_and_close_to_gelu(q_and_scale):
    q, s = q_and_scale
    with integer_only():
        y, ys = shift_gelu(q, s)
    assert y.flatten().tolist() == [py_gelu(v, s) for v in q.flatten().tolist()]
    assert (y * ys - F.gelu(q * s)).abs().max() < 0.1


def test_i_layernorm_exact_and_close(q_and_scale):
    q, s = q_and_scale
    with integer_only():
        y, ys = i_layernorm(q)
    assert y.tolist() == [py_layernorm(r) for r in q.tolist()]
    # budget: the mean is rounded to an integer (<= S/2 / std ~ 0.014 here)
    assert (y * ys - F.layer_norm(q * s, (40,))).abs().max() < 0.02


def test_i_layernorm_affine_constants(q_and_scale):
    q, s = q_and_scale
    w, b = torch.rand(40) + 0.5, torch.randn(40) * 0.1
    w[3] = -w[3]
    out_scale = 4.0 / 127
    m, k, beta = layernorm_constants(w, b, out_scale)
    with integer_only():
        y, _ = i_layernorm(q, gamma_m=m, gamma_k=k, beta_q=beta, clamp=(-127, 127))
    # budget: rounded mean (~0.014 · |w| <= 1.5) + output rounding (out_scale / 2 = 0.016)
    exact = F.layer_norm(q * s, (40,), w, b) / out_scale
    assert (y - exact).abs().max() < 0.05 / out_scale


def test_i_layernorm_rounds_once():
    """On wide (int16) inputs the mean's rounding is negligible: the affine output is rounded
    once (β folded before the shift), so the error is uniform ±½ LSB, rms sqrt(1/12) = 0.29
    (rounding β separately would make it 0.41)."""
    torch.manual_seed(1)
    q = torch.round(torch.randn(200, 64) * 3000).long()
    w, b = torch.rand(64) + 0.5, torch.randn(64) * 0.3
    out_scale = 4.0 / 127
    m, k, beta = layernorm_constants(w, b, out_scale)
    y, _ = i_layernorm(q, gamma_m=m, gamma_k=k, beta_q=beta)
    exact = F.layer_norm(q.double(), (64,), w.double(), b.double(), eps=0.0) / out_scale
    err = y.double() - exact
    assert float(err.abs().max()) < 0.53  # ½ LSB + the integer mean and 1/std rounding
    assert float(err.pow(2).mean().sqrt()) < 0.31


def test_isqrt_exact():
    n = torch.cat([torch.arange(0, 300), torch.randint(0, 2**62, (3000,)), torch.tensor([2**62 - 1])])
    with integer_only():
        r = isqrt(n)
    assert r.tolist() == [math.isqrt(v) for v in n.tolist()]


def test_dyadic():
    m, k = dyadic_from_scale(0.0123456, bits=24)
    assert m < 2**24 and abs(m / 2**k - 0.0123456) / 0.0123456 < 2**-23
    q = torch.randint(-10**6, 10**6, (500,))
    with integer_only():
        out = dyadic_requant(q, m, k)
    assert out.tolist() == [(v * m + (1 << (k - 1))) >> k for v in q.tolist()]
    mt, kt = dyadic_tensor(torch.tensor([0.5, 0.01, 3.0]))
    assert torch.allclose(mt.double() / 2**kt, torch.tensor([0.5, 0.01, 3.0], dtype=torch.float64), rtol=1e-6)


def test_guard_and_bad_input():
    with pytest.raises(FloatOpError, match="floating-point"), integer_only():
        torch.ones(3) * 2.0
    with pytest.raises(DTypeError, match="integer tensor"):
        shiftmax(torch.randn(3), 0.1)
    with pytest.raises(ConfigError, match="scale"):
        shiftmax(torch.ones(3, dtype=torch.int64), -1.0)
    with pytest.raises(ConfigError, match="ratio"):
        dyadic_from_scale(0.0)
    with pytest.raises(ConfigError, match="form"):
        shift_gelu(torch.ones(3, dtype=torch.int64), 0.1, form="tanh")
