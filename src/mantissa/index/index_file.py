"""The on-disk index: a folder of checksummed, memory-mapped code files.

Layout of an index folder ``IDX/``::

    index.json          manifest: magic, format version, dim, spec, count, segments, the SHA-256
                        of aux.safetensors and texts.txt, sealed by its own SHA-256
                        (:func:`mantissa.io.seal`: an edited or swapped-in file is refused)
    aux.safetensors     codebooks / scales / network weights / IVF centroids / the serialized HNSW graph
                        (mantissa.io, checksummed)
    seg-00000.codes     one file per field and segment: a 4096-byte header, then count × width bytes
    seg-00000.rescore   (only with rescore:R)     seg-00000.lists  (only with ivf:NLIST)
    texts.txt           (only when built from texts) one text per vector, for ``index search``

The manifest also records the encoder that made the vectors (``{"name", "dim"}``,
or null when unknown), so a text query is embedded only by that encoder.

Each field file starts with the magic ``MNTSIDX1`` and a JSON header (format
version, dim, spec, field, count, width, SHA-256 of the payload), padded to
4096 bytes so the payload is page-aligned and memory-mapped read-only.

* :func:`build_index` streams chunks of vectors: the first ``fit_size`` rows
  train the compressor, then every chunk is encoded and appended to the files,
  so memory is bounded by ``fit_size`` and the chunk size, not by the count.
  It writes into a hidden sibling folder and swaps it into place at the end
  (:mod:`mantissa.swap`): an interrupted build leaves the previous index or none,
  never half of one. An existing folder is replaced only with ``overwrite=True`` and
  only when it is an index holding nothing but its own files (:mod:`mantissa.ownership`).
* :func:`append_index` writes a new segment beside the old ones, then replaces
  the manifest atomically; readers of the old manifest are unaffected.
* :func:`open_index` checks magic, version, sizes and (``verify=True``) every
  checksum, and raises :class:`CorruptFileError` before anything is searched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from mantissa.errors import CorruptFileError, ShapeError, SpecError
from mantissa.index.hnsw import Graph
from mantissa.index.index import Index, IndexSpec, Segment
from mantissa.io import (
    atomic_write,
    check_seal,
    load_tensors,
    member,
    read_json,
    save_tensors,
    seal,
    sha256_file,
    write_json,
)
from mantissa.ownership import Owned, artifact_files, check_replaceable
from mantissa.progress import progress
from mantissa.runtime import check_seed
from mantissa.swap import build_in_place, pid_alive, recover

MAGIC = b"MNTSIDX1"
MANIFEST_MAGIC = "mantissa-index"
VERSION = 2  # 2: sealed manifest; aux and texts digests
HEADER = 4096
FIELDS = ("codes", "rescore", "lists")
_AUX_KIND = "mantissa-index-aux"
_AUX = "aux.safetensors"
TEXTS = "texts.txt"
_LOCK = ".append.lock"
_STAGING = ".append-"


class _FieldWriter:
    """Streams rows of one field into a file, hashing as it goes."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path, self.meta = path, dict(meta)
        self.fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in finish()
        self.fh.write(b"\0" * HEADER)
        self.hash, self.count = hashlib.sha256(), 0

    def write(self, rows: torch.Tensor) -> None:
        data = rows.contiguous().view(torch.uint8).numpy().tobytes()
        self.fh.write(data)
        self.hash.update(data)
        self.count += rows.shape[0]

    def finish(self) -> dict[str, Any]:
        self.meta.update(count=self.count, sha256=self.hash.hexdigest())
        self.fh.seek(0)
        self.fh.write(_header_bytes(self.meta))
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        return self.meta


def _header_bytes(meta: dict[str, Any]) -> bytes:
    body = MAGIC + json.dumps(meta, sort_keys=True).encode()
    if len(body) > HEADER:
        raise ShapeError("index header too long (spec string too long)")
    return body + b" " * (HEADER - len(body))


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER)
    except FileNotFoundError:
        raise CorruptFileError(f"{path}: index file is missing") from None
    if len(head) < HEADER or not head.startswith(MAGIC):
        raise CorruptFileError(f"{path}: not a mantissa index file (bad magic or truncated header)")
    try:
        meta = json.loads(head[len(MAGIC):].rstrip(b" \0"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{path}: unreadable index header ({exc})") from None
    if meta.get("version") != VERSION:
        raise CorruptFileError(f"{path}: index format version {meta.get('version')!r}, "
                               f"this mantissa reads {VERSION}")
    return meta


def _file_sha256(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(HEADER)
        left = size
        while left > 0:
            block = fh.read(min(1 << 22, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def _map_field(path: Path, expect: dict[str, Any], verify: bool) -> torch.Tensor:
    meta = _read_header(path)
    for key in ("field", "dim", "width", "count", "sha256"):
        if meta.get(key) != expect.get(key):
            raise CorruptFileError(f"{path}: header {key}={meta.get(key)!r} disagrees with the manifest "
                                   f"({expect.get(key)!r})")
    count, width = int(meta["count"]), int(meta["width"])
    size = count * width
    if path.stat().st_size < HEADER + size:
        raise CorruptFileError(f"{path}: truncated ({path.stat().st_size} bytes, "
                               f"header says {HEADER + size})")
    if verify and _file_sha256(path, size) != meta["sha256"]:
        raise CorruptFileError(f"{path}: checksum mismatch, the index file was altered or is damaged")
    if size == 0:
        return torch.zeros(0, width, dtype=torch.uint8)
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=HEADER, shape=(count, width))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only mapping; never written
        return torch.from_numpy(mm)


# -- writing -----------------------------------------------------------------------
def _rechunk(chunks: Iterable[Any], size: int) -> Iterator[torch.Tensor]:
    for c in chunks:
        t = torch.as_tensor(np.asarray(c)) if not isinstance(c, torch.Tensor) else c
        if t.ndim == 1:
            t = t.unsqueeze(0)
        for s in range(0, t.shape[0], size):
            yield t[s : s + size]


def _write_segment(folder: Path, name: str, index: Index, chunks: Iterable[torch.Tensor],
                   first_row: int) -> dict[str, Any]:
    base = {"version": VERSION, "dim": index.dim, "spec": str(index.spec)}
    writers: dict[str, _FieldWriter] = {}
    row = first_row
    with progress(f"encoding into {folder.name}", total=None) as bar:
        for chunk in chunks:
            seg = index.encode(chunk, first_row=row)
            index.grow(seg)
            for fname in FIELDS:
                rows = getattr(seg, fname)
                if rows is None:
                    continue
                if fname not in writers:
                    width = rows.shape[1] * rows.element_size()
                    writers[fname] = _FieldWriter(folder / f"{name}.{fname}",
                                                  {**base, "field": fname, "width": width})
                writers[fname].write(rows)
            row += chunk.shape[0]
            bar.advance(chunk.shape[0])
    if not writers:
        raise ShapeError("no vectors given; an index needs at least one vector")
    fields = {f: w.finish() for f, w in writers.items()}
    return {"name": name, "count": row - first_row, "fields": fields}


def _save_aux(folder: Path, index: Index) -> str:
    tensors = {f"compressor.{k}": v for k, v in index.compressor.state().items()}
    if index.rescorer is not None:
        tensors.update({f"rescorer.{k}": v for k, v in index.rescorer.state().items()})
    if index.centroids is not None:
        tensors["ivf.centroids"] = index.centroids
    if index.graph is not None:
        tensors["hnsw.graph"] = index.graph.to_bytes()
    if not tensors:
        tensors["none"] = torch.zeros(0)
    save_tensors(folder / _AUX, tensors, kind=_AUX_KIND,
                 meta={"spec": str(index.spec), "dim": index.dim})
    return _AUX


def _manifest(folder: Path, index: Index, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """The sealed manifest; it records the digests of aux.safetensors and texts.txt in ``folder``."""
    texts = folder / TEXTS
    return seal({"magic": MANIFEST_MAGIC, "version": VERSION, "dim": index.dim, "spec": str(index.spec),
                 "encoder": index.encoder,
                 "count": sum(s["count"] for s in segments), "aux": _AUX,
                 "aux_sha256": sha256_file(folder / _AUX),
                 "texts_sha256": sha256_file(texts) if texts.is_file() else None,
                 "bytes_per_vector": index.bytes_per_vector,
                 "disk_bytes_per_vector": index.disk_bytes_per_vector,
                 "aux_bytes": index.aux_bytes, "segments": segments})


def index_files(path: Path) -> Owned | None:
    """The files of the index in ``path`` (from its manifest); None when it holds no index."""
    try:
        man = read_json(path / "index.json")
    except CorruptFileError:
        return None
    if not isinstance(man, dict) or man.get("magic") != MANIFEST_MAGIC:
        return None
    try:
        names = {"index.json", TEXTS, _LOCK, _AUX}
        names |= {f"{seg['name']}.{field}" for seg in man["segments"] for field in seg["fields"]}
    except (KeyError, TypeError, AttributeError):
        return None
    return artifact_files(names, scratch=(_STAGING,))


def check_index_out(out: str | os.PathLike[str], overwrite: bool) -> None:
    """Refuse an ``out`` that ``build_index`` may not replace (see :mod:`mantissa.ownership`)."""
    recover(Path(out))
    check_replaceable(Path(out), "mantissa index", index_files, force=overwrite)


def build_index(out: str | os.PathLike[str], spec: IndexSpec | str, chunks: Iterable[Any], *,
                fit_size: int = 100_000, chunk_size: int = 16_384, seed: int = 0,
                overwrite: bool = False, texts: Sequence[str] | None = None,
                encoder: str | None = None) -> Index:
    """Stream ``chunks`` of vectors into a new index folder ``out``; return it opened.

    ``texts`` (one per vector) are stored beside the codes for ``index search``;
    ``encoder`` names the model that made the vectors (recorded with their dimension)."""
    out = Path(out)
    if fit_size < 1 or chunk_size < 1:
        raise ShapeError(f"fit_size and chunk_size must be >= 1, got {fit_size} and {chunk_size}")
    check_seed(seed)
    check_index_out(out, overwrite)
    it = _rechunk(chunks, chunk_size)
    head, have = [], 0
    for c in it:
        head.append(c)
        have += c.shape[0]
        if have >= fit_size:
            break
    if not head:
        raise ShapeError("no vectors given; an index needs at least one vector")
    sample = torch.cat([torch.as_tensor(h).float() for h in head])[:fit_size]
    index = Index.fit(spec, sample, seed)
    index.encoder = {"name": encoder, "dim": index.dim} if encoder else None

    def write(tmp: Path) -> None:
        seg = _write_segment(tmp, "seg-00000", index, _chain(head, it), 0)
        _save_aux(tmp, index)  # after the codes: it holds the hnsw graph they grew
        if texts is not None:
            atomic_write(tmp / TEXTS, "\n".join(texts) + "\n")
        write_json(tmp / "index.json", _manifest(tmp, index, [seg]))

    # recheck: nothing foreign arrived while building
    build_in_place(out, write, lambda: check_index_out(out, overwrite))
    return open_index(out, verify=False)


def _chain(head: list[torch.Tensor], rest: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
    yield from head
    yield from rest


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _take_lock(lock: Path) -> Path:
    """Create ``lock`` holding this process's PID; a lock left by a dead process is taken over."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                owner = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                owner = 0
            fresh = owner == 0 and _age(lock) < 5.0  # being created: its PID is not written yet
            if fresh or (owner > 0 and pid_alive(owner)):
                raise CorruptFileError(f"{lock} exists: another append (process {owner}) is "
                                       "running on this index") from None
            lock.unlink(missing_ok=True)  # its process is gone: a crash left it
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return lock
    raise CorruptFileError(f"{lock}: could not take the append lock")


def append_index(path: str | os.PathLike[str], chunks: Iterable[Any], *, chunk_size: int = 16_384) -> Index:
    """Add vectors to an existing index as a new segment; the manifest is swapped atomically."""
    path = Path(path)
    index = open_index(path, verify=False)
    if index.graph is not None:
        raise SpecError(f"{path}: an hnsw index cannot be appended to (its graph is stored whole); "
                        "build it again with all the vectors")
    manifest = _read_manifest(path)
    lock = _take_lock(path / _LOCK)
    try:
        name = f"seg-{len(manifest['segments']):05d}"
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=path))
        try:
            seg = _write_segment(staging, name, index, _rechunk(chunks, chunk_size), index.count)
            for f in seg["fields"]:
                os.replace(staging / f"{name}.{f}", path / f"{name}.{f}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        write_json(path / "index.json", _manifest(path, index, [*manifest["segments"], seg]))
    finally:
        lock.unlink(missing_ok=True)
    return open_index(path, verify=False)


# -- reading -----------------------------------------------------------------------
def _read_manifest(path: Path) -> dict[str, Any]:
    """index.json of the index in ``path``: a sealed manifest of this format version."""
    recover(path)
    if not path.is_dir():
        raise CorruptFileError(f"{path}: not an index folder (expected {path}/index.json)")
    man = read_json(path / "index.json")
    if not isinstance(man, dict) or man.get("magic") != MANIFEST_MAGIC:
        raise CorruptFileError(f"{path}/index.json: not a mantissa index manifest")
    if man.get("version") != VERSION:
        raise CorruptFileError(f"{path}: index format version {man.get('version')!r}, "
                               f"this mantissa reads {VERSION} (build the index again)")
    return check_seal(path / "index.json", man)


def stored_texts(path: str | os.PathLike[str]) -> list[str] | None:
    """The texts stored with the index in ``path`` (one per vector), checked against the
    manifest's digest; None when the index was built from vectors."""
    path = Path(path)
    digest = _read_manifest(path).get("texts_sha256")
    if digest is None:
        return None
    if not (path / TEXTS).is_file() or sha256_file(path / TEXTS) != digest:
        raise CorruptFileError(f"{path}/{TEXTS} is not the one this index was built with "
                               "(swapped, altered or missing)")
    return (path / TEXTS).read_text(encoding="utf-8").splitlines()


def open_index(path: str | os.PathLike[str], *, verify: bool = True) -> Index:
    """Open an index folder (memory-mapped); ``verify`` checks every checksum first."""
    path = Path(path)
    man = _read_manifest(path)
    try:
        spec, dim, segments = IndexSpec.parse(man["spec"]), int(man["dim"]), list(man["segments"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{path}/index.json: incomplete manifest ({exc})") from None
    if man.get("aux") != _AUX or sha256_file(path / _AUX) != man.get("aux_sha256"):
        raise CorruptFileError(f"{path}/{_AUX} is not the one this index was built with "
                               "(swapped, altered or missing)")
    tensors, _ = load_tensors(path / _AUX, kind=_AUX_KIND)
    comp = spec.compressor()
    comp.dim = dim
    comp.load_state({k[11:]: v for k, v in tensors.items() if k.startswith("compressor.")})
    resc = spec.rescorer()
    if resc is not None:
        resc.dim = dim
        resc.load_state({k[9:]: v for k, v in tensors.items() if k.startswith("rescorer.")})
    index = Index(spec, dim, comp, resc, tensors.get("ivf.centroids"), _graph(spec, comp, tensors, path))
    index.encoder = _encoder(man.get("encoder"), path)
    for seg in segments:
        fields = {}
        for fname, meta in seg["fields"].items():
            fields[fname] = _map_field(member(path, f"{seg['name']}.{fname}"), meta, verify)
        codes = fields["codes"]
        if codes.shape[1] != comp.code_bytes:
            raise CorruptFileError(f"{path}: codes are {codes.shape[1]} bytes wide, "
                                   f"{spec} needs {comp.code_bytes}")
        lists = fields.get("lists")
        index.segments.append(Segment(codes, fields.get("rescore"),
                                      lists.view(torch.int32) if lists is not None else None))
    if index.count != man.get("count"):
        raise CorruptFileError(f"{path}: segments hold {index.count} vectors, "
                               f"the manifest says {man.get('count')}")
    if index.graph is not None and index.graph.count != index.count:
        raise CorruptFileError(f"{path}: the hnsw graph holds {index.graph.count} vectors, "
                               f"the segments {index.count}")
    return index


def _graph(spec: IndexSpec, comp: Any, tensors: dict[str, torch.Tensor], path: Path) -> Graph | None:
    if not spec.hnsw:
        return None
    if "hnsw.graph" not in tensors:
        raise CorruptFileError(f"{path}/{_AUX}: the hnsw graph is missing")
    return Graph.from_bytes(comp, tensors["hnsw.graph"], spec.ef)


def _encoder(value: Any, path: Path) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not isinstance(
            value.get("dim"), int):
        raise CorruptFileError(f"{path}/index.json: bad encoder record {value!r}")
    return {"name": value["name"], "dim": value["dim"]}
