import math

import numpy as np
import pytest

from mantissa.probe.length_gen import accuracy_by, grid, mean_over, per_digit_accuracy, plot_curves, plot_grid
from mantissa.tasks import Example


def _ex(la, lb):
    return Example("p", "a", (la, lb))


def test_accuracy_by_length_and_grid(tmp_path):
    ex = [_ex(1, 1), _ex(1, 1), _ex(1, 2), _ex(2, 2)]
    acc = accuracy_by(ex, [True, False, True, False])
    assert acc == {(1, 1): 0.5, (1, 2): 1.0, (2, 2): 0.0}
    g = grid(acc, [1, 2], [1, 2])
    assert g[0, 0] == 0.5 and g[0, 1] == 1.0 and math.isnan(g[1, 0]) and g[1, 1] == 0.0
    assert mean_over(acc, [(1, 1), (2, 2), (9, 9)]) == 0.25
    assert math.isnan(mean_over(acc, [(9, 9)]))
    assert plot_grid(g, [1, 2], [1, 2], tmp_path / "g.png", train_max=(1, 1)).stat().st_size > 0
    assert plot_curves({"x": ([1, 2], [0.1, 0.9])}, tmp_path / "c.png", train_max=1).exists()
    with pytest.raises(ValueError):
        accuracy_by(ex, [True])


def test_per_digit_accuracy_counts_missing_digits_wrong():
    acc = per_digit_accuracy(["123", "456"], ["124", "4"])
    assert np.allclose(acc, [1.0, 0.5, 0.0])
