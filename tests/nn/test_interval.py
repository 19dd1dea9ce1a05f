"""Interval bound propagation is sound: checked against brute-force sampling in float64."""

import pytest
import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.interval import (
    HyperNet,
    interval_linear,
    interval_mlp,
    interval_sequential,
    mlp_forward,
    worst_case_logits,
)


def _box_samples(c, r, n, g):
    u = torch.rand((n, *c.shape), generator=g, dtype=c.dtype) * 2 - 1
    return c + u * r


def test_sequential_bounds_contain_1000_samples():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(),
                        nn.Linear(8, 3)).double()
    c = torch.randn(5, generator=g, dtype=torch.float64)
    r = torch.rand(5, generator=g, dtype=torch.float64) * 0.5
    lc, lr = interval_sequential(net, c, r)
    pts = _box_samples(c, r, 1000, g)
    with torch.no_grad():
        out = net(pts)
    assert (out >= lc - lr - 1e-12).all() and (out <= lc + lr + 1e-12).all()


def test_single_linear_bound_is_tight():
    """For one linear layer IBP is exact: the box corner sign(W)·r reaches the upper bound."""
    g = torch.Generator().manual_seed(3)
    w = torch.randn(3, 4, generator=g, dtype=torch.float64)
    b = torch.randn(3, generator=g, dtype=torch.float64)
    c = torch.randn(4, generator=g, dtype=torch.float64)
    r = torch.rand(4, generator=g, dtype=torch.float64)
    lc, lr = interval_linear(c, r, w, b)
    corners = c + torch.sign(w) * r  # one corner per output row
    torch.testing.assert_close((corners * w).sum(1) + b, lc + lr)


def test_hypernet_and_interval_weights_contain_samples():
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    shapes = [(6, 4), (6,), (3, 6), (3,)]
    hn = HyperNet(3, shapes, hidden=(10,)).double()
    c = torch.randn(3, generator=g, dtype=torch.float64)
    r = torch.full((3,), 0.2, dtype=torch.float64)
    x = torch.randn(7, 4, generator=g, dtype=torch.float64)
    with torch.no_grad():
        wb = hn.bounds(c, r)
        lc, lr = interval_mlp(x, wb)
        for e in _box_samples(c, r, 1000, g):
            params = hn(e)
            for p, (pc, pr) in zip(params, wb, strict=True):
                assert ((p - pc).abs() <= pr + 1e-12).all()
            logits = mlp_forward(x, params)
            assert ((logits - lc).abs() <= lr + 1e-12).all()


def test_radius_zero_is_plain_forward():
    torch.manual_seed(2)
    hn = HyperNet(4, [(5, 3), (5,), (2, 5), (2,)], hidden=(8, 8)).double()
    e = torch.randn(4, dtype=torch.float64)
    with torch.no_grad():
        bounds = hn.bounds(e, torch.zeros_like(e))
        for p, (pc, pr) in zip(hn(e), bounds, strict=True):
            torch.testing.assert_close(pc, p)
            assert (pr == 0).all()
        x = torch.randn(4, 3, dtype=torch.float64)
        lc, lr = interval_mlp(x, bounds)
        torch.testing.assert_close(lc, mlp_forward(x, hn(e)))
        assert (lr == 0).all()


def test_worst_case_logits():
    c = torch.tensor([[1.0, 0.0]])
    r = torch.tensor([[0.5, 0.25]])
    wc = worst_case_logits(c, r, torch.tensor([0]))
    torch.testing.assert_close(wc, torch.tensor([[0.5, 0.25]]))


def test_bad_args():
    w = torch.randn(3, 4)
    with pytest.raises(ShapeError):
        interval_linear(torch.zeros(5), torch.zeros(5), w)
    with pytest.raises(ShapeError):
        interval_linear(torch.zeros(4), torch.zeros(3), w)
    with pytest.raises(ConfigError, match="radius"):
        interval_linear(torch.zeros(4), -torch.ones(4), w)
    with pytest.raises(ConfigError, match="does not support"):
        interval_sequential(nn.Sequential(nn.Softmax(-1)), torch.zeros(2), torch.zeros(2))
    with pytest.raises(ConfigError):
        HyperNet(0, [(2, 2)])
    hn = HyperNet(3, [(2, 2)])
    with pytest.raises(ShapeError, match="embedding"):
        hn(torch.zeros(4))
    with pytest.raises(ConfigError):
        interval_mlp(torch.zeros(1, 2), [(torch.zeros(2, 2), torch.zeros(2, 2))])
