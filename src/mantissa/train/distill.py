"""Distilling weight-quantized students from a float teacher with plain KD or TopKLD, and
comparing the losses across bit widths.

Paper #52 (Ding et al. 2025, "Dissecting Bit-Level Scaling Laws in Quantizing Vision
Generative Models", §"TopKLD"): a quantized student trained only on the teacher's
distribution (no labels), with plain forward KL (:func:`~mantissa.train.topkld.kd_loss`) or
TopKLD (:func:`~mantissa.train.topkld.topk_kld`: one divergence on the teacher's top-k head,
the other on the tail). :data:`DISTILL_LOSSES` names the variants; :func:`distill_student`
trains one student; :func:`evaluate_student` scores it against the real text and the
teacher; :func:`distill_summary` and :func:`plot_loss_vs_bits` compare the variants across
widths, including the paper's "one level" lift (TopKLD at ``b`` bits at least as good as KD
at the next width).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from mantissa.tasks.charlm import lm_batch
from mantissa.train.lm import TensorBatches, lm_loss
from mantissa.train.topkld import kd_loss, topk_kld
from mantissa.train.trainer import TrainConfig, Trainer

#: name -> (head, tail) divergences of TopKLD; ``"kd"`` is plain forward KL over the whole
#: vocabulary; ``"topkld_swap"`` (reverse KL on the head) is the swapped ablation
DISTILL_LOSSES: dict[str, tuple[str, str] | None] = {
    "kd": None, "topkld": ("forward", "reverse"), "topkld_swap": ("reverse", "forward")}


def distill_loss_fn(teacher: nn.Module, loss: str, k: int, temperature: float) -> Callable:
    """A Trainer ``loss_fn``: the student's next-token logits against the (frozen) teacher's on
    ``batch["idx"][:, :-1]`` by the divergence ``DISTILL_LOSSES[loss]``."""
    split = DISTILL_LOSSES[loss]

    def fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["idx"][:, :-1]
        with torch.no_grad():
            t = teacher(x)
        s = model(x)
        if split is None:
            return kd_loss(s, t, temperature), {}
        return topk_kld(s, t, k, temperature=temperature, head=split[0], tail=split[1]), {}
    return fn


def distill_student(student: nn.Module, teacher: nn.Module, loss: str, batches: TensorBatches, *,
                    steps: int, batch_size: int, lr: float, k: int, temperature: float, seed: int,
                    desc: str = "") -> nn.Module:
    """Train ``student`` (in place, returned) on the teacher alone: AdamW, no weight decay,
    5 % warm-up (at least one step)."""
    Trainer(student, TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=max(1, steps // 20),
                                 weight_decay=0.0, seed=seed, log_every=0),
            batches, loss_fn=distill_loss_fn(teacher, loss, k, temperature), progress_desc=desc).fit()
    return student


@torch.no_grad()
def evaluate_student(model: nn.Module, teacher: nn.Module, val: torch.Tensor) -> dict[str, float]:
    """``val_loss`` (next-token cross-entropy on the windows ``val``), ``val_acc`` (%) and
    ``kl_teacher`` (plain KD loss against the teacher); ``model`` is put in eval mode."""
    model.eval()
    loss, logs = lm_loss(model, lm_batch(val))
    kl = kd_loss(model(val[:, :-1]), teacher(val[:, :-1]))
    return {"val_loss": float(loss), "val_acc": 100 * logs["tok_acc"], "kl_teacher": float(kl)}


def distill_summary(bits: Sequence[int], m: dict[str, float]) -> dict[str, float]:
    """From ``{kd,topkld}_val_{loss,acc}_<b>`` (and optionally ``topkld_swap_val_loss_<b>``):
    ``win_fraction`` (widths where TopKLD's loss is lower), ``mean_loss_gain`` (KD minus TopKLD,
    averaged), ``level_lift_fraction`` ("one level": TopKLD at ``b`` <= KD at the next width),
    ``acc_win_fraction`` and, with the ablation, ``swap_win_fraction``."""
    wins = [m[f"topkld_val_loss_{b}"] < m[f"kd_val_loss_{b}"] for b in bits]
    gaps = [m[f"kd_val_loss_{b}"] - m[f"topkld_val_loss_{b}"] for b in bits]
    # "one level": TopKLD at b bits at least as good as KD at the next width measured
    pairs = zip(bits, bits[1:], strict=False)
    lifts = [m[f"topkld_val_loss_{lo}"] <= m[f"kd_val_loss_{hi}"] for lo, hi in pairs]
    out = {"win_fraction": sum(wins) / len(wins), "mean_loss_gain": sum(gaps) / len(gaps),
           "level_lift_fraction": sum(lifts) / len(lifts) if lifts else float("nan"),
           "acc_win_fraction": sum(m[f"topkld_val_acc_{b}"] > m[f"kd_val_acc_{b}"]
                                   for b in bits) / len(bits)}
    if all(f"topkld_swap_val_loss_{b}" in m for b in bits):
        out["swap_win_fraction"] = sum(m[f"topkld_swap_val_loss_{b}"] < m[f"kd_val_loss_{b}"]
                                       for b in bits) / len(bits)
    return out


def plot_loss_vs_bits(bits: Sequence[int], m: dict[str, float], k: int) -> Any:
    """Validation loss above the float teacher's against the weight width, one line per arm
    (``ptq``, ``kd``, ``topkld``, ``topkld_swap``; arms without metrics are skipped)."""
    from mantissa import plot

    fig, ax = plot.figure()
    for key, label in (("ptq", "int-N weights, no training"), ("kd", "QAT + plain KD"),
                       ("topkld", f"QAT + TopKLD (k={k})"),
                       ("topkld_swap", f"QAT + TopKLD, head/tail swapped (k={k})")):
        if f"{key}_val_loss_{bits[0]}" not in m:
            continue
        ax.plot(bits, [m[f"{key}_val_loss_{b}"] - m["teacher_val_loss"] for b in bits], "o-", label=label)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("weight bits (per-channel int)")
    ax.set_ylabel("val next-char cross-entropy − float teacher's (nats)")
    ax.set_title("char-LM students distilled from a float teacher")
    ax.set_xticks(list(bits))
    ax.legend()
    return fig


__all__ = ["DISTILL_LOSSES", "distill_loss_fn", "distill_student", "distill_summary", "evaluate_student",
           "plot_loss_vs_bits"]
