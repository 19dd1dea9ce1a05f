"""HNSW graph search (Malkov & Yashunin, 2018) on FAISS's graph: ``hnsw:M[,ef=E,efc=C]``.

The graph is a FAISS ``IndexHNSWFlat`` (base ``float32``), ``IndexHNSWSQ`` with
the index's own ``int8`` ranges (base ``int8``: FAISS's 8-bit storage decodes
``vmin + (c + 0.5)·vdiff/255``, so ``vmin = lo - scale/2`` and
``vdiff = 255·scale`` give exactly mantissa's codes) or ``IndexBinaryHNSW``
(base ``binary``: the packed sign codes themselves). Vectors enter the graph as
their decoded codes, in id order, so graph ids are index ids. ``M`` neighbours
per node (``2M`` on the bottom layer), ``ef`` candidates at search time,
``efc`` while building. The serialized graph is stored in the index's
checksummed ``aux.safetensors``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mantissa.errors import CorruptFileError, SpecError
from mantissa.index.compressors import Binary, Compressor, Float32, Int8
from mantissa.index.faiss_kernels import faiss, faiss_metric, sq8_params

BASES = ("float32", "int8", "binary")


def sq8_trained(comp: Int8) -> np.ndarray:
    """FAISS ``QT_8bit`` parameters ``[vmin..., vdiff...]`` equal to mantissa's int8 ranges."""
    return sq8_params(comp.lo, comp.scale)


def _new_faiss(comp: Compressor, m: int, metric: str) -> Any:
    f = faiss()
    assert comp.dim is not None
    if isinstance(comp, Binary):
        return f.IndexBinaryHNSW(comp.ubinary_bytes * 8, m)
    if isinstance(comp, Int8):
        index = f.IndexHNSWSQ(comp.dim, f.ScalarQuantizer.QT_8bit, m, faiss_metric(metric))
        storage = f.downcast_index(index.storage)
        f.copy_array_to_vector(sq8_trained(comp), storage.sq.trained)
        storage.is_trained = index.is_trained = True
        return index
    return f.IndexHNSWFlat(comp.dim, m, faiss_metric(metric))


class Graph:
    """A FAISS HNSW graph over an index's codes (``add`` in id order, ``search``)."""

    def __init__(self, comp: Compressor, index: Any, ef: int) -> None:
        self.comp, self.index, self.ef = comp, index, ef
        self.binary = isinstance(comp, Binary)

    @classmethod
    def new(cls, comp: Compressor, m: int, ef: int, efc: int) -> Graph:
        if type(comp) not in (Float32, Int8, Binary) or (isinstance(comp, Binary) and comp.query != "binary"):
            raise SpecError(f"hnsw works over the bases {', '.join(BASES)}; not {comp.spec}")
        index = _new_faiss(comp, m, comp.metric)
        index.hnsw.efConstruction = efc
        return cls(comp, index, ef)

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def add(self, codes: torch.Tensor) -> None:
        data = self._bits(codes) if self.binary else self.comp.decode(codes).numpy()
        self.index.add(np.ascontiguousarray(data))

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` (scores, ids), larger score closer (``-d²`` for L2, ``dim - 2·ham`` for binary)."""
        self.index.hnsw.efSearch = max(self.ef, k)
        if self.binary:
            assert self.comp.dim is not None
            d, i = self.index.search(self._bits(self.comp.encode(queries)), k)
            return torch.from_numpy(self.comp.dim - 2 * d.astype(np.float32)), torch.from_numpy(i)
        s, i = self.index.search(np.ascontiguousarray(queries.numpy()), k)
        s = torch.from_numpy(s)
        return (s if self.comp.metric == "ip" else -s), torch.from_numpy(i)

    def _bits(self, codes: torch.Tensor) -> np.ndarray:
        """Binary codes without mantissa's padding to 64-bit words (FAISS's layout)."""
        return np.ascontiguousarray(codes[:, : self.comp.ubinary_bytes].numpy())  # type: ignore[attr-defined]

    def to_bytes(self) -> torch.Tensor:
        f = faiss()
        raw = f.serialize_index_binary(self.index) if self.binary else f.serialize_index(self.index)
        return torch.from_numpy(np.asarray(raw, dtype=np.uint8).copy())

    @classmethod
    def from_bytes(cls, comp: Compressor, raw: torch.Tensor, ef: int) -> Graph:
        f = faiss()
        data = np.ascontiguousarray(raw.numpy(), dtype=np.uint8)
        try:
            index = (f.deserialize_index_binary if isinstance(comp, Binary) else f.deserialize_index)(data)
        except RuntimeError as exc:
            raise CorruptFileError(f"unreadable hnsw graph in the index ({exc})") from None
        return cls(comp, index, ef)
