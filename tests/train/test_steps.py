"""The shared optimizer loop: same parameters as a hand-written loop, NaN/inf bookkeeping."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.train.steps import minibatches, run_steps


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 5, generator=g), torch.randint(0, 3, (64,), generator=g)


def test_matches_a_hand_written_loop_with_cosine_schedule():
    x, y = _data()
    torch.manual_seed(1)
    ours, ref = nn.Linear(5, 3), nn.Linear(5, 3)
    ref.load_state_dict(ours.state_dict())
    opt = torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    losses = run_steps(opt, 7, minibatches(ours, x, y, 8, seed=3),
                       sched=torch.optim.lr_scheduler.CosineAnnealingLR(opt, 7))
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, 7)
    g, ref_losses = torch.Generator().manual_seed(3), []
    for _ in range(7):
        idx = torch.randint(0, len(x), (8,), generator=g)
        loss = F.cross_entropy(ref(x[idx]), y[idx])
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
        sched.step()
        ref_losses.append(float(loss.detach()))
    assert losses == ref_losses
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), ref.parameters()))


def test_a_custom_forward_sees_the_batch():
    x, y = _data()
    model, seen = nn.Linear(5, 3), []
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = minibatches(model, x, y, 4, seed=0, forward=lambda m, xb: seen.append(len(xb)) or m(xb))
    run_steps(opt, 3, batches)
    assert seen == [4, 4, 4]


def test_non_finite_losses_are_nan_or_stop_the_loop_as_inf():
    w = nn.Parameter(torch.ones(1))
    values = iter([1.0, math.inf, 2.0])

    def loss():
        return (w * 0 + next(values)).sum()

    opt = torch.optim.SGD([w], lr=0.0)
    stopped = run_steps(opt, 3, loss, stop_on_nonfinite=True)
    assert stopped == [1.0, math.inf]
    values = iter([1.0, math.nan, 2.0])
    kept = run_steps(opt, 3, loss)
    assert kept[0] == 1.0 and math.isnan(kept[1]) and kept[2] == 2.0
