"""recall@k against a set-based reference."""

from __future__ import annotations

import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.index.recall import recall_at_k


def test_recall_matches_set_overlap():
    g = torch.Generator().manual_seed(0)
    found = torch.stack([torch.randperm(30, generator=g)[:10] for _ in range(8)])
    truth = torch.stack([torch.randperm(30, generator=g)[:10] for _ in range(8)])
    ref = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth)) / 80
    assert recall_at_k(found, truth) == pytest.approx(ref)
    assert recall_at_k(truth, truth) == 1.0


def test_recall_shape_errors():
    with pytest.raises(ShapeError):
        recall_at_k(torch.zeros(3, 5), torch.zeros(4, 5))
    with pytest.raises(ShapeError):
        recall_at_k(torch.zeros(3, 5), torch.zeros(3, 5), k=6)
