"""k-means recovers well separated clusters; assignment equals brute force."""

from __future__ import annotations

import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.index.kmeans import assign, kmeans


def test_kmeans_finds_separated_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 3, generator=g) * 20
    x = centres.repeat(40, 1) + 0.1 * torch.randn(200, 3, generator=g)
    found = kmeans(x, 5, iters=20, seed=1)
    gap = torch.cdist(centres, found).min(1).values
    assert gap.max() < 0.5


def test_assign_equals_brute_force():
    x, c = torch.randn(300, 6), torch.randn(11, 6)
    ids, d = assign(x, c)
    ref = torch.cdist(x.double(), c.double()) ** 2
    assert torch.equal(ids, ref.argmin(1))
    assert torch.allclose(d.double(), ref.min(1).values, atol=1e-4)


def test_kmeans_needs_enough_points():
    with pytest.raises(ShapeError):
        kmeans(torch.randn(3, 2), 5)
