"""Bag-of-words data: the synthetic stand-in is frequency-ranked, shuffled ids keep the words."""

import torch

from mantissa.tasks.bags import PAD, shuffle_ids, synthetic_bags


def test_synthetic_bags_are_frequency_ranked():
    d = synthetic_bags(500, 300, seed=1)
    assert d.x.shape == (500, 8) and d.y.max() < d.n_classes
    assert torch.equal(torch.bincount(d.x.flatten(), minlength=300).double(), d.counts)
    assert (d.counts[:-1] >= d.counts[1:]).all()


def test_shuffled_ids_keep_the_words():
    d = synthetic_bags(300, 100, seed=4)
    d.x[0, 5:] = PAD
    d.counts = torch.bincount(d.x[d.x != PAD], minlength=100).double()
    s = shuffle_ids(d, seed=0)
    assert torch.equal(s.x == PAD, d.x == PAD)
    assert torch.equal(s.counts, torch.bincount(s.x[s.x != PAD], minlength=100).double())
    assert not torch.equal(s.x, d.x)
