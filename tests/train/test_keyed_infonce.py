import numpy as np
import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.train.losses import info_nce
from mantissa.train.losses.keyed_infonce import keyed_info_nce


def _reference(q, c, keys, tau):
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    s = q @ c.T / tau
    out = []
    for i in range(len(q)):
        neg = [j for j in range(len(q)) if j == i or keys[j] != keys[i]]
        out.append(np.log(np.exp(s[i, neg]).sum()) - s[i, i])
    return float(np.mean(out))


def test_without_keys_is_plain_infonce():
    g = torch.Generator().manual_seed(0)
    q, c = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert torch.allclose(keyed_info_nce(q, c, None, 0.1), info_nce(q, c, temperature=0.1))
    assert torch.allclose(keyed_info_nce(q, c, None, 0.1, symmetric=True),
                          info_nce(q, c, temperature=0.1, symmetric=True))


def test_same_key_candidates_leave_the_denominator():
    g = torch.Generator().manual_seed(1)
    q = torch.randn(7, 4, generator=g, dtype=torch.float64)
    c = torch.randn(7, 4, generator=g, dtype=torch.float64)
    keys = torch.tensor([0, 1, 0, 2, 1, 1, 3])
    got = float(keyed_info_nce(q, c, keys, 0.2))
    assert got == pytest.approx(_reference(q.numpy(), c.numpy(), keys.tolist(), 0.2), rel=1e-10)
    assert got < float(keyed_info_nce(q, c, None, 0.2))  # fewer negatives, smaller loss


def test_bad_keys_are_refused():
    with pytest.raises(ShapeError):
        keyed_info_nce(torch.randn(3, 2), torch.randn(3, 2), torch.tensor([0, 1]))
