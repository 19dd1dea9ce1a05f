"""ImageBind-LLM's bind network and zero-initialised gated injection (paper:
"ImageBind-LLM: Multi-modality Instruction Tuning", Han et al. 2023, Sec. 3.2).

A frozen image encoder's global feature ``F_I`` goes through a learnable *bind
network*: a projection, residual feed-forward blocks and an output projection to
the LM width, ``T_I = BindNetwork(F_I)``. ``T_I`` is then added to the word
tokens of *every* transformer layer of a frozen LM through a learnable gating
factor initialised to zero (the paper's attention-free zero-initialised
injection), ``h_l <- h_l + g_l * T_I``. With every ``g_l = 0`` the LM's output
is exactly unchanged, so training starts from the pretrained LM; only the bind
network and the gates are trained.

The injection is attached to :class:`mantissa.models.transformer.Transformer` with
forward pre-hooks on its blocks (the transformer's code is not touched):

>>> lm = Transformer(TransformerConfig(vocab_size=12, n_layer=2, d_model=16, n_head=2))
>>> inj = GatedInjection(BindNetwork(8, 16), n_layer=2).attach(lm)
>>> inj(lm, torch.zeros(3, 5, dtype=torch.long), torch.randn(3, 8)).shape
torch.Size([3, 5, 12])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.models.transformer import Transformer, TransformerConfig  # noqa: F401  (doctest names)

__all__ = ["BindNetwork", "GatedInjection", "InjectedLM", "VisualCache", "freeze"]


class _ResidualFFN(nn.Module):
    """``x + W2 (SiLU(W1 norm(x)) * W3 norm(x))`` (the bind network's block)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.w1, self.w3 = nn.Linear(d, 4 * d), nn.Linear(d, 4 * d)
        self.w2 = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        return x + self.w2(nn.functional.silu(self.w1(h)) * self.w3(h))


class BindNetwork(nn.Module):
    """Projection ``d_in -> d_hidden``, ``n_blocks`` residual FFN blocks, projection to ``d_model``."""

    def __init__(self, d_in: int, d_model: int, d_hidden: int | None = None, n_blocks: int = 3) -> None:
        super().__init__()
        d_hidden = d_model if d_hidden is None else d_hidden
        for name, v in (("d_in", d_in), ("d_model", d_model), ("d_hidden", d_hidden)):
            if not isinstance(v, int) or v <= 0:
                raise ConfigError(f"BindNetwork {name} must be a positive int, got {v!r}")
        if not isinstance(n_blocks, int) or n_blocks < 0:
            raise ConfigError(f"BindNetwork n_blocks must be an int >= 0, got {n_blocks!r}")
        self.d_in = d_in
        self.proj_in = nn.Linear(d_in, d_hidden)
        self.blocks = nn.Sequential(*(_ResidualFFN(d_hidden) for _ in range(n_blocks)))
        self.proj_out = nn.Linear(d_hidden, d_model)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.dim() != 2 or feats.shape[1] != self.d_in:
            raise ConfigError(f"BindNetwork expects features of shape (batch, {self.d_in}), "
                              f"got {tuple(feats.shape)}")
        return self.proj_out(self.blocks(self.proj_in(feats)))


class GatedInjection(nn.Module):
    """A bind network plus one zero-initialised gate per LM layer.

    :meth:`attach` hooks every block of a :class:`Transformer`; inside
    :meth:`conditioned` (or via ``inj(lm, idx, feats)``) each block's input becomes
    ``x + gate[l] * bind(feats)[:, None, :]``. Outside it the hooks do nothing.
    """

    def __init__(self, bind: BindNetwork, n_layer: int) -> None:
        super().__init__()
        if not isinstance(n_layer, int) or n_layer <= 0:
            raise ConfigError(f"GatedInjection n_layer must be a positive int, got {n_layer!r}")
        self.bind = bind
        self.gates = nn.Parameter(torch.zeros(n_layer))
        self._visual: torch.Tensor | None = None
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def attach(self, lm: Transformer) -> GatedInjection:
        """Hook every block of ``lm`` (its layer count must equal the gate count)."""
        if len(lm.blocks) != self.gates.numel():
            raise ConfigError(f"LM has {len(lm.blocks)} blocks but GatedInjection has "
                              f"{self.gates.numel()} gates; build it with n_layer={len(lm.blocks)}")
        d_model = lm.cfg.d_model
        if self.bind.proj_out.out_features != d_model:
            raise ConfigError(f"bind network outputs {self.bind.proj_out.out_features} features "
                              f"but the LM width is {d_model}")
        self.detach()
        for i, block in enumerate(lm.blocks):
            self._handles.append(block.register_forward_pre_hook(self._hook(i)))
        return self

    def detach(self) -> None:
        """Remove the hooks (the LM is then exactly the plain LM again)."""
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, layer: int):
        def hook(_module: nn.Module, args: tuple) -> tuple | None:
            if self._visual is None:
                return None
            x = args[0]
            return (x + self.gates[layer] * self._visual[:, None, :].to(x.dtype), *args[1:])
        return hook

    @contextmanager
    def conditioned(self, feats: torch.Tensor) -> Iterator[torch.Tensor]:
        """Within the block, hooked LMs see ``bind(feats)`` (yielded) injected at every layer."""
        if not self._handles:
            raise ConfigError("GatedInjection is not attached to an LM; call .attach(lm) first")
        self._visual = self.bind(feats)
        try:
            yield self._visual
        finally:
            self._visual = None

    def forward(self, lm: Transformer, idx: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """Logits of ``lm(idx)`` conditioned on image features ``feats`` (B, d_in)."""
        if feats.shape[0] != idx.shape[0]:
            raise ConfigError(f"{feats.shape[0]} feature rows for a batch of {idx.shape[0]} sequences")
        with self.conditioned(feats):
            return lm(idx)


class InjectedLM(nn.Module):
    """An LM and its attached :class:`GatedInjection` as one module: ``model(idx, feats)`` is
    ``inj(lm, idx, feats)``, so a trainer sees the bind network and gates as parameters."""

    def __init__(self, lm: Transformer, inj: GatedInjection) -> None:
        super().__init__()
        self.lm, self.inj = lm, inj

    def forward(self, idx: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.inj(self.lm, idx, feats)


def freeze(module: nn.Module) -> nn.Module:
    """Set ``requires_grad=False`` on every parameter of ``module`` (returned)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class VisualCache(nn.Module):
    """ImageBind-LLM's training-free visual cache (inference only).

    A query feature (from any modality's encoder) retrieves its ``k`` most
    cosine-similar features from a cache of *image* features; their
    similarity-softmax-weighted mean (temperature ``tau``) is blended with the
    query, ``f' = alpha * retrieved + (1 - alpha) * f``, to pull a
    non-image query towards the image features the bind network was trained on.
    The defaults (k=10, alpha=0.5, tau=20) are this module's choice.
    """

    def __init__(self, keys: torch.Tensor, k: int = 10, alpha: float = 0.5, tau: float = 20.0) -> None:
        super().__init__()
        if keys.dim() != 2 or keys.shape[0] == 0:
            raise ConfigError(f"VisualCache keys must be a non-empty (n, d) tensor, got {tuple(keys.shape)}")
        if not isinstance(k, int) or not 1 <= k <= keys.shape[0]:
            raise ConfigError(f"VisualCache k must be an int in [1, {keys.shape[0]}], got {k!r}")
        if not 0.0 <= alpha <= 1.0 or tau <= 0:
            raise ConfigError(f"VisualCache needs alpha in [0, 1] and tau > 0, got {alpha}, {tau}")
        self.register_buffer("keys", keys.detach().clone())
        self.k, self.alpha, self.tau = k, alpha, tau

    @torch.no_grad()
    def forward(self, query: torch.Tensor) -> torch.Tensor:
        if query.dim() != 2 or query.shape[1] != self.keys.shape[1]:
            raise ConfigError(f"VisualCache expects queries of shape (batch, {self.keys.shape[1]}), "
                              f"got {tuple(query.shape)}")
        sims = nn.functional.normalize(query, dim=-1) @ nn.functional.normalize(self.keys, dim=-1).T
        top, idx = sims.topk(self.k, dim=-1)
        w = (top * self.tau).softmax(-1)
        retrieved = (w[..., None] * self.keys[idx]).sum(1)
        return self.alpha * retrieved + (1 - self.alpha) * query
