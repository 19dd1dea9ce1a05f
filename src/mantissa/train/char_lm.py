"""Training and scoring a character LM on token windows (``(n, T+1)`` rows of a corpus).

The plumbing the character-level architecture studies share (MemoryFormer, CLEX, ...): each
window is one training sequence (:func:`~mantissa.tasks.charlm.lm_batch`, every position a
target), fitted with :class:`~mantissa.train.Trainer` (AdamW, linear warm-up, cosine decay),
scored by next-character cross-entropy and accuracy, and read back as a loss curve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, split_windows
from mantissa.train.lm import TensorBatches, lm_loss
from mantissa.train.trainer import TrainConfig, Trainer


def fit_char_lm(model: nn.Module, windows: torch.Tensor, *, steps: int, batch_size: int, lr: float,
                seed: int, warmup: int = 20, log_every: int | None = None, desc: str = "") -> Trainer:
    """Train ``model`` on random batches of ``windows`` (seeded order) for ``steps`` steps;
    returns the finished :class:`Trainer` (its ``history`` holds the logged losses).
    ``log_every=None`` keeps the Trainer's default."""
    batches = TensorBatches(lm_batch(windows), batch_size, seed=seed)
    logging = {} if log_every is None else {"log_every": log_every}
    trainer = Trainer(model, TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, seed=seed,
                                         **logging), batches, progress_desc=desc)
    trainer.fit()
    return trainer


def loss_curve(trainer: Trainer) -> list[tuple[int, float]]:
    """``(step, train loss)`` of every logged step of a fitted trainer."""
    return [(int(r["step"]), float(r["loss"])) for r in trainer.history if "loss" in r]


@torch.no_grad()
def evaluate_char_lm(model: nn.Module, windows: torch.Tensor) -> tuple[float, float]:
    """Next-character cross-entropy (nats) and accuracy (%) of ``model`` over ``windows``."""
    loss, logs = lm_loss(model, lm_batch(windows))
    return float(loss), 100 * logs["tok_acc"]


def char_lm_accuracy(attentions: Mapping[str, str | Callable[..., torch.Tensor]], *, steps: int, seq_len: int,
                     pe: str, seed: int, desc: str = "char LM") -> dict[str, float]:
    """Next-character validation accuracy (%) of small causal LMs (2 layers, 4 heads, width 64)
    trained from scratch on WordNet glosses, one per named attention (same data, seed and
    schedule). A value is an attention spec, or a kernel ``(q, k, v, **kw) -> out`` that replaces
    the softmax kernel of every block."""
    tok = CharTokenizer()
    ids = char_corpus(tok, "wordnet", 300_000)
    train, val = split_windows(ids, max(steps * 8, 32), 256, seq_len, seed)
    out = {}
    for arm, spec in attentions.items():
        torch.manual_seed(seed)
        model = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=2, n_head=4, d_model=64,
                                              max_len=seq_len + 1, pe=pe,
                                              attention=spec if isinstance(spec, str) else "softmax"))
        if not isinstance(spec, str):
            for blk in model.blocks:
                blk.attn.kernel = spec
        fit_char_lm(model, train, steps=steps, batch_size=32, lr=3e-3, seed=seed, log_every=0,
                    desc=f"{desc} {arm}")
        out[arm] = evaluate_char_lm(model.eval(), val)[1]
    return out


__all__ = ["char_lm_accuracy", "evaluate_char_lm", "fit_char_lm", "loss_curve"]
