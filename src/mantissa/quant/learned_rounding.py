"""Learned weight rounding (AdaRound) on any element grid, and post-training quantization
of a whole model's linear layers with it.

* **AdaRound** (Nagel et al., "Up or Down? Adaptive Rounding for Post-Training
  Quantization", ICML 2020, Eq. 21-24): each weight ``w`` (in units of its scale ``s``)
  goes to the grid value just below or just above it, ``w~ = s (floor(w/s) + h(V))``,
  with the rectified sigmoid ``h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1)``,
  ``zeta = 1.1``, ``gamma = -0.1``. ``V`` minimises the layer-output error
  ``||W x - W~ x_q||^2`` on calibration inputs plus ``lambda * sum(1 - |2 h(V) - 1|^beta)``
  with ``beta`` annealed from 20 to 2 after a warm-up (the regulariser drives ``h`` to 0/1).
  On a floating-point grid (E2M1, E4M3...) "below" and "above" are the neighbouring
  *format* values, not ``floor``/``floor + 1``: the grid is non-uniform, the method unchanged.
* **FP post-training quantization for diffusion models** (Chen, Giannoula & Moshovos,
  "Low-Bitwidth Floating Point Quantization for Efficient High-Quality Diffusion Models",
  2024, §3-4): weights per output channel and activations per tensor on FP grids, the
  scales chosen to minimise each layer's output error on calibration inputs gathered from
  every timestep of the sampling chain, and the weight rounding learned as above.
  :func:`quantize_model` does it layer by layer in execution order; each layer is
  calibrated on the inputs produced by the *already quantized* earlier layers, against
  the full-precision layer's output. The scale searches are
  :func:`mantissa.quant.fp_search.search_weight` / ``search_activation`` (LLM-FP4 §4.1);
  the same code on an integer grid (``int4``) is the integer baseline.

Rounding methods are registered in :data:`WEIGHT_ROUNDING` (``nearest``, ``learned``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError
from mantissa.quant.fp_search import A_RATIOS, W_RATIOS, search_activation, search_weight
from mantissa.quant.grid import Grid, get_grid
from mantissa.quant.layers import FloatPerTensor
from mantissa.registry import Registry

ZETA, GAMMA = 1.1, -0.1
WEIGHT_ROUNDING: Registry = Registry("weight rounding")


def grid_values(grid: Grid) -> torch.Tensor:
    """Sorted finite values of a grid within ±max (float64)."""
    vals = torch.unique(torch.nan_to_num(grid.fmt.values(torch.float64), nan=0.0))
    return vals[vals.abs() <= grid.max]


def grid_neighbours(v: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """The grid values just below (``<= v``) and just above (``>= v``) ``v``, after clipping
    ``v`` to ±max; equal where ``v`` is on the grid."""
    vals = grid_values(grid).to(v.dtype)
    v = v.clamp(float(vals[0]), float(vals[-1]))
    idx = (torch.searchsorted(vals, v, right=True) - 1).clamp(0, len(vals) - 1)
    down = vals[idx]
    up = torch.where(v > down, vals[(idx + 1).clamp(max=len(vals) - 1)], down)
    return down, up


def rectified_sigmoid(v: torch.Tensor) -> torch.Tensor:
    return (torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)


@WEIGHT_ROUNDING.register("nearest")
def round_nearest(weight: torch.Tensor, scale: torch.Tensor, grid: Grid, x: torch.Tensor | None = None,
                  y: torch.Tensor | None = None, **_: object) -> torch.Tensor:
    """Round-to-nearest onto ``grid * scale`` (``scale`` broadcasts against ``weight``)."""
    return grid.quantize(weight / scale) * scale


@WEIGHT_ROUNDING.register("learned")
def learn_rounding(weight: torch.Tensor, scale: torch.Tensor, grid: Grid, x: torch.Tensor, y: torch.Tensor,
                   iters: int = 500, lr: float = 1e-2, lam: float = 0.01, batch: int = 256,
                   warmup: float = 0.2, beta: tuple[float, float] = (20.0, 2.0),
                   seed: int = 0) -> torch.Tensor:
    """AdaRound: the dequantized weight ``s (down + round(h(V)) (up - down))`` whose rounding
    minimises ``||y - x W~^T||^2`` (rows of ``x``: calibration inputs, ``y``: target outputs
    without bias). Starts at ``h(V)`` = the weight's position between its neighbours, so the
    soft weight equals the float weight at step 0."""
    if x.dim() != 2 or y.shape != (x.shape[0], weight.shape[0]):
        raise ConfigError(f"learned rounding needs x (N, in) and y (N, out), got {tuple(x.shape)}, "
                          f"{tuple(y.shape)} for weight {tuple(weight.shape)}")
    w = (weight.detach() / scale).float()
    down, up = grid_neighbours(w, grid)
    gap = up - down
    frac = torch.where(gap > 0, (w.clamp(down, up) - down) / gap.clamp_min(1e-30), torch.zeros_like(w))
    p = ((frac - GAMMA) / (ZETA - GAMMA)).clamp(1e-4, 1 - 1e-4)
    v = nn.Parameter(torch.log(p) - torch.log1p(-p))
    opt = torch.optim.Adam([v], lr=lr)
    x, y = x.detach().float(), y.detach().float()
    norm = float((y**2).mean().clamp_min(1e-30))
    g = torch.Generator().manual_seed(seed)
    start = int(warmup * iters)
    for it in range(iters):
        rows = torch.randint(0, x.shape[0], (min(batch, x.shape[0]),), generator=g)
        h = rectified_sigmoid(v)
        pred = x[rows] @ ((down + h * gap) * scale).T
        rec = ((pred - y[rows]) ** 2).sum(1).mean() / norm
        if it >= start:
            b = beta[1] + (beta[0] - beta[1]) * (1 - (it - start) / max(1, iters - start))
            rec = rec + lam * (1 - (2 * h - 1).abs().pow(b)).sum()
        opt.zero_grad(set_to_none=True)
        rec.backward()
        opt.step()
    with torch.no_grad():
        return ((down + (rectified_sigmoid(v) >= 0.5).float() * gap) * scale).to(weight.dtype)


class PTQLinear(nn.Module):
    """A linear layer with a fixed (dequantized) weight and an optional input quantizer."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, act: nn.Module | None = None) -> None:
        super().__init__()
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.act = act if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.act(x), self.weight, self.bias)


@dataclass
class PTQConfig:
    """``w_grid``/``a_grid``: grid names of :func:`~mantissa.quant.grid.get_grid` (``e2m1``,
    ``float8_e4m3fn``, ``int4``...); ``a_grid=None`` keeps activations float."""

    w_grid: str = "e2m1"
    a_grid: str | None = "float8_e4m3fn"
    rounding: str = "learned"
    clip_search: bool = True
    iters: int = 500
    lr: float = 1e-2
    lam: float = 0.01
    batch: int = 256
    calib_rows: int = 2048


def _run_with_pre_hooks(model: nn.Module, hooks: dict[str, Callable[..., None]],
                        run: Callable[[nn.Module], object]) -> None:
    """``run(model)`` without gradients, with ``hooks[name]`` as a forward pre-hook on each named module."""
    mods = dict(model.named_modules())
    handles = [mods[n].register_forward_pre_hook(fn) for n, fn in hooks.items()]
    try:
        with torch.no_grad():
            run(model)
    finally:
        for hk in handles:
            hk.remove()


def _linear_inputs(model: nn.Module, names: list[str],
                   run: Callable[[nn.Module], object]) -> dict[str, torch.Tensor]:
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    _run_with_pre_hooks(model, {n: lambda m, a, n=n: seen[n].append(a[0].detach().reshape(-1, a[0].shape[-1]))
                                for n in names}, run)
    return {n: torch.cat(v) for n, v in seen.items() if v}


def linear_order(model: nn.Module, run: Callable[[nn.Module], object]) -> list[str]:
    """Names of the ``nn.Linear`` modules in the order a calibration pass first calls them."""
    order: list[str] = []
    lin = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    _run_with_pre_hooks(model, {n: lambda mod, a, n=n: order.append(n) if n not in order else None
                                for n in lin}, run)
    return order


def quantize_model(model: nn.Module, run: Callable[[nn.Module], object], cfg: PTQConfig,
                   seed: int = 0) -> nn.Module:
    """A quantized copy of ``model``: every ``nn.Linear`` that ``run(model)`` (one pass over the
    calibration inputs) calls becomes a :class:`PTQLinear`, layer by layer in call order."""
    rounder = WEIGHT_ROUNDING.get(cfg.rounding)
    wg = get_grid(cfg.w_grid)
    q = copy.deepcopy(model).eval()
    names = linear_order(model, run)
    fp_in = _linear_inputs(model, names, run)
    g = torch.Generator().manual_seed(seed)
    for i, name in enumerate(names):
        lin = q.get_submodule(name)
        w = lin.weight.detach().float()
        xq_all = _linear_inputs(q, [name], run)[name]
        rows = torch.randperm(xq_all.shape[0], generator=g)[: cfg.calib_rows]
        x, xq = fp_in[name][rows].float(), xq_all[rows].float()
        y = x @ w.T
        w_ratios, a_ratios = (W_RATIOS, A_RATIOS) if cfg.clip_search else ((1.0,), (1.0,))
        clip = search_weight(w, x, x, (cfg.w_grid,), w_ratios)[1]
        act = None
        if cfg.a_grid is not None:
            wq0 = round_nearest(w, _row_scale(w, clip, wg), wg)
            a_scale = search_activation(xq, wq0, y, (cfg.a_grid,), a_ratios)[1]
            act = FloatPerTensor(cfg.a_grid, a_scale)
            xq = act(xq)
        clip = search_weight(w, x, xq, (cfg.w_grid,), w_ratios)[1]
        scale = _row_scale(w, clip, wg)
        w_hat = rounder(w, scale, wg, xq, y, iters=cfg.iters, lr=cfg.lr, lam=cfg.lam, batch=cfg.batch,
                        seed=seed + i)
        parent, _, leaf = name.rpartition(".")
        setattr(q.get_submodule(parent) if parent else q, leaf, PTQLinear(w_hat, lin.bias, act))
    return q


def _row_scale(w: torch.Tensor, clip: torch.Tensor, grid: Grid) -> torch.Tensor:
    return (w.abs().amax(1).clamp_min(1e-12) * clip / grid.max).unsqueeze(1)
