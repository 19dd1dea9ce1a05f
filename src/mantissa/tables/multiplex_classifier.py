"""A classifier over hashed categorical-feature embeddings, trained and scored per layout.

The model of the Unified Embedding comparison (Coleman et al. 2023, "Unified Embedding:
Battle-Tested Feature Representations for Web-Scale ML Systems", Sec. 5): every layout of
:mod:`mantissa.tables.multiplex` (per-feature tables, feature multiplexing, Unified Embedding)
feeds the same MLP (the feature vectors concatenated, one ReLU hidden layer of 128), so at an
equal number of embedding rows only the layout differs. :func:`train_layout` trains one with
:func:`~mantissa.train.classifier.fit_classifier` and returns its test accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mantissa.tables.multiplex import LAYOUTS
from mantissa.train.classifier import classifier_accuracy, fit_classifier

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
    fit_classifier(model, xtr, ytr, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                   desc=f"{layout} rows={rows}")
    return classifier_accuracy(model, xte, yte), model.emb.n_parameters


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
