"""FakeQuantize (straight-through gradients) and LSQ."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.quant import LSQ, FakeQuantize, QATLinear, prepare_qat


def test_fake_quantize_forward_and_clipped_ste():
    fq = FakeQuantize("int4", dynamic=False)
    fq.train()
    fq(torch.tensor([-1.0, 1.0]))  # observe the range [-1, 1]
    fq.eval()
    x = torch.tensor([-3.0, -0.33, 0.2, 0.5, 3.0], requires_grad=True)
    y = fq(x)
    s = 1 / 7
    assert torch.allclose(y, torch.clamp(torch.round(x / s), -8, 7).detach() * s)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_lsq_step_learns_and_has_gradient_scale():
    torch.manual_seed(0)
    lsq = LSQ("int4")
    x = torch.randn(1000)
    lsq(x)
    s0 = lsq.step.detach().clone()
    assert s0.item() == pytest.approx(2 * x.abs().mean().item() / 7 ** 0.5, rel=1e-5)
    opt = torch.optim.Adam(lsq.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        loss = (lsq(x) - x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_prepare_qat_replaces_linears():
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 2)))
    prepare_qat(m, "int4:channel", lsq=True)
    assert isinstance(m[0], QATLinear) and isinstance(m[2][0], QATLinear)
    assert m[0].wq.step.shape == (8, 1)  # created before any optimizer is built
    out = m(torch.randn(3, 4))
    out.sum().backward()
    assert m[0].weight.grad is not None and m[0].wq.step.grad is not None


def test_lsq_rejects_float_format():
    with pytest.raises(ConfigError, match="integer"):
        LSQ("float8_e4m3fn")


def test_ste_returns_q_exactly_and_masks_the_gradient_outside_lo_hi():
    from mantissa.quant.qat import ste

    x = torch.tensor([-3.0, -1.0, 0.2, 1.0, 2.5], requires_grad=True)
    q = torch.tensor([-1.0, -1.0, 0.0, 1.0, 1.0])
    y = ste(x, q, torch.tensor(-1.0), torch.tensor(1.0))
    assert torch.equal(y, q)
    y.backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert torch.equal(x.grad, torch.tensor([0.0, 2.0, 3.0, 4.0, 0.0]))  # bounds are inside
    x.grad = None
    ste(x, q).sum().backward()
    assert torch.equal(x.grad, torch.ones(5))
