"""FAISS kernel wrappers against NumPy brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa.index.faiss_kernels import (
    knn_float,
    knn_hamming,
    pack_pq,
    pq_encode,
    pq_index,
    pq_quantizer,
    pq_search,
    pq_train,
    unpack_pq,
)
from mantissa.index.search import pq_adc


def _data(n=400, d=24, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal((n, d)).astype(np.float32))


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_knn_float_equals_brute_force(metric):
    x, q = _data(), _data(7, seed=1)
    xn, qn = x.double().numpy(), q.double().numpy()
    ref = qn @ xn.T if metric == "ip" else -((qn[:, None] - xn[None]) ** 2).sum(-1)
    s, i = knn_float(q, x, 5, metric)
    assert np.array_equal(i.numpy(), np.argsort(-ref, 1)[:, :5])
    assert np.allclose(s.numpy(), np.take_along_axis(ref, i.numpy(), 1), atol=1e-3)


def test_knn_hamming_equals_unpacked_bits():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 256, (9, 16), dtype=np.uint8), rng.integers(0, 256, (300, 16), dtype=np.uint8)
    ham = (np.unpackbits(a, axis=1)[:, None] != np.unpackbits(b, axis=1)[None]).sum(-1)
    d, i = knn_hamming(torch.from_numpy(a), torch.from_numpy(b), 6)
    assert np.array_equal(d.numpy(), np.sort(ham, 1)[:, :6])
    assert np.array_equal(np.take_along_axis(ham, i.numpy(), 1), d.numpy())


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_pq_codes_are_nearest_centroids_and_pack_round_trips(bits):
    x = _data(600)
    books = pq_train(x, 4, bits, iters=5, seed=0)
    assert books.shape == (4, 2**bits, 6)
    codes = pq_encode(books, bits, x)
    subs = x.view(600, 4, 6)
    ref = torch.stack([torch.cdist(subs[:, j].double(), books[j].double()).argmin(1) for j in range(4)], 1)
    assert (codes.long() == ref).float().mean() > 0.999  # float ties aside
    packed = pack_pq(codes, bits)
    assert np.array_equal(packed, pq_quantizer(books, bits).compute_codes(x.numpy()))
    assert torch.equal(unpack_pq(packed, 4, bits), codes)


@pytest.mark.parametrize(("bits", "metric"), [(8, "ip"), (4, "ip"), (8, "l2")])
def test_pq_search_equals_table_lookup(bits, metric):
    x, q = _data(500), _data(6, seed=3)
    books = pq_train(x, 4, bits, iters=5, seed=0)
    codes = pq_encode(books, bits, x)
    s, i = pq_search(pq_index(books, bits, codes, metric), q, 8, metric)
    if metric == "ip":
        ref = pq_adc(torch.einsum("qmd,mkd->qmk", q.view(6, 4, 6), books), codes)
    else:
        dec = torch.cat([books[j][codes[:, j].long()] for j in range(4)], 1)
        ref = -torch.cdist(q.double(), dec.double()) ** 2
    assert torch.equal(i, torch.topk(ref, 8).indices)
    assert torch.allclose(s.double(), torch.topk(ref, 8).values.double(), atol=1e-3)


def test_sq8_encode_equals_rounding_to_mantissas_levels():
    from mantissa.index.faiss_kernels import sq8_encode

    x = _data(3000, 48)
    lo, hi = x[:2000].min(0).values, x[:2000].max(0).values  # the rest falls outside: clipped
    scale = (hi - lo) / 255
    ref = torch.round((x.double() - lo.double()) / scale.double()).clamp(0, 255)
    codes = sq8_encode(lo, scale, x)
    diff = (codes.double() - ref).abs()
    assert diff.max() <= 1 and (diff == 0).double().mean() > 0.9999  # only float32 ties at .5 may flip


@pytest.mark.parametrize("n", [1, 5, 3000])
def test_sq8_ranges_equal_torch_min_max(n):
    from mantissa.index.faiss_kernels import sq8_ranges

    x = _data(n, 40) * torch.linspace(0.1, 9, 40)
    lo, span = sq8_ranges(x)
    ref_lo, ref_hi = torch.aminmax(x, dim=0)
    assert torch.equal(lo, ref_lo) and torch.equal(span, ref_hi - ref_lo)  # bit for bit


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_ivf_centroids_are_faiss_ivf_training(metric):
    import faiss

    from mantissa.index.faiss_kernels import faiss_metric, ivf_centroids

    x = _data(3000, 16)
    cents = ivf_centroids(x, 12, metric, seed=3)
    quantizer = faiss.IndexFlat(16, faiss_metric(metric))
    ivf = faiss.IndexIVFFlat(quantizer, 16, 12, faiss_metric(metric))
    ivf.cp.seed = 3
    ivf.train(x.numpy())
    assert torch.equal(cents, torch.from_numpy(quantizer.reconstruct_n(0, 12)))
    if metric == "ip":  # FAISS's IVF clustering under inner product is spherical
        assert torch.allclose(cents.norm(dim=1), torch.ones(12), atol=1e-5)
    assert not torch.equal(cents, ivf_centroids(x, 12, metric, seed=4))
