"""A sentence-transformer's own files (modules.json, pooling, normalisation...) beside a
quantized model, and the sentence-transformer rebuilt around a quantized transformer.

:func:`save_quantized` keeps, under ``sentence-transformers/``, everything the
sentence-transformer's ``save`` writes except its transformer's weights (those are the
quantized layers); every file is listed with its checksum in the model's manifest.
:func:`rebuild` loads the sentence-transformer from those files around a transformers
model of the same architecture, so its pooling and normalisation apply as they did.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from mantissa.errors import CorruptFileError, require
from mantissa.quant.encoders import st_transformer

FOLDER = "sentence-transformers"
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def _transformer_path(root: Path) -> Path:
    """The folder (inside ``root``) of the sentence-transformer's first module."""
    try:
        modules = json.loads((root / "modules.json").read_text())
        return root / str(modules[0].get("path", ""))
    except (OSError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise CorruptFileError(f"{root}: modules.json is missing or malformed ({exc})") from None


def write(st: Any, folder: Path) -> None:
    """The sentence-transformer ``st``'s files, without its transformer's weights, in ``folder``."""
    with tempfile.TemporaryDirectory() as tmp:
        st.save(tmp)
        inner = _transformer_path(Path(tmp))
        for name in _WEIGHTS:
            (inner / name).unlink(missing_ok=True)
        shutil.copytree(tmp, folder)


def rebuild(folder: Path, skeleton: nn.Module) -> Any:
    """The sentence-transformer of ``folder`` (written by :func:`write`) around ``skeleton``'s
    weights; its transformer is a new module of ``skeleton``'s architecture."""
    st_lib = require("sentence_transformers", "real")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "st"
        shutil.copytree(folder, root)
        skeleton.save_pretrained(_transformer_path(root))
        st = st_lib.SentenceTransformer(str(root), device="cpu")
    st_transformer(st)  # refuses a sentence-transformer without a transformers model
    return st.eval()
