"""Default feed-forward blocks and norms for the registry slots ``FFN`` and ``NORM``.

FFNs are built as ``FFN.build(name, d_model=..., d_ff=..., dropout=...)``; norms
as ``NORM.build(name, d_model=...)``.

* ``gelu`` / ``relu`` — two-layer MLP (Vaswani et al., 2017, Eq. 2; GPT-2 uses GELU).
* ``swiglu`` — gated MLP ``W2 (silu(W1 x) * W3 x)`` (Shazeer, 2020, Eq. 6).
* ``layernorm`` — LayerNorm (Ba et al., 2016); ``rmsnorm`` — RMSNorm (Zhang & Sennrich, 2019, Eq. 4).
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.nn.slots import FFN, NORM


class MLPBlock(nn.Module):
    def __init__(self, d_model: int, d_ff: int, act: nn.Module, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff)
        self.act = act
        self.proj = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(self.act(self.fc(x))))


@FFN.register("gelu")
def gelu_ffn(d_model: int, d_ff: int, dropout: float = 0.0, **_: object) -> nn.Module:
    return MLPBlock(d_model, d_ff, nn.GELU(), dropout)


@FFN.register("relu")
def relu_ffn(d_model: int, d_ff: int, dropout: float = 0.0, **_: object) -> nn.Module:
    return MLPBlock(d_model, d_ff, nn.ReLU(), dropout)


class SwiGLU(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.w2(nn.functional.silu(self.w1(x)) * self.w3(x)))


@FFN.register("swiglu")
def swiglu_ffn(d_model: int, d_ff: int, dropout: float = 0.0, **_: object) -> nn.Module:
    return SwiGLU(d_model, d_ff, dropout)


class RMSNorm(nn.Module):
    def __init__(self, d_model: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


@NORM.register("layernorm")
def layernorm(d_model: int, **_: object) -> nn.Module:
    return nn.LayerNorm(d_model)


@NORM.register("rmsnorm")
def rmsnorm(d_model: int, eps: float = 1e-6, **_: object) -> nn.Module:
    return RMSNorm(d_model, eps)
