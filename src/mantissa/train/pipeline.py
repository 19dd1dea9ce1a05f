"""Train a transformer on a task in one call: the wiring the arithmetic-lab
experiments and ``mantissa train`` share.

``LabConfig`` groups three typed configs — ``data`` (:class:`DataConfig`),
``model`` (:class:`~mantissa.models.transformer.TransformerConfig`) and ``train``
(:class:`~mantissa.train.trainer.TrainConfig`) — so every field is settable as
``data.format=reverse``, ``model.pe=nope``, ``train.lr=3e-4``.
:func:`fit_task` draws the split, fixes the model's vocabulary/digit tokens/
max length from the tokenizer and data, trains, and returns a :class:`LabRun`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mantissa.errors import ConfigError
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.tasks import CharTokenizer, Example, Split, Task, buckets, length_range, make_split, make_task
from mantissa.train.curriculum import CurriculumBatches, example_level
from mantissa.train.lm import Batch, TensorBatches, exact_match
from mantissa.train.resume_check import check_train_out, requested
from mantissa.train.trainer import TrainConfig, Trainer


@dataclass
class DataConfig:
    task: str = "add"
    format: str = ""          # arithmetic tasks only; "" = the task's default (plain)
    train_lengths: str = "1-8"
    test_lengths: str = "1-12"
    grid: bool = False        # two-operand tasks: every (len a, len b) pair, not only the diagonal
    n_train: int = 10000
    n_test: int = 100         # per length bucket
    disjoint: bool = False    # refuse test lengths that overlap training lengths
    curriculum: float = 0.0   # > 0: shortest examples first, longer ones phased in over this fraction
    #                           of the steps (train.curriculum.CurriculumBatches); 0 = all lengths mixed

    def __post_init__(self) -> None:
        for key in ("n_train", "n_test"):
            if getattr(self, key) < 1:
                raise ConfigError(f"data.{key} must be >= 1, got {getattr(self, key)}")
        if not 0.0 <= self.curriculum <= 1.0:
            raise ConfigError(f"data.curriculum must be a fraction in [0, 1], got {self.curriculum}")


def data_config_from_dict(data: dict[str, Any]) -> DataConfig:
    """Rebuild a :class:`DataConfig` from ``dataclasses.asdict`` output (unknown keys refused)."""
    names = {f.name for f in dataclasses.fields(DataConfig)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown data config keys {unknown}; valid keys: {sorted(names)}")
    return DataConfig(**data)


@dataclass
class LabConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: TransformerConfig = field(default_factory=lambda: TransformerConfig(d_model=64, n_layer=2))
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class LabRun:
    model: Transformer
    tokenizer: CharTokenizer
    task: Task
    split: Split
    trainer: Trainer

    def exact(self, examples: Sequence[Example]) -> tuple[list[bool], list[str]]:
        return exact_match(self.model, self.tokenizer, examples)


def build_task(data: DataConfig) -> Task:
    return make_task(data.task, format=data.format or None)


def build_split(data: DataConfig, task: Task, seed: int) -> Split:
    grid = data.grid and task.arity > 1
    tr = buckets(length_range(data.train_lengths), task.arity, square_only=not grid)
    te = buckets(length_range(data.test_lengths), task.arity, square_only=not grid)
    return make_split(task, tr, te, data.n_train, data.n_test, seed, disjoint=data.disjoint)


def model_config_for(model: TransformerConfig, tok: CharTokenizer, split: Split) -> TransformerConfig:
    """Vocabulary and digit ids from the tokenizer; ``max_len`` covers the longest sequence."""
    longest = max(len(e.prompt) + len(e.answer) + 2 for e in split.train + split.test)
    return dataclasses.replace(model, vocab_size=tok.vocab_size, digit_tokens=tok.digit_ids,
                               max_len=max(model.max_len, longest + 8))


def encode(tok: CharTokenizer, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
    if not examples:
        raise ConfigError("no training examples: widen data.train_lengths or raise data.n_train")
    return tok.batch([(e.prompt, e.answer) for e in examples])


def training_batches(data: DataConfig, tok: CharTokenizer, examples: Sequence[Example], train: TrainConfig,
                     ) -> Callable[[int], Batch]:
    """The batch source of ``examples``: a length curriculum when ``data.curriculum > 0``."""
    tensors = encode(tok, examples)
    if data.curriculum:
        return CurriculumBatches(tensors, [example_level(e) for e in examples], train.batch_size,
                                 train.steps, train.seed, ramp=data.curriculum)
    return TensorBatches(tensors, train.batch_size, train.seed)


def fit_task(cfg: LabConfig, seed: int = 0, *, split: Split | None = None, task: Task | None = None,
             ckpt_dir: str | os.PathLike[str] | None = None, resume: bool = False,
             evaluate: Callable[[Transformer], dict[str, float]] | None = None,
             desc: str = "train") -> LabRun:
    """Train ``cfg.model`` on ``cfg.data`` (or a given ``split``) with ``cfg.train``.

    With ``resume``, a ``last.ckpt`` in ``ckpt_dir`` is continued only when it was trained with
    this seed and these data, model and train configs; otherwise ConfigError names the
    differences (:func:`mantissa.train.resume_check.config_diff`)."""
    if resume and ckpt_dir is not None:
        check_train_out(Path(ckpt_dir), resume=True, force=False, cfg=cfg, seed=seed,
                        defaults=requested(LabConfig(), seed))
    tok = CharTokenizer()
    task = task or build_task(cfg.data)
    split = split or build_split(cfg.data, task, seed)
    mcfg = model_config_for(cfg.model, tok, split)
    torch.manual_seed(seed)
    model = Transformer(mcfg)
    tcfg = dataclasses.replace(cfg.train, seed=seed)
    meta: dict[str, Any] = {"model_config": dataclasses.asdict(mcfg),
                            "data_config": dataclasses.asdict(cfg.data)}
    trainer = Trainer(model, tcfg, training_batches(cfg.data, tok, split.train, tcfg),
                      evaluate=evaluate, ckpt_dir=ckpt_dir, meta=meta, progress_desc=desc)
    trainer.fit(resume=resume)
    return LabRun(model, tok, task, split, trainer)
