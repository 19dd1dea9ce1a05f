import numpy as np
import pytest
import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.quant.grid import get_grid
from mantissa.quant.learned_rounding import (
    WEIGHT_ROUNDING,
    PTQConfig,
    PTQLinear,
    grid_neighbours,
    learn_rounding,
    linear_order,
    quantize_model,
    rectified_sigmoid,
)


@pytest.mark.parametrize("name", ["e2m1", "int4", "float8_e4m3fn"])
def test_neighbours_match_brute_force(name):
    grid = get_grid(name)
    vals = np.unique(np.nan_to_num(grid.fmt.values(torch.float64).numpy()))
    vals = vals[np.abs(vals) <= grid.max]
    x = torch.cat([torch.randn(2000, generator=torch.Generator().manual_seed(0)) * grid.max / 2,
                   torch.tensor(vals[::3], dtype=torch.float32), torch.tensor([2 * grid.max, -3 * grid.max])])
    down, up = grid_neighbours(x, grid)
    for v, d, u in zip(np.clip(x.double().numpy(), vals[0], vals[-1]), down.numpy(), up.numpy()):
        assert d == vals[vals <= np.float32(v)].max()
        assert u == vals[vals >= np.float32(v)].min()


def test_rectified_sigmoid_range():
    h = rectified_sigmoid(torch.tensor([-50.0, 0.0, 50.0]))
    assert h.tolist() == pytest.approx([0.0, 0.5, 1.0])


def _layer_problem(seed=0, n=512, d_in=32, d_out=16):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d_out, d_in, generator=g) * 0.2
    # correlated inputs (rank-8 plus noise): where rounding errors can cancel across weights
    x = torch.randn(n, 8, generator=g) @ torch.randn(8, d_in, generator=g)
    x = x + 0.1 * torch.randn(n, d_in, generator=g)
    return w, x, x @ w.T


@pytest.mark.parametrize("name", ["e2m1", "int4"])
def test_learned_rounding_beats_nearest_and_stays_on_neighbours(name):
    grid = get_grid(name)
    w, x, y = _layer_problem()
    scale = (w.abs().amax(1, keepdim=True) / grid.max)
    near = WEIGHT_ROUNDING.get("nearest")(w, scale, grid)
    learned = learn_rounding(w, scale, grid, x, y, iters=400, lr=1e-2, seed=0)
    down, up = grid_neighbours(w / scale, grid)
    codes = learned / scale
    assert bool(((codes - down).abs() < 1e-5).logical_or((codes - up).abs() < 1e-5).all())
    err = lambda wq: float(((x @ wq.T - y) ** 2).mean())  # noqa: E731
    assert err(learned) < 0.5 * err(near)


def test_learned_rounding_checks_shapes():
    grid = get_grid("int4")
    w, x, y = _layer_problem()
    with pytest.raises(ConfigError):
        learn_rounding(w, torch.ones(16, 1), grid, x, y[:, :3], iters=1)


def test_quantize_model_replaces_linears_in_call_order():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    calib = torch.randn(256, 8)
    run = lambda m: m(calib)  # noqa: E731
    assert linear_order(model, run) == ["0", "2"]
    q = quantize_model(model, run, PTQConfig(w_grid="float8_e4m3fn", a_grid="float8_e4m3fn", iters=20))
    assert isinstance(q[0], PTQLinear) and isinstance(q[2], PTQLinear)
    assert isinstance(model[0], nn.Linear)  # the original is untouched
    with torch.no_grad():
        rel = float(((q(calib) - model(calib)) ** 2).mean() / (model(calib) ** 2).mean())
    assert rel < 1e-2
    q4 = quantize_model(model, run, PTQConfig(w_grid="int4", a_grid=None, rounding="nearest"))
    assert isinstance(q4[0].act, nn.Identity)
    vals = torch.unique((q4[0].weight / (q4[0].weight.abs().amax(1, keepdim=True) / 7)).round())
    assert vals.abs().max() <= 7
