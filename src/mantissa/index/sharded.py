"""Index builds split into shards encoded in parallel, and top-k search merged over shards.

:func:`build_sharded` builds the same index as :func:`~mantissa.index.index_file.build_index`
from an input file (``.npy``, ``.safetensors`` or texts), with the encoding spread over tasks:

1. the driver fits the compressor on the first ``fit_size`` rows, read in the same chunks as a
   single-process build reads them (texts embedded with MiniLM chunk by chunk);
2. the rows are cut into ``shards`` contiguous ranges of whole chunks; each shard is one task
   (a Ray task, a pool process, or a call here) that reads its rows from the input (a path every
   worker sees), embeds them when they are texts, and encodes them with the fitted compressor,
   sent to it as its state tensors;
3. the driver writes each shard, in order, as one segment (``seg-NNNNN``) of one on-disk index:
   checksummed field files, ``aux.safetensors`` (an hnsw graph grown over the shards' codes in row
   order), then the sealed manifest last, built beside the target and swapped into place
   (:func:`mantissa.swap.build_in_place`), as every index build is.

Each shard encodes exactly the chunks a single-process build encodes, with the same state, so
the concatenated segments equal the single build's one segment byte for byte, as do
``aux.safetensors`` and ``texts.txt`` (:func:`same_index` checks it; at the same torch thread count
for encoders whose float sums depend on it). Only the manifest differs: it lists N segments.

:func:`search_shards` searches each segment (shard) on its own and merges the per-shard top-k
(:func:`~mantissa.index.search.merge_topk`): over exhaustive specs it returns what
:meth:`Index.search <mantissa.index.index.Index.search>` does; with ``rescore`` or ``ivf`` each shard
re-ranks or probes its own candidates. An hnsw index has one graph over every shard and is
searched whole.

Ray is the optional ``[cluster]`` extra, imported only for ``executor="ray"``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mantissa.errors import ConfigError, MissingDependencyError, ShapeError
from mantissa.index.index import Index, IndexSpec, Segment
from mantissa.index.index_file import (
    FIELDS,
    TEXTS,
    VERSION,
    _FieldWriter,
    _manifest,
    _save_aux,
    check_index_out,
    open_index,
)
from mantissa.index.inputs import _npy, _safetensors_slice, iter_vectors, read_texts
from mantissa.index.search import merge_topk
from mantissa.io import atomic_write, write_json
from mantissa.runtime import check_seed, threads
from mantissa.swap import build_in_place

SHARD_EXECUTORS = ("local", "process", "ray")
TEXT_SUFFIXES = (".txt", ".text", ".lines")


# -- the input, read in the chunks a single-process build reads ----------------------------
def _is_text(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in TEXT_SUFFIXES


def count_rows(path: str | os.PathLike[str], key: str | None = None) -> int:
    """How many vectors (or texts) the input holds, without reading them."""
    p = Path(path)
    if _is_text(p):
        return len(read_texts(p))
    if p.suffix.lower() == ".npy":
        return int(_npy(p).shape[0])
    if p.suffix.lower() == ".safetensors":
        return int(_safetensors_slice(p, key).get_shape()[0])
    next(iter_vectors(p, 1, key), None)  # raises the input error (missing, unsupported type)
    raise ShapeError(f"{p}: unsupported input")  # pragma: no cover


def read_chunks(path: str | os.PathLike[str], start: int, stop: int, chunk: int,
                key: str | None = None) -> Iterator[torch.Tensor]:
    """Rows ``start:stop`` of the input as float32 chunks cut at multiples of ``chunk`` (as
    :func:`~mantissa.index.inputs.iter_vectors` cuts them); texts are embedded chunk by chunk."""
    if start % chunk:
        raise ShapeError(f"a shard starts at row {start}, not at a multiple of the chunk size {chunk}")
    p = Path(path)
    if _is_text(p):
        from mantissa.data import embed_corpus

        texts = read_texts(p)
        for s in range(start, stop, chunk):
            yield embed_corpus(texts[s : min(stop, s + chunk)])
    elif p.suffix.lower() == ".npy":
        arr = _npy(p)
        for s in range(start, stop, chunk):
            yield torch.from_numpy(np.array(arr[s : min(stop, s + chunk)], dtype=np.float32))
    else:
        sl = _safetensors_slice(p, key)
        for s in range(start, stop, chunk):
            yield sl[s : min(stop, s + chunk)].float()


def plan_shards(count: int, shards: int, chunk: int) -> list[tuple[int, int]]:
    """``shards`` contiguous row ranges of whole chunks, as even as the chunks allow (never empty:
    fewer ranges when there are fewer chunks than shards)."""
    if shards < 1 or chunk < 1:
        raise ShapeError(f"shards and chunk must be >= 1, got {shards} and {chunk}")
    chunks = math.ceil(count / chunk)
    n = min(shards, chunks)
    bounds = [round(i * chunks / n) for i in range(n + 1)]
    return [(bounds[i] * chunk, min(count, bounds[i + 1] * chunk)) for i in range(n)]


# -- a fitted index, sent to the shard tasks as tensors ---------------------------------------
def index_state(index: Index) -> dict[str, Any]:
    """What a shard needs to encode as ``index`` does: spec, dimension and state tensors."""
    return {"spec": str(index.spec), "dim": index.dim, "compressor": index.compressor.state(),
            "rescorer": index.rescorer.state() if index.rescorer is not None else None,
            "centroids": index.centroids}


def index_from_state(state: dict[str, Any]) -> Index:
    """An index (without codes) that encodes as the one :func:`index_state` was taken from."""
    spec = IndexSpec.parse(state["spec"])
    comp = spec.compressor()
    comp.dim = state["dim"]
    comp.load_state(state["compressor"])
    resc = spec.rescorer()
    if resc is not None:
        resc.dim = state["dim"]
        resc.load_state(state["rescorer"])
    return Index(spec, state["dim"], comp, resc, state["centroids"])


def encode_shard(state: dict[str, Any], path: str, start: int, stop: int, chunk: int,
                 key: str | None = None, n_threads: int = 1,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Encode rows ``start:stop`` of the input (one shard): each field's codes as one uint8 array,
    plus the codes of each chunk's rows for an hnsw graph (``chunks``: row counts)."""
    for k, v in (env or {}).items():
        os.environ.setdefault(k, v)
    with threads(n_threads):
        index = index_from_state(state)
        parts: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS}
        sizes = []
        for block in read_chunks(path, start, stop, chunk, key):
            seg = index.encode(block, first_row=start + sum(sizes))
            for f in FIELDS:
                rows = getattr(seg, f)
                if rows is not None:
                    parts[f].append(rows.contiguous().numpy())
            sizes.append(block.shape[0])
    return {"start": start, "stop": stop, "chunks": sizes,
            "fields": {f: np.concatenate(v) for f, v in parts.items() if v}}


# -- running the shards ------------------------------------------------------------------
def _forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("MANTISSA_")}


def require_ray() -> Any:
    """The ``ray`` module; a MissingDependencyError naming the extra when it is not installed."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("--executor ray needs Ray, which is not installed: "
                                     "pip install 'mantissa[cluster]'") from None
    return ray


def _map_shards(calls: list[tuple], executor: str, workers: int | None, address: str | None,
                n_threads: int) -> Iterator[dict[str, Any]]:
    """Run ``encode_shard(*call)`` for every call on ``executor``; results in call order."""
    if executor == "local":
        for call in calls:
            yield encode_shard(*call)
    elif executor == "process":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=ctx) as pool:
            yield from pool.map(encode_shard, *zip(*calls))
    elif executor == "ray":
        ray = require_ray()
        started = not ray.is_initialized()
        if started:
            opts = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **opts)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, **opts)
        try:
            task = ray.remote(num_cpus=n_threads, max_retries=1)(encode_shard)
            state_ref = ray.put(calls[0][0])  # the fitted state once in the object store, not per shard
            refs = [task.remote(state_ref, *call[1:]) for call in calls]
            for ref in refs:  # in order: the driver writes shard i while later shards still encode
                yield ray.get(ref)
        finally:
            if started:
                ray.shutdown()
    else:
        raise ConfigError(f"unknown executor {executor!r}; use one of {', '.join(SHARD_EXECUTORS)}")


def _tensor(rows: np.ndarray) -> torch.Tensor:
    """A tensor over a shard's rows, only read (Ray returns them as read-only arrays)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(rows)


def build_sharded(out: str | os.PathLike[str], spec: IndexSpec | str, input_path: str | os.PathLike[str],
                  *, shards: int = 2, executor: str = "ray", workers: int | None = None,
                  address: str | None = None, key: str | None = None, fit_size: int = 100_000,
                  chunk_size: int = 16_384, seed: int = 0, overwrite: bool = False,
                  encoder: str | None = None, n_threads: int = 1) -> Index:
    """Build the index of ``input_path`` into ``out`` with its rows encoded in ``shards`` parallel
    tasks, one segment per shard (see the module docstring); return it opened.

    ``n_threads``: torch threads (and Ray CPUs) per shard task. Encoders whose float sums depend
    on the thread count (BEBR's network, MiniLM) match a single build run with as many threads."""
    out = Path(out)
    if fit_size < 1 or chunk_size < 1:
        raise ShapeError(f"fit_size and chunk_size must be >= 1, got {fit_size} and {chunk_size}")
    if executor not in SHARD_EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; use one of {', '.join(SHARD_EXECUTORS)}")
    check_seed(seed)
    if executor == "ray":
        require_ray()  # before any work
    check_index_out(out, overwrite)
    texts = read_texts(input_path) if _is_text(input_path) else None
    count = count_rows(input_path, key)
    if count == 0:
        raise ShapeError("no vectors given; an index needs at least one vector")
    head, have = [], 0
    for block in read_chunks(input_path, 0, count, chunk_size, key):  # what build_index fits on
        head.append(block)
        have += block.shape[0]
        if have >= fit_size:
            break
    index = Index.fit(spec, torch.cat([h.float() for h in head])[:fit_size], seed)
    index.encoder = {"name": encoder, "dim": index.dim} if encoder else None
    state = index_state(index)
    plan = plan_shards(count, shards, chunk_size)
    calls = [(state, str(input_path), a, b, chunk_size, key, n_threads, _forwarded_env()) for a, b in plan]

    def write(tmp: Path) -> None:
        segments = []
        base = {"version": VERSION, "dim": index.dim, "spec": str(index.spec)}
        for i, shard in enumerate(_map_shards(calls, executor, workers, address, n_threads)):
            name = f"seg-{i:05d}"
            fields = {}
            for fname, rows in shard["fields"].items():
                writer = _FieldWriter(tmp / f"{name}.{fname}",
                                      {**base, "field": fname, "width": rows.shape[1] * rows.itemsize})
                writer.write(_tensor(rows))
                fields[fname] = writer.finish()
            if index.graph is not None:  # the graph grows over the codes in row order, chunk by chunk
                codes, at = _tensor(shard["fields"]["codes"]), 0
                for n in shard["chunks"]:
                    index.grow(Segment(codes[at : at + n]))
                    at += n
            segments.append({"name": name, "count": shard["stop"] - shard["start"], "fields": fields})
        _save_aux(tmp, index)
        if texts is not None:
            atomic_write(tmp / TEXTS, "\n".join(texts) + "\n")
        write_json(tmp / "index.json", _manifest(tmp, index, segments))

    build_in_place(out, write, lambda: check_index_out(out, overwrite))
    return open_index(out, verify=False)


# -- checking and searching -----------------------------------------------------------------
def _field_bytes(path: Path, seg_names: Sequence[str], field: str) -> bytes:
    from mantissa.index.index_file import HEADER

    out = b""
    for name in seg_names:
        f = path / f"{name}.{field}"
        if f.exists():
            out += f.read_bytes()[HEADER:]
    return out


def same_index(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> dict[str, bool]:
    """Whether two index folders hold the same index, bit for bit, however they are cut into
    segments: each field's bytes over the segments in order, the tensors and metadata of
    ``aux.safetensors`` (safetensors writes its header's keys in no fixed order, so two builds of
    one index differ there in bytes, not in content), ``texts.txt``, and the manifest's spec,
    dimension, encoder, count and sizes."""
    from mantissa.index.index_file import _AUX_KIND
    from mantissa.io import load_tensors, read_json

    a, b = Path(a), Path(b)
    ma, mb = read_json(a / "index.json"), read_json(b / "index.json")
    sa, sb = [s["name"] for s in ma["segments"]], [s["name"] for s in mb["segments"]]
    out = {f"{f} bytes": _field_bytes(a, sa, f) == _field_bytes(b, sb, f) for f in FIELDS}
    (ta, meta_a), (tb, meta_b) = (load_tensors(p / "aux.safetensors", kind=_AUX_KIND) for p in (a, b))
    out["aux tensors"] = (meta_a == meta_b and ta.keys() == tb.keys()
                          and all(ta[k].dtype == tb[k].dtype and torch.equal(ta[k], tb[k]) for k in ta))
    texts = [p.read_bytes() if p.exists() else None for p in (a / TEXTS, b / TEXTS)]
    out["texts.txt"] = texts[0] == texts[1]
    keys = ("spec", "dim", "encoder", "count", "texts_sha256", "bytes_per_vector", "disk_bytes_per_vector",
            "aux_bytes")
    out["manifest"] = all(ma.get(k) == mb.get(k) for k in keys)
    return out


def shard_views(index: Index) -> list[tuple[int, Index]]:
    """(first row, an index over that one segment) for each segment of ``index``."""
    views, base = [], 0
    for seg in index.segments:
        view = Index(index.spec, index.dim, index.compressor, index.rescorer, index.centroids)
        view.segments = [seg]
        views.append((base, view))
        base += len(seg)
    return views


def search_shards(index: Index, queries: Any, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` (scores, ids) of each query: every shard (segment) searched on its own, the
    per-shard top-k merged (see the module docstring). Scores as :meth:`Index.search` gives them."""
    if index.graph is not None:
        return index.search(queries, k)
    sign = -1.0 if index.spec.metric == "l2" else 1.0  # merge largest first: l2 distances negated
    best = None
    for base, view in shard_views(index):
        scores, ids = view.search(queries, k)
        best = merge_topk(best, sign * scores, torch.where(ids >= 0, ids + base, ids), k)
    assert best is not None
    return sign * best[0], best[1]
