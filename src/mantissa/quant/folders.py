"""Load a model folder to quantize: a Hugging Face model folder or a sentence-transformers folder.

* A folder with ``modules.json`` is a sentence-transformer: it is loaded with
  ``sentence-transformers`` itself, so its own pooling and normalisation apply
  (:class:`mantissa.quant.encoders.STEncoder`).
* Any other folder with a ``config.json`` is loaded with ``transformers``, with the head its
  config names (``architectures``, e.g. ``GPT2LMHeadModel``), else the base model
  (:class:`mantissa.quant.encoders.HFEncoder`: mean pooling, L2 normalisation).

Everything is read offline (``HF_HUB_OFFLINE=1``); nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mantissa.data.minilm import quiet_transformers
from mantissa.errors import ConfigError, require
from mantissa.quant.encoders import HFEncoder, fix_padding, wrap_sentence_transformer


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_class(transformers: Any, config: Any) -> Any:
    """The ``transformers`` class of the config's first architecture, else ``AutoModel``."""
    names = getattr(config, "architectures", None) or []
    cls = getattr(transformers, str(names[0]), None) if names else None
    if isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel):
        return cls
    return transformers.AutoModel


def load_sentence_transformer(root: Path) -> Any:
    """The sentence-transformers folder ``root``, wrapped (:class:`STEncoder`)."""
    st_lib = require("sentence_transformers", "real")
    try:
        st = st_lib.SentenceTransformer(str(root), device="cpu", local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{root} could not be loaded as a sentence-transformers model: {exc}") from None
    return wrap_sentence_transformer(st.eval(), name=root.name)


def load_transformers(root: Path) -> HFEncoder:
    """The Hugging Face model folder ``root`` with its tokenizer (:class:`HFEncoder`)."""
    transformers = require("transformers", "real")
    try:
        with quiet_transformers(transformers):
            config = transformers.AutoConfig.from_pretrained(str(root))
            tok = transformers.AutoTokenizer.from_pretrained(str(root))
            model = model_class(transformers, config).from_pretrained(str(root)).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{root} could not be loaded as a transformers model: {exc}") from None
    return HFEncoder(model=model, tokenizer=fix_padding(tok), name=root.name)


def load_folder(path: str | os.PathLike[str]) -> Any:
    """A model folder to quantize (see the module docstring); ConfigError for anything else."""
    root = Path(path)
    _offline()
    if (root / "modules.json").is_file():
        return load_sentence_transformer(root)
    if not (root / "config.json").is_file():
        raise ConfigError(f"{root} is not a model folder: no config.json or modules.json there (expected "
                          "a Hugging Face / sentence-transformers model saved with save_pretrained / save)")
    return load_transformers(root)
