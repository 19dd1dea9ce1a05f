"""Quantization-aware training: FakeQuantize with straight-through gradients, and LSQ.

* :class:`FakeQuantize` — quantize-dequantize in the forward pass; the backward
  pass is the clipped straight-through estimator (Bengio et al. 2013; Gholami et
  al. 2021 §III-G): gradient 1 inside the quantizer's range, 0 where clipped.
  Weights use dynamic qparams; activations track an exponential moving average
  of the observed range in training and freeze it in eval.
* :class:`LSQ` — Learned Step Size Quantization (Esser et al. 2020, Eq. 1-3):
  ``q = round(clamp(x / s, Qn, Qp)) * s`` with the step ``s`` a parameter,
  initialised to ``2 mean|x| / sqrt(Qp)`` and its gradient scaled by
  ``g = 1 / sqrt(N * Qp)``.
* :class:`QATLinear` / :func:`prepare_qat` — an ``nn.Linear`` whose weight (and
  optionally input) pass through those modules.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.formats import IntFormat
from mantissa.quant.granularity import Granularity
from mantissa.quant.spec import Quantizer, parse_quantizer
from mantissa.quant.uniform import QParams, clip_range, qparams


class _STE(torch.autograd.Function):
    """Forward ``q`` as it is; backward the incoming gradient, zeroed where ``inside`` is False."""

    @staticmethod
    def forward(ctx, x, q, inside):  # type: ignore[override]
        ctx.save_for_backward(inside)
        return q.view_as(q)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (inside,) = ctx.saved_tensors
        return (grad if inside is None else grad.masked_fill(~inside, 0)), None, None


def ste(x: torch.Tensor, q: torch.Tensor, lo: torch.Tensor | None = None,
        hi: torch.Tensor | None = None) -> torch.Tensor:
    """Forward ``q``; backward identity (masked to ``[lo, hi]`` when given).

    One autograd node that keeps a boolean mask: one pass over memory backward, where the
    ``x + (q - x).detach()`` form took about five each way.
    """
    inside = None
    if lo is not None and hi is not None:
        xd = x.detach()
        inside = (xd >= lo) & (xd <= hi)
    return _STE.apply(x, q, inside)


class FakeQuantize(nn.Module):
    """Fake quantization by a :class:`Quantizer` spec, with clipped STE gradients."""

    def __init__(self, spec: str | Quantizer, dynamic: bool = True, momentum: float = 0.1) -> None:
        super().__init__()
        self.quantizer = parse_quantizer(spec)
        self.dynamic = dynamic
        self.momentum = momentum
        self.register_buffer("lo", torch.empty(0))
        self.register_buffer("hi", torch.empty(0))
        self.enabled = True

    def extra_repr(self) -> str:
        return f"{self.quantizer}, dynamic={self.dynamic}"

    def _qparams(self, x: torch.Tensor) -> QParams:
        q = self.quantizer
        if self.dynamic:
            return q.dynamic_qparams(x)
        rows = q.granularity.rows(x.detach())
        if self.training or self.lo.numel() == 0:
            lo, hi = rows.amin(1, keepdim=True), rows.amax(1, keepdim=True)
            if self.lo.numel() == 0:
                self.lo, self.hi = lo.clone(), hi.clone()
            else:
                m = self.momentum
                self.lo.mul_(1 - m).add_(m * lo)
                self.hi.mul_(1 - m).add_(m * hi)
        return qparams(self.lo, self.hi, q.format, q.symmetric)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        q = self.quantizer
        qp = self._qparams(x)
        fq = q.fake(x.detach(), qp)
        lo, hi = clip_range(qp, q.format)
        g = q.granularity
        return ste(x, fq, g.unrows(lo.expand(-1, g.rows(x).shape[1]), x.shape),
                   g.unrows(hi.expand(-1, g.rows(x).shape[1]), x.shape))


class _GradScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return grad * ctx.scale, None


class LSQ(nn.Module):
    """Learned step size quantizer (integer formats; per-tensor or per-channel)."""

    def __init__(self, spec: str | Quantizer = "int4") -> None:
        super().__init__()
        self.quantizer = parse_quantizer(spec)
        fmt = self.quantizer.format
        if not isinstance(fmt, IntFormat):
            raise ConfigError(f"LSQ learns integer step sizes; got element format {fmt}")
        if self.quantizer.granularity.kind not in ("tensor", "channel"):
            raise ConfigError(f"LSQ supports tensor or channel granularity, got {self.quantizer.granularity}")
        self.qn, self.qp = fmt.qmin, fmt.qmax
        self.step = nn.Parameter(torch.empty(0))

    def extra_repr(self) -> str:
        return str(self.quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g: Granularity = self.quantizer.granularity
        rows = g.rows(x)
        if self.step.numel() == 0:
            init = 2 * rows.detach().abs().mean(1, keepdim=True) / math.sqrt(self.qp)
            self.step = nn.Parameter(init.clamp_min(1e-8))
        grad_scale = 1.0 / math.sqrt(rows.shape[1] * self.qp)
        s = _GradScale.apply(self.step, grad_scale)
        v = torch.clamp(rows / s, self.qn, self.qp)
        q = v + (torch.round(v) - v).detach()
        return g.unrows(q * s, x.shape)


class QATLinear(nn.Linear):
    """``nn.Linear`` with a fake-quantized (or LSQ) weight and optionally input."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 weight: str | None = "int4:channel", act: str | None = None, lsq: bool = False) -> None:
        super().__init__(in_features, out_features, bias)
        self.wq: nn.Module | None = None if weight is None else (LSQ(weight) if lsq else FakeQuantize(weight))
        self.aq: nn.Module | None = None if act is None else (
            LSQ(act) if lsq else FakeQuantize(act, dynamic=False))

    @classmethod
    def from_linear(cls, lin: nn.Linear, **kw) -> QATLinear:
        new = cls(lin.in_features, lin.out_features, lin.bias is not None, **kw)
        new.load_state_dict(lin.state_dict(), strict=False)
        new = new.to(lin.weight.device, lin.weight.dtype)
        if isinstance(new.wq, LSQ):  # create the weight step now, before an optimizer is built
            with torch.no_grad():
                new.wq(new.weight)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight if self.wq is None else self.wq(self.weight)
        x = x if self.aq is None else self.aq(x)
        return nn.functional.linear(x, w, self.bias)


def prepare_qat(model: nn.Module, weight: str | None = "int4:channel", act: str | None = None,
                lsq: bool = False, skip: tuple[str, ...] = ()) -> nn.Module:
    """Replace every ``nn.Linear`` (except names in ``skip``) by a :class:`QATLinear`, in place."""
    for name, child in list(model.named_children()):
        if name in skip:
            continue
        if isinstance(child, nn.Linear) and not isinstance(child, QATLinear):
            setattr(model, name, QATLinear.from_linear(child, weight=weight, act=act, lsq=lsq))
        else:
            prepare_qat(child, weight, act, lsq, skip)
    return model
