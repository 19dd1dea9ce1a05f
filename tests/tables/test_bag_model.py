"""The bag classifier pools then classifies; post-training compression reuses the trained model;
training moves the model off its initialisation."""

import torch

from mantissa.tables import build_table
from mantissa.tables.bag_model import BagClassifier, post_training_classifier, train_bag_classifier
from mantissa.tasks.bags import PAD, synthetic_bags
from mantissa.train.classifier import classifier_accuracy


def test_bag_classifier_is_mean_then_linear():
    table = build_table("full", 20, 4, seed=0)
    model = BagClassifier(table, 3)
    x = torch.tensor([[1, 2, PAD], [5, PAD, PAD], [PAD, PAD, PAD]])
    w = table.weight.detach()
    pooled = torch.stack([(w[1] + w[2]) / 2, w[5], torch.zeros(4)])
    torch.testing.assert_close(model(x).detach(), model.head(pooled).detach())


def test_post_training_reuses_trained_model():
    d = synthetic_bags(200, 50, seed=2)
    full = BagClassifier(build_table("full", 50, 8, seed=3), d.n_classes)
    q = post_training_classifier("quant:bits=16", full, d)
    torch.testing.assert_close(q(d.x).detach(), full(d.x).detach(), atol=1e-4, rtol=0)
    assert q.table.memory_bytes() == 50 * 16 + 50 * 8


def test_training_learns_the_synthetic_task():
    d = synthetic_bags(1000, 200, seed=0)
    train = torch.arange(800)
    model = train_bag_classifier("full", d, train, dim=16, steps=60, batch_size=64, lr=0.01, seed=0)
    acc = classifier_accuracy(model, d.x[800:], d.y[800:])
    assert 0.0 <= acc <= 100.0 and acc > 100 / d.n_classes + 10
