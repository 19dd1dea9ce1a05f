"""Distillation of quantized students: the loss variants, one training run, the evaluation, and
the summary across bit widths (wins, mean gain, "one level" lifts)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mantissa.train.distill import (
    DISTILL_LOSSES,
    distill_loss_fn,
    distill_student,
    distill_summary,
    evaluate_student,
    plot_loss_vs_bits,
)
from mantissa.train.lm import TensorBatches
from mantissa.train.topkld import kd_loss, topk_kld


def _metrics(kd: list[float], top: list[float], bits: tuple[int, ...] = (2, 3, 4)) -> dict[str, float]:
    m: dict[str, float] = {}
    for b, k, t in zip(bits, kd, top, strict=True):
        m.update({f"kd_val_loss_{b}": k, f"topkld_val_loss_{b}": t, f"kd_val_acc_{b}": 40.0,
                  f"topkld_val_acc_{b}": 41.0})
    m.update(distill_summary(bits, m))
    return m


def test_summary_counts_wins_and_level_lifts() -> None:
    m = _metrics([2.0, 1.9, 1.8], [1.95, 1.79, 1.81])
    assert m["win_fraction"] == pytest.approx(2 / 3)
    assert m["level_lift_fraction"] == pytest.approx(0.5)  # int3 TopKLD (1.79) <= int4 KD (1.8) only
    assert m["mean_loss_gain"] == pytest.approx((0.05 + 0.11 - 0.01) / 3)
    assert m["acc_win_fraction"] == 1.0 and "swap_win_fraction" not in m


class _Bigram(nn.Module):
    def __init__(self, vocab: int = 7) -> None:
        super().__init__()
        self.table = nn.Embedding(vocab, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.table(x)


def test_loss_variants_match_the_divergences() -> None:
    torch.manual_seed(0)
    teacher, student = _Bigram(), _Bigram()
    batch = {"idx": torch.randint(0, 7, (3, 6))}
    x = batch["idx"][:, :-1]
    s, t = student(x), teacher(x)
    kd, _ = distill_loss_fn(teacher, "kd", 2, 1.5)(student, batch)
    torch.testing.assert_close(kd, kd_loss(s, t, 1.5))
    for name in ("topkld", "topkld_swap"):
        head, tail = DISTILL_LOSSES[name]
        got, _ = distill_loss_fn(teacher, name, 2, 1.0)(student, batch)
        torch.testing.assert_close(got, topk_kld(s, t, 2, temperature=1.0, head=head, tail=tail))


def test_student_moves_towards_the_teacher() -> None:
    torch.manual_seed(0)
    teacher, student = _Bigram(), _Bigram()
    val = torch.randint(0, 7, (16, 9))
    before = evaluate_student(student, teacher, val)
    assert set(before) == {"val_loss", "val_acc", "kl_teacher"}
    batches = TensorBatches({"idx": torch.randint(0, 7, (64, 9))}, 16, seed=0)
    distill_student(student.train(), teacher, "topkld", batches, steps=40, batch_size=16, lr=0.05, k=2,
                    temperature=1.0, seed=0)
    assert evaluate_student(student, teacher, val)["kl_teacher"] < before["kl_teacher"]


def test_plot_skips_missing_arms() -> None:
    m = {**_metrics([2.0, 1.9], [1.95, 1.85], bits=(2, 3)), "teacher_val_loss": 1.5}
    fig = plot_loss_vs_bits((2, 3), m, 5)
    assert len(fig.axes[0].lines) == 2
