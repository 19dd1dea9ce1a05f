"""IVF search: FAISS's own IVF scan where it has the code, else one scan per probed list.

For ``float32``, ``int8:query=float`` and ``pq`` codes the index hands the same
centroids, lists and codes to FAISS (``IndexIVFFlat``, ``IndexIVFScalarQuantizer``,
``IndexIVFPQ`` without residuals: :func:`mantissa.index.faiss_io.to_faiss`, built
once and kept) and searches with it (:func:`search_faiss_ivf`). For the other codes
(int8 with int8 queries, int4, binary, BEBR, Matryoshka) FAISS finds the probed
partitions and :func:`search_ivf` scans them:

The inverted lists are the codes of each partition gathered into one block
(``InvertedLists``, built once per index and kept in memory, as FAISS keeps
its lists). A batch of queries is grouped by the lists it probes, and every
probed list is searched for all its queries at once with the base code's
kernel (``Compressor.search``), so there is no loop over queries. The lists are
scanned by as many Python threads as FAISS has OpenMP threads, each running FAISS
single-threaded (FAISS releases the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mantissa.index.compressors import Compressor, Float32, Int8, ProductQuantizer
from mantissa.index.faiss_kernels import faiss, nearest, single_threaded


@dataclass
class InvertedLists:
    """Global ids and codes of every partition, in id order within each."""

    ids: list[torch.Tensor]
    codes: list[torch.Tensor]

    @classmethod
    def gather(cls, lists: torch.Tensor, codes: torch.Tensor, nlist: int) -> InvertedLists:
        """From per-vector list ids ``(n,)`` and codes ``(n, width)``."""
        order = torch.argsort(lists.long(), stable=True)
        counts = torch.bincount(lists.long(), minlength=nlist).tolist()
        grouped = codes[order]
        return cls(list(torch.split(order, counts)), list(torch.split(grouped, counts)))


def faiss_has_ivf(comp: Compressor) -> bool:
    """Whether FAISS's IVF scans this code as mantissa scores it."""
    return type(comp) in (Float32, ProductQuantizer) or (type(comp) is Int8 and comp.query == "float")


def search_faiss_ivf(index: Any, queries: torch.Tensor, k: int,
                     metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` through a FAISS IVF index: (scores, ids), larger closer, missing ``(-inf, -1)``."""
    s, i = index.search(np.ascontiguousarray(queries.numpy()), k)
    ids = torch.from_numpy(i)
    scores = torch.from_numpy(s) if metric == "ip" else -torch.from_numpy(s)
    return scores.masked_fill(ids < 0, -float("inf")), ids


def probe(queries: torch.Tensor, centroids: torch.Tensor, nprobe: int, metric: str) -> torch.Tensor:
    """The ``nprobe`` partitions of each query ``(q, P)``: largest inner product, or nearest in L2."""
    return nearest(queries, centroids, min(nprobe, len(centroids)), metric)[0]


def search_ivf(comp: Compressor, queries: torch.Tensor, probes: torch.Tensor, inv: InvertedLists,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` (scores, global ids) over the probed lists; missing slots are ``(-inf, -1)``."""
    nq, p = probes.shape
    best_s = torch.full((nq, p * k), -float("inf"))
    best_i = torch.full((nq, p * k), -1, dtype=torch.long)
    flat = probes.flatten()
    order = torch.argsort(flat, stable=True)
    lists, counts = torch.unique_consecutive(flat[order], return_counts=True)
    jobs = [(lst, pairs) for lst, pairs in zip(lists.tolist(), torch.split(order, counts.tolist()))
            if lst >= 0 and len(inv.ids[lst])]

    def scan(job: tuple[int, torch.Tensor]) -> None:
        lst, pairs = job
        rows, slots = pairs // p, pairs % p
        s, i = comp.search(queries[rows], inv.codes[lst], k)
        cols = slots.unsqueeze(1) * k + torch.arange(s.shape[1])
        best_s[rows.unsqueeze(1), cols] = s.float()  # each (row, slot) is written by one list only
        best_i[rows.unsqueeze(1), cols] = inv.ids[lst][i.long()]

    workers = faiss().omp_get_max_threads()
    with single_threaded(), ThreadPoolExecutor(workers, initializer=faiss().omp_set_num_threads,
                                               initargs=(1,)) as pool:
        list(pool.map(scan, jobs))
    top, pos = torch.topk(best_s, min(k, p * k), dim=1)
    return top, torch.gather(best_i, 1, pos)
