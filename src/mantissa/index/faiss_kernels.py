"""FAISS kernels behind mantissa's standard codes (faiss-cpu is a core dependency).

Thin, typed wrappers that take and return torch tensors without copying where
FAISS can read the memory directly (memory-mapped codes included):

* :func:`knn_float` — exact top-k by inner product or squared L2 (``faiss.knn``);
* :func:`knn_hamming` — top-k by Hamming distance of packed codes (``faiss.knn_hamming``,
  the kernel of ``IndexBinaryFlat``);
* :func:`train_kmeans` / :func:`nearest` — ``faiss.Kmeans`` and nearest-centroid search;
* :func:`ivf_centroids` — an IVF coarse quantizer trained as ``IndexIVF.train`` trains it
  (FAISS's clustering parameters: 10 iterations, spherical under inner product, at most
  256 training points per centroid);
* :func:`sq8_ranges` / :func:`sq8_encode` — per-dimension min/max ranges and 8-bit codes
  by FAISS's ``ScalarQuantizer`` (``QT_8bit``);
* :func:`pq_quantizer`, :func:`pq_train`, :func:`pq_encode`, :func:`pq_search` — a
  ``faiss.ProductQuantizer`` built from mantissa's codebooks, and ADC search through
  ``IndexPQ`` over mantissa's one-byte-per-sub-quantizer codes (packed to FAISS's
  bit layout with :func:`pack_pq` when ``B < 8``).

Scores follow mantissa's convention inside the index: larger is closer, so L2
kernels return ``-d²``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

METRICS = ("ip", "l2")


def faiss() -> Any:
    """The faiss module (imported on first use: it is slow to import)."""
    import faiss as _faiss

    return _faiss


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """FAISS on the calling thread only, for loops of small FAISS calls between torch ops.

    FAISS's and torch's OpenMP pools each spin after a parallel region; alternating
    many small calls between them lets the spinning pool starve the other (on 2 cores
    a batch of IVF lists ran 5-30x slower)."""
    f = faiss()
    before = f.omp_get_max_threads()
    f.omp_set_num_threads(1)
    try:
        yield
    finally:
        f.omp_set_num_threads(before)


def faiss_metric(metric: str) -> int:
    f = faiss()
    return f.METRIC_INNER_PRODUCT if metric == "ip" else f.METRIC_L2


def _np(x: torch.Tensor, dtype: Any = np.float32) -> np.ndarray:
    return np.ascontiguousarray(x.detach().numpy(), dtype=dtype)


def _signed(scores: np.ndarray, ids: np.ndarray, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    s = torch.from_numpy(scores)
    return (s if metric == "ip" else -s), torch.from_numpy(ids)


def knn_float(queries: torch.Tensor, docs: torch.Tensor, k: int,
              metric: str = "ip") -> tuple[torch.Tensor, torch.Tensor]:
    """Exact top-``k`` of float ``docs`` for each query: (scores, ids), best first."""
    s, i = faiss().knn(_np(queries), _np(docs), min(k, len(docs)), metric=faiss_metric(metric))
    return _signed(s, i, metric)


def knn_hamming(queries: torch.Tensor, codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` by Hamming distance of packed uint8 codes: (distances int32, ids), nearest first."""
    d, i = faiss().knn_hamming(_np(queries, np.uint8), _np(codes, np.uint8), min(k, len(codes)))
    return torch.from_numpy(d.astype(np.int32)), torch.from_numpy(i)


def train_kmeans(x: torch.Tensor, k: int, iters: int, seed: int,
                 init: torch.Tensor | None = None) -> torch.Tensor:
    """``faiss.Kmeans`` centroids ``(k, d)``, from ``init`` when given (no warnings for small samples)."""
    km = faiss().Kmeans(x.shape[1], k, niter=iters, seed=seed, min_points_per_centroid=1,
                        max_points_per_centroid=256, verbose=False)
    km.train(_np(x), init_centroids=None if init is None else _np(init))
    return torch.from_numpy(np.array(km.centroids, dtype=np.float32).reshape(k, x.shape[1]))


def ivf_centroids(x: torch.Tensor, nlist: int, metric: str, seed: int) -> torch.Tensor:
    """``nlist`` coarse centroids ``(nlist, d)`` trained exactly as FAISS's ``IndexIVF.train`` does.

    FAISS's IVF clustering parameters (``niter=10``, ``spherical`` under inner product,
    ``max_points_per_centroid=256``: a seeded subsample of ``256·nlist`` points when
    there are more), with ``seed`` for FAISS's sampling and initialisation and the
    too-few-points warning silenced."""
    f = faiss()
    quantizer = f.IndexFlat(x.shape[1], faiss_metric(metric))
    ivf = f.IndexIVFFlat(quantizer, x.shape[1], nlist, faiss_metric(metric))
    ivf.cp.seed, ivf.cp.min_points_per_centroid = seed, 1
    ivf.train(_np(x))
    return torch.from_numpy(quantizer.reconstruct_n(0, nlist))


def nearest(x: torch.Tensor, centroids: torch.Tensor, k: int = 1,
            metric: str = "l2") -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest centroids of each row: (ids int64, squared distances or inner products)."""
    s, i = faiss().knn(_np(x), _np(centroids), k, metric=faiss_metric(metric))
    return torch.from_numpy(i), torch.from_numpy(s)


# -- 8-bit scalar quantization ------------------------------------------------------
def sq8_params(lo: torch.Tensor, scale: torch.Tensor) -> np.ndarray:
    """FAISS ``QT_8bit`` parameters ``[vmin..., vdiff...]`` for mantissa's int8 ranges.

    FAISS encodes ``floor(255·(x - vmin)/vdiff)`` clipped to [0, 255] and decodes
    ``vmin + (c + 0.5)·vdiff/255``; ``vmin = lo - scale/2`` and ``vdiff = 255·scale``
    make that ``round((x - lo)/scale)`` and ``lo + c·scale``: mantissa's int8 code."""
    lo64, s64 = lo.double(), scale.double()
    return torch.cat([lo64 - s64 / 2, s64 * 255]).float().numpy()


def sq8_ranges(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension ``(min, max - min)`` of ``x``, by FAISS's ``QT_8bit`` min/max training.

    The same float32 numbers as ``torch.aminmax(x, dim=0)`` and ``hi - lo`` (FAISS
    computes ``vmax - vmin`` in float32), in one pass over a transposed copy instead
    of torch's strided column reduction (about 3× faster at 20,000 × 384)."""
    f = faiss()
    sq = f.ScalarQuantizer(x.shape[1], f.ScalarQuantizer.QT_8bit)
    sq.rangestat = f.ScalarQuantizer.RS_minmax
    sq.rangestat_arg = 0.0
    sq.train(_np(x))
    trained = torch.from_numpy(f.vector_to_array(sq.trained).reshape(2, -1).copy())
    return trained[0], trained[1]


def sq8_encode(lo: torch.Tensor, scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """mantissa's int8 codes of ``x`` computed by FAISS's scalar quantizer (SIMD)."""
    f = faiss()
    sq = f.ScalarQuantizer(x.shape[1], f.ScalarQuantizer.QT_8bit)
    f.copy_array_to_vector(sq8_params(lo, scale), sq.trained)
    return torch.from_numpy(sq.compute_codes(_np(x)))


# -- product quantization ----------------------------------------------------------
def pq_quantizer(codebooks: torch.Tensor, bits: int) -> Any:
    """A ``faiss.ProductQuantizer`` holding ``codebooks (M, 2^B, d/M)``."""
    f = faiss()
    m, ksub, dsub = codebooks.shape
    pq = f.ProductQuantizer(m * dsub, m, bits)
    f.copy_array_to_vector(_np(codebooks).ravel(), pq.centroids)
    return pq


def pq_train(x: torch.Tensor, m: int, bits: int, iters: int, seed: int) -> torch.Tensor:
    """Codebooks ``(M, 2^B, d/M)`` trained by FAISS (k-means per sub-space)."""
    f = faiss()
    pq = f.ProductQuantizer(x.shape[1], m, bits)
    pq.cp.niter, pq.cp.seed = iters, seed
    pq.cp.min_points_per_centroid = 1  # small samples: train anyway, silently
    pq.train(_np(x))
    return torch.from_numpy(f.vector_to_array(pq.centroids).reshape(m, 2**bits, -1).copy())


def pack_pq(codes: torch.Tensor, bits: int) -> np.ndarray:
    """mantissa's one byte per sub-quantizer → FAISS's packed ``B``-bit layout."""
    c = _np(codes, np.uint8)
    return c if bits == 8 else faiss().pack_bitstrings(c.astype(np.int32), bits)


def unpack_pq(packed: np.ndarray, m: int, bits: int) -> torch.Tensor:
    """FAISS's packed ``B``-bit PQ codes → one byte per sub-quantizer."""
    if bits == 8:
        return torch.from_numpy(np.ascontiguousarray(packed, dtype=np.uint8))
    return torch.from_numpy(faiss().unpack_bitstrings(np.ascontiguousarray(packed), m, bits).astype(np.uint8))


def pq_encode(codebooks: torch.Tensor, bits: int, x: torch.Tensor) -> torch.Tensor:
    """Codes ``(n, M)`` uint8: each sub-vector's nearest centroid (FAISS)."""
    pq = pq_quantizer(codebooks, bits)
    return unpack_pq(pq.compute_codes(_np(x)), pq.M, bits)


def pq_index(codebooks: torch.Tensor, bits: int, codes: torch.Tensor, metric: str = "ip") -> Any:
    """A ``faiss.IndexPQ`` over mantissa's codes (copied once into FAISS's layout)."""
    f = faiss()
    m, _, dsub = codebooks.shape
    index = f.IndexPQ(m * dsub, m, bits, faiss_metric(metric))
    f.copy_array_to_vector(_np(codebooks).ravel(), index.pq.centroids)
    index.is_trained = True
    packed = pack_pq(codes, bits)
    f.copy_array_to_vector(np.ascontiguousarray(packed).ravel(), index.codes)
    index.ntotal = len(codes)
    return index


def pq_search(index: Any, queries: torch.Tensor, k: int,
              metric: str = "ip") -> tuple[torch.Tensor, torch.Tensor]:
    """ADC top-``k`` through a :func:`pq_index`: (scores, ids), best first."""
    s, i = index.search(_np(queries), min(k, index.ntotal))
    return _signed(s, i, metric)
