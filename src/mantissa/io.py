"""Safe files: atomic writes, checksummed JSON and tensor files.

Every file mantissa writes goes through :func:`atomic_write` (temporary file in
the same folder, fsync, rename), so an interrupted write leaves the old file or
nothing, never half a file. Tensor files carry a format tag, a version and a
SHA-256 over their kind, version, metadata and payload; :func:`load_tensors`
refuses a truncated, foreign or altered file (metadata included) with
:class:`CorruptFileError`. :func:`seal` / :func:`check_seal` do the same for a
JSON manifest, and :func:`member` keeps a manifest's file names inside its folder.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mantissa.errors import CorruptFileError, OverwriteRefusedError

FORMAT_VERSION = 2  # 2: the digest covers the kind, version and metadata too


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written file gets the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically."""
    raw = data.encode() if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(raw)
    return Path(path)


def write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """A CSV table (floats to 6 significant digits), written atomically; returns its path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in rows)
    return atomic_write(path, buf.getvalue())


def write_records(path: str | os.PathLike[str], records: Sequence[Mapping[str, Any]]) -> Path:
    """:func:`write_csv` of dicts that share their keys (the first one's keys are the header)."""
    header = list(records[0])
    return write_csv(path, header, [[r[k] for k in header] for r in records])


def write_owned_text(path: str | os.PathLike[str], text: str, marker: str) -> Path:
    """Atomically write ``text``, which starts with ``marker``. A file already at ``path`` is
    replaced only when it starts with ``marker`` too: mantissa wrote it, so it is not a user's."""
    if not text.startswith(marker):
        raise ValueError("text must start with its marker")
    target = Path(path)
    if target.exists() or target.is_symlink():
        try:
            with open(target, "rb") as fh:
                ours = target.is_file() and fh.read(len(marker.encode())) == marker.encode()
        except OSError:
            ours = False
        if not ours:
            raise OverwriteRefusedError(f"{target} exists and mantissa did not write it; "
                                        "choose another --out or move the file away")
    return atomic_write(target, text)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return atomic_write(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read JSON, turning a missing/unparsable file into :class:`CorruptFileError`."""
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise CorruptFileError(f"{p}: file is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{p}: not valid JSON ({exc})") from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _payload_digest(tensors: dict[str, Any], header: str) -> str:
    """SHA-256 of the header text (kind, version, metadata) and every tensor."""
    import torch

    h = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_tensors(
    path: str | os.PathLike[str], tensors: dict[str, Any], *, kind: str, meta: dict[str, Any] | None = None
) -> Path:
    """Save tensors with safetensors, tagged with ``kind``, version and checksum."""
    from safetensors.torch import save

    header = {
        "mantissa.kind": kind,
        "mantissa.version": str(FORMAT_VERSION),
        "mantissa.meta": json.dumps(meta or {}, default=_json_default),
    }
    header["mantissa.sha256"] = _payload_digest(tensors, _signed_header(header))
    data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=header)
    return atomic_write(path, data)


def load_tensors(path: str | os.PathLike[str], *, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load and verify a file written by :func:`save_tensors`; return (tensors, meta)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CorruptFileError(f"{p}: file is missing") from None
    try:
        tensors = load(raw)
        header = _safetensors_metadata(raw)
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{p}: not a readable safetensors file ({exc})") from None
    _check_kind(p, header, kind)
    if header.get("mantissa.version") != str(FORMAT_VERSION):
        raise CorruptFileError(
            f"{p}: format version {header.get('mantissa.version')!r}, this mantissa reads {FORMAT_VERSION}"
        )
    if _payload_digest(tensors, _signed_header(header)) != header.get("mantissa.sha256"):
        raise CorruptFileError(f"{p}: checksum mismatch, the file was altered or is damaged")
    try:
        meta = json.loads(header.get("mantissa.meta", "{}"))
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{p}: its mantissa metadata is not a JSON object")
    return tensors, meta


def _signed_header(header: dict[str, str]) -> str:
    """The header fields the checksum covers, as one canonical string."""
    return json.dumps([header.get(k) for k in ("mantissa.kind", "mantissa.version", "mantissa.meta")])


_SEAL = "manifest_sha256"


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in obj.items() if k != _SEAL}, sort_keys=True,
                      separators=(",", ":"), default=_json_default).encode()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with a ``manifest_sha256`` over its canonical JSON (every other key), so
    that an edit of any field is caught by :func:`check_seal`."""
    return {**manifest, _SEAL: sha256_bytes(_canonical(manifest))}


def check_seal(path: str | os.PathLike[str], manifest: Any) -> dict[str, Any]:
    """``manifest`` when it is a JSON object whose seal matches; else CorruptFileError."""
    if not isinstance(manifest, dict):
        raise CorruptFileError(f"{path}: not a manifest (a JSON object was expected)")
    if manifest.get(_SEAL) != sha256_bytes(_canonical(manifest)):
        raise CorruptFileError(f"{path}: the manifest was edited or is damaged (its "
                               f"{_SEAL} does not match)")
    return manifest


def member(folder: str | os.PathLike[str], name: Any) -> Path:
    """``folder/name`` for a file name a manifest lists; CorruptFileError for a name that is not
    a plain relative path inside ``folder`` (absolute, ``..``, backslashes, not a string)."""
    parts = name.split("/") if isinstance(name, str) else []
    if not parts or name.startswith("/") or "\\" in name or any(q in ("", ".", "..") for q in parts):
        raise CorruptFileError(f"{folder}: the manifest names {name!r}, not a file inside the folder")
    return Path(folder, *parts)


def verify_files(folder: str | os.PathLike[str], files: Any) -> dict[str, str]:
    """Check every file a manifest lists (``{name: sha256}``): inside ``folder``, present, and
    matching its digest. Returns ``files``; CorruptFileError names the first bad one."""
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise CorruptFileError(f"{folder}: the manifest's file list is malformed")
    for name, digest in files.items():
        p = member(folder, name)
        if not p.is_file():
            raise CorruptFileError(f"{folder}: {name} is missing")
        if sha256_file(p) != digest:
            raise CorruptFileError(f"{folder}: {name} fails its checksum (altered or truncated)")
    return files


def peek_meta(path: str | os.PathLike[str], *, kind: str) -> dict[str, Any]:
    """The metadata of a :func:`save_tensors` file of ``kind``, read from its header alone
    (cheap, not verified: :func:`load_tensors` checks the payload)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            raw = head + fh.read(n) if 0 <= n <= 100_000_000 else b""
        header = _safetensors_metadata(raw)
        meta = json.loads(header.get("mantissa.meta", "{}"))
    except (OSError, ValueError, AttributeError) as exc:
        raise CorruptFileError(f"{p}: not a readable safetensors file ({exc})") from None
    _check_kind(p, header, kind)
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{p}: its mantissa metadata is not a JSON object")
    return meta


def _check_kind(p: Path, header: dict[str, str], kind: str) -> None:
    if header.get("mantissa.kind") != kind:
        raise CorruptFileError(
            f"{p}: holds {header.get('mantissa.kind', 'no mantissa data')!r}, expected {kind!r}"
        )


def _safetensors_metadata(raw: bytes) -> dict[str, str]:
    if len(raw) < 8:
        raise ValueError("file shorter than its header")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8:
        raise ValueError("header length exceeds file size")
    return json.loads(raw[8 : 8 + n]).get("__metadata__", {}) or {}
