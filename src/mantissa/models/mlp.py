"""A two-layer MLP for modular arithmetic ``(a, b) -> a ∘ b mod p``.

The network of Doshi et al. (2023), "To grok or not to grok" (Sec. 2, Eq. 1):
the operands are one-hot vectors concatenated into ``x ∈ R^{2p}``, then
``h = φ(W1 x)`` with ``N`` hidden neurons and ``logits = W2 h``. With the
quadratic activation ``φ(z) = z²`` the generalising solution is known in closed
form (periodic neurons); ``relu`` is the other option. ``W1[:, :p]`` and
``W1[:, p:]`` are the per-operand weights whose Fourier spectrum the inverse
participation ratio (:mod:`mantissa.probe.ipr`) measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mantissa.errors import ConfigError

_ACTS = ("quadratic", "relu", "gelu")


@dataclass
class ModMLPConfig:
    p: int = 97
    hidden: int = 512
    act: str = "quadratic"
    bias: bool = False

    def __post_init__(self) -> None:
        if self.act not in _ACTS:
            raise ConfigError(f"unknown activation {self.act!r}; use one of {', '.join(_ACTS)}")
        if self.p < 2 or self.hidden < 1:
            raise ConfigError(f"need p >= 2 and hidden >= 1, got p={self.p}, hidden={self.hidden}")


class ModMLP(nn.Module):
    """``forward(ab: LongTensor (B, 2)) -> logits (B, p)``; ``neuron_mask`` prunes neurons."""

    def __init__(self, cfg: ModMLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.w1 = nn.Linear(2 * cfg.p, cfg.hidden, bias=cfg.bias)
        self.w2 = nn.Linear(cfg.hidden, cfg.p, bias=cfg.bias)
        self.register_buffer("neuron_mask", torch.ones(cfg.hidden))

    def hidden(self, ab: torch.Tensor) -> torch.Tensor:
        if ab.dim() != 2 or ab.shape[1] != 2:
            raise ConfigError(f"expected operand pairs of shape (batch, 2), got {tuple(ab.shape)}")
        p = self.cfg.p
        pre = self.w1.weight[:, ab[:, 0]].T + self.w1.weight[:, p + ab[:, 1]].T  # W1 @ onehot, gathered
        if self.w1.bias is not None:
            pre = pre + self.w1.bias
        if self.cfg.act == "quadratic":
            h = pre * pre
        elif self.cfg.act == "relu":
            h = torch.relu(pre)
        else:
            h = nn.functional.gelu(pre)
        return h * self.neuron_mask

    def forward(self, ab: torch.Tensor) -> torch.Tensor:
        return self.w2(self.hidden(ab))
