"""Fitting a classifier on tensors: the loss is cross-entropy, training separates a learnable
task, callbacks see every step, and accuracy is in percent."""

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.train.classifier import classifier_accuracy, cross_entropy_loss, fit_classifier


def test_loss_accuracy_and_fit():
    torch.manual_seed(0)
    x = torch.randn(400, 5)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Linear(5, 2)
    loss, _ = cross_entropy_loss(model, {"x": x, "y": y})
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y))
    before = classifier_accuracy(model, x, y)
    steps = []
    fit_classifier(model.train(), x, y, steps=40, batch_size=32, lr=0.05, seed=0,
                   callbacks=[lambda step, _logs: steps.append(step)])
    assert steps == list(range(1, 41))
    after = classifier_accuracy(model, x, y)
    assert not model.training and after > max(before, 90.0)
