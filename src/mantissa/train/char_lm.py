"""Training and scoring a character LM on token windows (``(n, T+1)`` rows of a corpus).

The plumbing the character-level architecture studies share (MemoryFormer, CLEX, ...): each
window is one training sequence (:func:`~mantissa.tasks.charlm.lm_batch`, every position a
target), fitted with :class:`~mantissa.train.Trainer` (AdamW, linear warm-up, cosine decay),
scored by next-character cross-entropy and accuracy, and read back as a loss curve.
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.tasks.charlm import lm_batch
from mantissa.train.lm import TensorBatches, lm_loss
from mantissa.train.trainer import TrainConfig, Trainer


def fit_char_lm(model: nn.Module, windows: torch.Tensor, *, steps: int, batch_size: int, lr: float,
                seed: int, warmup: int = 20, log_every: int | None = None, desc: str = "") -> Trainer:
    """Train ``model`` on random batches of ``windows`` (seeded order) for ``steps`` steps;
    returns the finished :class:`Trainer` (its ``history`` holds the logged losses).
    ``log_every=None`` keeps the Trainer's default."""
    batches = TensorBatches(lm_batch(windows), batch_size, seed=seed)
    logging = {} if log_every is None else {"log_every": log_every}
    trainer = Trainer(model, TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, seed=seed,
                                         **logging), batches, progress_desc=desc)
    trainer.fit()
    return trainer


def loss_curve(trainer: Trainer) -> list[tuple[int, float]]:
    """``(step, train loss)`` of every logged step of a fitted trainer."""
    return [(int(r["step"]), float(r["loss"])) for r in trainer.history if "loss" in r]


@torch.no_grad()
def evaluate_char_lm(model: nn.Module, windows: torch.Tensor) -> tuple[float, float]:
    """Next-character cross-entropy (nats) and accuracy (%) of ``model`` over ``windows``."""
    loss, logs = lm_loss(model, lm_batch(windows))
    return float(loss), 100 * logs["tok_acc"]


__all__ = ["evaluate_char_lm", "fit_char_lm", "loss_curve"]
