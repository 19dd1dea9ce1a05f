"""Which output folders ``mantissa quantize`` may replace: its own exports, nothing else.

Two kinds of folder are mantissa's: a saved quantized model (``manifest.json`` of format
``mantissa-quantized-model``, :mod:`mantissa.quant.saving`) and a Hugging Face export
(``mantissa-export.json`` of format ``mantissa-hf-export``, :mod:`mantissa.quant.export_hf`).
Each manifest lists its files; a folder holding anything else is refused
(:func:`mantissa.ownership.check_replaceable`).
"""

from __future__ import annotations

import os
from pathlib import Path

from mantissa.errors import CorruptFileError
from mantissa.io import read_json
from mantissa.ownership import Owned, artifact_files, check_replaceable
from mantissa.swap import recover

MODEL_MANIFEST, MODEL_FORMAT = "manifest.json", "mantissa-quantized-model"
EXPORT_MANIFEST, EXPORT_FORMAT = "mantissa-export.json", "mantissa-hf-export"


def _listed(path: Path, manifest_name: str, fmt: str) -> Owned | None:
    try:
        manifest = read_json(path / manifest_name)
    except CorruptFileError:
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict):
        return None
    return artifact_files({manifest_name, *map(str, files)})


def model_files(path: Path) -> Owned | None:
    """The files of the saved quantized model in ``path``; None when it holds none."""
    return _listed(path, MODEL_MANIFEST, MODEL_FORMAT)


def export_files(path: Path) -> Owned | None:
    """The files of the Hugging Face export in ``path``; None when it holds none."""
    return _listed(path, EXPORT_MANIFEST, EXPORT_FORMAT)


def check_out(path: str | os.PathLike[str]) -> None:
    """Refuse a ``path`` that is neither absent, empty, nor one of mantissa quantize's outputs
    holding only its own files (see :mod:`mantissa.ownership`)."""
    recover(Path(path))
    check_replaceable(Path(path), "mantissa quantize output",
                      lambda p: model_files(p) or export_files(p))
