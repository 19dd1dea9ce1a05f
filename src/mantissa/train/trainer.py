"""One generic training loop: :class:`Trainer`.

AdamW (weight decay on matrices only), linear warm-up + cosine (or another
:mod:`~mantissa.train.schedule`), gradient clipping, a progress bar with the
latest logs, periodic evaluation, atomic checkpoints every ``ckpt_every``
steps, bit-exact resume, determinism given a seed, and data parallelism when
``torch.distributed`` is initialised (``torchrun``; see :mod:`mantissa.train.ddp`).

The loop knows nothing about language models:

* ``batches(step) -> batch`` must be a pure function of the step (e.g.
  :class:`~mantissa.train.lm.TensorBatches`), which is what makes resume exact;
* ``loss_fn(model, batch) -> (loss, logs)`` computes the loss (default
  :func:`~mantissa.train.lm.lm_loss`: next-token cross-entropy on masked tokens);
* ``evaluate(model) -> dict`` (optional) is called every ``eval_every`` steps
  and at the end.

>>> trainer = Trainer(model, TrainConfig(steps=500), TensorBatches(data, 64, seed=0))  # doctest: +SKIP
>>> history = trainer.fit()                                                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.progress import progress
from mantissa.runtime import check_seed, pick_device
from mantissa.train.checkpoint import load_checkpoint, save_checkpoint
from mantissa.train.lm import lm_loss, move
from mantissa.train.schedule import lr_factor

Batch = dict[str, torch.Tensor]
LossFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, dict[str, float]]]


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup: int = 50
    schedule: str = "cosine"
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.98
    grad_clip: float = 1.0
    eval_every: int = 0
    ckpt_every: int = 0
    log_every: int = 25
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError(f"train.steps and train.batch_size must be >= 1, got {self.steps}, "
                              f"{self.batch_size}")
        if not (math.isfinite(self.lr) and self.lr > 0) or self.warmup < 0:
            raise ConfigError(f"need a finite train.lr > 0 and train.warmup >= 0, "
                              f"got {self.lr}, {self.warmup}")
        for key in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"train.{key} must be in [0, 1), got {getattr(self, key)}")
        for key in ("grad_clip", "weight_decay"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) >= 0):
                raise ConfigError(f"train.{key} must be finite and >= 0 (0 = off), got {getattr(self, key)}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ConfigError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        for key in ("eval_every", "ckpt_every", "log_every"):
            if getattr(self, key) < 0:
                raise ConfigError(f"train.{key} must be >= 0 (0 = never), got {getattr(self, key)}")
        check_seed(self.seed, "train.seed")
        lr_factor(self.schedule)


class StopTraining(Exception):
    """Raised by a callback to stop training early (after the current step)."""


def param_groups(model: nn.Module, weight_decay: float,
                 lr_scales: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Decay matrices (dim >= 2) only, as in GPT-2/nanoGPT; shared tensors once.

    ``lr_scales`` maps a parameter-name prefix (e.g. ``"pooling."``) to a multiplier of the
    scheduled learning rate for the parameters under it (first matching prefix wins); those
    parameters get their own groups with an ``lr_scale`` entry. Without it: two groups."""
    seen: set[int] = set()
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {(True, 1.0): [], (False, 1.0): []}
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        scale = next((float(s) for prefix, s in (lr_scales or {}).items() if name.startswith(prefix)), 1.0)
        groups.setdefault((p.dim() >= 2, scale), []).append(p)
    return [{"params": ps, "weight_decay": weight_decay if decay else 0.0,
             **({"lr_scale": scale} if scale != 1.0 else {})}
            for (decay, scale), ps in groups.items() if ps or scale == 1.0]


def _dist() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class Trainer:
    """See the module docstring. ``fit(resume=...)`` returns the log history."""

    def __init__(self, model: nn.Module, cfg: TrainConfig, batches: Callable[[int], Batch],
                 loss_fn: LossFn = lm_loss, evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
                 ckpt_dir: str | os.PathLike[str] | None = None, meta: dict[str, Any] | None = None,
                 callbacks: list[Callable[[int, dict[str, float]], None]] | None = None,
                 progress_desc: str = "train", lr_scales: Mapping[str, float] | None = None) -> None:
        self.cfg = cfg
        self.device = pick_device(cfg.device)
        self.model = model.to(self.device)
        self.batches, self.loss_fn, self.evaluate = batches, loss_fn, evaluate
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir else None
        self.meta = meta or {}
        self.callbacks = callbacks or []
        self.desc = progress_desc
        self.rank, self.world = _dist()
        # fused AdamW: one kernel over all parameters (same update rule, less per-tensor overhead)
        self.optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay, lr_scales), lr=cfg.lr,
                                           betas=(cfg.beta1, cfg.beta2), fused=True)
        self._factor = lr_factor(cfg.schedule)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.wrapped: nn.Module = self.model
        if self.world > 1:
            self.wrapped = nn.parallel.DistributedDataParallel(self.model)

    @property
    def ckpt_path(self) -> Path | None:
        return self.ckpt_dir / "last.ckpt" if self.ckpt_dir else None

    def lr_at(self, step: int) -> float:
        return self.cfg.lr * self._factor(step, self.cfg.warmup, self.cfg.steps, self.cfg.min_lr_ratio)

    def _shard(self, batch: Batch) -> Batch:
        if self.world == 1:
            return batch
        n = next(iter(batch.values())).shape[0]
        if n % self.world:
            raise ConfigError(f"batch size {n} is not divisible by the {self.world} processes")
        return {k: v[self.rank::self.world] for k, v in batch.items()}

    def train_step(self, step: int) -> dict[str, float]:
        self.wrapped.train()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(step) * group.get("lr_scale", 1.0)
        batch = move(self._shard(self.batches(step)), self.device)
        loss, logs = self.loss_fn(self.wrapped, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower train.lr")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            gnorm = float(nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip))
            logs = {**logs, "grad_norm": gnorm}
        self.optimizer.step()
        return {"loss": float(loss.detach()), **logs, "lr": self.lr_at(step)}

    def save(self) -> Path | None:
        if self.ckpt_path is None or self.rank != 0:
            return None
        return save_checkpoint(self.ckpt_path, model=self.model, optimizer=self.optimizer, step=self.step,
                               meta={**self.meta, "history": self.history,
                                     "train_config": dataclasses.asdict(self.cfg)})

    def resume(self) -> bool:
        """Load ``last.ckpt`` if present; True when something was resumed."""
        path = self.ckpt_path
        if path is None or not path.exists():
            return False
        expect = self.meta.get("model_config")
        meta = load_checkpoint(path, model=self.model, optimizer=self.optimizer, expect_config=expect)
        self.step = int(meta["step"])
        self.history = list(meta.get("history", []))
        return True

    def _evaluate(self, row: dict[str, float]) -> dict[str, float]:
        self._last_eval = self.step
        if self.evaluate is None:
            return row
        if self.rank == 0:
            row = {**row, **self.evaluate(self.model)}
        if self.world > 1:
            torch.distributed.barrier()
        return row

    def fit(self, resume: bool = False) -> list[dict[str, float]]:
        """Train to ``cfg.steps`` (from the last checkpoint with ``resume``)."""
        cfg = self.cfg
        if resume:
            self.resume()
        self._last_eval = -1
        with progress(self.desc, total=cfg.steps) as bar:
            bar.advance(self.step)
            while self.step < cfg.steps:
                logs = self.train_step(self.step)
                self.step += 1
                last = self.step == cfg.steps
                if cfg.log_every and (self.step % cfg.log_every == 0 or last):
                    row = {"step": self.step, **logs}
                    if self.evaluate and cfg.eval_every and (self.step % cfg.eval_every == 0 or last):
                        row = self._evaluate(row)
                    self.history.append(row)
                if cfg.ckpt_every and (self.step % cfg.ckpt_every == 0 or last):
                    self.save()
                if self.rank == 0:
                    bar.advance(1, loss=logs["loss"], **{k: v for k, v in logs.items() if k == "tok_acc"})
                try:
                    for cb in self.callbacks:
                        cb(self.step, logs)
                except StopTraining:
                    break
        if self.evaluate is not None and self._last_eval != self.step:
            self.history.append(self._evaluate({"step": self.step}))
        return self.history

    def final(self, key: str, default: float = math.nan) -> float:
        """The last logged value of ``key``."""
        for row in reversed(self.history):
            if key in row:
                return float(row[key])
        return default
