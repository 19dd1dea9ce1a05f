"""Simulated reduced-precision training: every linear-layer GEMM in a chosen number format.

For "To FP8 and Back Again: Quantifying the Effects of Reducing Precision on LLM
Training Stability" (Lee et al. 2024, §3-4), which simulates floating-point
formats of shrinking exponent/mantissa width. :class:`SimLinear` rounds, in the
forward pass, the input, the weight and the output of the matmul to the format;
in the backward pass the incoming gradient and both outgoing gradients
(input and weight). Products accumulate in FP32 (as tensor cores do) and the
optimizer keeps FP32 master weights. Any :class:`~mantissa.formats.Format` works
(``fp:e8m3``, ``float8_e4m3fn``, ``fp:e5m2,overflow=saturate``...).
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.formats import Format, get


def cast(x: torch.Tensor, fmt: Format, scaled: bool = False) -> torch.Tensor:
    """Round ``x`` to ``fmt``; with ``scaled``, first map max|x| near the format's max by a
    power-of-two per-tensor scale (FP8 training recipes' per-tensor scaling)."""
    if not scaled:
        return fmt.quantize(x)
    amax = x.detach().abs().max()
    if not torch.isfinite(amax) or amax == 0:
        return fmt.quantize(x)
    e = torch.floor(torch.log2(fmt.info.max / amax))
    s = torch.exp2(e)
    return fmt.quantize(x * s) / s


class _SimMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, fmt: Format, scaled: bool):  # type: ignore[override]
        xq, wq = cast(x, fmt, scaled), cast(w, fmt, scaled)
        ctx.save_for_backward(xq, wq)
        ctx.fmt, ctx.scaled = fmt, scaled
        return cast(xq @ wq.t(), fmt, scaled)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        xq, wq = ctx.saved_tensors
        fmt, sc = ctx.fmt, ctx.scaled
        g = cast(grad, fmt, sc)
        return cast(g @ wq, fmt, sc), cast(g.t() @ xq, fmt, sc), None, None


class SimLinear(nn.Linear):
    """``nn.Linear`` whose GEMMs (forward and backward) round to ``fmt``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 fmt: Format | str = "bfloat16", scaled: bool = False) -> None:
        super().__init__(in_features, out_features, bias)
        self.fmt = get(fmt)
        self.scaled = scaled

    def extra_repr(self) -> str:
        return super().extra_repr() + f", fmt={self.fmt}, scaled={self.scaled}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = _SimMatmul.apply(x.reshape(-1, shape[-1]), self.weight, self.fmt, self.scaled)
        y = y.reshape(*shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias


def simulate_precision(model: nn.Module, fmt: Format | str, scaled: bool = False) -> nn.Module:
    """Replace every ``nn.Linear`` by a :class:`SimLinear` in ``fmt`` (in place, weights kept)."""
    fmt = get(fmt)
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear) and not isinstance(child, SimLinear):
            new = SimLinear(child.in_features, child.out_features, child.bias is not None, fmt, scaled)
            new.weight, new.bias = child.weight, child.bias  # keep parameters (and any weight tying)
            setattr(model, name, new)
        else:
            simulate_precision(child, fmt, scaled)
    return model


@torch.no_grad()
def sharpness(model: nn.Module, loss_fn, radius: float = 0.05, directions: int = 4,
              seed: int = 0) -> float:
    """Mean loss increase under random weight perturbations of relative size ``radius``.

    Each direction is Gaussian, scaled per parameter tensor to ``radius * ||p||``
    (filter-normalised in spirit, Li et al. 2018); ``loss_fn(model) -> float``.
    Non-finite losses give ``inf``.
    """
    g = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.dim() > 1]
    base = float(loss_fn(model))
    rises = []
    for _ in range(directions):
        saved = [p.detach().clone() for p in params]
        for p in params:
            d = torch.randn(p.shape, generator=g).to(p)
            p.add_(d * (radius * p.norm() / d.norm().clamp_min(1e-12)))
        rises.append(float(loss_fn(model)) - base)
        for p, s in zip(params, saved):
            p.copy_(s)
    out = sum(rises) / len(rises)
    return out if out == out else float("inf")
