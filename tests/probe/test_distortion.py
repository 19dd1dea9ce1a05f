"""Distortion measures against closed forms and tree distances against brute force."""

import itertools

import numpy as np
import pytest

from mantissa.errors import ShapeError
from mantissa.probe.distortion import (
    ancestor_closed_sample,
    average_distortion,
    distortion_report,
    induced_parent,
    tree_distances,
    worst_distortion,
)

# a small tree:      0
#                  /   \
#                 1     2
#                / \     \
#               3   4     5
PARENT = [-1, 0, 0, 1, 1, 2]


def _brute_tree(parent, a, b):
    def up(v):
        path = [v]
        while parent[v] >= 0:
            v = parent[v]
            path.append(v)
        return path
    pa, pb = up(a), up(b)
    common = next(v for v in pa if v in pb)
    return pa.index(common) + pb.index(common)


def test_tree_distances_brute_force():
    nodes = [3, 4, 5, 0, 2]
    got = tree_distances(PARENT, nodes)
    for (ia, a), (ib, b) in itertools.product(enumerate(nodes), repeat=2):
        assert got[ia, ib] == _brute_tree(PARENT, a, b)


def test_closed_sample_and_induced_tree():
    rng = np.random.default_rng(1)
    parent = [-1] + [int(rng.integers(0, i)) for i in range(1, 200)]
    nodes = ancestor_closed_sample(parent, 40, seed=3)
    assert len(nodes) == len(set(nodes)) == 40
    assert all(parent[v] < 0 or parent[v] in nodes for v in nodes)
    sub = induced_parent(parent, nodes)
    np.testing.assert_array_equal(tree_distances(sub, range(40)), tree_distances(parent, nodes))
    with pytest.raises(ShapeError, match="closed under ancestors"):
        induced_parent(PARENT, [3, 4])


def test_distortion_closed_forms():
    d = tree_distances(PARENT, range(6))
    assert average_distortion(d, d) == 0 and worst_distortion(d, d) == 1
    assert average_distortion(d, 1.5 * d) == pytest.approx(0.5)
    assert worst_distortion(d, 3 * d) == pytest.approx(1.0)
    e = d.copy()
    e[0, 3] = e[3, 0] = 4.0  # true 2: ratio 2, all others 1
    assert worst_distortion(d, e) == pytest.approx(2.0)
    assert average_distortion(d, e) == pytest.approx(1.0 / 15)
    e[0, 3] = e[3, 0] = 0.0
    assert worst_distortion(d, e) == float("inf")
    rep = distortion_report(d, 2 * d)
    assert rep["spearman"] == pytest.approx(1.0) and rep["worst_distortion"] == pytest.approx(1.0)


def test_bad_shapes():
    with pytest.raises(ShapeError, match="square"):
        average_distortion(np.zeros((3, 3)), np.zeros((2, 2)))
    with pytest.raises(ShapeError, match="positive distance"):
        average_distortion(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ShapeError, match="different trees"):
        tree_distances([-1, -1], [0, 1])
