"""SNIP: a symbolic encoder and a numeric encoder trained with a symmetric contrastive loss.

Meidani, Shojaee, Reddy, Barati Farimani, 2024, "SNIP: Bridging Mathematical
Symbolic and Numeric Realms with Unified Pre-training" (ICLR), Sec. 3.

* :class:`SymbolicEncoder` — a bidirectional transformer over the prefix tokens
  of an expression (:mod:`mantissa.tasks.symbolic`); the token states are
  pooled (attention pooling as in SNIP, or mean) and projected: ``Z_S``.
* :class:`NumericEncoder` — the points ``(x_i, y_i)`` are embedded one by one
  (SNIP tokenises each float into sign/mantissa/exponent tokens; here each point
  is the feature vector ``[x, (y - ȳ)/σ_y, asinh(y)/4]`` through a two-layer MLP),
  then a transformer *without* positional encoding (the points form a set) and
  the same pooling and projection: ``Z_V``.
* :func:`snip_loss` — SNIP's objective (Eq. 1, CLIP's symmetric InfoNCE) over a
  batch of ``B`` pairs with unit-normalised ``z_S``, ``z_V`` and temperature ``τ``::

      L = -1/(2B) Σ_i [ log softmax_j(z_S_i·z_V_j/τ)_i + log softmax_j(z_V_i·z_S_j/τ)_i ]

  computed by :func:`mantissa.train.losses.info_nce` with ``symmetric=True``.
* :func:`retrieval_top1` — numeric-to-symbolic retrieval: for each value set,
  is its own expression the nearest symbolic embedding among all candidates?
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.embed.encoder import TinyBackbone
from mantissa.errors import ShapeError
from mantissa.train.losses import info_nce


@dataclass
class SNIPConfig:
    vocab_size: int = 22
    d_model: int = 64
    n_layer: int = 2
    n_head: int = 4
    d_embed: int = 64
    max_len: int = 48
    dropout: float = 0.0


class AttentionPool(nn.Module):
    """One learned query attending over the states: ``softmax(q·h_t / √d) h_t`` (masked)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.q = nn.Parameter(torch.zeros(d))
        self.k = nn.Linear(d, d)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s = (self.k(h) @ self.q) / h.shape[-1] ** 0.5
        w = s.masked_fill(~mask.bool(), float("-inf")).softmax(-1)
        return (w.unsqueeze(-1) * h).sum(1)


class SymbolicEncoder(nn.Module):
    """Prefix token ids ``(B, T)`` (0 = padding) -> embeddings ``(B, d_embed)``."""

    def __init__(self, cfg: SNIPConfig) -> None:
        super().__init__()
        self.backbone = TinyBackbone(cfg.vocab_size, cfg.d_model, cfg.n_layer, cfg.n_head, cfg.max_len,
                                     causal=False, dropout=cfg.dropout)
        self.pool = AttentionPool(cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_embed)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = tokens != 0
        h = self.backbone(tokens, attention_mask=mask.long()).last_hidden_state
        return self.proj(self.pool(h, mask))


def point_features(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-point features ``[x, (y - ȳ)/σ_y, asinh(y)/4]`` of ``x (P,)`` or ``(B, P)`` and ``y (B, P)``."""
    if y.dim() != 2:
        raise ShapeError(f"values must be (batch, points), got {tuple(y.shape)}")
    x = x.expand_as(y)
    z = (y - y.mean(1, keepdim=True)) / (y.std(1, keepdim=True) + 1e-6)
    return torch.stack([x, z, torch.asinh(y) / 4], dim=-1).float()


class NumericEncoder(nn.Module):
    """Points ``(B, P, 3)`` (see :func:`point_features`) -> embeddings ``(B, d_embed)``; order-free."""

    def __init__(self, cfg: SNIPConfig, n_features: int = 3) -> None:
        super().__init__()
        d = cfg.d_model
        self.embed = nn.Sequential(nn.Linear(n_features, d), nn.GELU(), nn.Linear(d, d))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d, cfg.n_head, 4 * d, cfg.dropout, batch_first=True, norm_first=True)
            for _ in range(cfg.n_layer))
        self.norm = nn.LayerNorm(d)
        self.pool = AttentionPool(d)
        self.proj = nn.Linear(d, cfg.d_embed)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        h = self.embed(points)
        for layer in self.layers:
            h = layer(h)
        h = self.norm(h)
        return self.proj(self.pool(h, torch.ones(h.shape[:2], dtype=torch.bool, device=h.device)))


class SNIP(nn.Module):
    """The dual encoder; ``forward(tokens, points) -> (z_S, z_V)`` (not normalised)."""

    def __init__(self, cfg: SNIPConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or SNIPConfig()
        self.symbolic = SymbolicEncoder(self.cfg)
        self.numeric = NumericEncoder(self.cfg)

    def forward(self, tokens: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.symbolic(tokens), self.numeric(points)

    @torch.no_grad()
    def embed(self, tokens: torch.Tensor, points: torch.Tensor,
              batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-normalised ``(z_S, z_V)`` in eval mode, in batches."""
        was = self.training
        self.eval()
        zs, zv = [], []
        for i in range(0, len(tokens), batch_size):
            t = tokens[i:i + batch_size]
            t = t[:, : int((t != 0).sum(1).max())]
            a, b = self(t, points[i:i + batch_size])
            zs.append(F.normalize(a, dim=-1))
            zv.append(F.normalize(b, dim=-1))
        self.train(was)
        return torch.cat(zs), torch.cat(zv)


def snip_loss(z_s: torch.Tensor, z_v: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """SNIP's symmetric InfoNCE (module docstring) between paired rows of ``z_s`` and ``z_v``."""
    return info_nce(z_s, z_v, temperature=temperature, symmetric=True)


def snip_batch_loss(model: SNIP, batch: dict[str, torch.Tensor],
                    temperature: float = 0.07) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer loss: ``batch`` holds ``tokens (B, T)`` and ``points (B, P, F)``; logs in-batch top-1."""
    z_s, z_v = model(batch["tokens"], batch["points"])
    loss = snip_loss(z_s, z_v, temperature)
    with torch.no_grad():
        acc = (F.normalize(z_v, dim=-1) @ F.normalize(z_s, dim=-1).T).argmax(1)
        acc = (acc == torch.arange(len(acc), device=acc.device)).float().mean()
    return loss, {"batch_top1": float(acc)}


def retrieval_top1(queries: torch.Tensor, candidates: torch.Tensor) -> float:
    """Fraction of rows ``i`` whose nearest candidate (cosine) is candidate ``i``; ties count as misses."""
    if queries.shape != candidates.shape:
        raise ShapeError(f"paired queries and candidates must match, got {tuple(queries.shape)} and "
                         f"{tuple(candidates.shape)}")
    s = F.normalize(queries, dim=-1) @ F.normalize(candidates, dim=-1).T
    own = s.diagonal()
    others = s.masked_fill(torch.eye(len(s), dtype=torch.bool), float("-inf")).max(1).values
    return float((own > others).float().mean())


def fit_snip(model: SNIP, tokens: torch.Tensor, points: torch.Tensor, *, steps: int, batch_size: int = 128,
             lr: float = 1e-3, temperature: float = 0.07, seed: int = 0) -> list[dict[str, float]]:
    """Contrastive pretraining of both encoders with :class:`~mantissa.train.Trainer`; the log history."""
    from mantissa.train import TensorBatches, TrainConfig, Trainer

    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=max(1, steps // 20),
                      weight_decay=0.01, log_every=max(1, steps // 10), seed=seed)
    batches = TensorBatches({"tokens": tokens, "points": points, "mask": tokens != 0}, batch_size, seed=seed)

    def loss_fn(m: SNIP, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return snip_batch_loss(m, {"tokens": batch["tokens"], "points": batch["points"]}, temperature)

    return Trainer(model, cfg, batches, loss_fn=loss_fn, progress_desc="SNIP contrastive").fit()
