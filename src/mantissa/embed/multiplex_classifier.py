"""A classifier over hashed categorical-feature embeddings, trained and scored per layout.

The model of the Unified Embedding comparison (Coleman et al. 2023, "Unified Embedding:
Battle-Tested Feature Representations for Web-Scale ML Systems", Sec. 5): every layout of
:mod:`mantissa.embed.multiplex` (per-feature tables, feature multiplexing, Unified Embedding)
feeds the same MLP (the feature vectors concatenated, one ReLU hidden layer of 128), so at an
equal number of embedding rows only the layout differs. :func:`train_layout` trains one with
the generic :class:`~mantissa.train.Trainer` and returns its test accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.embed.multiplex import LAYOUTS
from mantissa.train import TensorBatches, TrainConfig, Trainer

#: ``((train values, train labels), (test values, test labels))``
Split = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class LayoutClassifier(nn.Module):
    """``values (B, F) -> logits``: a layout's ``(B, F, dim)`` vectors, flattened, through an MLP."""

    def __init__(self, layout: str, n_features: int, rows: int, dim: int, n_classes: int, seed: int,
                 cardinalities: list[int] | None = None) -> None:
        super().__init__()
        extra = {"cardinalities": cardinalities} if layout == "per-feature-prop" else {}
        self.emb = LAYOUTS.build(layout, n_features=n_features, rows=rows, dim=dim, seed=seed, **extra)
        self.mlp = nn.Sequential(nn.Linear(n_features * dim, 128), nn.ReLU(), nn.Linear(128, n_classes))

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.emb(values).flatten(1))


def _loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    return F.cross_entropy(model(batch["x"]), batch["y"]), {}


def train_layout(layout: str, rows: int, data: Split, *, dim: int, steps: int, batch_size: int, lr: float,
                 seed: int) -> tuple[float, int]:
    """Train a :class:`LayoutClassifier` with ``rows`` embedding rows on ``data``'s training split
    (AdamW, 5 % warm-up, no weight decay); returns the test accuracy (%) and the layout's
    embedding parameter count. Cardinalities (for ``per-feature-prop``) are read off the
    training split (values are ids ``0..card-1``)."""
    (xtr, ytr), (xte, yte) = data
    torch.manual_seed(seed)
    cards = [int(c) for c in xtr.max(0).values + 1]  # values are ids 0..card-1
    model = LayoutClassifier(layout, xtr.shape[1], rows, dim, int(max(ytr.max(), yte.max())) + 1, seed, cards)
    tcfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=steps // 20,
                       weight_decay=0.0, log_every=0, seed=seed)
    Trainer(model, tcfg, TensorBatches({"x": xtr, "y": ytr}, batch_size, seed=seed, trim_key=None),
            loss_fn=_loss, progress_desc=f"{layout} rows={rows}").fit()
    model.eval()
    with torch.no_grad():
        acc = float((model(xte).argmax(-1) == yte).float().mean()) * 100
    return acc, model.emb.n_parameters


def plot_layout_accuracy(accuracy: Mapping[tuple[int, str], tuple[float, int]], layouts: Sequence[str],
                         budgets: Sequence[int], dim: int) -> Any:
    """Test accuracy against embedding parameters (``rows * dim``, log axis), one line per layout;
    ``accuracy[rows, layout] = (acc, n_parameters)`` as :func:`train_layout` returns."""
    from mantissa import plot

    fig, ax = plot.figure()
    for m in layouts:
        ax.plot([r * dim for r in budgets], [accuracy[r, m][0] for r in budgets], "o-", label=m)
    ax.set_xscale("log")
    ax.set_xlabel("embedding parameters")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    return fig


__all__ = ["LayoutClassifier", "Split", "plot_layout_accuracy", "train_layout"]
