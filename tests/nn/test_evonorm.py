"""EvoNorm-B0/S0 against the paper's formulas evaluated in float64 NumPy."""

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.evonorm import EvoNormB0, EvoNormS0, NormActCNN
from mantissa.nn.slots import NORM
from mantissa.runtime import threads

EPS = 1e-5


def _randomise(layer, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in (layer.weight, layer.bias, layer.v):
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return layer


def _x(shape=(4, 6, 5, 3), seed=1):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _np(t):
    return t.detach().numpy().astype(np.float64)


def test_s0_matches_formula():
    layer = _randomise(EvoNormS0(6, groups=3)).double()
    x = _x()
    xn = _np(x)
    v, gamma, beta = (_np(p)[None, :, None, None] for p in (layer.v, layer.weight, layer.bias))
    grouped = xn.reshape(4, 3, 2, 5, 3)
    std = np.sqrt(grouped.var(axis=(2, 3, 4), keepdims=True) + EPS)
    std = np.broadcast_to(std, grouped.shape).reshape(xn.shape)
    want = xn / (1 + np.exp(-v * xn)) / std * gamma + beta
    np.testing.assert_allclose(_np(layer(x)), want, rtol=1e-10, atol=1e-12)


def test_b0_matches_formula_in_training_and_eval():
    layer = _randomise(EvoNormB0(6, momentum=0.5)).double()
    x = _x()
    xn = _np(x)
    v, gamma, beta = (_np(p)[None, :, None, None] for p in (layer.v, layer.weight, layer.bias))
    batch_var = xn.var(axis=(0, 2, 3), keepdims=True)
    inst = np.sqrt(xn.var(axis=(2, 3), keepdims=True) + EPS)
    want = xn / np.maximum(np.sqrt(batch_var + EPS), v * xn + inst) * gamma + beta
    np.testing.assert_allclose(_np(layer(x)), want, rtol=1e-10, atol=1e-12)
    # running variance: unbiased batch variance blended with momentum 0.5 from 1
    n = 4 * 5 * 3
    run = 0.5 * 1.0 + 0.5 * batch_var.ravel() * n / (n - 1)
    np.testing.assert_allclose(_np(layer.running_var), run, rtol=1e-10)
    layer.eval()
    want_eval = xn / np.maximum(np.sqrt(run[None, :, None, None] + EPS), v * xn + inst) * gamma + beta
    np.testing.assert_allclose(_np(layer(x)), want_eval, rtol=1e-10, atol=1e-12)


def test_s0_is_batch_independent_b0_is_not():
    x = _x()
    s0 = _randomise(EvoNormS0(6, groups=2)).double()
    torch.testing.assert_close(s0(x)[:1], s0(x[:1]))
    b0 = _randomise(EvoNormB0(6)).double()
    assert not torch.allclose(b0(x)[:1], b0(x[:1]))


@pytest.mark.parametrize("name", ["evonorm-b0", "evonorm-s0", "bn-relu", "gn-relu"])
def test_channels_last_matches(name):
    torch.manual_seed(0)
    kw = {"groups": 3} if name in ("evonorm-s0", "gn-relu") else {}
    first = NORM.build(name, d_model=6, **kw)
    last = NORM.build(name, d_model=6, channels_last=True, **kw)
    last.load_state_dict(first.state_dict())
    x = _x().float()
    torch.testing.assert_close(last(x.movedim(1, -1)), first(x).movedim(1, -1))


def test_bad_input_is_reported():
    with pytest.raises(ShapeError, match="expects 6 channels"):
        EvoNormS0(6)(torch.randn(2, 5, 3, 3))
    with pytest.raises(ConfigError, match="channels >= 1"):
        EvoNormB0(0)
    with pytest.raises(ConfigError, match="spatial"):
        NORM.build("bn-relu:spatial=5", d_model=4)


def test_group_count_falls_back_to_a_divisor():
    assert EvoNormS0(24, groups=32).groups == 24
    assert EvoNormS0(20, groups=8).groups == 5


def test_cnn_learns_a_batch_and_backprops():
    with threads(1):
        _learn_a_batch()


def _learn_a_batch():
    torch.manual_seed(0)
    for spec in ("evonorm-s0:groups=8", "evonorm-b0", "bn-relu"):
        net = NormActCNN(spec, width=8, depth=2)
        x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        first = None
        for _ in range(40):
            loss = torch.nn.functional.cross_entropy(net(x), y)
            first = first if first is not None else float(loss.detach())
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert float(loss.detach()) < 0.5 * first, spec
