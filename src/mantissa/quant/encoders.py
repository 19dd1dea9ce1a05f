"""Wrappers that give any Hugging Face or sentence-transformers model one face to quantize.

Every wrapper has ``.model`` (the ``transformers`` module whose layers the recipes swap),
``.tokenizer``, ``.tokenize(texts)`` and ``.encode(texts)`` (unit vectors), like
:class:`mantissa.data.MiniLM`:

* :class:`HFEncoder` — a ``PreTrainedModel`` of any head (``BertModel``, ``GPT2LMHeadModel``...):
  the last hidden state, mean-pooled over the attention mask;
* :class:`STEncoder` — a ``SentenceTransformer``: ``.model`` is its transformer, and
  ``encode`` runs the sentence-transformer itself, so its own pooling, dense and
  normalisation modules apply.

>>> enc = as_encoder(some_model)          # doctest: +SKIP
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mantissa.data.minilm import MiniLM
from mantissa.errors import ConfigError


def is_sentence_transformer(obj: Any) -> bool:
    """Whether ``obj`` is a ``sentence_transformers.SentenceTransformer`` (without importing it)."""
    st = sys.modules.get("sentence_transformers")
    return st is not None and isinstance(obj, st.SentenceTransformer)


def st_transformer(st: Any) -> nn.Module:
    """The ``transformers`` model inside a sentence-transformer (its first module)."""
    first = st[0] if len(st) else None
    inner = getattr(first, "auto_model", None)
    if not isinstance(inner, nn.Module):
        raise ConfigError(f"this SentenceTransformer starts with a {type(first).__name__}, not a "
                          "Transformer module holding a transformers model; mantissa cannot quantize it")
    return inner


def st_modules_left(st: Any) -> list[str]:
    """The sentence-transformer's modules after its transformer that hold weights (``Dense``...):
    quantize() leaves them as they are and names them."""
    return [f"sentence-transformers module {i} ({type(m).__name__})" for i, m in enumerate(st)
            if i and any(True for _ in m.parameters())]


def fix_padding(tokenizer: Any) -> Any:
    """Give a tokenizer without a padding token (GPT-2) its end-of-sequence token for padding."""
    if getattr(tokenizer, "pad_token", "") is None and getattr(tokenizer, "eos_token", None):
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@dataclass
class HFEncoder(MiniLM):
    """A ``transformers`` model of any head + its tokenizer; mean pooling, L2 normalisation."""

    def forward_hidden(self, texts: list[str], *, all_layers: bool = False) -> tuple[Any, torch.Tensor]:
        batch = self.tokenize(texts)
        headed = getattr(self.model, "base_model", self.model) is not self.model
        out = self.model(**batch, output_hidden_states=all_layers or headed)
        if all_layers:
            return out.hidden_states, batch["attention_mask"]
        last = getattr(out, "last_hidden_state", None)
        return (out.hidden_states[-1] if last is None else last), batch["attention_mask"]


@dataclass
class STEncoder(MiniLM):
    """A ``SentenceTransformer`` (``st``); ``model`` is its transformer, quantized in place."""

    st: Any = None

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64, normalize: bool = True) -> torch.Tensor:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return torch.empty(0, self.dim)
        self.st.eval()
        emb = self.st.encode(list(texts), batch_size=batch_size, convert_to_tensor=True,
                             normalize_embeddings=normalize, show_progress_bar=False)
        return emb.float().cpu()

    @property
    def dim(self) -> int:
        return int(self.st.get_sentence_embedding_dimension() or self.model.config.hidden_size)


def wrap_sentence_transformer(st: Any, name: str = "sentence-transformer") -> STEncoder:
    """An :class:`STEncoder` around ``st`` (its transformer and tokenizer, shared, not copied)."""
    length = getattr(st, "max_seq_length", None) or 256
    return STEncoder(model=st_transformer(st), tokenizer=fix_padding(st.tokenizer), name=name,
                     max_length=int(length), st=st)


def as_encoder(model: Any) -> Any:
    """``model`` with ``.model`` / ``.tokenizer`` / ``.encode``: a sentence-transformer is wrapped
    in an :class:`STEncoder`; any other object is returned as it is."""
    return wrap_sentence_transformer(model) if is_sentence_transformer(model) else model


__all__ = ["HFEncoder", "STEncoder", "as_encoder", "fix_padding", "is_sentence_transformer",
           "st_modules_left", "st_transformer", "wrap_sentence_transformer"]
