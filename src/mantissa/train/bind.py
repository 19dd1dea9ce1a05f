"""Training ImageBind-LLM's two stages on tokenised captions (Han et al. 2023, "ImageBind-LLM:
Multi-modality Instruction Tuning", Sec. 3.2): the text-only LM first, then, with the LM
frozen, only the bind network and the zero-initialised gates (:class:`~mantissa.models.bind.InjectedLM`)
on image-caption pairs, by next-token cross-entropy on the caption tokens.

Both stages use :class:`~mantissa.train.Trainer` with AdamW, no weight decay and a 10 %
linear warm-up.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.train.lm import TensorBatches, lm_loss
from mantissa.train.trainer import TrainConfig, Trainer


def bind_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Next-token cross-entropy of ``model(idx, feats)`` on the masked (caption) tokens."""
    idx, mask = batch["idx"], batch["mask"]
    logits = model(idx[:, :-1], batch["feats"])
    m = mask[:, 1:]
    return F.cross_entropy(logits[m], idx[:, 1:][m]), {}


def _fit(model: nn.Module, data: dict[str, torch.Tensor], loss_fn: Callable, desc: str, *, steps: int,
         batch_size: int, lr: float, seed: int) -> None:
    tcfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=steps // 10, weight_decay=0.0,
                       log_every=0, seed=seed)
    Trainer(model, tcfg, TensorBatches(data, batch_size, seed=seed), loss_fn=loss_fn,
            progress_desc=desc).fit()


def pretrain_text_lm(lm: nn.Module, corpus: dict[str, torch.Tensor], *, steps: int, batch_size: int,
                     lr: float, seed: int) -> nn.Module:
    """Stage 1: ``lm`` trained on the captions alone (``idx``, ``mask``; no images); returned."""
    _fit(lm, corpus, lm_loss, "pretrain LM (text only)", steps=steps, batch_size=batch_size, lr=lr,
         seed=seed)
    return lm


def train_bind(model: nn.Module, data: dict[str, torch.Tensor], *, steps: int, batch_size: int,
               lr: float, seed: int) -> None:
    """Stage 2: the trainable part of ``model(idx, feats)`` (bind network and gates; the LM is
    frozen) on captions ``idx``/``mask`` with their image features ``feats``."""
    _fit(model, data, bind_loss, "train bind network + gates", steps=steps, batch_size=batch_size,
         lr=lr, seed=seed)


__all__ = ["bind_loss", "pretrain_text_lm", "train_bind"]
