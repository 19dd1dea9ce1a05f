"""SNIP parts: the symmetric InfoNCE against a float64 hand computation, encoder invariances,
retrieval on hand cases, and a short pretraining that learns."""

import math

import numpy as np
import pytest
import torch

from mantissa.embed.snip import (
    SNIP,
    NumericEncoder,
    SNIPConfig,
    SymbolicEncoder,
    fit_snip,
    point_features,
    retrieval_top1,
    snip_loss,
)
from mantissa.errors import ShapeError
from mantissa.tasks.symbolic import make_pairs


def _reference_loss(zs, zv, tau):
    zs = [np.asarray(r, np.float64) / np.linalg.norm(r) for r in zs]
    zv = [np.asarray(r, np.float64) / np.linalg.norm(r) for r in zv]
    n = len(zs)
    total = 0.0
    for i in range(n):
        row = [float(zs[i] @ zv[j]) / tau for j in range(n)]
        col = [float(zv[i] @ zs[j]) / tau for j in range(n)]
        total += -(row[i] - math.log(sum(math.exp(v) for v in row)))
        total += -(col[i] - math.log(sum(math.exp(v) for v in col)))
    return total / (2 * n)


def test_snip_loss_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    zs, zv = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    got = float(snip_loss(zs, zv, temperature=0.1))
    assert got == pytest.approx(_reference_loss(zs.tolist(), zv.tolist(), 0.1), rel=1e-5)
    # symmetric in its arguments
    assert float(snip_loss(zv, zs, 0.1)) == pytest.approx(got, rel=1e-6)


def test_numeric_encoder_ignores_point_order_and_symbolic_ignores_padding():
    torch.manual_seed(0)
    cfg = SNIPConfig(d_model=16, d_embed=8, n_layer=1, n_head=2)
    num, sym = NumericEncoder(cfg).eval(), SymbolicEncoder(cfg).eval()
    pts = torch.randn(3, 10, 3)
    perm = torch.randperm(10)
    torch.testing.assert_close(num(pts), num(pts[:, perm]), rtol=1e-5, atol=1e-5)
    tok = torch.tensor([[1, 2, 9, 10, 3], [1, 6, 9, 0, 0]])
    padded = torch.cat([tok, torch.zeros(2, 4, dtype=torch.long)], 1)
    torch.testing.assert_close(sym(tok), sym(padded), rtol=1e-5, atol=1e-5)


def test_point_features_and_retrieval_hand_cases():
    y = torch.tensor([[1.0, 2.0, 3.0]])
    f = point_features(torch.tensor([-1.0, 0.0, 1.0]), y)
    assert f.shape == (1, 3, 3)
    torch.testing.assert_close(f[0, :, 1], torch.tensor([-1.0, 0.0, 1.0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(f[0, :, 2], torch.asinh(y[0]) / 4)
    with pytest.raises(ShapeError):
        point_features(torch.zeros(3), torch.zeros(3))
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    c = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert retrieval_top1(q, c) == pytest.approx(1 / 3)  # q1 ties c1/c2 (miss), q2 is nearest c0 (miss)
    assert retrieval_top1(c, c) == pytest.approx(1 / 3)  # rows 1 and 2 tie: ties are misses
    with pytest.raises(ShapeError):
        retrieval_top1(q, c[:2])


def test_short_pretraining_aligns_the_encoders():
    torch.manual_seed(0)
    p = make_pairs(128, seed=0, points=12)
    tokens, pts = torch.from_numpy(p.tokens), point_features(torch.from_numpy(p.x), torch.from_numpy(p.y))
    model = SNIP(SNIPConfig(d_model=32, d_embed=32, n_layer=1))
    hist = fit_snip(model, tokens, pts, steps=40, batch_size=64, lr=3e-3)
    assert hist[-1]["loss"] < hist[0]["loss"] - 0.5
    zs, zv = model.embed(tokens[:64], pts[:64])
    assert torch.allclose(zs.norm(dim=1), torch.ones(64), atol=1e-5)
    assert retrieval_top1(zv, zs) > 0.1  # chance 1/64
