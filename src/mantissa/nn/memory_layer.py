"""MemoryFormer's Memory Layer: a hashed lookup table in place of ``nn.Linear``.

Ding et al., 2024, "MemoryFormer: Minimize Transformer Computation by Removing
Fully-Connected Layers" (NeurIPS 2024), Sec. 3.1:

* Eq. (5): the input ``x ∈ R^{d_in}`` is split into ``K = d_in / τ`` chunks
  ``z_k ∈ R^τ``; each is hashed by its sign pattern,
  ``h(z_k) = integer(sign(z_k)) ∈ [0, 2^τ)``, and the output is the sum of the
  hashed rows of ``K`` learnable tables ``T_k ∈ R^{2^τ × d_out}``:
  ``y = Σ_k T_k[h(z_k)]``.
* Eqs. (6)–(7): to let gradients reach ``x``, each row is weighted by the
  probability of its bucket under a softmax over all ``2^τ`` sign vectors
  ``b_i ∈ {-1, +1}^τ`` at temperature ``t``::

      y = Σ_k p(z_k) · T_k[h(z_k)],
      p(z_k) = exp(<sign(z_k), z_k>/t) / Σ_{i<2^τ} exp(<b_i, z_k>/t).

  The denominator factorises over the ``τ`` coordinates
  (``Σ_i exp(<b_i, z>/t) = Π_j 2 cosh(z_j/t)``), so
  ``p(z_k) = Π_j σ(2|z_j|/t)``: ``O(τ)`` work, computed here in log space.
  The table gets the gradient ``p(z_k) ∂L/∂y`` on the hashed row only (Eq. 8).

Bit ``j`` of the hash is ``z_j > 0`` (``z_j = 0`` hashes as negative), read
little-endian: ``h = Σ_j [z_j > 0] 2^j``.

FLOPs per token (:meth:`MemoryLinear.flops`): ``d_in`` sign tests plus
``4 d_in + K`` for the weights ``p`` (abs, scale, log-sigmoid, sum; one exp per
chunk), then ``K d_out`` multiplications of rows by ``p`` and ``K d_out``
additions — about ``2 d_in d_out / τ``, against ``2 d_in d_out`` for a dense
linear (:func:`dense_flops`). Index packing and the table reads are memory
traffic, not arithmetic, and are not counted (as in the paper).

>>> layer = MemoryLinear(16, 8, tau=4)
>>> layer(torch.randn(2, 3, 16)).shape
torch.Size([2, 3, 8])
"""

from __future__ import annotations

import fnmatch
import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.slots import FFN

MAX_TAU = 16


class MemoryLinear(nn.Module):
    """``d_in -> d_out`` by ``K = d_in / tau`` hashed table lookups (Eqs. 5–7)."""

    def __init__(self, d_in: int, d_out: int, tau: int = 8, temperature: float = 1.0,
                 init_std: float | None = None) -> None:
        super().__init__()
        if d_in <= 0 or d_out <= 0:
            raise ConfigError(f"MemoryLinear needs positive d_in and d_out, got {d_in}, {d_out}")
        if not 1 <= tau <= MAX_TAU:
            raise ConfigError(f"MemoryLinear tau (bits per chunk) must be in [1, {MAX_TAU}], got {tau}")
        if d_in % tau:
            raise ConfigError(f"MemoryLinear d_in={d_in} must be divisible by tau={tau}")
        if not temperature > 0:
            raise ConfigError(f"MemoryLinear temperature must be > 0, got {temperature}")
        self.d_in, self.d_out, self.tau, self.temperature = d_in, d_out, tau, float(temperature)
        self.n_chunks = d_in // tau
        std = 1.0 / math.sqrt(self.n_chunks) if init_std is None else init_std
        self.tables = nn.Parameter(torch.randn(self.n_chunks, 2 ** tau, d_out) * std)
        self.register_buffer("_bits", 2 ** torch.arange(tau), persistent=False)
        self.register_buffer("_offsets", torch.arange(self.n_chunks) * 2 ** tau, persistent=False)

    def extra_repr(self) -> str:
        return f"d_in={self.d_in}, d_out={self.d_out}, tau={self.tau}, temperature={self.temperature}"

    def _chunks(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.d_in:
            raise ShapeError(f"MemoryLinear expected inputs with last dim {self.d_in}, got {tuple(x.shape)}")
        return x.reshape(-1, self.n_chunks, self.tau)

    def hash_index(self, x: torch.Tensor) -> torch.Tensor:
        """Bucket of every chunk, ``(..., K)`` int64: ``Σ_j [z_j > 0] 2^j`` (Eq. 5)."""
        z = self._chunks(x)
        idx = ((z > 0).long() * self._bits).sum(-1)
        return idx.reshape(*x.shape[:-1], self.n_chunks)

    def bucket_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``p(z_k) = Π_j σ(2|z_j|/t)`` (Eq. 7 with its denominator factorised), ``(..., K)``."""
        z = self._chunks(x)
        p = F.logsigmoid(2 * z.abs() / self.temperature).sum(-1).exp()
        return p.reshape(*x.shape[:-1], self.n_chunks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        idx = self.hash_index(x).reshape(-1, self.n_chunks) + self._offsets
        p = self.bucket_prob(x).reshape(-1, self.n_chunks).to(self.tables.dtype)
        flat = self.tables.reshape(-1, self.d_out)
        y = F.embedding_bag(idx, flat, per_sample_weights=p, mode="sum")
        return y.reshape(*lead, self.d_out)

    def flops(self, tokens: int = 1) -> int:
        """Arithmetic operations for ``tokens`` inputs (see the module docstring)."""
        return tokens * (5 * self.d_in + self.n_chunks + 2 * self.n_chunks * self.d_out)


def dense_flops(d_in: int, d_out: int, tokens: int = 1, bias: bool = True) -> int:
    """FLOPs of ``nn.Linear(d_in, d_out)`` on ``tokens`` inputs: ``2 d_in d_out`` (+ ``d_out`` bias)."""
    return tokens * (2 * d_in * d_out + (d_out if bias else 0))


def linear_flops(module: nn.Module, tokens: int = 1) -> int:
    """FLOPs of every ``nn.Linear`` and :class:`MemoryLinear` inside ``module``."""
    total = 0
    for m in module.modules():
        if isinstance(m, MemoryLinear):
            total += m.flops(tokens)
        elif isinstance(m, nn.Linear):
            total += dense_flops(m.in_features, m.out_features, tokens, m.bias is not None)
    return total


class MemoryFFN(nn.Module):
    """MemoryFormer's feed-forward: two Memory Layers, ``d -> d_ff -> d``, with no
    activation between them (the sign hash is the non-linearity)."""

    def __init__(self, d_model: int, d_ff: int, tau: int = 8, temperature: float = 1.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.fc = MemoryLinear(d_model, d_ff, tau, temperature)
        self.proj = MemoryLinear(d_ff, d_model, tau, temperature, init_std=0.02)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(self.fc(x)))


@FFN.register("memory")
def memory_ffn(d_model: int, d_ff: int, tau: int = 8, temperature: float = 1.0, dropout: float = 0.0,
               **_: object) -> nn.Module:
    """``ffn="memory:tau=8,temperature=1.0"`` in a :class:`~mantissa.models.transformer.TransformerConfig`."""
    if not isinstance(tau, int) or not isinstance(temperature, (int, float)):
        raise ConfigError(f"ffn 'memory' takes an integer tau and a number temperature, got tau={tau!r}, "
                          f"temperature={temperature!r} (spec: memory:tau=8,temperature=1.0)")
    return MemoryFFN(d_model, d_ff, tau, float(temperature), dropout)


def swap_linears(model: nn.Module, pattern: str = "*", tau: int = 8, temperature: float = 1.0) -> list[str]:
    """Replace every ``nn.Linear`` whose qualified name matches the glob ``pattern``
    (e.g. ``"*.attn.*"``) and whose ``in_features`` divides by ``tau`` with a
    :class:`MemoryLinear` of the same shape; returns the names replaced. Linears
    sharing their weight with another module (a tied LM head) are left alone."""
    params = {id(p) for name, m in model.named_modules() if not isinstance(m, nn.Linear)
              for p in m.parameters(recurse=False)}
    names = [name for name, m in model.named_modules()
             if isinstance(m, nn.Linear) and fnmatch.fnmatchcase(name, pattern)
             and m.in_features % tau == 0 and id(m.weight) not in params]
    if not names:
        raise ConfigError(f"no nn.Linear matches {pattern!r} with in_features divisible by tau={tau}")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        old = getattr(parent, child)
        setattr(parent, child, MemoryLinear(old.in_features, old.out_features, tau, temperature))
    return names
