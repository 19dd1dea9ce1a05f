"""A compact decoder-only transformer (GPT-2 shape, pre-norm), in one file.

Every swappable piece is a registry slot chosen by name in
:class:`TransformerConfig`: ``attention`` (:data:`~mantissa.nn.slots.ATTENTION`,
e.g. ``softmax``), ``pe`` (:data:`~mantissa.nn.slots.POSITIONAL`: ``ape``,
``sinusoidal``, ``t5``, ``alibi``, ``rope``, ``nope``, ``abacus``, ``fire``),
``ffn`` (``gelu``, ``relu``, ``swiglu``) and ``norm`` (``layernorm``,
``rmsnorm``). Spec strings work too: ``pe="abacus:max_offset=20"``.

>>> cfg = TransformerConfig(vocab_size=20, n_layer=2, d_model=32, n_head=4, pe="rope")
>>> model = Transformer(cfg)
>>> model(torch.zeros(3, 7, dtype=torch.long)).shape
torch.Size([3, 7, 20])
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.nn import blocks as _blocks  # noqa: F401  (registers FFNs and norms)
from mantissa.nn import positional as _positional  # noqa: F401  (registers encodings)
from mantissa.nn.slots import ATTENTION, FFN, NORM, POSITIONAL
from mantissa.registry import Spec


@dataclass
class TransformerConfig:
    """Shape and parts of a :class:`Transformer` (every field settable as ``model.<key>=``)."""

    vocab_size: int = 32
    n_layer: int = 2
    n_head: int = 4
    d_model: int = 128
    d_ff: int = 0  # 0 -> 4 * d_model
    max_len: int = 256
    pe: str = "ape"
    attention: str = "softmax"
    ffn: str = "gelu"
    norm: str = "layernorm"
    dropout: float = 0.0
    tie_weights: bool = True
    digit_tokens: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for key in ("vocab_size", "n_layer", "n_head", "d_model", "max_len"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"model.{key} must be positive, got {getattr(self, key)}")
        if self.d_ff < 0:
            raise ConfigError(f"model.d_ff must be >= 0 (0 = 4 * d_model), got {self.d_ff}")
        if self.d_model % self.n_head:
            raise ConfigError(f"d_model={self.d_model} must be divisible by n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")
        for reg, key in ((ATTENTION, "attention"), (POSITIONAL, "pe"), (FFN, "ffn"), (NORM, "norm")):
            reg.get(Spec.parse(getattr(self, key)).name)  # unknown names fail here, listing valid ones


def attention_kernel(spec: str) -> Callable[..., torch.Tensor]:
    """The attention kernel named by ``spec`` (arguments become keyword defaults)."""
    parsed = Spec.parse(spec)
    kernel = ATTENTION.get(parsed.name)
    if parsed.args:
        raise ConfigError(f"attention spec {spec!r}: give kernel arguments as key=value")
    if isinstance(kernel, type):  # stateful kernel (an nn.Module class): one instance per layer
        return kernel(**parsed.kwargs)
    return functools.partial(kernel, **parsed.kwargs) if parsed.kwargs else kernel


def _build(registry: Any, spec: str, **extra: Any) -> Any:
    parsed = Spec.parse(spec)
    return registry.build(Spec(parsed.name, parsed.args, {**extra, **parsed.kwargs}))


class SelfAttention(nn.Module):
    """Multi-head causal self-attention with a pluggable kernel and PE hooks."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.kernel = attention_kernel(cfg.attention)

    def forward(self, x: torch.Tensor, pe: nn.Module, bias: torch.Tensor | None,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        q, k = pe.rotate(q, k)
        y = self.kernel(q, k, v, bias=bias, causal=True, key_padding_mask=key_padding_mask)
        return self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))


class Block(nn.Module):
    """Pre-norm block: x + attn(norm(x)); x + ffn(norm(x))."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.norm1 = _build(NORM, cfg.norm, d_model=cfg.d_model)
        self.attn = SelfAttention(cfg)
        self.norm2 = _build(NORM, cfg.norm, d_model=cfg.d_model)
        self.ffn = _build(FFN, cfg.ffn, d_model=cfg.d_model, d_ff=cfg.d_ff or 4 * cfg.d_model,
                          dropout=cfg.dropout)

    def forward(self, x: torch.Tensor, pe: nn.Module, bias: torch.Tensor | None,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), pe, bias, key_padding_mask)
        return x + self.ffn(self.norm2(x))


class Transformer(nn.Module):
    """Decoder-only language model: ``forward(idx) -> logits (B, T, vocab)``."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pe = _build(POSITIONAL, cfg.pe, d_model=cfg.d_model, n_head=cfg.n_head, max_len=cfg.max_len,
                         digit_tokens=tuple(cfg.digit_tokens), vocab_size=cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = _build(NORM, cfg.norm, d_model=cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init)
        if cfg.tie_weights:
            self.head.weight = self.wte.weight
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith(("attn.proj.weight", "ffn.proj.weight", "ffn.w2.weight")):
                nn.init.normal_(p, std=0.02 / (2 * cfg.n_layer) ** 0.5)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding) and m.weight.shape[0] > 0:
            nn.init.normal_(m.weight, std=0.02)

    def features(self, idx: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                 all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """Final-norm hidden states ``(B, T, d_model)``; with ``all_layers`` the
        residual stream after the embedding and after every block (unnormalised)."""
        if idx.dim() != 2:
            raise ConfigError(f"expected token ids of shape (batch, time), got {tuple(idx.shape)}")
        t = idx.shape[1]
        x = self.drop(self.pe.embed(idx, self.wte(idx)))
        bias = self.pe.attn_bias(t, t, idx.device)
        states = [x]
        for block in self.blocks:
            x = block(x, self.pe, bias, key_padding_mask)
            states.append(x)
        return states if all_layers else self.norm_f(x)

    def forward(self, idx: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(idx, key_padding_mask))

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def generate(self, prompts: Sequence[Sequence[int]], max_new: int, stop: int | None = None,
                 batch_size: int = 512) -> list[list[int]]:
        """Greedy decoding. Prompts are grouped by length (no padding, so every
        positional encoding sees the positions it was trained on); each output
        stops before ``stop`` (or after ``max_new`` tokens)."""
        was = self.training
        self.eval()
        groups: dict[int, list[int]] = defaultdict(list)
        for i, p in enumerate(prompts):
            groups[len(p)].append(i)
        out: list[list[int]] = [[] for _ in prompts]
        device = next(self.parameters()).device
        for _, members in sorted(groups.items()):
            for s in range(0, len(members), batch_size):
                chunk = members[s:s + batch_size]
                idx = torch.tensor([list(prompts[i]) for i in chunk], dtype=torch.long, device=device)
                done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
                for _ in range(max_new):
                    nxt = self(idx)[:, -1].argmax(-1)
                    idx = torch.cat([idx, nxt[:, None]], dim=1)
                    if stop is not None:
                        done |= nxt == stop
                        if bool(done.all()):
                            break
                gen = idx[:, len(prompts[chunk[0]]):].tolist()
                for i, g in zip(chunk, gen):
                    out[i] = g[: g.index(stop)] if stop is not None and stop in g else g
        self.train(was)
        return out


def config_from_dict(data: dict[str, Any]) -> TransformerConfig:
    """Rebuild a :class:`TransformerConfig` from ``dataclasses.asdict`` output."""
    names = {f.name for f in dataclasses.fields(TransformerConfig)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown transformer config keys {unknown}; valid keys: {sorted(names)}")
    data = dict(data)
    if "digit_tokens" in data:
        data["digit_tokens"] = tuple(data["digit_tokens"])
    return TransformerConfig(**data)
