"""The arithmetic lab's knobs: the model and optimisation settings every lab experiment
exposes in its config (:class:`Knobs`), turned into a :class:`LabConfig` by :func:`lab`,
plus the small helpers the lab experiments share (train, accuracy by length, means)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Protocol

from mantissa.models.transformer import TransformerConfig
from mantissa.probe.length_gen import accuracy_by, mean_over
from mantissa.train.pipeline import DataConfig, LabConfig, LabRun, fit_task
from mantissa.train.trainer import TrainConfig


class Knobs(Protocol):
    """The model and optimisation settings every lab experiment's config holds (its card's
    ``[config]`` gives their values).

    ``curriculum`` > 0 phases longer training examples in over that fraction of
    the steps, shortest first (:mod:`mantissa.train.curriculum`); 0 mixes all
    lengths from the start. ``device`` is ``cpu`` at smoke and quick scale (tiny
    models on one thread); the ``full`` presets say ``auto`` (CUDA when present)."""

    steps: int
    batch_size: int
    lr: float
    curriculum: float
    d_model: int
    n_layer: int
    n_head: int
    n_test: int
    device: str


def lab(k: Knobs, data: DataConfig, pe: str = "ape", **model: Any) -> LabConfig:
    """The lab config of ``data`` with the knobs' model, optimiser and curriculum."""
    return LabConfig(
        data=dataclasses.replace(data, curriculum=k.curriculum),
        model=TransformerConfig(d_model=k.d_model, n_layer=k.n_layer, n_head=k.n_head, pe=pe, **model),
        train=TrainConfig(steps=k.steps, batch_size=k.batch_size, lr=k.lr, device=k.device,
                          warmup=max(1, min(100, k.steps // 10)), log_every=max(1, k.steps // 20)),
    )


def train(cfg: LabConfig, seed: int, desc: str, **kw: Any) -> LabRun:
    return fit_task(cfg, seed, desc=desc, **kw)


def eval_by_length(run: LabRun, examples: Sequence[Any] | None = None) -> dict[Any, float]:
    examples = run.split.test if examples is None else examples
    correct, _ = run.exact(examples)
    return accuracy_by(examples, correct)


def ood_mean(acc: dict[Any, float], train_max: int) -> float:
    """Mean accuracy over buckets whose longest operand exceeds ``train_max``."""
    return mean_over(acc, [k for k in acc if max(k) > train_max])


def id_mean(acc: dict[Any, float], train_max: int) -> float:
    return mean_over(acc, [k for k in acc if max(k) <= train_max])


def pct(x: float) -> float:
    return 100.0 * x if not math.isnan(x) else x
