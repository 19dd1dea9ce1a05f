"""NUPES: non-uniform post-training quantization via power exponent search.

Yvinec et al. 2023 ("NUPES: Non-Uniform Post-Training Quantization via Power
Exponent Search"), §3.1-3.3. A weight ``w`` with per-output-channel scale
``s = max|w|`` is quantized in the power domain,

``k = round(qmax * |w / s| ** a)``,   ``w^ = sign(w) * s * (k / qmax) ** (1 / a)``

(:class:`~mantissa.formats.PowerFormat` is that grid). The exponent ``a`` is
chosen data-free by a search minimising the weight error
(:func:`search_exponent`) and then learned by gradient descent on the layer's
output error ``||X (W - W^)^T||^2 = tr(dW H dW^T)``, ``H = X^T X`` (:func:`learn_exponent`),
with the straight-through estimator through the rounding and ``|w|`` clamped away
from 0 so the power and its inverse stay finite (the numerical instabilities the
paper alleviates). Learning new weight values over the whole quantized space (the
paper's other contribution) is not implemented.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.formats import PowerFormat

_TINY = 1e-12


def power_fake_quant(w: torch.Tensor, a: torch.Tensor | float, bits: int = 4) -> torch.Tensor:
    """Per-output-channel power quantization of a 2-D weight, differentiable in ``a`` (STE on round)."""
    if w.dim() != 2:
        raise ConfigError(f"power_fake_quant expects a 2-D weight (out, in), got shape {tuple(w.shape)}")
    qmax = 2 ** (bits - 1) - 1
    a = torch.as_tensor(a, dtype=w.dtype)
    s = w.detach().abs().amax(1, keepdim=True).clamp_min(_TINY)
    u = (w / s).abs().clamp(_TINY, 1.0)
    t = u.pow(a) * qmax
    k = t + (torch.round(t) - t).detach()
    mag = (k / qmax).clamp_min(_TINY).pow(1.0 / a)
    mag = torch.where(k.detach() > 0, mag, torch.zeros_like(mag))
    return torch.sign(w) * mag * s


def search_exponent(w: torch.Tensor, bits: int = 4, lo: float = 0.2, hi: float = 1.5,
                    steps: int = 27) -> float:
    """Data-free: the exponent on a grid that minimises the weight MSE."""
    best, best_a = math.inf, 1.0
    with torch.no_grad():
        for a in torch.linspace(lo, hi, steps).tolist():
            err = float((power_fake_quant(w, a, bits) - w).pow(2).sum())
            if err < best:
                best, best_a = err, a
    return best_a


def output_error(w: torch.Tensor, w_hat: torch.Tensor, gram: torch.Tensor) -> torch.Tensor:
    """``||X (W - W^)^T||_F^2`` from the Gram matrix ``H = X^T X``."""
    d = w - w_hat
    return ((d @ gram) * d).sum()


def learn_exponent(w: torch.Tensor, gram: torch.Tensor, a0: float, bits: int = 4, steps: int = 40,
                   lr: float = 0.02, rows: int | None = 256, seed: int = 0) -> float:
    """Data-driven: Adam on ``log a`` minimising the output error (on ``rows`` sampled output
    channels per step); returns the learned exponent, or ``a0`` if that is better on all of ``w``."""
    g = torch.Generator().manual_seed(seed)
    log_a = nn.Parameter(torch.tensor(math.log(a0), dtype=w.dtype))
    opt = torch.optim.Adam([log_a], lr=lr)
    gram = gram / gram.diagonal().mean().clamp_min(_TINY)
    for _ in range(steps):
        sub = w if rows is None or rows >= w.shape[0] else w[torch.randperm(w.shape[0], generator=g)[:rows]]
        loss = output_error(sub, power_fake_quant(sub, log_a.exp(), bits), gram) / sub.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            log_a.clamp_(math.log(0.1), math.log(2.0))
    learned = float(log_a.detach().exp())
    with torch.no_grad():
        errs = [float(output_error(w, power_fake_quant(w, a, bits), gram)) for a in (learned, a0)]
    return learned if errs[0] <= errs[1] else a0


class PowerQuantizer(nn.Module):
    """A weight quantizer with a learnable power exponent (fake quantization for QAT/PTQ)."""

    def __init__(self, bits: int = 4, a: float = 0.5) -> None:
        super().__init__()
        self.bits = int(bits)
        self.log_a = nn.Parameter(torch.tensor(math.log(a)))

    @property
    def a(self) -> float:
        return float(self.log_a.detach().exp())

    @property
    def format(self) -> PowerFormat:
        return PowerFormat(self.bits, round(self.a, 6))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return power_fake_quant(w, self.log_a.exp(), self.bits)
