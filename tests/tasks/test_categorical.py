"""Categorical-feature data: the synthetic click model is seeded, in range, and learnable."""

import torch

from mantissa.data import wordnet_available
from mantissa.tasks.categorical import CLICK_CARDINALITIES, synthetic_clicks, wordnet_noun_features


def test_synthetic_clicks_are_seeded_ids_within_their_cardinalities():
    x, y = synthetic_clicks(2000, seed=3)
    assert x.shape == (2000, len(CLICK_CARDINALITIES)) and x.dtype == torch.int64
    assert all(int(x[:, j].max()) < c for j, c in enumerate(CLICK_CARDINALITIES)) and int(x.min()) >= 0
    assert set(y.tolist()) <= {0, 1} and 0.2 < float(y.float().mean()) < 0.8
    x2, y2 = synthetic_clicks(2000, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_wordnet_noun_features_when_available():
    if not wordnet_available():
        return
    x, y = wordnet_noun_features()
    assert x.shape[1] == 8 and len(x) == len(y) and int(y.max()) + 1 == 26
    assert all(int(x[:, j].min()) == 0 for j in range(8))  # ids in order of first appearance
