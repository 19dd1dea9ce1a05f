"""An embedding index: a compressor pipeline, its codes, and exact or rescored search.

The index spec composes parts with ``+``::

    spec     := [ivf:NLIST[,nprobe=P] "+" | hnsw:M[,ef=E,efc=C] "+"] [matryoshka:D "+"] BASE
                ["+" rescore:R[,with=STORE]]
                ["+" metric:ip|cos|l2]
    BASE     := float32 | float16 | int8 | int4 | binary | itq | pq:M[xB] | bebr:U  (with their options)
    STORE    := float32 | float16 | int8       (vectors kept for rescoring, default float32)

e.g. ``int8``, ``binary+rescore:4``, ``matryoshka:192+int8``, ``ivf:256,nprobe=16+pq:48x8``,
``bebr:3+rescore:4``, ``hnsw:32+int8+metric:cos``. ``rescore:R`` takes ``R·k`` candidates from the compressed
codes and re-ranks them with the stored vectors; ``ivf`` scores only the
vectors of the ``nprobe`` nearest of ``NLIST`` k-means partitions (centroids
trained as FAISS's ``IndexIVF.train`` trains them, under the index's metric):
FAISS finds the partitions, and each probed list is scored for all the queries
that probe it at once with the base code's kernel (FAISS's own IVF scan for
``float32``, ``int8:query=float`` and ``pq``, :mod:`mantissa.index.ivf`).
``metric:cos`` normalises vectors and queries to unit length; ``metric:l2``
ranks by squared Euclidean distance and :meth:`Index.search` then returns
those distances, smallest first (``ip`` and ``cos`` return similarities,
largest first). ``hnsw:M`` searches a FAISS HNSW graph over ``float32``,
``int8`` or ``binary`` codes (:mod:`mantissa.index.hnsw`).

:class:`Index` holds the codes as a list of *segments* (in-memory tensors or
memory-mapped files, see :mod:`mantissa.index.index_file`); search streams
over them chunk by chunk, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from mantissa.errors import ShapeError, SpecError, UnknownNameError
from mantissa.index.compressors import COMPRESSORS, Compressor, check_vectors
from mantissa.index.faiss_kernels import ivf_centroids
from mantissa.index.hnsw import Graph
from mantissa.index.ivf import InvertedLists, faiss_has_ivf, probe, search_faiss_ivf, search_ivf
from mantissa.index.search import merge_topk, rescore
from mantissa.registry import Spec

GRAMMAR = ("[ivf:NLIST[,nprobe=P]+|hnsw:M[,ef=E,efc=C]+][matryoshka:D+]BASE"
           "[+rescore:R[,with=float32|float16|int8]][+metric:ip|cos|l2] "
           "where BASE is one of: float32, float16, int8, int4, binary, itq, pq:M[xB], bebr:U "
           "(e.g. 'int8', 'binary+rescore:4', 'matryoshka:192+int8', 'bebr:3+rescore:4')")
RESCORE_STORES = ("float32", "float16", "int8")
METRICS = ("ip", "cos", "l2")


@dataclass
class IndexSpec:
    """A parsed index spec (see the module docstring for the grammar)."""

    base: Spec = field(default_factory=lambda: Spec("float32"))
    matryoshka: int | None = None
    rescore: int | None = None
    rescore_with: str = "float32"
    ivf: int | None = None
    nprobe: int = 8
    metric: str = "ip"
    hnsw: int | None = None
    ef: int = 64
    efc: int = 40

    @classmethod
    def parse(cls, text: str) -> IndexSpec:
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"empty index spec; expected {GRAMMAR}")
        out, bases = cls(), []
        for part in text.split("+"):
            try:
                sp = Spec.parse(part)
            except SpecError as exc:
                raise SpecError(f"{exc}; the index spec grammar is {GRAMMAR}") from None
            if sp.name == "rescore":
                out.rescore = _positive(sp, "R", text)
                out.rescore_with = str(sp.kwargs.pop("with", "float32"))
                if out.rescore_with not in RESCORE_STORES or sp.kwargs:
                    raise SpecError(f"bad rescore in {text!r}: rescore:R[,with=float32|float16|int8]")
            elif sp.name == "ivf":
                out.ivf = _positive(sp, "NLIST", text)
                out.nprobe = int(sp.kwargs.pop("nprobe", out.nprobe))
                if out.nprobe < 1 or sp.kwargs:
                    raise SpecError(f"bad ivf in {text!r}: ivf:NLIST[,nprobe=P] with P >= 1")
            elif sp.name == "matryoshka":
                out.matryoshka = _positive(sp, "D", text)
            elif sp.name == "metric":
                out.metric = _metric(sp, text)
            elif sp.name == "hnsw":
                out.hnsw = _positive(sp, "M", text)
                out.ef, out.efc = int(sp.kwargs.pop("ef", out.ef)), int(sp.kwargs.pop("efc", out.efc))
                if out.ef < 1 or out.efc < 1 or sp.kwargs:
                    raise SpecError(f"bad hnsw in {text!r}: hnsw:M[,ef=E,efc=C] with E, C >= 1")
            elif sp.name in COMPRESSORS:
                bases.append(sp)
            else:
                raise UnknownNameError(f"unknown part {sp.name!r} in index spec {text!r}; valid: "
                                       f"{', '.join(COMPRESSORS.list())}, rescore, ivf, hnsw, metric; "
                                       f"grammar: {GRAMMAR}")
        if len(bases) > 1:
            raise SpecError(f"index spec {text!r} names {len(bases)} base compressors; give one. {GRAMMAR}")
        if bases:
            out.base = bases[0]
        out._check_graph(text)
        return out

    def _check_graph(self, text: str) -> None:
        if self.hnsw is None:
            return
        if self.ivf is not None or self.matryoshka is not None:
            raise SpecError(f"index spec {text!r}: hnsw does not combine with ivf or matryoshka")
        if self.base.name not in ("float32", "int8", "binary"):
            raise SpecError(f"index spec {text!r}: hnsw works over float32, int8 or binary, "
                            f"not {self.base.name}")

    def compressor(self) -> Compressor:
        """The (unfitted) compressor, searching by this spec's metric."""
        comp = COMPRESSORS.build(self.base)
        if self.matryoshka is not None:
            comp = COMPRESSORS.build(Spec("matryoshka", (self.matryoshka,)), inner=comp)
        comp.set_metric("l2" if self.metric == "l2" else "ip")
        return comp

    def rescorer(self) -> Compressor | None:
        return COMPRESSORS.build(self.rescore_with) if self.rescore else None

    def __str__(self) -> str:
        parts = []
        if self.ivf:
            parts.append(f"ivf:{self.ivf},nprobe={self.nprobe}")
        if self.hnsw:
            parts.append(f"hnsw:{self.hnsw},ef={self.ef},efc={self.efc}")
        if self.matryoshka:
            parts.append(f"matryoshka:{self.matryoshka}")
        parts.append(str(self.base))
        if self.rescore:
            parts.append(f"rescore:{self.rescore}" + (f",with={self.rescore_with}"
                                                        if self.rescore_with != "float32" else ""))
        if self.metric != "ip":
            parts.append(f"metric:{self.metric}")
        return "+".join(parts)


def _positive(sp: Spec, what: str, text: str) -> int:
    if len(sp.args) != 1 or not isinstance(sp.args[0], int) or sp.args[0] < 1:
        raise SpecError(f"{sp.name} in {text!r} needs one positive integer {what}; grammar: {GRAMMAR}")
    return sp.args[0]


def _metric(sp: Spec, text: str) -> str:
    if len(sp.args) != 1 or sp.args[0] not in METRICS or sp.kwargs:
        raise SpecError(f"bad metric in {text!r}: metric:ip | metric:cos | metric:l2; grammar: {GRAMMAR}")
    return str(sp.args[0])


@dataclass
class Segment:
    """A block of vectors: their codes, optional rescoring codes and IVF list ids."""

    codes: torch.Tensor
    rescore: torch.Tensor | None = None
    lists: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.codes.shape[0])


class Index:
    """Codes of ``count`` vectors under one spec; ``search(queries, k)``."""

    def __init__(self, spec: IndexSpec | str, dim: int, compressor: Compressor,
                 rescorer: Compressor | None = None, centroids: torch.Tensor | None = None,
                 graph: Graph | None = None) -> None:
        self.spec = spec if isinstance(spec, IndexSpec) else IndexSpec.parse(spec)
        self.dim, self.compressor, self.rescorer, self.centroids = dim, compressor, rescorer, centroids
        self.graph = graph
        #: the model that made the vectors, ``{"name", "dim"}``, when known
        self.encoder: dict[str, Any] | None = None
        self.segments: list[Segment] = []
        self.chunk = 65536
        self._inverted: InvertedLists | None = None
        self._faiss_ivf: Any = None  # FAISS's IVF over the same lists, for the codes FAISS scans

    # -- building -----------------------------------------------------------
    @classmethod
    def fit(cls, spec: IndexSpec | str, sample: torch.Tensor, seed: int = 0) -> Index:
        """A fitted, empty index; ``sample`` trains whatever the spec needs."""
        ispec = spec if isinstance(spec, IndexSpec) else IndexSpec.parse(spec)
        x = _unit(check_vectors(sample, "fit sample"), ispec.metric)
        comp = ispec.compressor().fit(x)
        resc = ispec.rescorer()
        if resc is not None:
            resc.fit(x)
        cents = None
        if ispec.ivf:
            if ispec.ivf > len(x):
                raise ShapeError(f"ivf:{ispec.ivf} needs at least {ispec.ivf} fit vectors, got {len(x)}")
            cents = ivf_centroids(x, ispec.ivf, comp.metric, seed)
        graph = Graph.new(comp, ispec.hnsw, ispec.ef, ispec.efc) if ispec.hnsw else None
        return cls(ispec, x.shape[1], comp, resc, cents, graph)

    @classmethod
    def build(cls, spec: IndexSpec | str, vectors: torch.Tensor, seed: int = 0) -> Index:
        """Fit on ``vectors`` and add them (in memory)."""
        index = cls.fit(spec, vectors, seed)
        index.add(vectors)
        return index

    def encode(self, vectors: torch.Tensor, first_row: int = 0) -> Segment:
        """The segment of ``vectors`` (not added: see :meth:`add` and :meth:`grow`)."""
        x = _unit(self.check(vectors, "vectors", first_row), self.spec.metric)
        rescore_codes = self.rescorer.encode(x) if self.rescorer is not None else None
        lists = None
        if self.centroids is not None:  # the nearest centroid under the metric that probes (as FAISS)
            lists = probe(x, self.centroids, 1, self.compressor.metric).to(torch.int32)
        return Segment(self.compressor.encode(x), rescore_codes, lists)

    def to_faiss(self) -> Any:
        """The same codes as a FAISS index (see :mod:`mantissa.index.faiss_io`)."""
        from mantissa.index.faiss_io import to_faiss

        return to_faiss(self)

    @classmethod
    def from_faiss(cls, source: Any) -> Index:
        """An in-memory index from a FAISS index or index file (see :mod:`mantissa.index.faiss_io`)."""
        from mantissa.index.faiss_io import from_faiss

        return from_faiss(source)

    def grow(self, seg: Segment) -> None:
        """Put a segment's vectors into the graph (hnsw), after those already added."""
        if self.graph is not None:
            self.graph.add(seg.codes)

    def add(self, vectors: torch.Tensor) -> None:
        seg = self.encode(vectors, first_row=self.count)
        self.grow(seg)
        self.segments.append(seg)
        self._inverted = self._faiss_ivf = None

    def check(self, x: Any, what: str, first_row: int = 0) -> torch.Tensor:
        x = check_vectors(x, what, first_row)
        if x.shape[1] != self.dim:
            raise ShapeError(f"{what} have dimension {x.shape[1]}; "
                             f"this index holds {self.dim}-dimensional vectors")
        return x

    # -- sizes --------------------------------------------------------------
    @property
    def count(self) -> int:
        return sum(len(s) for s in self.segments)

    @property
    def bytes_per_vector(self) -> float:
        """Bytes per vector that search reads (codes + IVF list id, or + HNSW bottom-layer links)."""
        extra = 4 if self.centroids is not None else 0
        extra += 8 * self.spec.hnsw if self.spec.hnsw else 0
        return self.compressor.bytes_per_vector + extra

    @property
    def disk_bytes_per_vector(self) -> float:
        extra = self.rescorer.code_bytes if self.rescorer is not None else 0
        return self.bytes_per_vector + extra

    @property
    def aux_bytes(self) -> int:
        aux = self.compressor.aux_bytes + (self.rescorer.aux_bytes if self.rescorer is not None else 0)
        return aux + (self.centroids.numel() * 4 if self.centroids is not None else 0)

    # -- search -------------------------------------------------------------
    def _codes_rows(self, field_name: str, ids: torch.Tensor) -> torch.Tensor:
        """Rows ``ids`` (global, sorted unique) of a field across segments."""
        out, start = [], 0
        for seg in self.segments:
            stop = start + len(seg)
            sel = ids[(ids >= start) & (ids < stop)] - start
            if len(sel):
                out.append(getattr(seg, field_name)[sel])
            start = stop
        return torch.cat(out)

    def search(self, queries: Any, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` (scores, ids) of each query, best first.

        Scores are similarities (``ip``, ``cos``) or squared distances (``l2``)."""
        q = _unit(self.check(queries, "queries"), self.spec.metric)
        if k < 1:
            raise ShapeError(f"k must be at least 1, got {k}")
        n = self.count
        if n == 0:
            raise ShapeError("the index is empty; add vectors before searching")
        wide = min(n, k * self.spec.rescore) if self.rescorer is not None else min(k, n)
        if self.graph is not None:
            scores, ids = self.graph.search(q, wide)
        elif self.centroids is not None:
            scores, ids = self._search_ivf(q, wide)
        else:
            scores, ids = self._search_flat(q, wide)
        if self.rescorer is not None:
            scores, ids = rescore(q, ids, self._rescore_vectors, k, self.compressor.metric)
        return (-scores if self.spec.metric == "l2" else scores), ids

    def _search_flat(self, q: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        best, base = None, 0
        for seg in self.segments:
            for a in range(0, len(seg), self.chunk):
                block = seg.codes if len(seg) <= self.chunk else seg.codes[a : a + self.chunk]
                s, i = self.compressor.search(q, block, k)
                best = merge_topk(best, s, torch.where(i >= 0, i + base + a, i), k)
            base += len(seg)
        assert best is not None
        return best

    def _rescore_vectors(self, ids: torch.Tensor) -> torch.Tensor:
        assert self.rescorer is not None
        return self.rescorer.decode(self._codes_rows("rescore", ids))

    def inverted_lists(self) -> InvertedLists:
        """Each partition's ids and codes (built on first use, kept until ``add``)."""
        assert self.centroids is not None
        if self._inverted is None:
            lists = torch.cat([s.lists for s in self.segments if s.lists is not None]).flatten()
            codes = torch.cat([s.codes for s in self.segments])
            self._inverted = InvertedLists.gather(lists, codes, len(self.centroids))
        return self._inverted

    def _search_ivf(self, q: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.centroids is not None
        if faiss_has_ivf(self.compressor):
            if self._faiss_ivf is None:
                self._faiss_ivf = self.to_faiss()
            return search_faiss_ivf(self._faiss_ivf, q, k, self.compressor.metric)
        probes = probe(q, self.centroids, self.spec.nprobe, self.compressor.metric)
        return search_ivf(self.compressor, q, probes, self.inverted_lists(), k)


def _unit(x: torch.Tensor, metric: str) -> torch.Tensor:
    """Unit-length rows under ``metric:cos``, the rows themselves otherwise."""
    return torch.nn.functional.normalize(x, dim=1) if metric == "cos" else x
