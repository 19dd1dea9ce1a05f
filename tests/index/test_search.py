"""Search kernels against independent references: int64 products, numpy bit counts, brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.formats.bits import pack_signs, unpack_signs
from mantissa.index.search import (
    hamming_matmul,
    hamming_popcount,
    int_matmul,
    multibit_popcount,
    pq_adc,
    rescore,
    topk_stream,
)


def test_int_matmul_is_exact_including_small_batches():
    g = torch.Generator().manual_seed(0)
    for q in (1, 5, 40):
        a = torch.randint(-128, 128, (q, 300), generator=g, dtype=torch.int64).to(torch.int8)
        b = torch.randint(-128, 128, (77, 300), generator=g, dtype=torch.int64).to(torch.int8)
        ref = a.long() @ b.long().T
        assert torch.equal(int_matmul(a, b).long(), ref)


def test_int_matmul_rejects_floats_and_mismatched_dims():
    with pytest.raises(TypeError):
        int_matmul(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ShapeError):
        int_matmul(torch.zeros(2, 3, dtype=torch.int8), torch.zeros(2, 4, dtype=torch.int8))


def _brute_hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ua, ub = np.unpackbits(a, axis=1), np.unpackbits(b, axis=1)
    return (ua[:, None, :] != ub[None, :, :]).sum(-1)


def test_hamming_kernels_agree_with_unpacked_bits():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((23, 130)), rng.standard_normal((41, 130))
    ca, cb = pack_signs(torch.tensor(x), 24), pack_signs(torch.tensor(y), 24)
    ref = _brute_hamming(ca.numpy(), cb.numpy())
    assert np.array_equal(hamming_popcount(ca, cb).numpy(), ref)
    pm = torch.where(torch.tensor(x) > 0, 1, -1).to(torch.int8)
    assert np.array_equal(hamming_matmul(pm, cb, 130, unpack_signs).numpy(), ref)


def test_pack_signs_matches_bit_arithmetic():
    x = torch.randn(9, 60)
    bits = (x > 0).long()
    ref = [[sum(int(bits[r, 8 * b + j]) << (7 - j) for j in range(8) if 8 * b + j < 60) for b in range(8)]
           for r in range(9)]  # MSB first, zero padded to 8 bytes
    assert pack_signs(x, 8).tolist() == ref
    assert torch.equal(unpack_signs(pack_signs(x, 8), 60), torch.where(x > 0, 1, -1).to(torch.int8))


def test_multibit_popcount_equals_integer_product_of_levels():
    g = torch.Generator().manual_seed(2)
    p, dim = 3, 100
    qa, qb = torch.randn(7, p, dim, generator=g), torch.randn(11, p, dim, generator=g)
    pa = torch.stack([pack_signs(qa[:, i], 16) for i in range(p)], 1)
    pb = torch.stack([pack_signs(qb[:, i], 16) for i in range(p)], 1)
    lv = lambda t: sum(torch.where(t[:, i] > 0, 1, -1).long() * 2 ** (p - 1 - i) for i in range(p))  # noqa: E731
    assert torch.equal(multibit_popcount(pa, pb, dim), lv(qa) @ lv(qb).T)


def test_pq_adc_equals_sum_of_table_entries():
    g = torch.Generator().manual_seed(3)
    tables = torch.randn(4, 6, 16, generator=g)
    codes = torch.randint(0, 16, (30, 6), generator=g).to(torch.uint8)
    ref = torch.zeros(4, 30)
    for qi in range(4):
        for n in range(30):
            ref[qi, n] = sum(tables[qi, m, int(codes[n, m])] for m in range(6))
    assert torch.allclose(pq_adc(tables, codes), ref, atol=1e-5)


def test_topk_stream_matches_full_topk():
    s = torch.randn(5, 1000)
    vals, ids = topk_stream(lambda a, b: s[:, a:b], 1000, 7, chunk=64)
    ref = torch.topk(s, 7)
    assert torch.equal(ids, ref.indices) and torch.allclose(vals, ref.values)
    with pytest.raises(ShapeError):
        topk_stream(lambda a, b: s[:, a:b], 0, 3)


def test_rescore_reorders_by_exact_products_and_ranks_missing_last():
    vecs = torch.eye(4)
    q = torch.tensor([[0.1, 0.9, 0.5, 0.0]])
    top, ids = rescore(q, torch.tensor([[0, 2, -1, 1]]), lambda i: vecs[i], 3)
    assert ids.tolist() == [[1, 2, 0]]
    assert torch.allclose(top, torch.tensor([[0.9, 0.5, 0.1]]))
