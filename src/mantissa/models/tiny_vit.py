"""A tiny Vision Transformer for small images (scikit-learn digits, 8×8).

Dosovitskiy et al., "An Image is Worth 16x16 Words" (2021): non-overlapping
patches, a linear patch embedding, learned position embeddings, pre-norm
blocks (LayerNorm → multi-head attention → residual; LayerNorm → GELU MLP →
residual), a final LayerNorm, mean pooling over tokens and a linear head.

The attention kernel is a slot name (``attention="softmax"``, ``"lmul"``,
``"power:p=2"``). Its parts are plain ``nn.Linear``/``nn.LayerNorm`` modules
so :mod:`mantissa.models.i_vit` can convert a trained model to an integer-only
pipeline; ``forward(x, trace=dict)`` records the tensors at every point the
integer pipeline quantizes (for calibration).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.models.transformer import attention_kernel


@dataclass
class TinyViTConfig:
    image_size: int = 8
    patch: int = 2
    channels: int = 1
    d_model: int = 32
    n_head: int = 2
    n_layer: int = 2
    d_ff: int = 64
    n_classes: int = 10
    attention: str = "softmax"

    def __post_init__(self) -> None:
        if self.image_size % self.patch:
            raise ConfigError(f"patch={self.patch} must divide image_size={self.image_size}")
        if self.d_model % self.n_head:
            raise ConfigError(f"d_model={self.d_model} must be divisible by n_head={self.n_head}")

    @property
    def n_tokens(self) -> int:
        return (self.image_size // self.patch) ** 2

    @property
    def patch_dim(self) -> int:
        return self.channels * self.patch**2


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """``(B, C, H, W)`` or ``(B, H, W)`` -> ``(B, tokens, C·patch²)`` (row-major patches)."""
    if images.dim() == 3:
        images = images[:, None]
    if images.dim() != 4 or images.shape[-1] % patch or images.shape[-2] % patch:
        raise ShapeError(f"images must be (B, [C,] H, W) with H, W divisible by {patch}, "
                         f"got {tuple(images.shape)}")
    b, c, h, w = images.shape
    x = images.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(b, (h // patch) * (w // patch), c * patch * patch)


class ViTBlock(nn.Module):
    def __init__(self, cfg: TinyViTConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.n_head = cfg.n_head
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, cfg.d_ff), nn.Linear(cfg.d_ff, d)
        self.kernel = attention_kernel(cfg.attention)

    def forward(self, x: torch.Tensor, trace: dict | None = None, prefix: str = "") -> torch.Tensor:
        def rec(name: str, t: torch.Tensor) -> torch.Tensor:
            if trace is not None:
                trace.setdefault(prefix + name, []).append(t.detach())
            return t

        b, t, d = x.shape
        h = rec("ln1", self.norm1(x))
        q, k, v = (z.reshape(b, t, self.n_head, d // self.n_head).transpose(1, 2)
                   for z in self.qkv(h).split(d, dim=-1))
        rec("q", q), rec("k", k), rec("v", v)
        a = self.kernel(q, k, v, causal=False)
        a = rec("attn", a.transpose(1, 2).reshape(b, t, d))
        x = rec("res_attn", x + self.proj(a))
        h = rec("ln2", self.norm2(x))
        h = rec("fc1", self.fc1(h))
        h = rec("gelu", F.gelu(h))
        return rec("res_mlp", x + self.fc2(h))


class TinyViT(nn.Module):
    """``forward(images) -> logits``; images ``(B, H, W)`` or ``(B, C, H, W)``."""

    def __init__(self, cfg: TinyViTConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or TinyViTConfig()
        self.embed = nn.Linear(cfg.patch_dim, cfg.d_model)
        self.pos = nn.Parameter(torch.randn(cfg.n_tokens, cfg.d_model) * 0.02)
        self.blocks = nn.ModuleList(ViTBlock(cfg) for _ in range(cfg.n_layer))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def set_attention(self, spec: str) -> None:
        """Swap the attention kernel of every block (e.g. ``"lmul:mantissa_bits=3"``)."""
        for blk in self.blocks:
            blk.kernel = attention_kernel(spec)

    def forward(self, images: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        x = self.embed(patchify(images, self.cfg.patch)) + self.pos
        if trace is not None:
            trace.setdefault("res_in", []).append(x.detach())
        for i, blk in enumerate(self.blocks):
            x = blk(x, trace, f"blocks.{i}.")
        h = self.norm(x)
        if trace is not None:
            trace.setdefault("ln_f", []).append(h.detach())
        return self.head(h.mean(dim=1))
