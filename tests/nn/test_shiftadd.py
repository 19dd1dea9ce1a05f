import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.shiftadd import (
    MoEMultPrimitives,
    ShiftLinear,
    add_aux_loss,
    latency_aware_balance_loss,
    latency_weights,
)


def _pow2_reference(w: torch.Tensor, min_exp: int, max_exp: int) -> torch.Tensor:
    """Independent float64 rounding to the nearest power of two in log2 (sign kept)."""
    mag = w.abs()
    exp = torch.round(torch.log2(mag.clamp_min(1e-300))).clamp(min_exp, max_exp)
    q = torch.sign(w) * 2.0**exp
    return torch.where(mag < 2.0 ** (min_exp - 1), torch.zeros_like(q), q)


def test_shift_linear_matches_float64_power_of_two_product():
    torch.manual_seed(0)
    layer = ShiftLinear(12, 5, min_exp=-10, max_exp=2).double()
    x = torch.randn(7, 3, 12, dtype=torch.float64)
    ref = x @ _pow2_reference(layer.weight.detach(), -10, 2).T + layer.bias.detach()
    with torch.no_grad():
        y = layer(x)  # shift_matmul path
    assert torch.allclose(y, ref, rtol=0, atol=1e-12)
    y_grad = layer(x)  # STE path: same value
    assert torch.allclose(y_grad, ref, rtol=0, atol=1e-12)


def test_shift_linear_ste_passes_gradient_to_float_weight():
    layer = ShiftLinear(4, 3)
    x = torch.randn(5, 4)
    layer(x).sum().backward()
    assert torch.allclose(layer.weight.grad, x.sum(0).expand(3, 4))


def test_shift_linear_from_linear_copies_weights():
    lin = torch.nn.Linear(6, 4)
    sl = ShiftLinear.from_linear(lin)
    assert torch.equal(sl.weight, lin.weight) and torch.equal(sl.bias, lin.bias)


def test_router_assignment_covers_every_token_once_and_counts():
    torch.manual_seed(1)
    moe = MoEMultPrimitives(8, 6).eval()
    torch.nn.init.normal_(moe.router.weight)
    x = torch.randn(4, 10, 8)
    with torch.no_grad():
        y = moe(x)
    assert y.shape == (4, 10, 6)
    assert torch.allclose(moe.last_gates.sum(-1), torch.ones(40))
    assert int(moe.routed.sum()) == 40 and moe.last_assignment.shape == (40,)
    flat = x.reshape(-1, 8)
    for i, e in enumerate(moe.experts):
        idx = moe.last_assignment == i
        assert torch.allclose(y.reshape(-1, 6)[idx], e(flat[idx]), atol=1e-6)
    assert moe.shift_share() == pytest.approx(float((moe.last_assignment == 1).float().mean()))


def test_balance_loss_closed_form_two_experts():
    # SCV of (a, b) with population variance is ((a - b) / (a + b))^2.
    gates = torch.tensor([[0.7, 0.3], [0.4, 0.6]], dtype=torch.float64)
    lat = (1.0, 3.0)
    a, b = 1.1 * 0.25, 0.9 * 0.75
    assert float(latency_aware_balance_loss(gates, lat)) == pytest.approx(((a - b) / (a + b)) ** 2)
    # zero exactly at the latency-inverse split: share_fast = t_slow / (t_fast + t_slow)
    g = torch.tensor([[0.25, 0.75]], dtype=torch.float64)
    assert float(latency_aware_balance_loss(g, (3.0, 1.0))) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("slow", [1.0, 2.0, 4.0])
def test_balance_loss_minimum_gives_slow_expert_share_inverse_to_latency(slow):
    shares = torch.linspace(0, 1, 10001, dtype=torch.float64)
    losses = [float(latency_aware_balance_loss(torch.stack([p, 1 - p])[None], (slow, 1.0))) for p in shares]
    best = float(shares[min(range(len(losses)), key=losses.__getitem__)])  # expert 0 is the slow one
    assert best == pytest.approx(1.0 / (1.0 + slow), abs=2e-4)


def test_gradient_descent_on_balance_loss_lowers_slow_share_as_latency_grows():
    final = []
    for slow in (1.0, 2.0, 4.0):
        logit = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([logit], lr=0.05)
        for _ in range(300):
            loss = latency_aware_balance_loss(torch.softmax(logit, 0).expand(16, 2), (slow, 1.0))
            opt.zero_grad(), loss.backward(), opt.step()
        final.append(float(torch.softmax(logit.detach(), 0)[0]))
    assert final[0] == pytest.approx(0.5, abs=1e-6) and final[0] > final[1] > final[2]
    assert final[2] == pytest.approx(0.2, abs=0.02)


def test_balance_loss_in_training_moves_tokens_to_faster_expert():
    torch.manual_seed(0)
    moe = MoEMultPrimitives(8, 8, latencies=(1.0, 0.25), balance_weight=1.0)
    opt = torch.optim.SGD(moe.router.parameters(), lr=0.5)
    x = torch.randn(64, 8)
    for _ in range(100):
        opt.zero_grad()
        (moe(x) * 0).sum().backward()  # task loss with no preference: only L_LB acts
        opt.step()
    assert float(moe.last_gates[:, 1].mean()) == pytest.approx(0.8, abs=0.02)


def test_add_aux_loss_passes_value_and_adds_gradient():
    x = torch.ones(3, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    y = add_aux_loss(x * 1.0, w * w)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(3)) and float(w.grad) == 4.0


def test_bad_arguments():
    with pytest.raises(ConfigError, match="positive"):
        ShiftLinear(0, 3)
    with pytest.raises(ConfigError, match="min_exp"):
        ShiftLinear(3, 3, min_exp=2, max_exp=0)
    with pytest.raises(ShapeError, match=r"\(\.\.\., 4\)"):
        ShiftLinear(4, 2)(torch.randn(2, 5))
    with pytest.raises(ConfigError, match="latencies"):
        latency_weights((1.0, -1.0))
    with pytest.raises(ConfigError, match="one per expert"):
        MoEMultPrimitives(4, 4, latencies=(1.0, 1.0, 1.0))
    with pytest.raises(ConfigError, match="balance_weight"):
        MoEMultPrimitives(4, 4, balance_weight=-1)
    with pytest.raises(ShapeError, match="gates"):
        latency_aware_balance_loss(torch.rand(4, 3), (1.0, 2.0))


def test_reparameterise_mlp_replaces_block_linears_in_place():
    from torch import nn

    from mantissa.nn.shiftadd import reparameterise_mlp

    blocks = [nn.Module() for _ in range(2)]
    for b in blocks:
        b.fc1, b.fc2 = nn.Linear(4, 8), nn.Linear(8, 4)
    w = blocks[0].fc1.weight.detach().clone()
    moes = reparameterise_mlp(blocks, latencies=(1.0, 0.25), balance_weight=0.3)
    assert len(moes) == 4 and moes[0] is blocks[0].fc1 and moes[3] is blocks[1].fc2
    assert all(isinstance(m, MoEMultPrimitives) and m.latencies == (1.0, 0.25) and m.balance_weight == 0.3
               for m in moes)
    assert torch.equal(blocks[0].fc1.experts[0].weight, w)
    fresh = nn.Module()
    fresh.fc1, fresh.fc2 = nn.Linear(4, 8), nn.Linear(8, 4)
    assert reparameterise_mlp([fresh], all_shift=True, names=("fc1",)) == []
    assert isinstance(fresh.fc1, ShiftLinear) and isinstance(fresh.fc2, nn.Linear)
