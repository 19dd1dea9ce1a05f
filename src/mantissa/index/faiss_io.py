"""mantissa indexes as FAISS indexes and back: the codes are the same bytes.

======================  ===========================================================
mantissa spec           FAISS index
======================  ===========================================================
``float32``             ``IndexFlatIP`` / ``IndexFlatL2``
``float16``             ``IndexScalarQuantizer`` ``QT_fp16``
``int8``                ``IndexScalarQuantizer`` ``QT_8bit`` (``vmin = lo - scale/2``,
                        ``vdiff = 255·scale``: FAISS decodes mantissa's codes exactly);
                        read back as ``int8:query=float``, FAISS's float-query search
``pq:MxB``              ``IndexPQ`` (codes packed to ``B`` bits)
``binary``              ``IndexBinaryFlat`` of ``8·ceil(dim/8)`` bits (the ``ubinary``
                        bytes, without mantissa's padding to 64-bit words)
``ivf:N+float32``       ``IndexIVFFlat``; ``+int8`` ``IndexIVFScalarQuantizer`` and
``+pq``                 ``IndexIVFPQ``, both without residual encoding; the coarse
                        quantizer is a flat index over mantissa's centroids
``hnsw:M+...``          the graph itself (``IndexHNSWFlat``, ``IndexHNSWSQ``,
                        ``IndexBinaryHNSW``)
======================  ===========================================================

``metric:cos`` indexes hold unit vectors and become inner-product indexes (FAISS
queries must then be normalised by the caller). Rescoring stores, Matryoshka
truncation, ``int4`` and BEBR have no FAISS counterpart and are refused.
:func:`save_faiss` writes a FAISS file atomically and never over an existing file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mantissa.errors import CorruptFileError, OverwriteRefusedError, SpecError
from mantissa.index.compressors import Binary, Compressor, Float16, Float32, Int8, ProductQuantizer
from mantissa.index.faiss_kernels import faiss, faiss_metric, pack_pq, unpack_pq
from mantissa.index.hnsw import Graph, sq8_trained
from mantissa.index.index import Index, IndexSpec, Segment
from mantissa.io import atomic_path

_BASES = ("float32", "float16", "int8", "pq", "binary")
SUPPORTED = "float32, float16, int8, pq, binary, with ivf (not binary) or hnsw (float32, int8, binary)"


# -- mantissa → FAISS ------------------------------------------------------------
def to_faiss(index: Index) -> Any:
    """A FAISS index holding the same codes (a copy), searching as ``index`` does."""
    spec = index.spec
    if spec.rescore or spec.matryoshka or spec.base.name not in _BASES:
        raise SpecError(f"{spec} has no FAISS counterpart; to_faiss takes {SUPPORTED}")
    codes = torch.cat([s.codes for s in index.segments]) if index.segments else None
    if index.graph is not None:
        return Graph.from_bytes(index.compressor, index.graph.to_bytes(), spec.ef).index
    if index.centroids is not None:
        return _ivf(index, codes)
    out = _flat(index.compressor, index.dim)
    if codes is not None:
        _fill(out, index.compressor, codes)
    return out


def _metric(comp: Compressor) -> int:
    return faiss_metric(comp.metric)


def _flat(comp: Compressor, dim: int) -> Any:
    f = faiss()
    if isinstance(comp, Binary):
        if comp.query != "binary":
            raise SpecError("binary:query=float has no FAISS counterpart (FAISS compares bits with bits)")
        return f.IndexBinaryFlat(comp.ubinary_bytes * 8)
    if isinstance(comp, ProductQuantizer):
        out = f.IndexPQ(dim, comp.m, comp.b, _metric(comp))
        f.copy_array_to_vector(comp.codebooks.numpy().ravel(), out.pq.centroids)
        out.is_trained = True
        return out
    if isinstance(comp, Float32):
        return f.IndexFlat(dim, _metric(comp))
    _sq(comp, None)  # refuses what FAISS has no scalar quantizer for
    return f.IndexScalarQuantizer(dim, _sq_type(comp), _metric(comp))


def _sq_type(comp: Compressor) -> int:
    f = faiss()
    return f.ScalarQuantizer.QT_8bit if isinstance(comp, Int8) else f.ScalarQuantizer.QT_fp16


def _sq(comp: Compressor, sq: Any) -> None:
    """Refuse a code FAISS has no scalar quantizer for; set ``sq``'s trained ranges when given."""
    if not isinstance(comp, (Int8, Float16)):
        raise SpecError(f"{comp.spec} has no FAISS counterpart; to_faiss takes {SUPPORTED}")
    if sq is not None and isinstance(comp, Int8):
        faiss().copy_array_to_vector(sq8_trained(comp), sq.trained)


def _codes_bytes(comp: Compressor, codes: torch.Tensor) -> np.ndarray:
    if isinstance(comp, Binary):
        return np.ascontiguousarray(codes[:, : comp.ubinary_bytes].numpy())
    if isinstance(comp, ProductQuantizer):
        return np.ascontiguousarray(pack_pq(codes, comp.b))
    return np.ascontiguousarray(codes.numpy())


def _fill(out: Any, comp: Compressor, codes: torch.Tensor) -> None:
    if isinstance(comp, (Int8, Float16)):
        _sq(comp, out.sq)
        out.is_trained = True
    raw = _codes_bytes(comp, codes)
    faiss().copy_array_to_vector(raw.ravel(), out.xb if _is_binary(out) else out.codes)
    out.ntotal = len(codes)


def _ivf(index: Index, codes: torch.Tensor | None) -> Any:
    f, comp, cents = faiss(), index.compressor, index.centroids
    assert cents is not None
    if isinstance(comp, Binary):
        raise SpecError("ivf over binary has no FAISS counterpart (IndexBinaryIVF needs binary centroids)")
    quantizer = f.IndexFlat(index.dim, _metric(comp))
    quantizer.add(np.ascontiguousarray(cents.numpy()))
    nlist = len(cents)
    if isinstance(comp, Float32):
        out = f.IndexIVFFlat(quantizer, index.dim, nlist, _metric(comp))
    elif isinstance(comp, ProductQuantizer):
        out = f.IndexIVFPQ(quantizer, index.dim, nlist, comp.m, comp.b, _metric(comp))
        out.by_residual = False
        f.copy_array_to_vector(comp.codebooks.numpy().ravel(), out.pq.centroids)
    else:
        _sq(comp, None)
        out = f.IndexIVFScalarQuantizer(quantizer, index.dim, nlist, _sq_type(comp), _metric(comp), False)
        _sq(comp, out.sq)
    out.is_trained, out.nprobe = True, index.spec.nprobe
    if codes is not None:
        _add_lists(out, index, comp, codes)
    return out


def _add_lists(out: Any, index: Index, comp: Compressor, codes: torch.Tensor) -> None:
    f = faiss()
    inv = index.inverted_lists()
    for lst, (ids, block) in enumerate(zip(inv.ids, inv.codes)):
        if len(ids):
            raw, id64 = _codes_bytes(comp, block), np.ascontiguousarray(ids.numpy().astype(np.int64))
            out.invlists.add_entries(lst, len(ids), f.swig_ptr(id64), f.swig_ptr(raw))
    out.ntotal = len(codes)


def save_faiss(index: Index, path: str | os.PathLike[str]) -> Path:
    """Write ``index`` as a FAISS file (atomically); an existing ``path`` is refused."""
    path = Path(path)
    if path.exists():
        raise OverwriteRefusedError(f"{path} exists; save_faiss writes only a new file")
    out = to_faiss(index)
    f = faiss()
    with atomic_path(path) as tmp:
        (f.write_index_binary if _is_binary(out) else f.write_index)(out, str(tmp))
    return path


def _is_binary(obj: Any) -> bool:
    return isinstance(obj, faiss().IndexBinary)


# -- FAISS → mantissa ------------------------------------------------------------
def from_faiss(source: str | os.PathLike[str] | Any) -> Index:
    """A mantissa index (in memory) holding the codes of a FAISS index or index file."""
    owner = _read(source) if isinstance(source, (str, os.PathLike)) else source
    f = faiss()
    # the downcast wrapper does not own the index: ``owner`` keeps it alive (the graph keeps ``owner``)
    obj = f.downcast_IndexBinary(owner) if _is_binary(owner) else f.downcast_index(owner)
    obj.referenced_objects = [owner]
    for kinds, reader in _READERS:
        if isinstance(obj, tuple(getattr(f, k) for k in kinds)):
            return reader(obj)
    raise SpecError(f"FAISS {type(obj).__name__} has no mantissa counterpart; from_faiss takes "
                    "IndexFlat, IndexScalarQuantizer (QT_8bit, QT_fp16), IndexPQ, IndexBinaryFlat, "
                    "IndexIVFFlat, IndexIVFScalarQuantizer, IndexIVFPQ (no residual), IndexHNSWFlat, "
                    "IndexHNSWSQ and IndexBinaryHNSW")


def _read(path: str | os.PathLike[str]) -> Any:
    f, p = faiss(), Path(path)
    if not p.is_file():
        raise CorruptFileError(f"{p}: no such FAISS index file")
    for reader in (f.read_index, f.read_index_binary):
        try:
            return reader(str(p))
        except RuntimeError:
            continue
    raise CorruptFileError(f"{p}: not a FAISS index file (neither read_index nor read_index_binary reads it)")


def _spec_metric(obj: Any) -> str:
    f = faiss()
    if obj.metric_type == f.METRIC_INNER_PRODUCT:
        return "ip"
    if obj.metric_type == f.METRIC_L2:
        return "l2"
    raise SpecError(f"FAISS metric {obj.metric_type} has no mantissa counterpart (ip or l2)")


def _flat_codes(obj: Any, width: int) -> torch.Tensor:
    raw = faiss().vector_to_array(obj.xb if _is_binary(obj) else obj.codes).astype(np.uint8)
    return torch.from_numpy(raw.reshape(int(obj.ntotal), width).copy())


def _assemble(spec: str, dim: int, comp_state: dict[str, torch.Tensor], codes: torch.Tensor,
              lists: torch.Tensor | None = None, centroids: torch.Tensor | None = None,
              graph_index: Any = None) -> Index:
    ispec = IndexSpec.parse(spec)
    comp = ispec.compressor()
    comp.dim = dim
    comp.load_state(comp_state)
    graph = Graph(comp, graph_index, ispec.ef) if graph_index is not None else None
    index = Index(ispec, dim, comp, None, centroids, graph)
    index.segments.append(Segment(codes, None, lists))
    return index


def _sq_spec(sq: Any) -> tuple[str, dict[str, torch.Tensor]]:
    f = faiss()
    if sq.qtype == f.ScalarQuantizer.QT_fp16:
        return "float16", {}
    if sq.qtype != f.ScalarQuantizer.QT_8bit:
        raise SpecError(f"FAISS scalar quantizer type {sq.qtype} has no mantissa counterpart "
                        "(QT_8bit, QT_fp16)")
    t = torch.from_numpy(f.vector_to_array(sq.trained).astype(np.float64)).view(2, -1)
    scale = t[1] / 255
    return "int8:query=float", {"lo": (t[0] + scale / 2).float(), "scale": scale.float()}


def _from_flat(obj: Any) -> Index:
    metric = _spec_metric(obj)
    return _assemble(f"float32+metric:{metric}", obj.d, {}, _flat_codes(obj, 4 * obj.d))


def _from_sq(obj: Any) -> Index:
    base, state = _sq_spec(obj.sq)
    return _assemble(f"{base}+metric:{_spec_metric(obj)}", obj.d, state, _flat_codes(obj, obj.code_size))


def _from_pq(obj: Any) -> Index:
    pq = obj.pq
    books = torch.from_numpy(faiss().vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub).copy())
    packed = faiss().vector_to_array(obj.codes).reshape(int(obj.ntotal), pq.code_size)
    return _assemble(f"pq:{pq.M}x{pq.nbits}+metric:{_spec_metric(obj)}", obj.d, {"codebooks": books},
                     unpack_pq(packed, pq.M, pq.nbits))


def _binary_codes(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """FAISS binary codes (``bits/8`` bytes) padded with zero bytes to mantissa's 64-bit words."""
    width = 8 * -(-bits // 64)
    return torch.cat([codes, codes.new_zeros(len(codes), width - codes.shape[1])], 1)


def _from_binary(obj: Any) -> Index:
    codes = _binary_codes(_flat_codes(obj, obj.code_size), obj.d)
    return _assemble("binary", obj.d, {}, codes)


def _from_ivf(obj: Any) -> Index:
    f = faiss()
    if getattr(obj, "by_residual", False) and not isinstance(obj, f.IndexIVFFlat):
        raise SpecError("this FAISS IVF index encodes residuals; mantissa's ivf stores the codes "
                        "of the vectors themselves")
    quantizer = f.downcast_index(obj.quantizer)
    cents = torch.from_numpy(quantizer.reconstruct_n(0, obj.nlist).copy())
    inner = _inner_of_ivf(obj)
    ids, codes, lists = _gather_lists(obj, inner[2])
    if not torch.equal(ids, torch.arange(len(ids))):
        raise SpecError("this FAISS IVF index has custom ids; mantissa ids are row numbers 0..n-1")
    spec = f"ivf:{obj.nlist},nprobe={obj.nprobe}+{inner[0]}+metric:{_spec_metric(obj)}"
    if inner[0].startswith("pq"):
        codes = unpack_pq(codes.numpy(), obj.pq.M, obj.pq.nbits)
    return _assemble(spec, obj.d, inner[1], codes, lists.to(torch.int32).unsqueeze(1), cents)


def _inner_of_ivf(obj: Any) -> tuple[str, dict[str, torch.Tensor], int]:
    f = faiss()
    if isinstance(obj, f.IndexIVFPQ):
        pq = obj.pq
        books = torch.from_numpy(f.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub).copy())
        return f"pq:{pq.M}x{pq.nbits}", {"codebooks": books}, pq.code_size
    if isinstance(obj, f.IndexIVFScalarQuantizer):
        base, state = _sq_spec(obj.sq)
        return base, state, obj.code_size
    return "float32", {}, 4 * obj.d


def _gather_lists(obj: Any, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    f, inv = faiss(), obj.invlists
    ids, codes, lists = [], [], []
    for lst in range(obj.nlist):
        n = inv.list_size(lst)
        if n:
            ids.append(f.rev_swig_ptr(inv.get_ids(lst), n).copy())
            codes.append(f.rev_swig_ptr(inv.get_codes(lst), n * width).copy().reshape(n, width))
            lists.append(np.full(n, lst, dtype=np.int64))
    all_ids = torch.from_numpy(np.concatenate(ids)) if ids else torch.zeros(0, dtype=torch.long)
    order = torch.argsort(all_ids)
    return (all_ids[order], torch.from_numpy(np.concatenate(codes))[order],
            torch.from_numpy(np.concatenate(lists))[order])


def _from_hnsw(obj: Any) -> Index:
    f = faiss()
    binary = _is_binary(obj)
    storage = f.downcast_IndexBinary(obj.storage) if binary else f.downcast_index(obj.storage)
    m, ef, efc = obj.hnsw.nb_neighbors(1), obj.hnsw.efSearch, obj.hnsw.efConstruction
    graph = f"hnsw:{m},ef={ef},efc={efc}"
    if binary:
        inner = _from_binary(storage)
        spec = f"{graph}+binary"
    else:
        inner = _from_sq(storage) if isinstance(storage, f.IndexScalarQuantizer) else _from_flat(storage)
        if inner.spec.base.name not in ("float32", "int8"):  # IndexHNSWSQ QT_fp16 has no hnsw here
            raise SpecError(f"hnsw over {inner.spec.base.name} has no mantissa counterpart (float32, int8)")
        spec = f"{graph}+{inner.spec.base}+metric:{_spec_metric(obj)}"
    codes = inner.segments[0].codes
    return _assemble(spec, inner.dim, inner.compressor.state(), codes, graph_index=obj)


_READERS = (
    (("IndexHNSW", "IndexBinaryHNSW"), _from_hnsw),
    (("IndexIVFFlat", "IndexIVFScalarQuantizer", "IndexIVFPQ"), _from_ivf),
    (("IndexFlat",), _from_flat),
    (("IndexScalarQuantizer",), _from_sq),
    (("IndexPQ",), _from_pq),
    (("IndexBinaryFlat",), _from_binary),
)
