"""Language-model plumbing for the Trainer: batches, the masked next-token loss,
greedy exact-match evaluation.

* :class:`TensorBatches` — ``batches(step)`` drawn from tensors by a per-epoch
  permutation seeded by ``(seed, epoch)``: a pure function of the step, padding
  columns trimmed per batch.
* :func:`lm_loss` — cross-entropy of ``idx[:, 1:]`` given ``idx[:, :-1]`` on the
  positions where ``mask[:, 1:]`` is True (the answer tokens only).
* :func:`predict` / :func:`exact_match` — greedy decoding of prompts and
  comparison with the answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError

Batch = dict[str, torch.Tensor]


def move(batch: Batch, device: torch.device) -> Batch:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class TensorBatches:
    """Random batches from equally long tensors; ``batch = self(step)``."""

    def __init__(self, data: Batch, batch_size: int, seed: int = 0, trim_key: str | None = "mask") -> None:
        sizes = {k: v.shape[0] for k, v in data.items()}
        if len(set(sizes.values())) != 1:
            raise ConfigError(f"tensors of different lengths: {sizes}")
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.n = next(iter(sizes.values()))
        if self.n == 0:
            raise ConfigError("cannot draw batches from an empty dataset")
        self.trim_key = trim_key if trim_key in data else None
        self._perm: tuple[int, torch.Tensor] | None = None

    def _indices(self, step: int) -> torch.Tensor:
        per_epoch = max(1, self.n // self.batch_size)
        epoch, pos = divmod(step, per_epoch)
        if self._perm is None or self._perm[0] != epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.n, generator=g)
            if self.n < self.batch_size:  # small data: repeat to fill a batch
                perm = perm.repeat(-(-self.batch_size // self.n))
            self._perm = (epoch, perm)
        return self._perm[1][pos * self.batch_size:(pos + 1) * self.batch_size]

    def __call__(self, step: int) -> Batch:
        ix = self._indices(step)
        batch = {k: v[ix] for k, v in self.data.items()}
        if self.trim_key is not None:
            m = batch[self.trim_key]
            if m.dim() == 2 and m.any():
                last = int(m.any(0).nonzero().max()) + 1
                batch = {k: (v[:, :last] if v.dim() == 2 and v.shape[1] == m.shape[1] else v)
                         for k, v in batch.items()}
        return batch


def next_token_loss(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``model(batch[:, :-1])`` against ``batch[:, 1:]``, every position
    (windows of a plain text stream; :func:`lm_loss` masks to answer tokens)."""
    logits = model(batch[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def lm_loss(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
    """Next-token cross-entropy on the masked (answer) tokens; logs token accuracy."""
    idx, mask = batch["idx"], batch["mask"]
    logits = model(idx[:, :-1])
    target, m = idx[:, 1:], mask[:, 1:]
    sel = logits[m]
    loss = F.cross_entropy(sel.float(), target[m])
    with torch.no_grad():
        acc = (sel.argmax(-1) == target[m]).float().mean()
    return loss, {"tok_acc": float(acc)}


def predict(model: Any, tokenizer: Any, prompts: Sequence[str], max_new: int,
            batch_size: int = 512) -> list[str]:
    """Greedy answers (text before EOS) to ``prompts``."""
    ids = [tokenizer.prompt_ids(p) for p in prompts]
    out = model.generate(ids, max_new=max_new, stop=tokenizer.eos_id, batch_size=batch_size)
    return [tokenizer.decode(o) for o in out]


def exact_match(model: Any, tokenizer: Any, examples: Sequence[Any], max_new: int | None = None,
                batch_size: int = 512) -> tuple[list[bool], list[str]]:
    """Per example: is the greedy answer exactly right? Also returns the answers."""
    if not examples:
        return [], []
    max_new = max_new or max(len(ex.answer) for ex in examples) + 2
    preds = predict(model, tokenizer, [ex.prompt for ex in examples], max_new, batch_size)
    return [p == ex.answer for p, ex in zip(preds, examples)], preds
