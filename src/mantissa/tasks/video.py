"""A generated video: scikit-learn digits moving and zooming on a black canvas.

The stand-in for the natural videos (UVG, DAVIS, "Big Buck Bunny") of neural video
representations (NeRV, HNeRV): smooth motion and scale change, so neighbouring frames share
content, and several objects, so frames differ. Each digit (an 8x8 image from
:func:`mantissa.data.load_sklearn`) moves at constant velocity, bouncing off the canvas edges,
while its size oscillates sinusoidally between ``zoom[0]`` and ``zoom[1]`` times its 8 pixels;
frames are rendered by bilinear resampling (``grid_sample``) and overlapping digits combine by
maximum. Values in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mantissa.data import load_sklearn
from mantissa.errors import ConfigError


def _bounce(p0: np.ndarray, v: np.ndarray, t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Positions of points moving at velocity ``v`` from ``p0`` reflected into ``[lo, hi]``."""
    span = hi - lo
    u = np.mod(p0 - lo + v * t, 2 * span)
    return lo + np.where(u > span, 2 * span - u, u)


def moving_digits_video(n_frames: int = 64, size: int = 32, n_digits: int = 2, seed: int = 0,
                        zoom: tuple[float, float] = (1.5, 2.5), speed: float = 0.04) -> torch.Tensor:
    """``(n_frames, 1, size, size)`` float32 video in [0, 1]. ``speed``: canvas half-widths per
    frame; one zoom period spans between 0.5 and 1 video length; the largest digit
    (``8 * zoom[1]`` pixels) must be smaller than the canvas."""
    if n_frames < 1 or n_digits < 1 or not 0 < zoom[0] <= zoom[1] or zoom[1] * 8 >= size:
        raise ConfigError(f"bad video settings: n_frames={n_frames}, size={size}, n_digits={n_digits}, "
                          f"zoom={zoom}")
    rng = np.random.default_rng(seed)
    digits = load_sklearn("digits").X.reshape(-1, 1, 8, 8) / 16.0
    pick = rng.choice(len(digits), n_digits, replace=False)
    t = np.arange(n_frames, dtype=np.float64)[:, None]
    frames = torch.zeros(n_frames, 1, size, size)
    for idx in pick:
        z0, period, phase = zoom[0], rng.uniform(0.5, 1.0) * n_frames, rng.uniform(0, 2 * np.pi)
        scale = z0 + (zoom[1] - z0) * (0.5 + 0.5 * np.sin(2 * np.pi * t[:, 0] / period + phase))
        half = scale * 8 / size  # half-width of the digit in normalized canvas coordinates
        angle = rng.uniform(0, 2 * np.pi)
        v = speed * np.array([np.cos(angle), np.sin(angle)])
        lo, hi = -1 + zoom[1] * 8 / size, 1 - zoom[1] * 8 / size
        centre = _bounce(rng.uniform(lo, hi, 2), v, t, np.full(2, lo), np.full(2, hi))
        theta = np.zeros((n_frames, 2, 3))
        theta[:, 0, 0] = theta[:, 1, 1] = 1 / half
        theta[:, :, 2] = -centre / half[:, None]
        grid = F.affine_grid(torch.tensor(theta, dtype=torch.float32), [n_frames, 1, size, size],
                             align_corners=False)
        sprite = digits[idx : idx + 1].expand(n_frames, -1, -1, -1)
        layer = F.grid_sample(sprite, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        frames = torch.maximum(frames, layer)
    return frames.clamp(0, 1)
