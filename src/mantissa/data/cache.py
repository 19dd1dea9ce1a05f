"""Embedding cache: ``embed_corpus(texts, model)`` computes once, verifies on read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from mantissa.errors import CorruptFileError
from mantissa.io import load_tensors, save_tensors

_KIND = "embedding-cache"


def cache_dir() -> Path:
    """``$MANTISSA_CACHE``, else ``~/.cache/mantissa``."""
    return Path(os.environ.get("MANTISSA_CACHE") or Path.home() / ".cache" / "mantissa")


def _key(texts: list[str], model_name: str, normalize: bool) -> str:
    h = hashlib.sha256(f"{model_name}\0{normalize}\0{len(texts)}\0".encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def embed_corpus(texts: list[str], model: Any = None, *, batch_size: int = 64,
                 normalize: bool = True, use_cache: bool = True) -> torch.Tensor:
    """Embeddings of ``texts`` with ``model`` (default: the packaged MiniLM).

    Cached under :func:`cache_dir` keyed on the model name and a hash of the
    texts; a cached file that fails its checksum is recomputed, never used.
    With ``model=None`` the packaged MiniLM is loaded only on a cache miss.
    """
    from mantissa.data.minilm import NAME, load_minilm

    name = NAME if model is None else getattr(model, "name", type(model).__name__)
    path = cache_dir() / "embeddings" / f"{_key(list(texts), name, normalize)}.safetensors"
    if use_cache and path.exists():
        try:
            tensors, meta = load_tensors(path, kind=_KIND)
            if meta.get("model") == name and meta.get("n") == len(texts):
                return tensors["embeddings"]
        except CorruptFileError:
            pass  # recompute and overwrite below
    if model is None:
        model = load_minilm()
    emb = model.encode(list(texts), batch_size=batch_size, normalize=normalize)
    if use_cache:
        save_tensors(path, {"embeddings": emb}, kind=_KIND, meta={"model": name, "n": len(texts)})
    return emb
