"""TopKLD: distillation that splits the vocabulary at the teacher's top-k tokens.

Paper #52, Ding, Cao, Cao & Chen, "Dissecting Bit-Level Scaling Laws in Quantizing
Vision Generative Models" (arXiv 2501.06218), §"TopKLD". Distilling a quantized
student, forward KL ``KL(p‖q)`` (mean-seeking) spends the student's capacity on the
teacher's long tail ("implicit knowledge"), reverse KL ``KL(q‖p)`` (mode-seeking)
on the teacher's top tokens ("explicit knowledge"); TopKLD balances the two by
splitting the vocabulary at the teacher's top-k set ``K`` and applying one
divergence to the head and the other to the tail::

    TopKLD(p, q) = T^2 * mean_rows[ sum_{i in K} d_head(p_i, q_i)
                                    + w * sum_{i not in K} d_tail(p_i, q_i) ]

with ``p = softmax(teacher / T)`` (no gradient), ``q = softmax(student / T)`` and
the per-token divergences in their generalised (Bregman) form, each term >= 0::

    forward:  d(p, q) = p log(p / q) - p + q
    reverse:  d(p, q) = q log(q / p) - q + p

Over the whole vocabulary ``sum(p) = sum(q) = 1``, so the extra ``-p + q`` terms
cancel: with ``k = vocab`` TopKLD is exactly ``T^2 * KL(p‖q)`` (head = forward),
i.e. plain KD (:func:`kd_loss`). The paper's equation text was not available, so
the head/tail assignment is a parameter (default: forward KL on the teacher's
top-k tokens, reverse KL on the tail); the ``bit-scaling`` experiment measures both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError, ShapeError
from mantissa.train.losses.base import kl_to_teacher

DIVERGENCES = ("forward", "reverse")


def _check(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> None:
    if student.shape != teacher.shape:
        raise ShapeError(f"student logits {tuple(student.shape)} and teacher logits "
                         f"{tuple(teacher.shape)} must have the same shape (..., vocab)")
    if student.dim() < 1 or student.shape[-1] < 1:
        raise ShapeError(f"logits need a last (vocab) axis of size >= 1, got {tuple(student.shape)}")
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
            temperature: float = 1.0) -> torch.Tensor:
    """Plain KD (Hinton et al. 2015): ``T^2 * KL(softmax(t/T) ‖ softmax(s/T))``, mean over rows.

    Logits are ``(..., vocab)``; every leading position is a row; the teacher is detached.
    """
    _check(student_logits, teacher_logits, temperature)
    v = student_logits.shape[-1]
    s, t = student_logits.reshape(-1, v).float(), teacher_logits.reshape(-1, v).float()
    return temperature ** 2 * kl_to_teacher(s, t, temperature)


def _terms(kind: str, logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    p, q = logp.exp(), logq.exp()
    if kind == "forward":
        return p * (logp - logq) - p + q
    return q * (logq - logp) - q + p


def topk_mask(teacher_logits: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean ``(..., vocab)`` mask of the teacher's ``k`` largest logits per row."""
    idx = teacher_logits.topk(k, dim=-1).indices
    return torch.zeros_like(teacher_logits, dtype=torch.bool).scatter_(-1, idx, True)


def topk_kld(student_logits: torch.Tensor, teacher_logits: torch.Tensor, k: int, *,
             temperature: float = 1.0, head: str = "forward", tail: str = "reverse",
             tail_weight: float = 1.0) -> torch.Tensor:
    """TopKLD (module docstring): ``head`` divergence on the teacher's top-``k`` tokens,
    ``tail_weight`` × ``tail`` divergence on the rest; ``T^2``-scaled, mean over rows.

    ``k == vocab`` with ``head="forward"`` equals :func:`kd_loss`.
    """
    _check(student_logits, teacher_logits, temperature)
    v = student_logits.shape[-1]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= v:
        raise ConfigError(f"k must be an integer in [1, vocab={v}], got {k!r}")
    for name, kind in (("head", head), ("tail", tail)):
        if kind not in DIVERGENCES:
            raise ConfigError(f"{name} divergence {kind!r} unknown; valid: {', '.join(DIVERGENCES)}")
    if not tail_weight >= 0:
        raise ConfigError(f"tail_weight must be >= 0, got {tail_weight}")
    s = student_logits.reshape(-1, v).float() / temperature
    t = teacher_logits.detach().reshape(-1, v).float() / temperature
    logp, logq = F.log_softmax(t, -1), F.log_softmax(s, -1)
    mask = topk_mask(t, k)
    per_row = torch.where(mask, _terms(head, logp, logq), 0.0).sum(-1)
    if k < v and tail_weight > 0:
        per_row = per_row + tail_weight * torch.where(mask, 0.0, _terms(tail, logp, logq)).sum(-1)
    return temperature ** 2 * per_row.mean()
