"""Runs of several seeds judged together: hand-made run records against the rule in
mantissa.catalogue.aggregate (claims on mean ∓ 2·SE, gates on the worst seed)."""

import math
from pathlib import Path

import pytest

from mantissa.catalogue.aggregate import group_runs, latest_group, seeds_text
from mantissa.catalogue.store import RunRecord


def _check(desc, value, op, threshold, kind="claim", metric=""):
    return {"description": desc, "value": value, "op": op, "threshold": threshold, "kind": kind,
            "paper_value": None, "metric": metric, "passed": False}


def _run(seed, gain, learned, *, commit="abc", scale="quick", started=None, config=None, loss=0.1):
    checks = [_check("learned", learned, ">=", 90.0, "gate", "acc"),
              _check("gain", gain, ">", 1.0, metric="gain"),
              _check("loss", loss, "<", 0.5, metric="loss")]
    return RunRecord(path=Path(f"/runs/x/{seed}"), experiment="x", status="ok", scale=scale, seed=seed,
                     started=started or f"2026-01-01T00:00:0{seed}", verdict="reproduced",
                     metrics={"gain": gain, "acc": learned, "loss": loss}, checks=checks,
                     config=config or {"n": 1}, env={"git_commit": commit})


def test_claims_on_mean_minus_2se_gates_on_worst_seed():
    runs = [_run(0, 3.0, 95.0), _run(1, 5.0, 91.0), _run(2, 4.0, 99.0)]
    (group,) = group_runs(runs)
    assert group.seeds == [0, 1, 2]
    mean, se = 4.0, 1.0 / math.sqrt(3)  # sample std of (3, 5, 4) is 1
    assert group.mean["gain"] == pytest.approx(mean) and group.se["gain"] == pytest.approx(se)
    gate, gain, loss = group.checks
    assert gate["value"] == 91.0 and gate["judged_on"] == "worst seed" and gate["passed"]
    assert gain["value"] == pytest.approx(mean - 2 * se) and gain["passed"]
    assert loss["value"] == pytest.approx(0.1) and loss["judged_on"] == "mean + 2·SE"  # no spread
    assert gain["seeds"] == {0: 3.0, 1: 5.0, 2: 4.0}
    assert group.verdict == "reproduced" and group.verdict_reason == ""
    assert "seeds 0: 3, 1: 5, 2: 4" in seeds_text(gain) and "mean − 2·SE" in seeds_text(gain)


def test_noisy_claim_fails_and_a_bad_seed_fails_the_gate():
    (group,) = group_runs([_run(0, 0.5, 95.0), _run(1, 5.5, 95.0)])  # mean 3, SE 2.5: 3 - 5 < 1
    assert group.checks[1]["value"] == pytest.approx(-2.0) and not group.checks[1]["passed"]
    assert group.verdict == "partial"
    (group,) = group_runs([_run(0, 5.0, 95.0), _run(1, 5.0, 80.0)])  # one seed did not learn
    assert group.verdict == "inconclusive" and "gate failed: learned (80 >= 90)" in group.verdict_reason
    (group,) = group_runs([_run(0, float("nan"), 95.0), _run(1, 5.0, 95.0)])  # NaN fails
    assert not group.checks[1]["passed"]


def test_groups_by_commit_scale_and_config_newest_run_per_seed():
    runs = [_run(0, 1.0, 95.0), _run(1, 9.0, 95.0), _run(0, 3.0, 95.0, started="2026-01-02"),
            _run(2, 2.0, 95.0, commit="def"), _run(3, 2.0, 95.0, scale="smoke"),
            _run(4, 2.0, 95.0, config={"n": 2})]
    groups = group_runs(runs)
    main = next(g for g in groups if len(g.runs) > 1)
    assert main.seeds == [0, 1] and main.mean["gain"] == 6.0  # seed 0's newer run (3.0) counts once
    assert sorted(len(g.runs) for g in groups) == [1, 1, 1, 2]
    assert latest_group(runs, "quick") is None  # the newest quick run (seed 4) has no sibling seeds
    assert latest_group(runs[:3], "quick") is main or latest_group(runs[:3], "quick").seeds == [0, 1]


def test_runs_whose_checks_differ_get_no_verdict():
    a, b = _run(0, 3.0, 95.0), _run(1, 4.0, 95.0)
    b.checks = b.checks[:2]
    (group,) = group_runs([a, b])
    assert group.verdict is None and "differ" in group.error and group.mean["gain"] == 3.5


def test_failed_runs_are_left_out():
    bad = _run(1, 4.0, 95.0)
    bad.status = "failed"
    groups = group_runs([_run(0, 3.0, 95.0), bad])
    assert [len(g.runs) for g in groups] == [1]
