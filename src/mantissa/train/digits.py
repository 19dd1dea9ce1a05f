"""The digits TinyViT bench: scikit-learn's 8×8 digits as images, a TinyViT trained on them
with the generic :class:`~mantissa.train.trainer.Trainer`, and its test accuracy.

>>> data = digits_split(seed=0)                                   # doctest: +SKIP
>>> model = train_digits_vit(data, seed=0, steps=300)             # doctest: +SKIP
>>> accuracy(model, *data[1])                                     # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, TypeAlias

import torch
import torch.nn.functional as F

from mantissa.data import load_sklearn
from mantissa.models.tiny_vit import TinyViT, TinyViTConfig
from mantissa.runtime import threads
from mantissa.train.lm import TensorBatches
from mantissa.train.trainer import TrainConfig, Trainer

__all__ = ["DigitsSplit", "accuracy", "digits_split", "train_digits_vit"]

#: ((train images, train labels), (test images, test labels))
DigitsSplit: TypeAlias = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def digits_split(seed: int, test_fraction: float = 0.25) -> DigitsSplit:
    """Digits as (B, 8, 8) images with integer pixel values 0..16 (float32)."""
    train, test = load_sklearn("digits").split(test_fraction, seed=seed)
    return (train.X.view(-1, 8, 8), train.y), (test.X.view(-1, 8, 8), test.y)


def _ce(model: TinyViT, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, Any]]:
    logits = model(batch["x"] / 16.0)
    return F.cross_entropy(logits, batch["y"]), {}


def train_digits_vit(data: DigitsSplit, seed: int, *, steps: int, lr: float = 3e-3, batch_size: int = 64,
                     attention: str = "softmax", d_model: int = 32, n_layer: int = 2,
                     desc: str = "vit", model: TinyViT | None = None) -> TinyViT:
    """A TinyViT trained on ``pixels / 16`` (one thread: tiny models share a busy machine best).
    ``model``: continue training that model (fine-tuning; ``attention``/sizes then unused)."""
    (xtr, ytr), _ = data
    torch.manual_seed(seed)
    if model is None:
        model = TinyViT(TinyViTConfig(d_model=d_model, n_head=2, n_layer=n_layer, d_ff=2 * d_model,
                                      attention=attention))
    model.train()
    tcfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=max(1, steps // 20),
                       weight_decay=0.01, log_every=0, seed=seed)
    batches = TensorBatches({"x": xtr, "y": ytr}, batch_size, seed=seed, trim_key=None)
    with threads(1):
        Trainer(model, tcfg, batches, loss_fn=_ce, progress_desc=desc).fit()
    return model.eval()


@torch.no_grad()
def accuracy(model: TinyViT, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Test accuracy in percent of a float model on raw pixels (0..16)."""
    model.eval()
    with threads(1):
        pred = torch.cat([model(x[i:i + batch] / 16.0).argmax(-1) for i in range(0, len(x), batch)])
    return float((pred == y).float().mean()) * 100


@torch.no_grad()
def inference_cpu_ms(model: torch.nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """Best-of-``repeats`` thread CPU milliseconds of one inference forward of ``model`` on ``x``
    (thread time, not wall time: waits for a shared core are not counted)."""
    model.eval()
    best = math.inf
    for _ in range(repeats):
        t0 = time.thread_time()
        model(x)
        best = min(best, time.thread_time() - t0)
    return 1000 * best


def attention_swap_accuracy(seeds: range, *, steps: int, widths: Sequence[int], spec: str,
                            test_fraction: float = 0.25, test_limit: int = 0, desc: str = "vit"
                            ) -> tuple[list[float], dict[int, list[float]]]:
    """Per seed: train a softmax TinyViT on digits, then swap its attention for
    ``spec.format(w)`` at each width ``w`` (no retraining) and measure test accuracy (%) on the
    first ``test_limit`` test images (all when 0). Returns the softmax accuracies and
    ``{width: accuracies}`` in seed order (L-Mul attention, Luo & Sun 2024, Tab. 3)."""
    base: list[float] = []
    res: dict[int, list[float]] = {}
    for s in seeds:
        data = digits_split(s, test_fraction)
        model = train_digits_vit(data, s, steps=steps, desc=f"{desc} s{s}")
        (_, _), (xte, yte) = data
        if test_limit:
            xte, yte = xte[:test_limit], yte[:test_limit]
        base.append(accuracy(model, xte, yte))
        for w in widths:
            model.set_attention(spec.format(w))
            res.setdefault(w, []).append(accuracy(model, xte, yte))
    return base, res
