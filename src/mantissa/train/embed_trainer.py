"""Fine-tuning an embedding model with an embedding loss on the shared :class:`Trainer`.

The Trainer wants ``batches(step) -> dict of tensors`` (a pure function of the
step, which makes resume exact) and ``loss_fn(model, batch) -> (loss, logs)``.
Text pairs travel as tensors of *indices* into the pair list; :func:`pair_loss`
maps them back to texts and calls the embedding loss, which tokenizes through
the encoder's cache.

>>> trainer = fit_embedding(Encoder.from_minilm(), EMBEDDING_LOSSES.build("2dmse"), pairs,
...                         steps=100, batch_size=32, lr=5e-5)            # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.train.trainer import TrainConfig, Trainer


def _epoch_order(n_pairs: int, groups: Sequence[str], batch_size: int, seed: int,
                 group_size: int) -> list[list[int]]:
    import random

    rng = random.Random(seed)
    if group_size == 1:
        order = list(range(n_pairs))
        rng.shuffle(order)
    else:
        by_group: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            by_group.setdefault(g, []).append(i)
        chunks = [idx[i : i + group_size] for idx in by_group.values()
                  for i in range(0, len(idx), group_size)]
        rng.shuffle(chunks)
        order = [i for c in chunks for i in c]
    return [order[s : s + batch_size] for s in range(0, len(order) - batch_size + 1, batch_size)]


class PairBatches:
    """``batches(step) -> {"index": LongTensor(batch_size)}``; epoch ``e`` is shuffled with
    ``seed + e``; ``group_size > 1`` keeps that many pairs of one group together."""

    def __init__(self, pairs: Sequence[Any], batch_size: int, seed: int = 0, group_size: int = 1) -> None:
        if batch_size < 1 or group_size < 1:
            raise ConfigError(f"batch_size and group_size must be >= 1, got {batch_size}, {group_size}")
        if len(pairs) < batch_size:
            raise ShapeError(f"{len(pairs)} training pairs are fewer than one batch of {batch_size}")
        self.groups = [str(getattr(p, "group", i)) for i, p in enumerate(pairs)]
        self.n, self.batch_size, self.seed, self.group_size = len(pairs), batch_size, seed, group_size
        self._cache: dict[int, list[list[int]]] = {}

    def epoch(self, e: int) -> list[list[int]]:
        if e not in self._cache:
            self._cache = {e: _epoch_order(self.n, self.groups, self.batch_size, self.seed + e,
                                           self.group_size)}
        return self._cache[e]

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        per_epoch = len(self.epoch(0))
        return {"index": torch.tensor(self.epoch(step // per_epoch)[step % per_epoch])}


def pair_loss(loss: nn.Module, pairs: Sequence[Any], *, anchors_only: bool = False
              ) -> Callable[[nn.Module, dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]:
    """A Trainer ``loss_fn`` running ``loss(model, anchors, positives)`` on the indexed pairs."""

    def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        rows = [pairs[i] for i in batch["index"].tolist()]
        anchors = [p.anchor for p in rows]
        value = loss(model, anchors) if anchors_only else loss(model, anchors, [p.positive for p in rows])
        logs = {}
        if hasattr(loss, "last_masked_fraction"):
            logs["masked"] = float(loss.last_masked_fraction)
        return value, logs

    return loss_fn


def fit_embedding(model: nn.Module, loss: nn.Module, pairs: Sequence[Any], *, steps: int,
                  batch_size: int = 32, lr: float = 5e-5, seed: int = 0, group_size: int = 1,
                  anchors_only: bool = False, warmup: int | None = None, weight_decay: float = 0.01,
                  evaluate: Callable[[nn.Module], dict[str, float]] | None = None, eval_every: int = 0,
                  ckpt_dir: str | os.PathLike[str] | None = None, resume: bool = False,
                  desc: str = "fine-tune", lr_scales: Mapping[str, float] | None = None) -> Trainer:
    """Fine-tune ``model`` on ``pairs`` with ``loss``; returns the Trainer (``.history``).
    ``lr_scales``: parameter-name prefix -> learning-rate multiplier (see
    :func:`mantissa.train.trainer.param_groups`), e.g. ``{"pooling.": 10}``."""
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr,
                      warmup=steps // 10 if warmup is None else warmup, weight_decay=weight_decay,
                      beta2=0.999, eval_every=eval_every, ckpt_every=max(1, steps // 4) if ckpt_dir else 0,
                      log_every=max(1, steps // 20), seed=seed)
    trainer = Trainer(model, cfg, PairBatches(pairs, batch_size, seed, group_size),
                      pair_loss(loss, pairs, anchors_only=anchors_only), evaluate=evaluate,
                      ckpt_dir=ckpt_dir, progress_desc=desc, lr_scales=lr_scales,
                      meta={"loss": type(loss).__name__, "model": getattr(model, "name", "")})
    trainer.fit(resume=resume)
    return trainer
