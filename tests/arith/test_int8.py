import pytest
import torch
import torch.nn.functional as F

from mantissa.arith.int8 import (
    int8_matmul,
    int8_matmul_with_outliers,
    quantize_absmax,
    vectorwise_int8_linear,
)
from mantissa.errors import ConfigError, DTypeError, ShapeError


def test_int8_matmul_exact_against_int64():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(-127, 128, (37, 300), generator=g, dtype=torch.int8)
    b = torch.randint(-127, 128, (300, 19), generator=g, dtype=torch.int8)
    out = int8_matmul(a, b)
    assert out.dtype == torch.int32
    assert torch.equal(out.long(), a.long() @ b.long())


def test_quantize_absmax_round_trip_and_zero_rows():
    x = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    q, s = quantize_absmax(x, dim=1)
    assert q.dtype == torch.int8 and q[0, 1] == -127 and (q[1] == 0).all() and s[1] == 0
    assert torch.allclose(q.float() * s, x, atol=s[0].item() / 2 + 1e-7)


def test_decomposition_is_exact_int_path_plus_outliers():
    torch.manual_seed(0)
    x, w = torch.randn(8, 64), torch.randn(16, 64) * 0.1
    x[:, [3, 40]] *= 20  # outlier columns
    y, st = int8_matmul_with_outliers(x, w, 6.0)
    assert st.outlier_columns.tolist() == [3, 40]
    assert st.int8_fraction == pytest.approx(62 / 64)
    keep = torch.ones(64, dtype=torch.bool)
    keep[[3, 40]] = False
    xq, cx = quantize_absmax(x[:, keep], 1)
    wq, cw = quantize_absmax(w[:, keep], 1)
    int_part = (xq.long() @ wq.long().t()).double() * (cx.double() * cw.double().t())
    ref = int_part + x[:, ~keep].double() @ w[:, ~keep].double().t()
    assert torch.allclose(y.double(), ref, rtol=1e-5, atol=1e-5)


def test_prequantized_weight_path_is_exact_int_part_plus_outliers():
    """bitsandbytes-style: weight codes stored once (per output channel over all columns)."""
    torch.manual_seed(0)
    x, w = torch.randn(2, 8, 64), torch.randn(16, 64) * 0.1
    x[..., [3, 40]] *= 20
    wq, cw = quantize_absmax(w, 1)
    y, st = int8_matmul_with_outliers(x, None, 6.0, weight_int8=(wq, cw.reshape(-1)))
    assert st.outlier_columns.tolist() == [3, 40] and y.shape == (2, 8, 16)
    x2 = x.reshape(-1, 64).double()
    keep = torch.ones(64, dtype=torch.bool)
    keep[[3, 40]] = False
    xq, cx = quantize_absmax(x2[:, keep], 1)
    int_part = (xq.long() @ wq[:, keep].long().t()).double() * (cx.double() * cw.double().t())
    ref = int_part + x2[:, ~keep] @ (wq[:, ~keep].double() * cw.double()).t()
    assert torch.allclose(y.reshape(-1, 16).double(), ref, rtol=1e-5, atol=1e-5)


def test_decomposition_beats_plain_int8_with_outliers():
    torch.manual_seed(1)
    x, w = torch.randn(32, 256), torch.randn(128, 256) * 0.05
    x[:, 7] = 60.0
    exact = F.linear(x, w)
    err_plain = (vectorwise_int8_linear(x, w) - exact).norm() / exact.norm()
    err_dec = (int8_matmul_with_outliers(x, w)[0] - exact).norm() / exact.norm()
    assert err_dec < err_plain / 3


def test_no_outliers_and_bias_and_batch_shape():
    x, w, b = torch.randn(2, 3, 10), torch.randn(5, 10), torch.randn(5)
    y, st = int8_matmul_with_outliers(x, w, None, b)
    assert y.shape == (2, 3, 5) and st.n_outliers == 0 and st.int8_fraction == 1.0
    assert torch.allclose(y, F.linear(x, w, b), atol=0.1)


def test_bad_input():
    with pytest.raises(ShapeError, match="out_features, in_features=10"):
        int8_matmul_with_outliers(torch.randn(3, 10), torch.randn(5, 9))
    with pytest.raises(ConfigError, match="threshold"):
        int8_matmul_with_outliers(torch.randn(3, 10), torch.randn(5, 10), -1.0)
    with pytest.raises(DTypeError, match="integer"):
        int8_matmul(torch.randn(2, 2), torch.randn(2, 2))
    with pytest.raises(ConfigError, match="int8"):
        int8_matmul(torch.ones(2, 2, dtype=torch.int32), torch.ones(2, 2, dtype=torch.int8))
