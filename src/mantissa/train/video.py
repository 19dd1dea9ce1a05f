"""Fitting a neural video representation (NeRV / HNeRV) to one video.

The video is the training set: every epoch visits each frame once (batches of frames from
:class:`~mantissa.train.lm.TensorBatches`), the loss is the L2 reconstruction error (HNeRV,
Chen et al. 2023, §4.1), through the generic :class:`~mantissa.train.Trainer` (Adam(W) without
weight decay, warm-up then cosine). :func:`fit_video` returns the PSNR of the whole video after
every ``eval_every`` epochs, the curve convergence speed is read from
(:func:`epochs_to_reach`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.models.nerv import psnr
from mantissa.train.lm import TensorBatches
from mantissa.train.trainer import TrainConfig, Trainer


@torch.no_grad()
def reconstruct(model: nn.Module, frames: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """The model's decoding of every frame of ``frames`` (T, C, H, W)."""
    model.eval()
    n = frames.shape[0]
    out = [model(frames[i:i + batch_size], torch.arange(i, min(i + batch_size, n)), n)
           for i in range(0, n, batch_size)]
    return torch.cat(out)


def fit_video(model: nn.Module, frames: torch.Tensor, epochs: int, batch_size: int = 8, lr: float = 1e-3,
              eval_every: int = 1, warmup_frac: float = 0.1, seed: int = 0) -> list[tuple[int, float]]:
    """Train ``model(frames, idx, n_frames)`` to reproduce ``frames``; ``[(epoch, PSNR dB), ...]``."""
    n = frames.shape[0]
    per_epoch = max(1, n // batch_size)
    steps = epochs * per_epoch
    torch.manual_seed(seed)

    def loss_fn(m: nn.Module, batch: dict[str, torch.Tensor]):
        return F.mse_loss(m(batch["frame"], batch["idx"], n), batch["frame"]), {}

    def evaluate(m: nn.Module) -> dict[str, float]:
        value = psnr(reconstruct(m, frames), frames)
        m.train()
        return {"psnr": value}

    every = per_epoch * eval_every
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=int(warmup_frac * steps),
                      weight_decay=0.0, beta2=0.999, eval_every=every, log_every=every, seed=seed)
    data = {"frame": frames, "idx": torch.arange(n)}
    hist = Trainer(model, cfg, TensorBatches(data, batch_size, seed=seed), loss_fn=loss_fn, evaluate=evaluate,
                   progress_desc="fit video").fit()
    return [(row["step"] // per_epoch, row["psnr"]) for row in hist if "psnr" in row]


def epochs_to_reach(curve: list[tuple[int, float]], target: float) -> float:
    """The first epoch of ``curve`` whose PSNR is at least ``target`` (inf if never)."""
    return next((float(e) for e, p in curve if p >= target), math.inf)
