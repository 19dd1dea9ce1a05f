"""Linear probes: balanced accuracy by hand, a separable property read perfectly."""

import numpy as np
import pytest

from mantissa.errors import ShapeError
from mantissa.probe.linear_probe import balanced_accuracy, probe_binary


def test_balanced_accuracy_hand_computed():
    y = np.array([1, 1, 1, 0])
    assert balanced_accuracy(y, np.array([1, 1, 1, 1])) == 50.0
    assert balanced_accuracy(y, np.array([1, 0, 1, 0])) == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert balanced_accuracy(np.array([1, 1]), np.array([1, 0])) == 50.0


def test_probe_reads_a_linear_property_and_ignores_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5))
    y = np.stack([x[:, 0] + 0.5 * x[:, 1] > 0, rng.random(600) < 0.5, np.ones(600, bool)], 1)
    acc = probe_binary(x[:400], y[:400], x[400:], y[400:])
    assert acc[0] > 95 and 35 < acc[1] < 65 and acc[2] == 50.0
    assert probe_binary(x[:400], y[:400, 0], x[400:], y[400:, 0]).shape == (1,)
    with pytest.raises(ShapeError):
        probe_binary(x[:400], y[:300], x[400:], y[400:])
