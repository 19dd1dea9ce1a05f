"""Random ReLU features are fixed by their seed and non-negative."""

import torch

from mantissa.nn.random_features import RandomReLUFeatures


def test_seeded_and_relu():
    x = torch.randint(0, 17, (5, 64)).float()
    a, b, c = RandomReLUFeatures(64, 32, 1), RandomReLUFeatures(64, 32, 1), RandomReLUFeatures(64, 32, 2)
    assert a(x).shape == (5, 32) and (a(x) >= 0).all()
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    torch.testing.assert_close(a(x), torch.relu((x / 16 - 0.3) @ a.w))
