"""Training with dynamic fixed point integer matmuls (Das et al. 2018, "Mixed Precision
Training of Convolutional Neural Networks using Integer Operations", §3-4).

Every tensor entering a matmul — activations, weights, and in the backward pass
the output gradients — is converted to :class:`~mantissa.formats.DynamicFixedPoint`
(int16 mantissas + one shared exponent per tensor). The product is computed with
INT16 x INT16 -> INT32 fused multiply-accumulates: the int32 accumulator holds the
partial sums of ``chunk`` products, after which it is converted to FP32 and
accumulated (the paper's overflow-avoiding scheme). When a partial sum leaves the
int32 range (an *overflow event*) it is, per ``on_overflow``:

* ``split`` — re-accumulated in halves until each fits (exact; a single product,
  at most 2**30 in magnitude, always fits), i.e. overflow handled;
* ``saturate`` — clamped to the int32 range;
* ``wrap`` — two's-complement wrap-around (what unguarded hardware returns).

Events are counted in an :class:`OverflowCounter`. The integer products are
computed exactly in float64 (every partial sum here stays far below 2**53).
Master weights and the update stay FP32, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.formats import DynamicFixedPoint

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
MODES = ("split", "saturate", "wrap")


@dataclass
class OverflowCounter:
    """Counts int32 partial sums computed and those that overflowed."""

    partial_sums: int = 0
    overflows: int = 0

    @property
    def rate(self) -> float:
        return self.overflows / max(1, self.partial_sums)


def _dfp(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, int]:
    i, e = DynamicFixedPoint(bits).encode(x.detach())
    return i.to(torch.float64), e


def int_matmul(ia: torch.Tensor, ib: torch.Tensor, chunk: int, on_overflow: str,
               counter: OverflowCounter | None) -> torch.Tensor:
    """``ia @ ib`` of integer-valued float64 matrices through an int32 accumulator per chunk."""
    if on_overflow not in MODES:
        raise ConfigError(f"unknown overflow handling {on_overflow!r}; use one of {', '.join(MODES)}")
    k = ia.shape[-1]
    chunk = k if chunk <= 0 else chunk
    out = torch.zeros(ia.shape[0], ib.shape[1], dtype=torch.float32)
    for k0 in range(0, k, chunk):
        part = ia[:, k0:k0 + chunk] @ ib[k0:k0 + chunk]  # exact integers
        over = (part > INT32_MAX) | (part < INT32_MIN)
        if counter is not None:
            counter.partial_sums += part.numel()
            counter.overflows += int(over.sum())
        if on_overflow == "saturate":
            part = part.clamp(INT32_MIN, INT32_MAX)
        elif on_overflow == "wrap":
            part = torch.remainder(part - INT32_MIN, 2.0 ** 32) + INT32_MIN
        out += part.to(torch.float32)  # int32 -> FP32, accumulated in FP32
    return out


def dfp_matmul(a: torch.Tensor, b: torch.Tensor, bits: int = 16, chunk: int = 0,
               on_overflow: str = "split", counter: OverflowCounter | None = None) -> torch.Tensor:
    """``a @ b`` (2-D, float) through DFP integer arithmetic; ``chunk=0`` accumulates all of K in int32."""
    ia, ea = _dfp(a, bits)
    ib, eb = _dfp(b, bits)
    out = int_matmul(ia, ib, chunk, on_overflow, counter)
    return torch.ldexp(out, torch.tensor(float(ea + eb))).to(a.dtype)


@dataclass
class DFPConfig:
    bits: int = 16
    chunk: int = 0
    on_overflow: str = "split"


class _DFPMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, cfg: DFPConfig, counter):  # type: ignore[override]
        ctx.save_for_backward(x, w)
        ctx.cfg, ctx.counter = cfg, counter
        return dfp_matmul(x, w.t(), cfg.bits, cfg.chunk, cfg.on_overflow, counter)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, w = ctx.saved_tensors
        c, n = ctx.cfg, ctx.counter
        gx = dfp_matmul(grad, w, c.bits, c.chunk, c.on_overflow, n)
        gw = dfp_matmul(grad.t(), x, c.bits, c.chunk, c.on_overflow, n)
        return gx, gw, None, None


class DFPLinear(nn.Linear):
    """``nn.Linear`` whose forward and backward matmuls are DFP integer matmuls."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 cfg: DFPConfig | None = None, counter: OverflowCounter | None = None) -> None:
        super().__init__(in_features, out_features, bias)
        self.cfg, self.counter = cfg or DFPConfig(), counter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = _DFPMatmul.apply(x.reshape(-1, shape[-1]), self.weight, self.cfg, self.counter)
        y = y.reshape(*shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias


class DFPConv2d(nn.Conv2d):
    """``nn.Conv2d`` (groups=1) computed as an unfolded DFP integer matmul."""

    def __init__(self, *args, cfg: DFPConfig | None = None, counter: OverflowCounter | None = None,
                 **kw) -> None:
        super().__init__(*args, **kw)
        if self.groups != 1:
            raise ConfigError("DFPConv2d supports groups=1 only")
        self.cfg, self.counter = cfg or DFPConfig(), counter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        kh, kw = self.kernel_size
        cols = nn.functional.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        oh = (h + 2 * self.padding[0] - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        flat = cols.transpose(1, 2).reshape(-1, cols.shape[1])
        y = _DFPMatmul.apply(flat, self.weight.reshape(self.out_channels, -1), self.cfg, self.counter)
        y = y.reshape(n, oh * ow, self.out_channels).transpose(1, 2).reshape(n, self.out_channels, oh, ow)
        return y if self.bias is None else y + self.bias[None, :, None, None]


def convert_to_dfp(model: nn.Module, cfg: DFPConfig | None = None,
                   counter: OverflowCounter | None = None) -> nn.Module:
    """Replace every ``nn.Linear`` / ``nn.Conv2d`` (groups=1) by its DFP version, in place."""
    cfg = cfg or DFPConfig()
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear) and not isinstance(child, DFPLinear):
            new = DFPLinear(child.in_features, child.out_features, child.bias is not None, cfg, counter)
        elif isinstance(child, nn.Conv2d) and not isinstance(child, DFPConv2d) and child.groups == 1:
            new = DFPConv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                            child.padding, child.dilation, bias=child.bias is not None, cfg=cfg,
                            counter=counter)
        else:
            convert_to_dfp(child, cfg, counter)
            continue
        new.load_state_dict(child.state_dict())
        setattr(model, name, new)
    return model
