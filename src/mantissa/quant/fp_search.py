"""LLM-FP4: format and clipping search for W4A4 floating-point PTQ.

Paper: Liu et al., "LLM-FP4: 4-Bit Floating-Point Quantized Transformers"
(EMNLP 2023), §3-4.

* FP quantization with a real-valued exponent bias (eq. 4): a format ExMy whose
  largest value is set to a clipping value ``c`` is the standard ExMy grid
  times the real scale ``c / max``; ``c`` per output channel for weights, per
  tensor for activations.
* **Joint format and max-value search** (§4.1): for each layer, pick the
  exponent/mantissa split (E1M2, E2M1, E3M0 at 4 bits) and the clipping
  values that minimise the layer's output reconstruction error on calibration
  data. Weights are searched per output channel (each channel's output error
  is independent of the others'), activations per tensor by the output MSE;
  weights are searched once with full-precision inputs, then again with the
  chosen quantized inputs.
* **Pre-shifted exponent bias** (§4.2): the per-channel activation scales
  ``s_j = ρ · 2**-k_j`` split into a tensor-wise real ``ρ`` and an integer
  ``k_j``; activations are multiplied by ``2**k_j`` (quantized per tensor) and
  the weight columns by ``2**-k_j`` — an exact exponent shift folded into the
  weight's exponent bias before its quantization.

The same search with an integer grid (``int4``) is the MSE-calibrated integer
baseline; :func:`minmax_plan` is the un-searched baseline for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mantissa.errors import ShapeError
from mantissa.quant.grid import get_grid

FP4_FORMATS = ("e1m2", "e2m1", "e3m0")
W_RATIOS = (0.6, 0.7, 0.8, 0.9, 1.0)
A_RATIOS = tuple(0.05 ** (i / 7) for i in range(7, -1, -1))  # 0.05 .. 1.00, geometric
MAX_SHIFT = 12


@dataclass
class LayerPlan:
    """What a search decided for one linear layer."""

    w_fmt: str
    a_fmt: str
    w_clip: torch.Tensor  # (out,) fraction of each row's absmax (of the shifted weight)
    a_scale: float  # activation quantization step scale (value = code * a_scale)
    shift: torch.Tensor | None  # (in,) int, activation channel j multiplied by 2**shift[j]
    mse: float  # output MSE on the calibration rows, relative to the output's mean square


def fake_quant(x: torch.Tensor, fmt: str, scale: torch.Tensor | float) -> torch.Tensor:
    """``Q(x / scale) * scale`` on the grid ``fmt`` (an ExMy name, an ml_dtypes name or ``intN``);
    the search's fast table rounding (float32)."""
    return get_grid(fmt).fast_quantize(x / scale) * scale


def preshift(x: torch.Tensor, max_shift: int = MAX_SHIFT) -> torch.Tensor:
    """Integer per-channel exponent biases ``k_j = floor(log2(max_j a / a_j))`` of §4.2 (int64)."""
    a = x.abs().amax(0).clamp_min(1e-12)
    return torch.floor(torch.log2(a.max() / a)).clamp(0, max_shift).to(torch.int64)


def search_weight(w: torch.Tensor, x: torch.Tensor, xq: torch.Tensor, fmts: Sequence[str],
                  ratios: Sequence[float] = W_RATIOS) -> tuple[str, torch.Tensor, float]:
    """Best format and per-row clip ratio for ``w`` given reference inputs ``x`` and the
    inputs the quantized layer will see ``xq``: each output channel's error
    ``||X w_i - Xq Q(w_i)||²`` is independent, so every row takes its own best ratio.
    Returns (format, clips, summed error)."""
    y = x @ w.T
    absmax = w.abs().amax(1).clamp_min(1e-12)
    best: tuple[str, torch.Tensor, float] | None = None
    for fmt in fmts:
        grid_max = get_grid(fmt).max
        clips = torch.tensor(list(ratios), dtype=torch.float32)
        errs = []
        for r in ratios:
            wq = fake_quant(w, fmt, (absmax * r / grid_max).unsqueeze(1))
            errs.append(((y - xq @ wq.T) ** 2).sum(0))
        best_err, idx = torch.stack(errs).min(0)  # (ratios, out) -> per row
        total = float(best_err.sum())
        if best is None or total < best[2]:
            best = (fmt, clips[idx], total)
    assert best is not None
    return best


def search_activation(x: torch.Tensor, wq: torch.Tensor, y: torch.Tensor, fmts: Sequence[str],
                      ratios: Sequence[float] = A_RATIOS) -> tuple[str, float, float]:
    """Best format and per-tensor scale for inputs ``x`` of a layer with quantized weight ``wq``
    and reference output ``y``; returns (format, scale, summed squared error)."""
    absmax = float(x.abs().max().clamp_min(1e-12))
    best: tuple[str, float, float] | None = None
    for fmt in fmts:
        grid_max = get_grid(fmt).max
        for r in ratios:
            scale = absmax * r / grid_max
            err = float(((fake_quant(x, fmt, scale) @ wq.T - y) ** 2).sum())
            if best is None or err < best[2]:
                best = (fmt, scale, err)
    assert best is not None
    return best


def search_layer(weight: torch.Tensor, x: torch.Tensor, w_fmts: Sequence[str] = FP4_FORMATS,
                 a_fmts: Sequence[str] | None = None, preshift_bias: bool = True,
                 w_ratios: Sequence[float] = W_RATIOS, a_ratios: Sequence[float] = A_RATIOS) -> LayerPlan:
    """The LLM-FP4 search for one layer ``y = x @ weight.T`` on calibration inputs ``x`` (rows, in)."""
    if x.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ShapeError(f"calibration inputs {tuple(x.shape)} do not fit weight {tuple(weight.shape)}")
    a_fmts = tuple(a_fmts or w_fmts)
    x, w = x.float(), weight.detach().float()
    shift = preshift(x) if preshift_bias else None
    xs = x if shift is None else x * torch.exp2(shift.float())
    ws = w if shift is None else w * torch.exp2(-shift.float())
    y = x @ w.T
    # 1) weights against full-precision inputs
    w_fmt, w_clip, _ = search_weight(ws, xs, xs, w_fmts, w_ratios)
    wq = _quant_rows(ws, w_fmt, w_clip)
    # 2) activations against those weights
    a_fmt, a_scale, _ = search_activation(xs, wq, y, a_fmts, a_ratios)
    xq = fake_quant(xs, a_fmt, a_scale)
    # 3) weights again, now seeing the quantized inputs
    _, w_clip, _ = search_weight(ws, xs, xq, (w_fmt,), w_ratios)
    wq = _quant_rows(ws, w_fmt, w_clip)
    mse = float(((xq @ wq.T - y) ** 2).mean() / (y**2).mean().clamp_min(1e-30))
    return LayerPlan(w_fmt, a_fmt, w_clip, a_scale, shift, mse)


def minmax_plan(weight: torch.Tensor, x: torch.Tensor, fmt: str) -> LayerPlan:
    """No search: per-row absmax for weights, the calibration absmax for activations."""
    x, w = x.float(), weight.detach().float()
    grid_max = get_grid(fmt).max
    clip = torch.ones(w.shape[0])
    a_scale = float(x.abs().max().clamp_min(1e-12)) / grid_max
    y = x @ w.T
    yq = fake_quant(x, fmt, a_scale) @ _quant_rows(w, fmt, clip).T
    mse = float(((yq - y) ** 2).mean() / (y**2).mean().clamp_min(1e-30))
    return LayerPlan(fmt, fmt, clip, a_scale, None, mse)


def _quant_rows(w: torch.Tensor, fmt: str, clip: torch.Tensor) -> torch.Tensor:
    scale = (w.abs().amax(1).clamp_min(1e-12) * clip / get_grid(fmt).max).unsqueeze(1)
    return fake_quant(w, fmt, scale)
