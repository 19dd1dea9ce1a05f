"""Fine-tuning only the top layers of an encoder on precomputed lower-layer states.

When the layers below ``start`` are frozen, their output for a text never changes,
so it can be computed once and reused by every step, seed and arm of an experiment
that fine-tunes the same frozen base. :class:`CachedTop` does that for a
:class:`mantissa.embed.encoder.Encoder` with a BERT-family backbone: ``precompute``
stores the hidden states after layer ``start`` (1-based; 0 = embedding output) of each
text, and ``forward(texts)`` runs only layers ``start+1..n`` and the encoder's pooling.
The states are computed in eval mode (no dropout in the frozen part); the trained
layers keep their dropout in train mode. In eval mode the output equals the
encoder's own ``forward`` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mantissa.embed.encoder import Encoder
from mantissa.errors import ConfigError, ShapeError


class CachedTop(nn.Module):
    """``encoder`` with its layers ``1..start`` frozen and their output cached per text.

    ``precompute(texts)`` must cover every text before ``forward``/``encode`` see it.
    Parameters of the encoder below ``start`` are frozen (``freeze_below(start + 1)``);
    ``pooling`` is the encoder's (its parameters are named ``encoder.pooling.*``). ``states``
    shares another instance's cache (:attr:`states`) built from the same frozen layers.
    """

    def __init__(self, encoder: Encoder, start: int, states: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        blocks = getattr(getattr(encoder.backbone, "encoder", None), "layer", None)
        if blocks is None:
            raise ConfigError("CachedTop needs a BERT-family backbone (backbone.encoder.layer)")
        if not 0 <= start < len(blocks):
            raise ConfigError(f"start must be in 0..{len(blocks) - 1} (at least one layer trains), "
                              f"got {start}")
        self.encoder, self.start = encoder, int(start)
        encoder.freeze_below(start + 1)
        self._states: dict[str, torch.Tensor] = {} if states is None else states

    @property
    def states(self) -> dict[str, torch.Tensor]:
        """The cache: text -> its layer-``start`` states ``(tokens, hidden)``."""
        return self._states

    @property
    def name(self) -> str:
        return f"{self.encoder.name}[cached<{self.start}]"

    @torch.no_grad()
    def precompute(self, texts: Sequence[str], batch_size: int = 64) -> int:
        """Store the layer-``start`` states of the texts not cached yet; returns how many."""
        new = [t for t in dict.fromkeys(texts) if t not in self._states]
        was = self.encoder.training
        self.encoder.eval()
        try:
            order = sorted(new, key=len)
            for i in range(0, len(order), batch_size):
                chunk = order[i : i + batch_size]
                feats = self.encoder.features(chunk)
                h, lengths = feats.hidden_states[self.start], feats.mask.sum(1).tolist()
                for t, row, n in zip(chunk, h, lengths):
                    self._states[t] = row[: int(n)].clone()
        finally:
            self.encoder.train(was)
        return len(new)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Pooled embeddings (not normalised) of cached texts through the top layers."""
        missing = [t for t in texts if t not in self._states]
        if missing:
            raise ShapeError(f"{len(missing)} text(s) were not precomputed, e.g. {missing[0][:60]!r}")
        rows = [self._states[t] for t in texts]
        width = max(len(r) for r in rows)
        dev = next(self.encoder.parameters()).device
        h = torch.zeros(len(rows), width, rows[0].shape[1], device=dev)
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=dev)
        for i, r in enumerate(rows):
            h[i, : len(r)], mask[i, : len(r)] = r, 1
        keep = mask[:, None, None, :].bool().expand(-1, 1, width, -1)
        additive = torch.zeros(keep.shape, device=dev).masked_fill(~keep, torch.finfo(torch.float32).min)
        for block in self.encoder.backbone.encoder.layer[self.start :]:
            out = block(h, additive)
            h = out[0] if isinstance(out, tuple) else out
        return self.encoder.pooling(h, mask)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 128, normalize: bool = True) -> torch.Tensor:
        """Embeddings in eval mode (precomputing any text not cached yet)."""
        texts = list(texts)
        self.precompute(texts)
        was = self.training
        self.eval()
        try:
            out = torch.cat([self(texts[i : i + batch_size]).float().cpu()
                             for i in range(0, len(texts), batch_size)])
        finally:
            self.train(was)
        return nn.functional.normalize(out, dim=-1) if normalize else out
