"""A fastText-style bag classifier over a compressed embedding table, and how it is trained.

The model of the vector-storage compression benchmark (Zhang et al. 2024, "Experimental
Analysis of Large-scale Learnable Vector Storage Compression", VLDB): the mean of a bag's
word vectors, looked up in any :class:`~mantissa.tables.EmbeddingTable`, then one
linear layer, so the table holds nearly all parameters. :func:`train_bag_classifier`
trains one table method end to end; :func:`post_training_classifier` compresses a trained
full table after training (``quant``, ``pq``) and keeps the full model's classifier.
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.tables import EmbeddingTable, PostTrainingTable, build_table
from mantissa.tasks.bags import PAD, BagData
from mantissa.train.classifier import fit_classifier


class BagClassifier(nn.Module):
    """Mean of the words' vectors -> linear layer (fastText); ``PAD`` ids are skipped."""

    def __init__(self, table: EmbeddingTable, n_classes: int) -> None:
        super().__init__()
        self.table = table
        self.head = nn.Linear(table.dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        present = x != PAD
        vectors = self.table(x[present])
        rows = present.nonzero()[:, 0]
        summed = torch.zeros(len(x), self.table.dim, dtype=vectors.dtype).index_add(0, rows, vectors)
        return self.head(summed / present.sum(1, keepdim=True).clamp_min(1))


def train_bag_classifier(spec: str, data: BagData, train: torch.Tensor, *, dim: int, steps: int,
                         batch_size: int, lr: float, seed: int) -> BagClassifier:
    """A :class:`BagClassifier` over the table ``spec`` trained on the rows ``train`` of
    ``data``: AdamW via :func:`~mantissa.train.classifier.fit_classifier`, 5 % warm-up, no weight decay; the
    table's ``on_step`` hook runs after every step and ``finalize`` at the end."""
    torch.manual_seed(seed)
    table = build_table(spec, len(data.counts), dim, counts=data.counts, seed=seed)
    model = BagClassifier(table, data.n_classes)
    fit_classifier(model, data.x[train], data.y[train], steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                   desc=spec, callbacks=[lambda step, _logs: table.on_step(step, steps)])
    table.finalize()
    return model


def post_training_classifier(spec: str, full: BagClassifier, data: BagData) -> BagClassifier:
    """The trained full model with its table compressed after training (no retraining)."""
    table = build_table(spec, len(data.counts), full.table.dim)
    assert isinstance(table, PostTrainingTable)
    table.load_weights(full.table.weight.detach()).finalize()
    model = BagClassifier(table, data.n_classes)
    model.head.load_state_dict(full.head.state_dict())
    return model


__all__ = ["BagClassifier", "post_training_classifier", "train_bag_classifier"]
