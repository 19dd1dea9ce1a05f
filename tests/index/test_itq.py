"""ITQ: the rotation lowers the quantization loss; search equals NumPy Hamming brute force; it beats sign."""

from __future__ import annotations

import numpy as np
import torch

from mantissa.index.compressors.itq import itq_rotation
from mantissa.index.index import Index
from mantissa.index.recall import recall_at_k


def _embeddings(n=3000, d=64, seed=0):
    """Anisotropic vectors sharing a common direction, as sentence embeddings do."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.linspace(2.0, 0.1, d)
    x = torch.randn(n, d, generator=g) * scales @ torch.linalg.qr(torch.randn(d, d, generator=g))[0]
    return torch.nn.functional.normalize(x + 1.5 * torch.ones(d) / d**0.5, dim=1)


def _loss(v: torch.Tensor, r: torch.Tensor) -> float:
    vr = v.double() @ r
    return float(((torch.where(vr >= 0, 1.0, -1.0) - vr) ** 2).sum())


def test_rotation_lowers_the_quantization_loss():
    x = _embeddings(1000, 32)
    v = x - x.mean(0)
    losses = [_loss(v, itq_rotation(v, iters, seed=0)) for iters in (0, 1, 5, 30)]  # 0: the random start
    assert all(b <= a + 1e-6 for a, b in zip(losses, losses[1:])) and losses[-1] < losses[0] - 100
    r = itq_rotation(v, 30, seed=0)
    assert torch.allclose(r.T @ r, torch.eye(32, dtype=torch.float64), atol=1e-8)  # orthogonal


def test_search_equals_numpy_hamming_over_independently_made_codes():
    x, q = _embeddings(), _embeddings(20, seed=1)
    idx = Index.build("itq:iters=10", x)
    comp = idx.compressor
    mean, proj = comp.mean.numpy(), comp.projection.numpy()
    bits = lambda a: np.packbits(((a.numpy() - mean) @ proj) > 0, axis=1)  # noqa: E731
    ham = (np.unpackbits(bits(q), axis=1)[:, None] != np.unpackbits(bits(x), axis=1)[None]).sum(-1)
    assert np.array_equal(idx.segments[0].codes.numpy(), bits(x))  # 64 bits: no padding
    s, i = idx.search(q, 10)
    assert np.array_equal(64 - 2 * np.sort(ham, 1)[:, :10], s.numpy().astype(int))


def test_itq_beats_sign_binarization_at_the_same_bytes():
    x, q = _embeddings(), _embeddings(100, seed=2)
    truth = torch.topk(q @ x.T, 10).indices
    sign = recall_at_k(Index.build("binary", x).search(q, 10)[1], truth)
    itq = Index.build("itq", x)
    assert itq.bytes_per_vector == Index.build("binary", x).bytes_per_vector == 8
    assert recall_at_k(itq.search(q, 10)[1], truth) > sign + 0.05
