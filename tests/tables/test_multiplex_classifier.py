"""The layout classifier: an MLP over the flattened layout vectors; training one layout beats
chance on a learnable task and reports the layout's parameter count."""

import torch

from mantissa.tables.multiplex_classifier import LayoutClassifier, plot_layout_accuracy, train_layout
from mantissa.tasks.categorical import synthetic_clicks


def test_classifier_flattens_the_layout_vectors():
    model = LayoutClassifier("multiplex", n_features=3, rows=30, dim=4, n_classes=5, seed=0)
    x = torch.randint(0, 10, (6, 3))
    assert model(x).shape == (6, 5)
    torch.testing.assert_close(model(x), model.mlp(model.emb(x).reshape(6, 12)))
    prop = LayoutClassifier("per-feature-prop", 3, 30, 4, 5, 0, cardinalities=[2, 20, 200])
    assert prop(x).shape == (6, 5)


def test_train_layout_learns_and_counts_parameters():
    x, y = synthetic_clicks(3000, seed=0)
    data = ((x[:2400], y[:2400]), (x[2400:], y[2400:]))
    acc, n_par = train_layout("multiplex", 800, data, dim=8, steps=60, batch_size=128, lr=0.01, seed=0)
    majority = float(torch.bincount(y[2400:]).max()) / 600 * 100
    assert n_par == 800 * 8 and acc > majority
    fig = plot_layout_accuracy({(800, "multiplex"): (acc, n_par), (1600, "multiplex"): (acc, 2 * n_par)},
                               ["multiplex"], [800, 1600], 8)
    assert list(fig.axes[0].lines[0].get_xdata()) == [6400, 12800]
