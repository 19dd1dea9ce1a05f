"""Exact top-k search kernels for every code type, streaming top-k and rescoring.

* :func:`float_scores` — float matmul (BLAS);
* :func:`int_matmul` — exact int8 × int8 → int32 matrix product (oneDNN/VNNI
  through ``torch._int_mm``; an exact float fallback where that is missing);
* :func:`hamming_popcount` — Hamming distances by popcount on packed 64-bit words
  (``numpy.bitwise_count``), the reference binary kernel;
* :func:`hamming_matmul` — the same distances from one integer product of ±1
  vectors unpacked block by block: ``ham = (dim - <a, b>) / 2``; the fast path;
* :func:`pq_adc` — asymmetric distance tables for product quantization;
* :func:`multibit_popcount` — the BEBR multi-bit inner product
  ``Σ_ij 2^(2U-i-j) (D - 2·ham(a_i, b_j))`` from bit-plane popcounts;
* :func:`topk_stream` — top-k over documents scored chunk by chunk (bounded memory);
* :func:`merge_topk` — merge the top-k of blocks searched one after another;
* :func:`rescore` — re-rank candidates with float vectors read from storage.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mantissa.errors import ShapeError

_INT_MM_OK: bool | None = None


def float_scores(queries: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
    """Inner products ``(q, n)`` in float32."""
    return queries.float() @ docs.float().T


def _int_mm_works() -> bool:
    global _INT_MM_OK
    if _INT_MM_OK is None:
        try:
            a = torch.ones(17, 8, dtype=torch.int8)
            _INT_MM_OK = bool((torch._int_mm(a, a.T.contiguous()) == 8).all())
        except (RuntimeError, AttributeError, NotImplementedError):
            _INT_MM_OK = False
    return _INT_MM_OK


def int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact ``a @ b.T`` for int8 matrices ``a (q, d)``, ``b (n, d)`` → int32 ``(q, n)``."""
    if a.dtype != torch.int8 or b.dtype != torch.int8:
        raise TypeError(f"int_matmul takes int8 matrices, got {a.dtype} and {b.dtype}")
    if a.shape[1] != b.shape[1]:
        raise ShapeError(f"int_matmul: inner dimensions differ ({a.shape[1]} vs {b.shape[1]})")
    q, n = a.shape[0], b.shape[0]
    if q == 0 or n == 0:
        return torch.zeros(q, n, dtype=torch.int32)
    if _int_mm_works():
        pad = max(0, 17 - q)  # the kernel wants more than 16 rows
        aa = torch.cat([a, a.new_zeros(pad, a.shape[1])]) if pad else a
        return torch._int_mm(aa.contiguous(), b.T)[:q]
    # exact fallback: float32 is exact while d * 127^2 < 2^24, float64 beyond
    dtype = torch.float32 if a.shape[1] * 128 * 128 < 2**24 else torch.float64
    return (a.to(dtype) @ b.to(dtype).T).round().to(torch.int32)


def hamming_popcount(a: torch.Tensor, b: torch.Tensor, block: int = 32) -> torch.Tensor:
    """Hamming distances ``(q, n)`` between packed codes (uint8, width a multiple of 8)."""
    if a.shape[1] != b.shape[1] or a.shape[1] % 8:
        raise ShapeError(f"hamming_popcount needs equal code widths that are multiples of 8 bytes, "
                         f"got {a.shape[1]} and {b.shape[1]}")
    a64 = np.ascontiguousarray(a.numpy()).view(np.uint64)
    b64 = np.ascontiguousarray(b.numpy()).view(np.uint64)
    out = np.empty((a64.shape[0], b64.shape[0]), dtype=np.int32)
    for s in range(0, a64.shape[0], block):
        x = a64[s : s + block, None, :] ^ b64[None, :, :]
        out[s : s + block] = np.bitwise_count(x).sum(-1, dtype=np.int32)
    return torch.from_numpy(out)


def hamming_matmul(a_pm: torch.Tensor, b_codes: torch.Tensor, dim: int,
                   unpack: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """Hamming distances from ±1 queries ``a_pm (q, dim)`` int8 and packed codes."""
    dots = int_matmul(a_pm, unpack(b_codes, dim))
    return (dim - dots) // 2


def pq_adc(tables: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Scores ``(q, n) = Σ_m tables[q, m, codes[n, m]]`` (asymmetric distance computation)."""
    q, m, ks = tables.shape
    if codes.shape[1] != m:
        raise ShapeError(f"pq_adc: tables for {m} sub-quantizers, codes have {codes.shape[1]}")
    flat = tables.reshape(q, m * ks)
    offsets = (torch.arange(m) * ks).unsqueeze(0)
    idx = codes.long() + offsets  # (n, m) column ids into flat
    out = torch.zeros(q, codes.shape[0])
    for j in range(m):
        out += flat.index_select(1, idx[:, j])
    return out


def multibit_popcount(a_planes: torch.Tensor, b_planes: torch.Tensor, dim: int) -> torch.Tensor:
    """Integer inner products of multi-bit codes from bit-plane popcounts.

    ``a_planes (q, P, W)`` and ``b_planes (n, P, W)`` are packed sign planes
    (plane 0 most significant, ``W`` bytes a multiple of 8); the code value is
    ``v = Σ_i 2^(P-1-i) s_i`` with ``s_i = ±1``, so
    ``<v_a, v_b> = Σ_ij 2^(2P-2-i-j) (dim - 2·ham(a_i, b_j))``.
    """
    p = a_planes.shape[1]
    out = torch.zeros(a_planes.shape[0], b_planes.shape[0], dtype=torch.int64)
    for i in range(p):
        for j in range(p):
            ham = hamming_popcount(a_planes[:, i].contiguous(), b_planes[:, j].contiguous())
            out += (2 ** (2 * p - 2 - i - j)) * (dim - 2 * ham.long())
    return out


def topk_stream(score_chunk: Callable[[int, int], torch.Tensor], n: int, k: int,
                chunk: int = 65536) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` (scores, ids) of ``score_chunk(start, stop) -> (q, stop-start)`` over ``n`` docs."""
    if n <= 0:
        raise ShapeError("the index is empty; add vectors before searching")
    k = min(k, n)
    best_s: torch.Tensor | None = None
    best_i: torch.Tensor | None = None
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        s = score_chunk(start, stop).float()
        kk = min(k, stop - start)
        cs, ci = torch.topk(s, kk, dim=1)
        ci = ci + start
        if best_s is None:
            best_s, best_i = cs, ci
        else:
            ms, pos = torch.topk(torch.cat([best_s, cs], 1), k, dim=1)
            best_i = torch.gather(torch.cat([best_i, ci], 1), 1, pos)
            best_s = ms
    assert best_s is not None and best_i is not None
    return best_s, best_i


def merge_topk(best: tuple[torch.Tensor, torch.Tensor] | None, scores: torch.Tensor, ids: torch.Tensor,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top ``k`` of ``best`` (or nothing) and a new block's (scores, global ids)."""
    if best is None:
        return scores.float(), ids.long()
    s, i = torch.cat([best[0], scores.float()], 1), torch.cat([best[1], ids.long()], 1)
    top, pos = torch.topk(s, min(k, s.shape[1]), dim=1)
    return top, torch.gather(i, 1, pos)


def rescore(queries: torch.Tensor, candidates: torch.Tensor, vectors: Callable[[torch.Tensor], torch.Tensor],
            k: int, metric: str = "ip") -> tuple[torch.Tensor, torch.Tensor]:
    """Re-rank ``candidates (q, c)`` ids by exact inner products (or ``-d²`` for ``metric="l2"``)
    with ``vectors(ids) -> (m, d)``.

    Each distinct candidate is read once (sorted ids); negative ids (no candidate) rank last.
    """
    valid = candidates >= 0
    uniq, inverse = torch.unique(candidates.clamp_min(0), return_inverse=True)
    vec = vectors(uniq).float()
    cand_vec = vec[inverse].view(*candidates.shape, -1)
    s = torch.einsum("qd,qcd->qc", queries.float(), cand_vec)
    if metric == "l2":
        s = 2 * s - (cand_vec * cand_vec).sum(-1) - (queries.float() ** 2).sum(1, keepdim=True)
    s = s.masked_fill(~valid, -float("inf"))
    k = min(k, candidates.shape[1])
    top, pos = torch.topk(s, k, dim=1)
    return top, torch.gather(candidates, 1, pos)
