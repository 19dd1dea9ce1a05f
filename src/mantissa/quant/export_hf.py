"""``--export hf``: a quantized model as a standard Hugging Face / sentence-transformers folder.

The folder holds what ``transformers`` and ``sentence-transformers`` write themselves —
``model.safetensors``, ``config.json``, the tokenizer and, for a sentence-transformer, its
modules (``modules.json``, pooling, normalisation) — with the *dequantized* weights
(:mod:`mantissa.quant.dequantize`), so ``AutoModel.from_pretrained(path)`` or
``SentenceTransformer(path)`` loads it anywhere. ``mantissa-export.json`` (sealed) lists
every file with its SHA-256 and the recipe; it is how mantissa knows the folder is its own.
A recipe that also quantizes activations (``int8``, ``fp8``...) exports its weights only (a
warning says so): the folder's outputs then differ from mantissa's by the activation rounding.
The folder is built beside its destination and swapped into place, like
:func:`mantissa.quant.save_quantized`.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from mantissa.data.minilm import quiet_transformers
from mantissa.errors import ConfigError, require
from mantissa.io import seal, sha256_file, write_json
from mantissa.quant.api import module_of, quantized_layers
from mantissa.quant.dequantize import dequantized_copy
from mantissa.quant.encoders import as_encoder
from mantissa.quant.outputs import EXPORT_FORMAT, EXPORT_MANIFEST, check_out
from mantissa.swap import MARKER, build_in_place

VERSION = 1


#: turns the quantized model (a sentence-transformer or a ``PreTrainedModel``) into the copy to save
Convert = Callable[[nn.Module], nn.Module]


def export_hf(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write the quantized ``model`` (a ``PreTrainedModel``, a sentence-transformer or a
    wrapper such as :class:`mantissa.quant.encoders.HFEncoder`) as a standard folder ``path``.

    An existing ``path`` is replaced only when it is one of mantissa quantize's outputs holding
    nothing but its own files; otherwise :class:`~mantissa.errors.OverwriteRefusedError`."""
    module = quantized_module(model, "hf")
    _warn_activations(module, module.mantissa_quant["recipe"])
    return write_export(model, path, dequantized_copy, "hf",
                        "dequantized weights: the quantized grid values stored as float32")


def quantized_module(model: Any, export: str) -> nn.Module:
    """The quantized ``transformers`` model inside ``model``; :class:`ConfigError` when it is not one."""
    module = module_of(model)
    if not getattr(module, "mantissa_quant", None):
        raise ConfigError("this model is not quantized; call mantissa.quant.quantize(model, recipe) first")
    if not hasattr(module, "save_pretrained"):
        raise ConfigError(f"a {type(module).__name__} is not a transformers model; --export {export} needs "
                          "one (use the default export, mantissa)")
    return module


def write_export(model: Any, path: str | os.PathLike[str], convert: Convert, export: str, note: str) -> Path:
    """Save ``convert(model)`` with its library's own ``save_pretrained`` / ``save`` (and the
    tokenizer) as the folder ``path``, built beside it and swapped into place, sealed by
    ``mantissa-export.json`` (``export``: the format's name, ``note``: what the weights are)."""
    module = module_of(model)
    final = Path(path)
    check_out(final)

    def write(tmp: Path) -> None:
        _write(as_encoder(model), module, tmp, convert)
        _write_manifest(tmp, module.mantissa_quant["recipe"], module, export, note)

    build_in_place(final, write, lambda: check_out(final))  # recheck: nothing foreign arrived
    return final


def _warn_activations(module: nn.Module, recipe: str) -> None:
    """Name what a standard folder cannot carry: the recipe's activation quantization."""
    kinds = sorted({m.act.kind for m in quantized_layers(module).values() if m.act.kind != "none"})
    if kinds:
        warnings.warn(f"recipe {recipe!r} also quantizes activations ({', '.join(kinds)}); the Hugging Face "
                      "folder holds the quantized weights only, so its outputs differ from mantissa's by the "
                      "activation rounding (a weight-only recipe exports exactly)", stacklevel=3)


def _write(model: Any, module: nn.Module, tmp: Path, convert: Convert) -> None:
    transformers = require("transformers", "real")
    st = getattr(model, "st", None)
    with quiet_transformers(transformers):
        if st is not None:
            convert(st).save(str(tmp))
            return
        convert(module).save_pretrained(str(tmp))
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))


def _write_manifest(tmp: Path, recipe: str, module: nn.Module, export: str, note: str) -> None:
    files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*"))
             if p.is_file() and p.name != MARKER}
    write_json(tmp / EXPORT_MANIFEST, seal({
        "format": EXPORT_FORMAT, "version": VERSION, "recipe": recipe, "export": export,
        "architecture": type(module).__name__, "files": files, "note": note,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }))
