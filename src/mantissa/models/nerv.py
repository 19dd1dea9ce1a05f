"""Neural representations of videos: NeRV and HNeRV.

* **NeRV** (Chen et al., "NeRV: Neural Representations for Videos", NeurIPS 2021): a frame
  index ``t`` in [0, 1] goes through the positional encoding of Eq. 2,
  ``Gamma(t) = [sin(b^0 pi t), cos(b^0 pi t), ..., sin(b^{l-1} pi t), cos(b^{l-1} pi t)]``
  (``b = 1.25``), an MLP to a small ``C x h x w`` feature map, then NeRV blocks
  (3x3 conv -> PixelShuffle upsampling -> GELU) whose width halves at every stage, and a
  head conv to the pixels. The embedding is fixed and content-agnostic.
* **HNeRV** (Chen et al., "HNeRV: A Hybrid Neural Representation for Videos", CVPR 2023,
  §3): a convolutional encoder maps each *frame* to a tiny content-adaptive embedding
  (``d x h x w``, a few hundred numbers for an HD frame); the decoder is the same kind of upsampling
  stack, but with HNeRV blocks whose kernel size grows with depth
  (``k_i = min(k_min + 2 i, k_max)``, 1 / 3 / 5 / 5 ...) while the width shrinks slowly
  (``C_{i+1} = C_i / r``, ``r = 1.2``), which spreads the parameters evenly over the network
  so the high-resolution layers near the output get more capacity (§3.2). The model size
  counts the decoder and the stored embeddings (``d h w`` numbers per frame), not the encoder,
  which is not needed to decode (§4.1).

Both models take ``(frames, idx, n_frames)`` so that one training loop serves both: HNeRV
reads the frames, NeRV the normalized index. :func:`match_nerv_width` picks the NeRV width
whose size is the smallest at least a target (equal-parameter comparisons).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError


def nerv_positional_encoding(t: torch.Tensor, levels: int = 32, base: float = 1.25) -> torch.Tensor:
    """NeRV Eq. 2 for ``t`` (N,) in [0, 1] -> (N, 2 * levels), sin/cos interleaved per level."""
    freqs = (base ** torch.arange(levels, dtype=torch.float32)) * math.pi
    args = t.float()[:, None] * freqs[None]
    return torch.stack([torch.sin(args), torch.cos(args)], dim=-1).reshape(t.shape[0], 2 * levels)


class NeRVBlock(nn.Module):
    """``k x k`` conv to ``c_out * s^2`` channels, PixelShuffle(``s``), GELU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out * stride * stride, kernel, padding=kernel // 2)
        self.shuffle = nn.PixelShuffle(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.shuffle(self.conv(x)))


def stage_plan(width: int, strides: Sequence[int], reduce: float, kernels: tuple[int, int],
               lower_width: int) -> list[tuple[int, int, int, int]]:
    """``(c_in, c_out, kernel, stride)`` per upsampling stage: widths ``max(round(C / r^i), lower)``,
    kernels ``min(k_min + 2 i, k_max)``."""
    plan, c = [], width
    for i, s in enumerate(strides):
        c_out = int(max(round(c / reduce), lower_width))
        plan.append((c, c_out, min(kernels[0] + 2 * i, kernels[1]), int(s)))
        c = c_out
    return plan


class _Decoder(nn.Module):
    def __init__(self, width: int, strides: Sequence[int], reduce: float, kernels: tuple[int, int],
                 lower_width: int, channels: int) -> None:
        super().__init__()
        plan = stage_plan(width, strides, reduce, kernels, lower_width)
        self.blocks = nn.Sequential(*(NeRVBlock(*p) for p in plan))
        self.head = nn.Conv2d(plan[-1][1], channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a linear output (clamped to [0, 1] only when decoding): a sigmoid head saturates on
        # mostly-black frames and stalls the small NeRV
        y = self.head(self.blocks(x))
        return y if self.training else y.clamp(0.0, 1.0)


def _check(hw: tuple[int, int], strides: Sequence[int]) -> tuple[int, int]:
    up = math.prod(strides)
    if hw[0] % up or hw[1] % up:
        raise ConfigError(f"frame size {hw} is not a multiple of the total stride {up} ({list(strides)})")
    return hw[0] // up, hw[1] // up


class NeRV(nn.Module):
    """NeRV: frame index -> frame (see the module docstring)."""

    def __init__(self, frame_hw: tuple[int, int], strides: Sequence[int], width: int, channels: int = 1,
                 pe_levels: int = 32, mlp_hidden: int = 64, reduce: float = 2.0, kernel: int = 3,
                 lower_width: int = 4) -> None:
        super().__init__()
        self.h0, self.w0 = _check(frame_hw, strides)
        self.pe_levels, self.width = pe_levels, width
        self.stem = nn.Sequential(nn.Linear(2 * pe_levels, mlp_hidden), nn.GELU(),
                                  nn.Linear(mlp_hidden, width * self.h0 * self.w0), nn.GELU())
        self.decoder = _Decoder(width, strides, reduce, (kernel, kernel), lower_width, channels)

    def forward(self, frames: torch.Tensor | None, idx: torch.Tensor, n_frames: int) -> torch.Tensor:
        t = idx.float() / max(1, n_frames - 1)
        h = self.stem(nerv_positional_encoding(t, self.pe_levels))
        return self.decoder(h.view(-1, self.width, self.h0, self.w0))

    def stored_params(self, n_frames: int) -> int:
        """Numbers needed to decode the whole video: all parameters."""
        return sum(p.numel() for p in self.parameters())


class HNeRVEncoder(nn.Module):
    """Frame -> ``emb_dim x h x w`` embedding: stride-``s`` convs (GELU) mirroring the decoder's
    strides, then a 1x1 conv to ``emb_dim`` channels (a small stand-in for the paper's
    ConvNeXt encoder)."""

    def __init__(self, channels: int, strides: Sequence[int], emb_dim: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for s in strides:
            layers += [nn.Conv2d(c, width, kernel_size=2 * s - 1, stride=s, padding=s - 1), nn.GELU()]
            c = width
        layers.append(nn.Conv2d(c, emb_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames)


class HNeRV(nn.Module):
    """HNeRV: frame -> content-adaptive embedding -> frame (see the module docstring)."""

    def __init__(self, frame_hw: tuple[int, int], strides: Sequence[int], width: int, emb_dim: int = 16,
                 channels: int = 1, reduce: float = 1.2, kernels: tuple[int, int] = (1, 5),
                 lower_width: int = 4, enc_width: int = 32) -> None:
        super().__init__()
        self.h0, self.w0 = _check(frame_hw, strides)
        self.emb_dim = emb_dim
        self.encoder = HNeRVEncoder(channels, list(reversed(list(strides))), emb_dim, enc_width)
        self.proj = nn.Conv2d(emb_dim, width, 1)  # the paper's first decoder layer (kernel 1)
        self.decoder = _Decoder(width, strides, reduce, kernels, lower_width, channels)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        emb = self.encoder(frames)
        if emb.shape[-2:] != (self.h0, self.w0):
            emb = F.adaptive_avg_pool2d(emb, (self.h0, self.w0))
        return emb

    def decode(self, emb: torch.Tensor) -> torch.Tensor:
        return self.decoder(F.gelu(self.proj(emb)))

    def forward(self, frames: torch.Tensor, idx: torch.Tensor | None = None,
                n_frames: int = 0) -> torch.Tensor:
        return self.decode(self.embed(frames))

    def stored_params(self, n_frames: int) -> int:
        """Decoder parameters plus ``n_frames`` embeddings (the encoder is not stored)."""
        dec = sum(p.numel() for m in (self.proj, self.decoder) for p in m.parameters())
        return dec + n_frames * self.emb_dim * self.h0 * self.w0


def match_nerv_width(target: int, n_frames: int, frame_hw: tuple[int, int], strides: Sequence[int],
                     max_width: int = 512, **kwargs: object) -> int:
    """The smallest NeRV width whose size is at least ``target`` parameters."""
    for width in range(4, max_width + 1):
        if NeRV(frame_hw, strides, width, **kwargs).stored_params(n_frames) >= target:  # type: ignore[arg-type]
            return width
    raise ConfigError(f"no NeRV width up to {max_width} reaches {target} parameters")


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio (dB) of images in [0, 1], from the mean squared error over all."""
    mse = float(((pred.double() - target.double()) ** 2).mean())
    return 10 * math.log10(1.0 / mse) if mse > 0 else math.inf
