import math

import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.models.nerv import (
    HNeRV,
    NeRV,
    NeRVBlock,
    match_nerv_width,
    nerv_positional_encoding,
    psnr,
    stage_plan,
)


def test_positional_encoding_eq2():
    t = torch.tensor([0.0, 0.3])
    pe = nerv_positional_encoding(t, levels=3, base=1.25)
    want = [f(1.25 ** i * math.pi * 0.3) for i in range(3) for f in (math.sin, math.cos)]
    assert pe.shape == (2, 6)
    assert torch.allclose(pe[1], torch.tensor(want), atol=1e-6)
    assert torch.allclose(pe[0], torch.tensor([0.0, 1.0] * 3))


def test_stage_plan_hnerv_kernels_and_widths():
    assert stage_plan(16, (2, 2, 2, 2), 1.2, (1, 5), 4) == [(16, 13, 1, 2), (13, 11, 3, 2), (11, 9, 5, 2),
                                                           (9, 8, 5, 2)]
    assert stage_plan(32, (2, 2, 2), 2.0, (3, 3), 6) == [(32, 16, 3, 2), (16, 8, 3, 2), (8, 6, 3, 2)]


def test_block_upsamples():
    assert NeRVBlock(4, 3, 3, 2)(torch.zeros(2, 4, 5, 5)).shape == (2, 3, 10, 10)


def _conv(cin, cout, k):
    return cin * cout * k * k + cout


def test_stored_params_count_decoder_and_embeddings_only():
    m = HNeRV((32, 32), (2, 2, 2, 2), 16, emb_dim=8)
    plan = stage_plan(16, (2, 2, 2, 2), 1.2, (1, 5), 4)
    dec = _conv(8, 16, 1) + sum(_conv(ci, co * s * s, k) for ci, co, k, s in plan) + _conv(plan[-1][1], 1, 3)
    assert m.stored_params(10) == dec + 10 * 8 * 2 * 2
    frames = torch.rand(3, 1, 32, 32)
    assert m.embed(frames).shape == (3, 8, 2, 2)
    m.eval()
    with torch.no_grad():
        out = m(frames)
    assert out.shape == (3, 1, 32, 32) and float(out.min()) >= 0 and float(out.max()) <= 1
    n = NeRV((32, 32), (2, 2, 2, 2), 20)
    assert n.stored_params(10) == sum(p.numel() for p in n.parameters())
    assert n(None, torch.tensor([0, 5]), 10).shape == (2, 1, 32, 32)


def test_match_nerv_width_is_smallest_reaching_target():
    target = HNeRV((32, 32), (2, 2, 2, 2), 16, emb_dim=8).stored_params(96)
    w = match_nerv_width(target, 96, (32, 32), (2, 2, 2, 2))
    assert NeRV((32, 32), (2, 2, 2, 2), w).stored_params(96) >= target
    assert NeRV((32, 32), (2, 2, 2, 2), w - 1).stored_params(96) < target
    with pytest.raises(ConfigError):
        NeRV((30, 30), (2, 2, 2, 2), 8)


def test_psnr():
    a = torch.zeros(2, 1, 4, 4)
    assert psnr(a + 0.1, a) == pytest.approx(20.0)
    assert psnr(a, a) == math.inf
