"""MemoryFormer's Memory Layer against independent NumPy / float64 computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.models import Transformer, TransformerConfig
from mantissa.nn.memory_layer import MemoryFFN, MemoryLinear, dense_flops, linear_flops, swap_linears


def _numpy_index(x: np.ndarray, tau: int) -> np.ndarray:
    """Bucket of each chunk by explicit bit loops (bit j = z_j > 0, little-endian)."""
    chunks = x.reshape(x.shape[0], -1, tau)
    out = np.zeros(chunks.shape[:2], dtype=np.int64)
    for n in range(chunks.shape[0]):
        for k in range(chunks.shape[1]):
            out[n, k] = sum(1 << j for j in range(tau) if chunks[n, k, j] > 0)
    return out


def _softmax_prob(z: np.ndarray, t: float) -> float:
    """Eq. 7 literally: softmax over all 2^τ sign vectors, taken at sign(z)."""
    tau = len(z)
    logits = np.array([np.dot(np.array(b, dtype=np.float64), z) / t
                       for b in itertools.product((-1.0, 1.0), repeat=tau)])
    own = np.dot(np.where(z > 0, 1.0, -1.0), z) / t
    return float(np.exp(own - logits.max()) / np.exp(logits - logits.max()).sum())


def test_hash_index_matches_numpy_sign_bits():
    torch.manual_seed(0)
    layer = MemoryLinear(24, 5, tau=6)
    x = torch.randn(40, 24)
    x[0, :6] = 0.0  # zeros hash as negative
    got = layer.hash_index(x).numpy()
    assert got.shape == (40, 4)
    np.testing.assert_array_equal(got, _numpy_index(x.numpy(), 6))
    assert got[0, 0] == 0


@pytest.mark.parametrize("t", [0.5, 1.0, 3.0])
def test_bucket_prob_is_the_softmax_over_sign_vectors(t):
    torch.manual_seed(1)
    layer = MemoryLinear(12, 3, tau=4, temperature=t).double()
    x = torch.randn(7, 12, dtype=torch.float64)
    p = layer.bucket_prob(x).numpy()
    chunks = x.numpy().reshape(7, 3, 4)
    want = np.array([[_softmax_prob(chunks[n, k], t) for k in range(3)] for n in range(7)])
    np.testing.assert_allclose(p, want, rtol=1e-12)


def test_forward_is_the_weighted_sum_of_looked_up_rows_float64():
    torch.manual_seed(2)
    layer = MemoryLinear(32, 10, tau=8, temperature=1.5).double()
    x = torch.randn(3, 5, 32, dtype=torch.float64)
    y = layer(x).detach().numpy()
    tables = layer.tables.detach().numpy()
    flat = x.numpy().reshape(15, 32)
    idx = _numpy_index(flat, 8)
    want = np.zeros((15, 10))
    for n in range(15):
        for k in range(4):
            want[n] += _softmax_prob(flat[n, 8 * k:8 * k + 8], 1.5) * tables[k, idx[n, k]]
    np.testing.assert_allclose(y.reshape(15, 10), want, rtol=1e-10, atol=1e-12)


def test_gradient_reaches_only_hashed_rows_and_the_input():
    torch.manual_seed(3)
    layer = MemoryLinear(8, 4, tau=4).double()
    x = torch.randn(1, 8, dtype=torch.float64, requires_grad=True)
    layer(x).sum().backward()
    g = layer.tables.grad
    idx = layer.hash_index(x.detach())[0]
    p = layer.bucket_prob(x.detach())[0]
    for k in range(2):
        nz = g[k].abs().sum(-1).nonzero().flatten().tolist()
        assert nz == [int(idx[k])]
        torch.testing.assert_close(g[k, idx[k]], p[k].expand(4))  # ∂L/∂T = p · ∂L/∂y (Eq. 8)
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert torch.autograd.gradcheck(lambda z: layer(z), (x.detach().clone().requires_grad_(),))


def test_flops_closed_form_and_ratio_to_dense():
    layer = MemoryLinear(64, 256, tau=8)
    k = 8
    assert layer.flops(10) == 10 * (5 * 64 + k + 2 * k * 256)
    assert dense_flops(64, 256, 10) == 10 * (2 * 64 * 256 + 256)
    assert dense_flops(64, 256, 1, bias=False) == 2 * 64 * 256
    assert layer.flops() / dense_flops(64, 256, bias=False) < 1 / 8 + 0.05


def test_memory_ffn_in_transformer_by_spec_and_flop_count():
    cfg = TransformerConfig(vocab_size=11, n_layer=1, d_model=16, n_head=2, ffn="memory:tau=4")
    model = Transformer(cfg)
    assert isinstance(model.blocks[0].ffn, MemoryFFN)
    assert model(torch.zeros(2, 5, dtype=torch.long)).shape == (2, 5, 11)
    ffn = model.blocks[0].ffn
    assert linear_flops(ffn, 3) == ffn.fc.flops(3) + ffn.proj.flops(3)
    assert ffn.fc.tau == 4 and ffn.fc.d_out == 64


def test_swap_linears_replaces_matching_and_keeps_tied_head():
    torch.manual_seed(4)
    model = Transformer(TransformerConfig(vocab_size=11, n_layer=2, d_model=16, n_head=2))
    names = swap_linears(model, "*.attn.*", tau=4)
    assert names == ["blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.1.attn.qkv", "blocks.1.attn.proj"]
    assert isinstance(model.blocks[1].attn.qkv, MemoryLinear)
    assert isinstance(model.blocks[1].ffn.fc, nn.Linear)
    assert isinstance(model.head, nn.Linear)
    assert "head" not in swap_linears(model, "*", tau=4)
    assert model(torch.zeros(1, 4, dtype=torch.long)).shape == (1, 4, 11)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ConfigError, match="divisible by tau"):
        MemoryLinear(10, 4, tau=4)
    with pytest.raises(ConfigError, match="tau"):
        MemoryLinear(8, 4, tau=0)
    with pytest.raises(ConfigError, match="tau"):
        MemoryLinear(32, 4, tau=32)
    with pytest.raises(ConfigError, match="temperature"):
        MemoryLinear(8, 4, tau=4, temperature=0.0)
    with pytest.raises(ConfigError, match="positive"):
        MemoryLinear(8, 0, tau=4)
    with pytest.raises(ShapeError, match="last dim 8"):
        MemoryLinear(8, 4, tau=4)(torch.randn(3, 6))
    with pytest.raises(ConfigError, match="no nn.Linear"):
        swap_linears(nn.Sequential(nn.Linear(6, 2)), "*", tau=4)
