"""A sentence encoder exposing every layer: the model all embedding losses train.

:class:`Encoder` wraps a Hugging Face BERT-family model (the packaged MiniLM
first: :meth:`Encoder.from_minilm`) or the small from-scratch
:class:`TinyBackbone` (:meth:`Encoder.tiny`, for fast tests) with

* a tokenizer with a per-text cache (each text is tokenized once per encoder);
* :meth:`Encoder.features` — one forward pass returning the hidden states of
  every layer (index 0 is the embedding output, ``n_layers`` the last layer);
* :meth:`Encoder.pool` — the sub-model embedding at any ``(layer, dim)``:
  the layer's token states pooled with the encoder's pooling (a
  :data:`mantissa.embed.pooling.POOLING` name), truncated to ``dim``;
* ``bidirectional=True`` — drop the causal mask of a decoder model (NV-Embed
  §3.1): the model gets a full padding-only 4-D attention mask.

The Matryoshka-style losses call :meth:`features` once and pool as many
``(layer, dim)`` sub-models from it as they need; nothing is monkey-patched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mantissa.embed.pooling import build_pooling
from mantissa.errors import ConfigError, ShapeError

_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass
class Features:
    """Hidden states of every layer ``(n_layers + 1) x (batch, time, hidden)`` and the mask."""

    hidden_states: tuple[torch.Tensor, ...]
    mask: torch.Tensor

    @property
    def n_layers(self) -> int:
        return len(self.hidden_states) - 1

    def __len__(self) -> int:
        return int(self.mask.shape[0])


class HashTokenizer:
    """Word-level tokenizer hashing lower-cased words into ``vocab_size`` buckets.

    ids: 0 = [PAD], 1 = [CLS], 2.. = hashed words. Callable like a HF tokenizer
    for unpadded ids: ``tok(texts, truncation=True, max_length=32)["input_ids"]``.
    """

    pad_token_id = 0
    cls_token_id = 1

    def __init__(self, vocab_size: int = 4096) -> None:
        if vocab_size < 3:
            raise ConfigError(f"HashTokenizer needs vocab_size >= 3, got {vocab_size}")
        self.vocab_size = vocab_size

    def word_id(self, word: str) -> int:
        h = int.from_bytes(hashlib.blake2b(word.lower().encode(), digest_size=8).digest(), "little")
        return 2 + h % (self.vocab_size - 2)

    def __call__(self, texts: Sequence[str], truncation: bool = True, max_length: int = 64,
                 **_: Any) -> dict[str, list[list[int]]]:
        ids = [[self.cls_token_id] + [self.word_id(w) for w in _WORD.findall(t)] for t in texts]
        return {"input_ids": [x[:max_length] if truncation else x for x in ids]}


class _Output:
    def __init__(self, hidden_states: tuple[torch.Tensor, ...]) -> None:
        self.hidden_states = hidden_states
        self.last_hidden_state = hidden_states[-1]


class TinyBackbone(nn.Module):
    """A small transformer encoder from scratch with a HF-like ``forward``.

    ``forward(input_ids, attention_mask, output_hidden_states=True)`` returns an
    object with ``hidden_states`` (embedding output + every layer) and
    ``last_hidden_state``. ``causal=True`` makes it a decoder (for testing
    ``bidirectional``).
    """

    def __init__(self, vocab_size: int = 4096, hidden: int = 64, layers: int = 4, heads: int = 4,
                 max_length: int = 128, causal: bool = False, dropout: float = 0.1) -> None:
        super().__init__()
        self.config = type("TinyConfig", (), {"hidden_size": hidden, "num_hidden_layers": layers,
                                              "is_decoder": causal, "vocab_size": vocab_size})()
        self.tok = nn.Embedding(vocab_size, hidden)
        self.pos = nn.Embedding(max_length, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, dropout, batch_first=True, norm_first=True)
            for _ in range(layers)
        )
        self.causal = causal

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                output_hidden_states: bool = True, full_attention: bool = False, **_: Any) -> _Output:
        t = input_ids.shape[1]
        x = self.norm(self.tok(input_ids) + self.pos(torch.arange(t, device=input_ids.device)))
        pad = None if attention_mask is None else attention_mask == 0
        causal = None
        if self.causal and not full_attention:
            causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        states = [x]
        for layer in self.layers:
            x = layer(x, src_mask=causal, src_key_padding_mask=pad)
            states.append(x)
        return _Output(tuple(states))


class Encoder(nn.Module):
    """Backbone + tokenizer + pooling; embeddings at any ``(layer, dim)``.

    >>> enc = Encoder.tiny(hidden=32, layers=2)
    >>> enc(["a cat", "a dog"], layer=1, dim=16).shape
    torch.Size([2, 16])
    """

    def __init__(self, backbone: nn.Module, tokenizer: Any, *, pooling: str = "mean",
                 max_length: int = 64, name: str = "encoder", bidirectional: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.name = name
        self.bidirectional = bidirectional
        self.pooling_spec = pooling
        self.pooling = build_pooling(pooling, self.dim)
        self._token_cache: dict[str, list[int]] = {}

    # -- construction -------------------------------------------------------
    @classmethod
    def from_minilm(cls, *, pooling: str = "mean", max_length: int = 64) -> Encoder:
        """The packaged all-MiniLM-L6-v2 (6 layers, 384 dims), a fresh copy."""
        from mantissa.data import load_minilm

        m = load_minilm()
        return cls(m.model, m.tokenizer, pooling=pooling, max_length=max_length, name=m.name)

    @classmethod
    def from_hf(cls, model: Any, tokenizer: Any, **kwargs: Any) -> Encoder:
        """Any HF model whose forward takes ``input_ids``/``attention_mask`` and returns hidden states."""
        return cls(model, tokenizer, **kwargs)

    @classmethod
    def tiny(cls, *, hidden: int = 64, layers: int = 4, heads: int = 4, vocab_size: int = 4096,
             pooling: str = "mean", max_length: int = 64, causal: bool = False,
             bidirectional: bool = False, dropout: float = 0.1) -> Encoder:
        """A small from-scratch encoder with a hashing word tokenizer (fast tests)."""
        backbone = TinyBackbone(vocab_size, hidden, layers, heads, max(max_length, 8), causal, dropout)
        return cls(backbone, HashTokenizer(vocab_size), pooling=pooling, max_length=max_length,
                   name=f"tiny-{layers}x{hidden}", bidirectional=bidirectional)

    # -- shape --------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.backbone.config.hidden_size)

    @property
    def n_layers(self) -> int:
        return int(self.backbone.config.num_hidden_layers)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def check_submodel(self, layer: int | None, dim: int | None) -> tuple[int, int]:
        """Resolve ``None``/negative to the full model; raise on a pair beyond the model."""
        layer = self.n_layers if layer is None else (self.n_layers + 1 + layer if layer < 0 else layer)
        dim = self.dim if dim is None else dim
        if not 0 <= layer <= self.n_layers:
            raise ShapeError(f"layer {layer} is beyond the model: {self.name} has layers 0..{self.n_layers} "
                             "(0 = embedding output)")
        if not 1 <= dim <= self.dim:
            raise ShapeError(f"dim {dim} is beyond the model: {self.name} has embedding dims 1..{self.dim}")
        return layer, dim

    # -- tokenization -------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded ``input_ids``/``attention_mask``; each distinct text is tokenized once."""
        if isinstance(texts, str):
            texts = [texts]
        if len(texts) == 0:
            raise ShapeError("empty batch: expected at least one text")
        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad:
            raise ConfigError(f"texts must be strings; got {bad[0]}")
        new = [t for t in dict.fromkeys(texts) if t not in self._token_cache]
        if new:
            ids = self.tokenizer(new, truncation=True, max_length=self.max_length)["input_ids"]
            self._token_cache.update(zip(new, (list(x) for x in ids)))
        rows = [self._token_cache[t] for t in texts]
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            input_ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        dev = self.device
        return {"input_ids": input_ids.to(dev), "attention_mask": mask.to(dev)}

    # -- forward ------------------------------------------------------------
    def features(self, texts: Sequence[str]) -> Features:
        """One forward pass; the hidden states of every layer."""
        batch = self.tokenize(texts)
        mask = batch["attention_mask"]
        kwargs: dict[str, Any] = {"output_hidden_states": True}
        if self.bidirectional:
            if isinstance(self.backbone, TinyBackbone):
                kwargs["full_attention"] = True
            else:  # a 4-D mask with padding only: no causal triangle (NV-Embed §3.1)
                keep = mask[:, None, None, :].bool().expand(-1, 1, mask.shape[1], -1)
                batch["attention_mask"] = torch.zeros(keep.shape, device=mask.device).masked_fill(
                    ~keep, torch.finfo(torch.float32).min)
        out = self.backbone(**batch, **kwargs)
        return Features(tuple(out.hidden_states), mask)

    def pool(self, feats: Features, layer: int | None = None, dim: int | None = None) -> torch.Tensor:
        """The ``(layer, dim)`` sub-model embedding (not normalised)."""
        layer, dim = self.check_submodel(layer, dim)
        return self.pooling(feats.hidden_states[layer], feats.mask)[:, :dim]

    def forward(self, texts: Sequence[str], layer: int | None = None, dim: int | None = None) -> torch.Tensor:
        return self.pool(self.features(texts), layer, dim)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], *, batch_size: int = 64, layers: Sequence[int] | None = None,
               normalize: bool = True) -> torch.Tensor | dict[int, torch.Tensor]:
        """Embeddings without gradients, in eval mode, sorted by length for speed.

        With ``layers`` given, returns ``{layer: (n, hidden)}`` (one pass for all
        layers; truncate the dims yourself and re-normalise).
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        want = [self.check_submodel(layer, None)[0] for layer in (layers or [self.n_layers])]
        was_training = self.training
        self.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = {layer: torch.empty(len(texts), self.dim) for layer in want}
        try:
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                feats = self.features([texts[i] for i in idx])
                for layer in want:
                    e = self.pool(feats, layer).float().cpu()
                    out[layer][torch.tensor(idx)] = nn.functional.normalize(e, dim=-1) if normalize else e
        finally:
            self.train(was_training)
        return out if layers is not None else out[want[0]]

    def freeze_below(self, layer: int) -> int:
        """Freeze the embeddings and the transformer layers below ``layer`` (1-based); returns
        how many parameters still train. Works for BERT-family and :class:`TinyBackbone`."""
        b = self.backbone
        emb = getattr(b, "embeddings", None) or nn.ModuleList([b.tok, b.pos, b.norm])
        blocks = b.encoder.layer if hasattr(b, "encoder") else b.layers
        for p in emb.parameters():
            p.requires_grad_(False)
        for i, block in enumerate(blocks, start=1):
            for p in block.parameters():
                p.requires_grad_(i >= layer)
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class TwoTower(nn.Module):
    """A two-modality model: an MLP tower for raw features (e.g. 8×8 digit images) and a
    linear head (identity at init) on precomputed, frozen text embeddings (e.g. MiniLM's).

    ``forward(features, text_embeddings) -> (a, b)``, both ``(batch, dim)`` and unnormalised.
    """

    def __init__(self, in_features: int, text_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.image = nn.Sequential(nn.Linear(in_features, hidden), nn.GELU(), nn.Linear(hidden, text_dim))
        self.text = nn.Linear(text_dim, text_dim)
        with torch.no_grad():
            self.text.weight.copy_(torch.eye(text_dim))
            self.text.bias.zero_()

    def forward(self, features: torch.Tensor,
                text_embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if features.shape[0] != text_embeddings.shape[0]:
            raise ShapeError(f"{features.shape[0]} inputs but {text_embeddings.shape[0]} text embeddings")
        return self.image(features), self.text(text_embeddings)
