"""Positional encodings, registered by name in :data:`mantissa.nn.slots.POSITIONAL`.

Every encoding is a :class:`PositionalEncoding` module with three hooks the
transformer calls; each defaults to "do nothing", so an encoding only overrides
what it changes:

* ``embed(idx, h)`` — add to the token embeddings ``h`` (absolute encodings);
* ``attn_bias(t_q, t_k)`` — an additive score bias ``(heads, t_q, t_k)``
  (relative encodings: T5, ALiBi, FIRE);
* ``rotate(q, k)`` — transform queries and keys (RoPE).

Build one with ``POSITIONAL.build("alibi", d_model=..., n_head=..., max_len=...)``
(the transformer passes those three, plus ``digit_tokens`` for ``abacus``).

Names and papers:

* ``nope`` — no positional information; causal masking alone (Kazemnejad et al.,
  2023, "The Impact of Positional Encoding on Length Generalization").
* ``ape`` — learned absolute position embeddings (GPT-2).
* ``sinusoidal`` — fixed sin/cos embeddings (Vaswani et al., 2017, Sec. 3.5).
* ``t5`` — learned relative bias over log-spaced buckets (Raffel et al., 2020).
* ``alibi`` — linear distance penalty ``-m_h (i - j)`` with geometric slopes
  ``m_h = 2^(-8h/H)`` (Press et al., 2022, Eq. in Sec. 3).
* ``rope`` — rotary embeddings ``R(θ_i·pos)`` on q and k, ``θ_i = 10000^(-2i/d)``
  (Su et al., 2021, Eq. 34).
* ``abacus`` — each digit gets the embedding of its index within its number,
  with a random offset during training (McLeish et al., 2024, Sec. 3).
* ``fire`` — bias ``f_θ(ψ(i-j) / ψ(max(i, L)))`` with ``ψ(x) = log(cx + 1)``
  and a small MLP ``f_θ`` (Li et al., 2023, Eq. 6).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.slots import POSITIONAL


class PositionalEncoding(nn.Module):
    """Base class: every hook is the identity."""

    name = "base"

    def embed(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return h

    def attn_bias(self, t_q: int, t_k: int, device: torch.device) -> torch.Tensor | None:
        return None

    def rotate(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return q, k


def _check_len(t: int, max_len: int, name: str) -> None:
    if t > max_len:
        raise ShapeError(f"sequence length {t} exceeds {name}'s max_len {max_len}; raise model.max_len")


@POSITIONAL.register("nope")
class NoPE(PositionalEncoding):
    """No positional encoding (the causal mask alone carries order)."""

    name = "nope"

    def __init__(self, **_: object) -> None:
        super().__init__()


@POSITIONAL.register("ape")
class LearnedAPE(PositionalEncoding):
    """Learned absolute position embeddings."""

    name = "ape"

    def __init__(self, d_model: int, max_len: int, **_: object) -> None:
        super().__init__()
        self.max_len = max_len
        self.wpe = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.wpe.weight, std=0.02)

    def embed(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        _check_len(idx.shape[1], self.max_len, "ape")
        return h + self.wpe(torch.arange(idx.shape[1], device=idx.device))


@POSITIONAL.register("sinusoidal")
class Sinusoidal(PositionalEncoding):
    """Fixed sinusoidal embeddings; defined for any length."""

    name = "sinusoidal"

    def __init__(self, d_model: int, **_: object) -> None:
        super().__init__()
        self.d_model = d_model

    def embed(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        t, d = idx.shape[1], self.d_model
        pos = torch.arange(t, device=idx.device, dtype=torch.float32)[:, None]
        freq = torch.arange(0, d, 2, device=idx.device, dtype=torch.float32)
        freq = torch.exp(freq * (-math.log(10000.0) / d))
        pe = torch.zeros(t, d, device=idx.device)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)[:, : d // 2]
        return h + pe.to(h.dtype)


def _t5_bucket(rel: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Unidirectional T5 bucketing of ``rel = i - j >= 0``: exact below
    ``num_buckets/2``, log-spaced up to ``max_distance``."""
    n = rel.clamp(min=0)
    exact = num_buckets // 2
    large = exact + (torch.log(n.float().clamp(min=1) / exact) / math.log(max_distance / exact)
                     * (num_buckets - exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return torch.where(n < exact, n, large)


@POSITIONAL.register("t5")
class T5Bias(PositionalEncoding):
    """T5 relative position bias (learned scalar per head and distance bucket)."""

    name = "t5"

    def __init__(self, n_head: int, num_buckets: int = 32, max_distance: int = 128, **_: object) -> None:
        super().__init__()
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.bias = nn.Embedding(num_buckets, n_head)
        nn.init.zeros_(self.bias.weight)

    def attn_bias(self, t_q: int, t_k: int, device: torch.device) -> torch.Tensor:
        i = torch.arange(t_k - t_q, t_k, device=device)[:, None]
        j = torch.arange(t_k, device=device)[None, :]
        buckets = _t5_bucket(i - j, self.num_buckets, self.max_distance)
        return self.bias(buckets).permute(2, 0, 1)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """ALiBi slopes 2^(-8h/H), h = 1..H (for non powers of two: the paper's
    interleaving of the next power's slopes)."""
    def pow2(n: int) -> list[float]:
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]
    if math.log2(n_head).is_integer():
        return torch.tensor(pow2(n_head))
    closest = 2 ** math.floor(math.log2(n_head))
    extra = pow2(2 * closest)[0::2][: n_head - closest]
    return torch.tensor(pow2(closest) + extra)


@POSITIONAL.register("alibi")
class ALiBi(PositionalEncoding):
    """Attention with linear biases: score -= m_h * (i - j)."""

    name = "alibi"

    def __init__(self, n_head: int, **_: object) -> None:
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(n_head), persistent=False)

    def attn_bias(self, t_q: int, t_k: int, device: torch.device) -> torch.Tensor:
        i = torch.arange(t_k - t_q, t_k, device=device)[:, None]
        j = torch.arange(t_k, device=device)[None, :]
        dist = (i - j).clamp(min=0).float()
        return -self.slopes.to(device)[:, None, None] * dist


@POSITIONAL.register("rope")
class RoPE(PositionalEncoding):
    """Rotary position embedding on queries and keys (pairs (x_{2i}, x_{2i+1}))."""

    name = "rope"

    def __init__(self, d_model: int, n_head: int, base: float = 10000.0, **_: object) -> None:
        super().__init__()
        head_dim = d_model // n_head
        if head_dim % 2:
            raise ConfigError(f"rope needs an even head dimension, got {head_dim} (d_model/n_head)")
        inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv, persistent=False)

    def angles(self, t: int, device: torch.device) -> torch.Tensor:
        """Rotation angles ``pos · θ_i`` of positions ``0..t-1``, shape ``(t, head_dim/2)``
        (the hook that RoPE-scaling variants in :mod:`mantissa.nn.rope_scaling` override)."""
        pos = torch.arange(t, device=device, dtype=torch.float32)
        return pos[:, None] * self.inv_freq.to(device)[None, :]

    def rotate(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t_k = k.shape[-2]
        ang = self.angles(t_k, k.device)
        return rotary(q, ang[t_k - q.shape[-2]:]), rotary(k, ang)


def rotary(x: torch.Tensor, ang: torch.Tensor) -> torch.Tensor:
    """Rotate the pairs ``(x_{2i}, x_{2i+1})`` of ``x (..., t, d)`` by ``ang (t, d/2)``."""
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def digit_positions(idx: torch.Tensor, digit_mask: torch.Tensor) -> torch.Tensor:
    """1-based index of each digit within its run of consecutive digits; 0 elsewhere.

    >>> mask = torch.tensor([False, True, True, False, True, False])
    >>> digit_positions(torch.tensor([[5, 1, 2, 3, 4, 4, 1]]), mask)
    tensor([[0, 1, 2, 0, 1, 2, 3]])
    """
    is_digit = digit_mask.to(idx.device)[idx].long()
    csum = is_digit.cumsum(dim=1)
    # count of digits seen before the most recent non-digit
    last_reset = torch.where(is_digit.bool(), torch.zeros_like(csum), csum).cummax(dim=1).values
    return (csum - last_reset) * is_digit


@POSITIONAL.register("abacus")
class Abacus(PositionalEncoding):
    """Abacus embeddings: per-digit position within its number, plus a random
    offset in ``[0, max_offset]`` per sequence while training."""

    name = "abacus"

    def __init__(self, d_model: int, digit_tokens: tuple[int, ...] = (), vocab_size: int = 0,
                 max_digits: int = 32, max_offset: int = 16, **_: object) -> None:
        super().__init__()
        if not digit_tokens:
            raise ConfigError("abacus needs the digit token ids (model.digit_tokens); "
                              "the char tokenizer's digit_ids gives them")
        size = max(vocab_size, max(digit_tokens) + 1)
        mask = torch.zeros(size, dtype=torch.bool)
        mask[list(digit_tokens)] = True
        self.register_buffer("digit_mask", mask, persistent=False)
        self.max_digits, self.max_offset = max_digits, max_offset
        self.wpe = nn.Embedding(max_digits + max_offset + 1, d_model)
        nn.init.normal_(self.wpe.weight, std=0.02)

    def embed(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        pos = digit_positions(idx, self.digit_mask)
        if pos.numel() and int(pos.max()) > self.max_digits:
            raise ShapeError(f"a number has more than abacus max_digits={self.max_digits} digits")
        if self.training and self.max_offset > 0:
            off = torch.randint(0, self.max_offset + 1, (idx.shape[0], 1), device=idx.device)
            pos = torch.where(pos > 0, pos + off, pos)
        return h + self.wpe(pos)


@POSITIONAL.register("fire")
class FIRE(PositionalEncoding):
    """Functional interpolation for relative positions (learned MLP bias)."""

    name = "fire"

    def __init__(self, n_head: int, hidden: int = 32, init_c: float = 0.1, init_L: float = 512.0,
                 **_: object) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, n_head))
        self.c = nn.Parameter(torch.tensor(init_c))
        self.L = nn.Parameter(torch.tensor(init_L))

    def attn_bias(self, t_q: int, t_k: int, device: torch.device) -> torch.Tensor:
        i = torch.arange(t_k - t_q, t_k, device=device, dtype=torch.float32)[:, None]
        j = torch.arange(t_k, device=device, dtype=torch.float32)[None, :]
        c = self.c.abs()

        def psi(x: torch.Tensor) -> torch.Tensor:
            return torch.log(c * x + 1)
        rel = psi((i - j).clamp(min=0)) / psi(torch.maximum(i, self.L.abs()))
        return self.mlp(rel[..., None]).permute(2, 0, 1)
