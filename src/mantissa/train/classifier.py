"""Fitting and scoring a classifier on in-memory tensors with the generic Trainer.

The shared recipe of the embedding-table benchmarks (Zhang et al. 2024's vector-storage
compression, Coleman et al. 2023's Unified Embedding): ``model(x) -> logits`` trained by
cross-entropy on random minibatches of ``(x, y)``, AdamW without weight decay and a 5 %
linear warm-up, then scored by accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.train.lm import TensorBatches
from mantissa.train.trainer import TrainConfig, Trainer


def cross_entropy_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Trainer ``loss_fn``: cross-entropy of ``model(batch["x"])`` against ``batch["y"]``."""
    return F.cross_entropy(model(batch["x"]), batch["y"]), {}


def fit_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int, batch_size: int,
                   lr: float, seed: int, desc: str = "",
                   callbacks: Sequence[Callable[[int, dict[str, float]], None]] = ()) -> nn.Module:
    """Train ``model`` (in place, returned) on ``(x, y)``: ``steps`` AdamW steps of seeded random
    minibatches, no weight decay, ``steps // 20`` warm-up steps; ``callbacks`` run after each step."""
    tcfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=steps // 20,
                       weight_decay=0.0, log_every=0, seed=seed)
    batches = TensorBatches({"x": x, "y": y}, batch_size, seed=seed, trim_key=None)
    Trainer(model, tcfg, batches, loss_fn=cross_entropy_loss, progress_desc=desc,
            callbacks=list(callbacks)).fit()
    return model


@torch.no_grad()
def classifier_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy (%) of ``model(x).argmax(-1)`` against ``y``; ``model`` is put in eval mode."""
    model.eval()
    return float((model(x).argmax(-1) == y).float().mean()) * 100


__all__ = ["classifier_accuracy", "cross_entropy_loss", "fit_classifier"]
