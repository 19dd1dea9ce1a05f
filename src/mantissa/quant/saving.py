"""Save and load quantized models: packed codes + scales, a manifest, checksums.

A saved model is a folder::

    manifest.json         format tag + version, recipe spec, layer metadata,
                          SHA-256 of every other file, sealed by its own SHA-256
                          (:func:`mantissa.io.seal`: an edited field is refused)
    weights.safetensors   quantized layers as packed codes and scales
                          ("q/<layer>/<field>"), everything else as it was
                          ("f/<parameter>"); tagged and checksummed by mantissa.io
    config.json           the Hugging Face config (when the model has one)
    tokenizer/            the tokenizer (when the model came with one)

The folder is written beside its destination and swapped into place
(:mod:`mantissa.swap`), so an interrupted save leaves the previous model or none.
An existing folder is replaced only when it is a saved model holding nothing but
the files its manifest lists (:mod:`mantissa.ownership`); anything else is refused.
:func:`load_quantized` checks the manifest, every checksum and every tensor
before building anything, and refuses a truncated, altered or foreign folder
with :class:`CorruptFileError`. Its size on disk is the honest compressed size.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mantissa.errors import ConfigError, CorruptFileError
from mantissa.io import (
    check_seal,
    load_tensors,
    read_json,
    save_tensors,
    seal,
    sha256_file,
    verify_files,
    write_json,
)
from mantissa.quant import st_files
from mantissa.quant.api import module_of, quantized_layers
from mantissa.quant.encoders import HFEncoder, STEncoder, as_encoder, fix_padding, st_transformer
from mantissa.quant.layers import QuantLinear, bits_per_weight
from mantissa.quant.outputs import MODEL_FORMAT, check_out
from mantissa.quant.recipes import parse_recipe
from mantissa.swap import MARKER, build_in_place, recover

FORMAT = MODEL_FORMAT
VERSION = 2  # 2: the manifest is sealed
_KIND = "quantized-model"


def _state(module: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, str]]:
    """(tensors, layer metadata, tied: float key -> the key holding the same tensor)."""
    layers = quantized_layers(module)
    tensors: dict[str, torch.Tensor] = {}
    metas: dict[str, Any] = {}
    for name, layer in layers.items():
        t, meta = layer.state()
        tensors.update({f"q/{name}/{k}": v for k, v in t.items()})
        metas[name] = meta
    tied: dict[str, str] = {}
    seen: dict[tuple[int, tuple[int, ...]], str] = {}
    for key, value in module.state_dict().items():
        if any(key == n or key.startswith(n + ".") for n in layers):
            continue
        where = (value.data_ptr(), tuple(value.shape))
        if value.numel() and where in seen:
            tied[key] = seen[where]  # a tied weight (e.g. a language model's output head) is saved once
        else:
            seen[where] = key
            tensors[f"f/{key}"] = value
    return tensors, metas, tied


def check_model_out(path: str | os.PathLike[str]) -> None:
    """Refuse a ``path`` that :func:`save_quantized` may not replace (see :mod:`mantissa.quant.outputs`)."""
    check_out(path)


def save_quantized(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write the quantized ``model`` (from :func:`mantissa.quant.quantize`) to the folder ``path``.

    An existing ``path`` is replaced only when it is a saved model holding nothing but its own
    files (or an empty folder); otherwise :class:`~mantissa.errors.OverwriteRefusedError`."""
    module = module_of(model)
    info = getattr(module, "mantissa_quant", None)
    if not info:
        raise ConfigError("this model is not quantized; call mantissa.quant.quantize(model, recipe) first")
    final = Path(path)
    check_model_out(final)
    build_in_place(final, lambda tmp: _write_model(model, module, info, tmp),
                   lambda: check_model_out(final))  # recheck: nothing foreign arrived while writing
    return final


def _write_model(model: Any, module: nn.Module, info: dict[str, Any], tmp: Path) -> None:
    tensors, metas, tied = _state(module)
    save_tensors(tmp / "weights.safetensors", tensors, kind=_KIND, meta={"recipe": info["recipe"]})
    config = getattr(module, "config", None)
    if config is not None and hasattr(config, "save_pretrained"):
        config.save_pretrained(tmp)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp / "tokenizer")
    st = getattr(as_encoder(model), "st", None)
    if st is not None:
        st_files.write(st, tmp / st_files.FOLDER)
    files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*"))
             if p.is_file() and p.name != MARKER}
    write_json(tmp / "manifest.json", seal({
        "format": FORMAT, "version": VERSION, "recipe": info["recipe"],
        "architecture": type(module).__name__, "layers": metas, "files": files,
        "bits_per_weight": bits_per_weight(module), "sentence_transformers": st is not None,
        "tied": tied,
        "base": getattr(model, "name", type(module).__name__).split("+")[0],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }))


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a saved model, with every listed file's checksum verified."""
    root = Path(path)
    recover(root)
    if not root.is_dir():
        raise CorruptFileError(f"{root}: not a folder holding a quantized model (no such folder)")
    manifest = read_json(root / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptFileError(f"{root}: manifest.json is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise CorruptFileError(f"{root}: format version {manifest.get('version')!r}, "
                               f"this mantissa reads {VERSION} (quantize the model again)")
    check_seal(root / "manifest.json", manifest)
    if "weights.safetensors" not in verify_files(root, manifest.get("files")):
        raise CorruptFileError(f"{root}: manifest lists no weights.safetensors")
    if not isinstance(manifest.get("layers"), dict):
        raise CorruptFileError(f"{root}: manifest.json has no layer table")
    _refuse_unlisted(root, manifest["files"])
    return manifest


def _refuse_unlisted(root: Path, files: dict[str, str]) -> None:
    """The loader reads config.json, tokenizer/ and sentence-transformers/ whole: each file there
    must be listed."""
    read = [root / "config.json", *(root / "tokenizer").rglob("*"), *(root / st_files.FOLDER).rglob("*")]
    unlisted = [p.relative_to(root).as_posix() for p in read if p.is_file()
                and p.relative_to(root).as_posix() not in files]
    if unlisted:
        raise CorruptFileError(f"{root}: {', '.join(unlisted[:3])} not listed in manifest.json "
                               "(added after the save?)")


def _skeleton(root: Path, manifest: dict[str, Any]) -> nn.Module:
    if not (root / "config.json").is_file():
        raise ConfigError(f"{root} holds no config.json; pass model= an un-quantized module of "
                          f"the same architecture ({manifest.get('architecture')})")
    from mantissa.errors import require

    transformers = require("transformers", "real")
    config = transformers.AutoConfig.from_pretrained(str(root))
    cls = getattr(transformers, str(manifest.get("architecture")), None)
    if isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel):
        return cls(config).eval()  # the saved head (e.g. GPT2LMHeadModel), not only the base model
    return transformers.AutoModel.from_config(config).eval()


def load_quantized(path: str | os.PathLike[str], model: nn.Module | None = None) -> Any:
    """Load a folder written by :func:`save_quantized`.

    Returns a :class:`mantissa.data.MiniLM`-style wrapper (``.model``, ``.tokenizer``,
    ``.encode``) when the folder carries a tokenizer, else the module. ``model`` is an
    un-quantized module of the same architecture, needed only when there is no config.json.
    """
    root = Path(path)
    manifest = read_manifest(root)
    tensors, _ = load_tensors(root / "weights.safetensors", kind=_KIND)
    module = model if model is not None else _skeleton(root, manifest)
    st = None
    if manifest.get("sentence_transformers"):
        st = st_files.rebuild(root / st_files.FOLDER, module)
        module = st_transformer(st)
    for name, meta in manifest["layers"].items():
        prefix = f"q/{name}/"
        part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            layer = QuantLinear.from_state(part, meta)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CorruptFileError(f"{root}: layer {name!r} cannot be rebuilt ({exc})") from None
        parent, _, child = name.rpartition(".")
        setattr(module.get_submodule(parent) if parent else module, child, layer)
    floats = {k[2:]: v for k, v in tensors.items() if k.startswith("f/")}
    for key, source in dict(manifest.get("tied") or {}).items():
        if source not in floats:
            raise CorruptFileError(f"{root}: {key} is tied to {source}, which is not in the weights")
        floats[key] = floats[source]
    # buffers the quantized layers re-derive are not in the file; everything else must be
    missing, unexpected = module.load_state_dict(floats, strict=False)
    missing = [k for k in missing if not any(k.startswith(n + ".") for n in manifest["layers"])]
    if missing or unexpected:
        raise CorruptFileError(f"{root}: weights do not fit the model (missing {missing[:3]}, "
                               f"unexpected {unexpected[:3]})")
    module.eval()
    parse_recipe(manifest["recipe"]).prepare(module)
    module.mantissa_quant = {"recipe": manifest["recipe"], "layers": list(manifest["layers"])}
    name = f"{manifest.get('base', 'model')}+{manifest['recipe']}"
    if st is not None:
        return STEncoder(model=module, tokenizer=fix_padding(st.tokenizer), name=name, st=st)
    if (root / "tokenizer").is_dir():
        from mantissa.errors import require

        tok = require("transformers", "real").AutoTokenizer.from_pretrained(str(root / "tokenizer"))
        return HFEncoder(model=module, tokenizer=fix_padding(tok), name=name)
    return module


def size_on_disk(path: str | os.PathLike[str]) -> int:
    """Bytes of every file under ``path`` (the tokenizer excluded: it is not the model)."""
    root = Path(path)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "tokenizer" not in p.parts)
