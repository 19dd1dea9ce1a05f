"""Hierarchical visual features and a feature router, after SVE-Math.

Zhang et al. 2025, "Open Eyes, Then Reason: Fine-grained Visual Mathematical
Understanding in MLLMs" (SVE-Math), §3: a geometry-grounded vision encoder (GeoGLIP)
yields feature maps at several levels of its hierarchy; a **feature router** produces
soft weights over those levels and feeds their weighted combination to the language
model, so that each input gets the levels its reasoning needs::

    w = softmax( MLP([pool(F_1); ...; pool(F_L); q]) ),   V = Σ_l  w_l · LN_l(F_l)

(``F_l``: the ``(T, d)`` token features after block ``l`` of the encoder; ``q``: the
question embedding where the downstream head has one, our reading of "dynamically
adjusts the contribution of hierarchical visual feature maps"; the paper routes between
GeoGLIP's multi-scale maps and CLIP's features).

* :func:`layer_features` — the token features after every block of a
  :class:`~mantissa.models.tiny_vit.TinyViT` (the encoder of both arms);
* :class:`FeatureRouter` — the routing above; ``n_levels=1`` degenerates to ``LN(F)``;
* :class:`QuestionHead` — the small "reasoner": a question token prepended to the routed
  visual tokens, one bidirectional ViT block, an answer classifier on the question token.
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.errors import ShapeError
from mantissa.models.tiny_vit import TinyViT, TinyViTConfig, ViTBlock, patchify


def layer_features(vit: TinyViT, images: torch.Tensor) -> torch.Tensor:
    """``(B, n_layer, tokens, d_model)``: the residual stream after each block."""
    x = vit.embed(patchify(images, vit.cfg.patch)) + vit.pos
    out = []
    for blk in vit.blocks:
        x = blk(x)
        out.append(x)
    return torch.stack(out, dim=1)


class FeatureRouter(nn.Module):
    """``forward(feats (B, L, T, d), query (B, dq) | None) -> ((B, T, d), weights (B, L))``."""

    def __init__(self, n_levels: int, d_model: int, d_query: int = 0, hidden: int = 64) -> None:
        super().__init__()
        self.n_levels, self.d_query = n_levels, d_query
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_levels))
        self.mlp = nn.Sequential(nn.Linear(n_levels * d_model + d_query, hidden), nn.GELU(),
                                 nn.Linear(hidden, n_levels))

    def forward(self, feats: torch.Tensor,
                query: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if feats.dim() != 4 or feats.shape[1] != self.n_levels:
            raise ShapeError(f"feats must be (B, {self.n_levels}, T, d), got {tuple(feats.shape)}")
        normed = torch.stack([n(feats[:, i]) for i, n in enumerate(self.norms)], dim=1)
        pooled = normed.mean(dim=2).flatten(1)
        if self.d_query:
            if query is None or query.shape != (feats.shape[0], self.d_query):
                raise ShapeError(f"this router needs a (B, {self.d_query}) query")
            pooled = torch.cat([pooled, query], dim=1)
        w = torch.softmax(self.mlp(pooled), dim=-1)
        return (w[:, :, None, None] * normed).sum(dim=1), w


class QuestionHead(nn.Module):
    """Answer logits from ``(B, L, T, d)`` level features and question ids: routed tokens (or the
    last level alone with ``levels="last"``), a question token, one ViT block, a classifier."""

    def __init__(self, n_levels: int, d_model: int, n_questions: int, n_answers: int, n_tokens: int,
                 levels: str = "router", n_head: int = 4) -> None:
        super().__init__()
        self.levels = levels
        self.question = nn.Embedding(n_questions, d_model)
        self.router = FeatureRouter(n_levels if levels == "router" else 1, d_model, d_query=d_model)
        self.pos = nn.Parameter(torch.randn(n_tokens + 1, d_model) * 0.02)
        self.block = ViTBlock(TinyViTConfig(d_model=d_model, n_head=n_head, d_ff=2 * d_model))
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, n_answers)

    def forward(self, feats: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        q = self.question(questions)
        if self.levels != "router":
            feats = feats[:, -1:]
        routed, _ = self.router(feats, q)
        x = torch.cat([q[:, None], routed], dim=1) + self.pos
        return self.out(self.norm(self.block(x)[:, 0]))
