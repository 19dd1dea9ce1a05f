"""MemoryFormer's language model: a Transformer whose linears are hashed Memory Layers, and its
per-token FLOPs by part.

Ding et al. 2024 ("MemoryFormer: Minimize Transformer Computation by Removing Fully-Connected
Layers", NeurIPS): every projection outside attention's softmax becomes a Memory Layer
(:class:`~mantissa.nn.memory_layer.MemoryLinear`, lookup tables addressed by a sign hash of
``tau``-wide chunks, soft-weighted with the temperature ``t`` of Eq. 7). :func:`memoryformer_lm`
builds the three arms the catalogue compares on one shape; :func:`flop_breakdown` counts their
forward FLOPs per token in closed form (:func:`~mantissa.nn.memory_layer.linear_flops`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from mantissa.errors import ConfigError
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.nn.memory_layer import linear_flops, swap_linears

#: ``dense`` (GELU FFN), ``memory-ffn`` (the FFN as two Memory Layers) and ``memory-all`` (the
#: attention projections ``qkv``/``proj`` too: the paper's model)
ARMS = ("dense", "memory-ffn", "memory-all")


def memoryformer_lm(arm: str, *, vocab_size: int, n_layer: int, n_head: int, d_model: int, max_len: int,
                    tau: int, temperature: float = 1.0) -> Transformer:
    """A RoPE Transformer LM of the given shape for one of :data:`ARMS`."""
    if arm not in ARMS:
        raise ConfigError(f"MemoryFormer arm {arm!r}; accepted: {', '.join(ARMS)}")
    ffn = "gelu" if arm == "dense" else f"memory:tau={tau},temperature={temperature}"
    model = Transformer(TransformerConfig(vocab_size=vocab_size, n_layer=n_layer, n_head=n_head,
                                          d_model=d_model, max_len=max_len, pe="rope", ffn=ffn))
    if arm == "memory-all":
        swap_linears(model, "*.attn.*", tau=tau, temperature=temperature)
    return model


def flop_breakdown(model: Transformer, seq_len: int) -> dict[str, float]:
    """Per-token forward FLOPs by part: FFNs, attention projections, attention
    scores/mixing (causal, averaged over positions) and the LM head."""
    cfg = model.cfg
    ffn = sum(linear_flops(b.ffn) for b in model.blocks)
    proj = sum(linear_flops(b.attn) for b in model.blocks)
    mean_keys = (seq_len + 1) / 2
    scores = cfg.n_layer * 2 * 2 * cfg.d_model * mean_keys  # q·k and p·v, multiply-adds
    head = linear_flops(nn.Linear(cfg.d_model, cfg.vocab_size, bias=False))
    return {"ffn": ffn, "attn_proj": proj, "attn_scores": scores, "head": head}


def flops_table(flops: dict[str, dict[str, float]]) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)``: one row per arm, its FLOPs by part and in total (integers)."""
    parts = list(next(iter(flops.values())))
    return (["arm", *parts, "total"],
            [[arm, *[int(f[p]) for p in parts], int(sum(f.values()))] for arm, f in flops.items()])


def plot_flops(flops: dict[str, dict[str, float]]) -> Any:
    """Stacked bars of the per-token FLOPs by part, one bar per arm."""
    from mantissa import plot

    fig, ax = plot.figure()
    bottom = [0.0] * len(flops)
    for p in next(iter(flops.values())):
        vals = [f[p] for f in flops.values()]
        ax.bar(list(flops), vals, bottom=bottom, label=p)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel("forward FLOPs per token")
    ax.set_title("FLOPs by part (attention scores at the mean causal length)")
    ax.legend()
    return fig


__all__ = ["ARMS", "flop_breakdown", "flops_table", "memoryformer_lm", "plot_flops"]
