"""An embedding index: a compressor pipeline, its codes, and exact or rescored search.

The index spec composes parts with ``+``::

    spec     := [ivf:NLIST[,nprobe=P] "+"] [matryoshka:D "+"] BASE ["+" rescore:R[,with=STORE]]
    BASE     := float32 | float16 | int8 | int4 | binary | pq:M[xB] | bebr:U  (with their options)
    STORE    := float32 | float16 | int8       (vectors kept for rescoring, default float32)

e.g. ``int8``, ``binary+rescore:4``, ``matryoshka:192+int8``, ``ivf:256,nprobe=16+pq:48x8``,
``bebr:3+rescore:4``. ``rescore:R`` takes ``R·k`` candidates from the compressed
codes and re-ranks them with the stored vectors; ``ivf`` scores only the
vectors of the ``nprobe`` nearest of ``NLIST`` k-means partitions.

:class:`Index` holds the codes as a list of *segments* (in-memory tensors or
memory-mapped files, see :mod:`mantissa.embed.index_file`); search streams
over them chunk by chunk, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from mantissa.embed.compressors import COMPRESSORS, Compressor, check_vectors
from mantissa.embed.kmeans import assign, kmeans
from mantissa.embed.search import rescore, topk_stream
from mantissa.errors import ShapeError, SpecError, UnknownNameError
from mantissa.registry import Spec

GRAMMAR = ("[ivf:NLIST[,nprobe=P]+][matryoshka:D+]BASE[+rescore:R[,with=float32|float16|int8]] "
           "where BASE is one of: float32, float16, int8, int4, binary, pq:M[xB], bebr:U "
           "(e.g. 'int8', 'binary+rescore:4', 'matryoshka:192+int8', 'bebr:3+rescore:4')")
RESCORE_STORES = ("float32", "float16", "int8")


@dataclass
class IndexSpec:
    """A parsed index spec (see the module docstring for the grammar)."""

    base: Spec = field(default_factory=lambda: Spec("float32"))
    matryoshka: int | None = None
    rescore: int | None = None
    rescore_with: str = "float32"
    ivf: int | None = None
    nprobe: int = 8

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
            elif sp.name in COMPRESSORS:
                bases.append(sp)
            else:
                raise UnknownNameError(f"unknown part {sp.name!r} in index spec {text!r}; valid: "
                                       f"{', '.join(COMPRESSORS.list())}, rescore, ivf; grammar: {GRAMMAR}")
        if len(bases) > 1:
            raise SpecError(f"index spec {text!r} names {len(bases)} base compressors; give one. {GRAMMAR}")
        if bases:
            out.base = bases[0]
        return out

    def compressor(self) -> Compressor:
        base = COMPRESSORS.build(self.base)
        if self.matryoshka is not None:
            return COMPRESSORS.build(Spec("matryoshka", (self.matryoshka,)), inner=base)
        return base

    def rescorer(self) -> Compressor | None:
        return COMPRESSORS.build(self.rescore_with) if self.rescore else None

    def __str__(self) -> str:
        parts = []
        if self.ivf:
            parts.append(f"ivf:{self.ivf},nprobe={self.nprobe}")
        if self.matryoshka:
            parts.append(f"matryoshka:{self.matryoshka}")
        parts.append(str(self.base))
        if self.rescore:
            parts.append(f"rescore:{self.rescore}" + (f",with={self.rescore_with}"
                                                        if self.rescore_with != "float32" else ""))
        return "+".join(parts)


def _positive(sp: Spec, what: str, text: str) -> int:
    if len(sp.args) != 1 or not isinstance(sp.args[0], int) or sp.args[0] < 1:
        raise SpecError(f"{sp.name} in {text!r} needs one positive integer {what}; grammar: {GRAMMAR}")
    return sp.args[0]


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
                 rescorer: Compressor | None = None, centroids: torch.Tensor | None = None) -> None:
        self.spec = spec if isinstance(spec, IndexSpec) else IndexSpec.parse(spec)
        self.dim, self.compressor, self.rescorer, self.centroids = dim, compressor, rescorer, centroids
        self.segments: list[Segment] = []
        self.chunk = 65536
        self._inverted: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- building -----------------------------------------------------------
    @classmethod
    def fit(cls, spec: IndexSpec | str, sample: torch.Tensor, seed: int = 0) -> Index:
        """A fitted, empty index; ``sample`` trains whatever the spec needs."""
        ispec = spec if isinstance(spec, IndexSpec) else IndexSpec.parse(spec)
        x = check_vectors(sample, "fit sample")
        comp = ispec.compressor().fit(x)
        resc = ispec.rescorer()
        if resc is not None:
            resc.fit(x)
        cents = None
        if ispec.ivf:
            if ispec.ivf > len(x):
                raise ShapeError(f"ivf:{ispec.ivf} needs at least {ispec.ivf} fit vectors, got {len(x)}")
            cents = kmeans(x, ispec.ivf, iters=10, seed=seed)
        return cls(ispec, x.shape[1], comp, resc, cents)

    @classmethod
    def build(cls, spec: IndexSpec | str, vectors: torch.Tensor, seed: int = 0) -> Index:
        """Fit on ``vectors`` and add them (in memory)."""
        index = cls.fit(spec, vectors, seed)
        index.add(vectors)
        return index

    def encode(self, vectors: torch.Tensor, first_row: int = 0) -> Segment:
        x = self.check(vectors, "vectors", first_row)
        rescore_codes = self.rescorer.encode(x) if self.rescorer is not None else None
        lists = None
        if self.centroids is not None:
            lists = assign(x, self.centroids)[0].to(torch.int32).unsqueeze(1)
        return Segment(self.compressor.encode(x), rescore_codes, lists)

    def add(self, vectors: torch.Tensor) -> None:
        self.segments.append(self.encode(vectors))
        self._inverted = None

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
        """Bytes per vector that search reads (codes + IVF list id)."""
        return self.compressor.bytes_per_vector + (4 if self.centroids is not None else 0)

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

    def _score_range(self, q: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        parts, base = [], 0
        for seg in self.segments:
            a, b = max(start, base), min(stop, base + len(seg))
            if a < b:
                parts.append(self.compressor.score(q, seg.codes[a - base : b - base]))
            base += len(seg)
        return torch.cat(parts, 1)

    def search(self, queries: Any, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` (scores, ids) of each query, best first."""
        q = self.check(queries, "queries")
        if k < 1:
            raise ShapeError(f"k must be at least 1, got {k}")
        n = self.count
        if n == 0:
            raise ShapeError("the index is empty; add vectors before searching")
        wide = min(n, k * self.spec.rescore) if self.rescorer is not None else min(k, n)
        if self.centroids is not None:
            scores, ids = self._search_ivf(q, wide)
        else:
            scores, ids = topk_stream(lambda a, b: self._score_range(q, a, b), n, wide, self.chunk)
        if self.rescorer is None:
            return scores, ids
        return rescore(q, ids, self._rescore_vectors, k)

    def _rescore_vectors(self, ids: torch.Tensor) -> torch.Tensor:
        assert self.rescorer is not None
        return self.rescorer.decode(self._codes_rows("rescore", ids))

    def _inverted_lists(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._inverted is None:
            lists = torch.cat([s.lists for s in self.segments if s.lists is not None]).long().flatten()
            order = torch.argsort(lists, stable=True)
            counts = torch.bincount(lists, minlength=len(self.centroids))  # type: ignore[arg-type]
            self._inverted = (order, torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)]))
        return self._inverted

    def _search_ivf(self, q: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.centroids is not None
        order, offsets = self._inverted_lists()
        probes = torch.topk(q @ self.centroids.T, min(self.spec.nprobe, len(self.centroids)), dim=1).indices
        all_s = torch.full((len(q), k), -float("inf"))
        all_i = torch.full((len(q), k), -1, dtype=torch.long)
        for row in range(len(q)):
            cand = torch.cat([order[offsets[p] : offsets[p + 1]] for p in probes[row].tolist()])
            if not len(cand):
                continue
            cand = torch.sort(cand).values
            s = self.compressor.score(q[row : row + 1], self._codes_rows("codes", cand))[0]
            top = torch.topk(s, min(k, len(cand)))
            all_s[row, : len(top.values)] = top.values
            all_i[row, : len(top.values)] = cand[top.indices]
        return all_s, all_i
