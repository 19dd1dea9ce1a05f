"""The embedding-loss contract (modelled on sentence-transformers').

A loss is a ``torch.nn.Module`` with

* ``forward(model, anchors, positives=None, negatives=None) -> scalar`` — thin:
  runs the encoder (``model.features(texts)`` once per column, then
  ``model.pool(feats, layer, dim)`` for each sub-model it needs) and calls
* ``compute_loss_from_embeddings(...)`` — the whole objective on tensors, so it
  is tested without a model;
* ``citation`` — the paper (BibTeX-like one-liner).

``model`` is any object with ``features(texts)`` and ``pool(feats, layer, dim)``
(:class:`mantissa.embed.encoder.Encoder`); losses never modify it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError


def check_columns(anchors: Sequence[Any], *others: Sequence[Any] | None) -> int:
    """Non-empty columns of equal length; returns the batch size."""
    n = len(anchors) if anchors is not None else 0
    if n == 0:
        raise ShapeError("empty batch: a loss needs at least one (anchor, positive) pair")
    for col in others:
        if col is not None and len(col) != n:
            raise ShapeError(f"batch columns differ in length: {n} anchors but {len(col)} in another column")
    return n


def check_embeddings(*tensors: torch.Tensor | None) -> None:
    ref = tensors[0]
    if ref is None or ref.ndim != 2 or ref.shape[0] == 0:
        raise ShapeError(f"embeddings must be a non-empty (batch, dim) tensor, got "
                         f"{None if ref is None else tuple(ref.shape)}")
    for t in tensors[1:]:
        if t is not None and (t.ndim != 2 or t.shape[1] != ref.shape[1]):
            raise ShapeError(f"embedding shapes do not fit: {tuple(ref.shape)} and {tuple(t.shape)}")


def cos_sim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine-similarity matrix ``(len(a), len(b))``."""
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T


class EmbeddingLoss(nn.Module):
    """Base class: default ``forward`` embeds each column with the full model."""

    name: str = "loss"
    citation: str = ""

    def forward(self, model: Any, anchors: Sequence[str], positives: Sequence[str] | None = None,
                negatives: Sequence[str] | None = None) -> torch.Tensor:
        check_columns(anchors, positives, negatives)
        emb = [model(list(c)) if c is not None else None for c in (anchors, positives, negatives)]
        return self.compute_loss_from_embeddings(*emb)

    def compute_loss_from_embeddings(self, *args: Any, **kwargs: Any) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


def parse_ints(value: Sequence[int] | str | int, what: str = "dims") -> tuple[int, ...]:
    """``"32-64-384"`` or ``[32, 64, 384]`` -> ``(32, 64, 384)`` (dashes: spec strings use commas)."""
    if isinstance(value, int):
        return (value,)
    parts = value.replace(" ", "").split("-") if isinstance(value, str) else list(value)
    try:
        out = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise ConfigError(
            f"bad {what} {value!r}: expected integers like '32-64-384' or [32, 64, 384]") from None
    if not out or min(out) < 1:
        raise ConfigError(f"bad {what} {value!r}: expected positive integers")
    return out


def parse_pairs(value: Sequence[tuple[int, int]] | str) -> tuple[tuple[int, int], ...]:
    """``"1x32-2x64"`` or ``[(1, 32), (2, 64)]`` -> ``((1, 32), (2, 64))`` (layer, dim) pairs."""
    try:
        items = value.replace(" ", "").split("-") if isinstance(value, str) else list(value)
        pairs = tuple(tuple(int(x) for x in (p.split("x") if isinstance(p, str) else p)) for p in items)
    except (TypeError, ValueError):
        pairs = ()
    if not pairs or any(len(p) != 2 or p[0] < 0 or p[1] < 1 for p in pairs):
        raise ConfigError(f"bad (layer, dim) pairs {value!r}: expected '1x32-2x64' or [(1, 32), (2, 64)]")
    return pairs  # type: ignore[return-value]


def base_loss(spec: Any) -> EmbeddingLoss:
    """A loss instance from an instance or a registry spec string (``"infonce"``)."""
    if isinstance(spec, nn.Module):
        return spec  # type: ignore[return-value]
    from mantissa.train.losses.registry import EMBEDDING_LOSSES

    return EMBEDDING_LOSSES.build(spec)


def check_dims(dims: Sequence[int], emb: torch.Tensor) -> None:
    if max(dims) > emb.shape[-1]:
        raise ShapeError(f"dim {max(dims)} is beyond the embedding size {emb.shape[-1]}")


def kl_to_teacher(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``KL(softmax(teacher/T) || softmax(student/T))`` over the last axis, averaged over every
    leading position (batch, and sequence for 3-D logits), teacher detached."""
    student, teacher = student.reshape(-1, student.shape[-1]), teacher.reshape(-1, teacher.shape[-1])
    return F.kl_div(F.log_softmax(student / temperature, dim=-1),
                    F.softmax(teacher.detach() / temperature, dim=-1), reduction="batchmean")


def column_features(model: Any, *columns: Sequence[str] | None) -> list[Any]:
    """One encoder forward per non-empty column (``None`` stays ``None``)."""
    check_columns(*columns)  # type: ignore[arg-type]
    return [model.features(list(c)) if c is not None else None for c in columns]


def pool_layers(model: Any, feats: Sequence[Any], layers: Sequence[int]) -> dict[int, list[Any]]:
    """``{layer: [column embeddings at that layer, full width]}`` from cached features."""
    return {layer: [model.pool(f, layer) if f is not None else None for f in feats] for layer in layers}
