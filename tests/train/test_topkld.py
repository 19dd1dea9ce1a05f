"""TopKLD and plain KD against a float64 NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.train.topkld import kd_loss, topk_kld, topk_mask


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def _ref(s: np.ndarray, t: np.ndarray, k: int, temp: float, head: str, tail: str, w: float) -> float:
    """Per-row loop in float64: top-k by argsort, generalised KL terms."""
    s, t = s.reshape(-1, s.shape[-1]) / temp, t.reshape(-1, t.shape[-1]) / temp
    total = 0.0
    for srow, trow in zip(s.astype(np.float64), t.astype(np.float64), strict=True):
        p, q = _softmax(trow), _softmax(srow)
        top = set(np.argsort(-trow)[:k].tolist())
        for i in range(len(p)):
            kind = head if i in top else tail
            d = p[i] * np.log(p[i] / q[i]) - p[i] + q[i] if kind == "forward" \
                else q[i] * np.log(q[i] / p[i]) - q[i] + p[i]
            total += d if i in top else w * d
    return temp ** 2 * total / len(s)


def _logits(*shape: int, seed: int = 0, scale: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g), scale * torch.randn(*shape, generator=g)


PAIRS = [("forward", "reverse"), ("reverse", "forward"), ("forward", "forward")]


@pytest.mark.parametrize("k", [1, 3, 10, 31])
@pytest.mark.parametrize("head,tail", PAIRS)
def test_topk_kld_matches_numpy(k: int, head: str, tail: str) -> None:
    s, t = _logits(4, 5, 31, seed=k)
    got = float(topk_kld(s, t, k, temperature=2.0, head=head, tail=tail, tail_weight=0.7))
    want = _ref(s.numpy(), t.numpy(), k, 2.0, head, tail, 0.7)
    assert got == pytest.approx(want, rel=2e-5, abs=1e-6)


def test_full_vocab_is_forward_kl_and_kd() -> None:
    s, t = _logits(6, 17, seed=3)
    p, q = _softmax(t.double().numpy() / 1.5), _softmax(s.double().numpy() / 1.5)
    kl = 1.5 ** 2 * float(np.mean(np.sum(p * np.log(p / q), -1)))
    assert float(topk_kld(s, t, 17, temperature=1.5)) == pytest.approx(kl, rel=1e-5)
    assert float(kd_loss(s, t, temperature=1.5)) == pytest.approx(kl, rel=1e-5)


def test_all_forward_any_k_is_forward_kl() -> None:
    s, t = _logits(3, 4, 13, seed=5)
    got = float(topk_kld(s, t, 2, head="forward", tail="forward"))
    assert got == pytest.approx(float(kd_loss(s, t)), rel=1e-5)


def test_zero_when_student_equals_teacher_and_nonnegative() -> None:
    s, t = _logits(8, 20, seed=1)
    assert float(topk_kld(t.clone(), t, 5)) == pytest.approx(0.0, abs=1e-6)
    for k in (1, 4, 19):
        assert float(topk_kld(s, t, k)) > 0


def test_gradients_finite_and_teacher_detached() -> None:
    s, t = _logits(4, 9, 50, seed=2, scale=30.0)  # large logits: tiny probabilities in the tail
    s.requires_grad_(True)
    t.requires_grad_(True)
    topk_kld(s, t, 5).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0
    assert t.grad is None


def test_topk_mask_counts() -> None:
    _, t = _logits(5, 12, seed=4)
    m = topk_mask(t, 4)
    assert (m.sum(-1) == 4).all()
    assert torch.equal(m.gather(-1, t.argmax(-1, keepdim=True)).squeeze(-1), torch.ones(5, dtype=torch.bool))


@pytest.mark.parametrize("kw,err", [
    ({"k": 0}, ConfigError), ({"k": 11}, ConfigError), ({"k": 2.5}, ConfigError),
    ({"k": 3, "temperature": 0.0}, ConfigError), ({"k": 3, "head": "js"}, ConfigError),
    ({"k": 3, "tail": "kl"}, ConfigError), ({"k": 3, "tail_weight": -1.0}, ConfigError),
])
def test_bad_args(kw: dict, err: type[Exception]) -> None:
    s, t = _logits(2, 10)
    with pytest.raises(err, match="must|unknown"):
        topk_kld(s, t, **kw)


def test_shape_mismatch() -> None:
    with pytest.raises(ShapeError, match="same shape"):
        topk_kld(torch.zeros(2, 5), torch.zeros(2, 6), 2)
    with pytest.raises(ShapeError, match="same shape"):
        kd_loss(torch.zeros(2, 5), torch.zeros(3, 5))
