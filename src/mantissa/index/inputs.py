"""Reading vectors for an index: ``.npy``, ``.safetensors`` or a text file (one text a line).

:func:`iter_vectors` yields float32 chunks without loading the whole file
(``.npy`` is memory-mapped, ``.safetensors`` read by slices, texts embedded
chunk by chunk with the packaged MiniLM); :func:`read_vectors` returns it all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from mantissa.errors import CorruptFileError, DataUnavailableError, ShapeError

ACCEPTED = ".npy (float array n×dim), .safetensors (one 2-D tensor, or --key NAME), .txt (one text a line)"


def _check_path(path: Path) -> None:
    if not path.is_file():
        raise DataUnavailableError(f"{path}: no such file; accepted inputs: {ACCEPTED}")


def read_texts(path: str | os.PathLike[str]) -> list[str]:
    p = Path(path)
    _check_path(p)
    texts = [line.strip() for line in p.read_text(encoding="utf-8", errors="replace").splitlines()]
    texts = [t for t in texts if t]
    if not texts:
        raise ShapeError(f"{p}: no texts (the file is empty); give one text per line")
    return texts


def _npy(p: Path) -> np.ndarray:
    try:
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{p}: not a readable .npy array ({exc or 'the file is empty'})") from None
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        raise ShapeError(f"{p}: expected a numeric n×dim array, got shape {arr.shape} dtype {arr.dtype}")
    return arr


def _safetensors_slice(p: Path, key: str | None):
    from safetensors import SafetensorError, safe_open

    try:
        fh = safe_open(str(p), framework="pt")
        keys = list(fh.keys())
    except (SafetensorError, OSError, ValueError) as exc:
        raise CorruptFileError(f"{p}: not a readable safetensors file ({exc})") from None
    if key is None:
        if len(keys) != 1:
            raise ShapeError(f"{p} holds tensors {keys}; choose one with --key")
        key = keys[0]
    if key not in keys:
        raise ShapeError(f"{p} has no tensor {key!r}; it holds {keys}")
    sl = fh.get_slice(key)
    if len(sl.get_shape()) != 2:
        raise ShapeError(f"{p}:{key} must be 2-D (n×dim), got shape {sl.get_shape()}")
    return sl


def iter_vectors(path: str | os.PathLike[str], chunk: int = 16_384, key: str | None = None,
                 model=None) -> Iterator[torch.Tensor]:
    """Chunks of float32 vectors from ``path`` (see the module docstring)."""
    p = Path(path)
    _check_path(p)
    suffix = p.suffix.lower()
    if key is not None and suffix != ".safetensors":
        raise ShapeError(f"--key {key!r} names a tensor inside a .safetensors file; "
                         f"{p} is not a .safetensors file")
    if suffix == ".npy":
        arr = _npy(p)
        for s in range(0, arr.shape[0], chunk):
            yield torch.from_numpy(np.array(arr[s : s + chunk], dtype=np.float32))
    elif suffix == ".safetensors":
        sl = _safetensors_slice(p, key)
        n = sl.get_shape()[0]
        for s in range(0, n, chunk):
            yield sl[s : min(n, s + chunk)].float()
    elif suffix in (".txt", ".text", ".lines"):
        from mantissa.data import embed_corpus

        texts = read_texts(p)
        for s in range(0, len(texts), chunk):
            yield embed_corpus(texts[s : s + chunk], model)
    else:
        raise ShapeError(f"{p}: unsupported input type {suffix or '(none)'}; accepted: {ACCEPTED}")


def read_vectors(path: str | os.PathLike[str], key: str | None = None, model=None) -> torch.Tensor:
    chunks = list(iter_vectors(path, key=key, model=model))
    if not chunks:
        raise ShapeError(f"{path}: no vectors (the array is empty)")
    return torch.cat(chunks)
