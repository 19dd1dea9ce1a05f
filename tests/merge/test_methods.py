"""Merge methods on a small linear-regression problem with a closed-form optimum."""

import pytest
import torch

from mantissa.errors import ConfigError, SpecError, UnknownNameError
from mantissa.merge import MERGE_METHODS, build_merge, merge, task_vectors
from mantissa.merge.concrete import apply_mask, concrete_sample
from mantissa.merge.ties import ties_vector


def _problem():
    """Two 'tasks' act on disjoint halves of one weight vector; the ideal merge is
    base + tau_1 + tau_2 (scale 1), which averaging (scale 1/2) misses."""
    g = torch.Generator().manual_seed(0)
    base = {"w": torch.zeros(8), "b": torch.zeros(1)}
    w1 = torch.cat([torch.randn(4, generator=g), torch.zeros(4)])
    w2 = torch.cat([torch.zeros(4), torch.randn(4, generator=g)])
    fts = [{"w": w1, "b": torch.zeros(1)}, {"w": w2, "b": torch.zeros(1)}]
    x = torch.randn(256, 8, generator=g)
    y = x @ (w1 + w2)

    def objective(sd):
        return ((x @ sd["w"] + sd["b"] - y) ** 2).mean()

    return base, fts, objective


def test_average_and_task_arithmetic_closed_form():
    base, fts, _ = _problem()
    avg = merge("average", base, fts).state
    assert torch.allclose(avg["w"], (fts[0]["w"] + fts[1]["w"]) / 2)
    ta = merge("task-arithmetic:scale=1.0", base, fts).state
    assert torch.allclose(ta["w"], fts[0]["w"] + fts[1]["w"])


def test_task_arithmetic_auto_picks_scale_on_objective():
    base, fts, obj = _problem()
    res = merge("task-arithmetic:scale=auto", base, fts, obj)
    assert res.info["scale"] == 1.0


@pytest.mark.parametrize("spec", ["atlas:steps=150,lr=0.05", "self-positioning:steps=150,lr=0.05,beta=0",
                                  "concrete:steps=60,lr=0.1,inner=adamerging,inner_lr=0.05"])
def test_learned_methods_beat_averaging(spec):
    base, fts, obj = _problem()
    avg_loss = float(obj(merge("average", base, fts).state))
    res = merge(spec, base, fts, obj)
    assert float(obj(res.state)) < 0.5 * avg_loss, res.info.get("loss_curve", [])[-3:]


def test_learned_methods_need_objective():
    base, fts, _ = _problem()
    for name in ("atlas", "self-positioning", "concrete", "task-arithmetic:scale=auto"):
        with pytest.raises(ConfigError, match="objective"):
            merge(name, base, fts)


def test_ties_sign_election_by_hand():
    tvs = [{"w": torch.tensor([1.0, -2.0, 0.5])}, {"w": torch.tensor([3.0, 1.0, -0.1])}]
    out = ties_vector(tvs, k=1.0)["w"]
    # col0: both +, mean 2; col1: sum -1 -> sign -, keep -2; col2: sum 0.4 -> +, keep 0.5
    assert torch.allclose(out, torch.tensor([2.0, -2.0, 0.5]))
    trimmed = ties_vector(tvs, k=0.5)["w"]  # each vector keeps its 2 largest: [1,-2,0], [3,1,0]
    assert torch.allclose(trimmed, torch.tensor([2.0, -2.0, 0.0]))


def test_concrete_sample_and_mask_rescaling():
    logits = torch.full((10000,), 2.0)
    s = concrete_sample(logits, 0.5, torch.Generator().manual_seed(0))
    assert s.min() >= 0 and s.max() <= 1
    assert abs(float((s > 0.5).float().mean()) - float(torch.sigmoid(torch.tensor(2.0)))) < 0.02
    tv = {"w": torch.ones(4)}
    out = apply_mask(tv, {"w": torch.tensor([1.0, 0.0, 1.0, 0.0])})
    assert torch.allclose(out["w"], torch.tensor([2.0, 0.0, 2.0, 0.0]))


def test_registry_and_bad_specs():
    names = {"average", "task-arithmetic", "ties", "atlas", "self-positioning", "concrete"}
    assert names <= set(MERGE_METHODS)
    with pytest.raises(UnknownNameError):
        build_merge("tie")
    with pytest.raises(SpecError):
        build_merge("ties:nonsense=1")
    with pytest.raises(ConfigError):
        build_merge("ties:k=0")
    with pytest.raises(ConfigError):
        build_merge("concrete:inner=foo")


def test_merges_any_architecture_state_dict():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    base = {k: v.clone() for k, v in net.state_dict().items()}
    fts = []
    for _ in range(2):
        sd = {k: v + 0.1 if v.is_floating_point() else v for k, v in base.items()}
        fts.append(sd)
    out = merge("ties", base, fts).state
    net.load_state_dict(out)  # keys, shapes and the int64 num_batches_tracked all fit
    assert len(task_vectors(base, fts)[0]) == len([k for k in base if base[k].is_floating_point()])


def test_concrete_tune_picks_scale_from_grid():
    from mantissa.merge.arithmetic import AUTO_GRID

    base, fts, obj = _problem()
    res = merge("concrete:steps=5,lr=0.1,tune=true", base, fts, obj)
    assert res.info["scale"][0] in AUTO_GRID and len(set(res.info["scale"])) == 1
    assert 0 < res.info["mask_density"] <= 1
