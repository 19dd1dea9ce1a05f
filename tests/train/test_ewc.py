"""EWC (Kirkpatrick et al. 2017): the Fisher diagonal of logistic regression in closed form,
the penalty and its gradient λ·F·(θ − θ*)."""

import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.train.ewc import EWC, fisher_diagonal


def _logreg():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, generator=g, dtype=torch.float64).requires_grad_()
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    # two-class logits (0, w·x): p(y=1|x) = sigmoid(w·x)
    logits = lambda xb: torch.stack([torch.zeros(len(xb), dtype=xb.dtype), xb @ w], 1)  # noqa: E731
    return w, x, logits


def test_empirical_fisher_is_the_closed_form_of_logistic_regression():
    w, x, logits = _logreg()
    y = (torch.rand(40, generator=torch.Generator().manual_seed(1)) < 0.5).long()
    (f,) = fisher_diagonal([w], logits, x, y)
    p = torch.sigmoid(x @ w).detach()
    expected = (((y - p) ** 2)[:, None] * x ** 2).mean(0)  # d/dw log p(y|x) = (y - p) x
    torch.testing.assert_close(f, expected)


def test_true_fisher_converges_to_p_times_one_minus_p():
    w, x, logits = _logreg()
    reps = 400
    xs = x.repeat(reps, 1)
    (f,) = fisher_diagonal([w], logits, xs, None, seed=3)
    p = torch.sigmoid(x @ w).detach()
    expected = ((p * (1 - p))[:, None] * x ** 2).mean(0)  # E_y[(y - p)^2] = p (1 - p)
    torch.testing.assert_close(f, expected, rtol=0.1, atol=0.0)


def test_penalty_and_its_gradient():
    ewc = EWC(lam=4.0)
    theta = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    assert float(ewc.penalty([theta])) == 0.0
    ewc.consolidate([theta], [torch.tensor([1.0, 0.0, 2.0])])
    with torch.no_grad():
        theta += torch.tensor([0.5, 3.0, -1.0])
    pen = ewc.penalty([theta])
    assert pen.item() == pytest.approx(0.5 * 4.0 * (1.0 * 0.25 + 0.0 + 2.0 * 1.0))
    pen.backward()
    expected = 4.0 * torch.tensor([1.0, 0.0, 2.0]) * torch.tensor([0.5, 3.0, -1.0])
    torch.testing.assert_close(theta.grad, expected)
    ewc.consolidate([theta], [torch.ones(3)])  # a second task adds its own anchor
    assert ewc.penalty([theta]).item() == pytest.approx(pen.item())


def test_bad_input():
    with pytest.raises(ConfigError):
        EWC(-1.0)
    with pytest.raises(ConfigError):
        EWC(1.0).consolidate([torch.zeros(2)], [torch.zeros(3)])
