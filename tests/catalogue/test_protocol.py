"""Protocol v2: gates and claims, inconclusive verdicts, seed-paired margins, paper values, history."""

import json
import math

import gated_experiment  # noqa: F401  (registers "gated-test")
import pytest
import tiny_experiment  # noqa: F401  (registers "tiny-test")
from click.testing import CliRunner
from gated_experiment import Gated

from mantissa.catalogue.report import render
from mantissa.catalogue.runner import run_experiment
from mantissa.catalogue.store import read_run, seal_run
from mantissa.cli import cli
from mantissa.errors import ConfigError
from mantissa.experiments import (
    EXPERIMENTS,
    Check,
    Experiment,
    NaNMetrics,
    Verdict,
    inconclusive_reason,
    judge,
    load_all,
    mean_se,
    register,
    seed_metrics,
    seed_spread,
)

CATALOGUE = [i for i in load_all() if EXPERIMENTS.get(i).__module__.startswith("mantissa.experiments.")]


def gate(passed: bool) -> Check:
    return Check("model learned", 0.95 if passed else 0.4, ">=", 0.9, kind="gate")


def claim(passed: bool) -> Check:
    return Check("gain", 2.0 if passed else -1.0, ">", 0.0)


# --- judge -----------------------------------------------------------------------------------

def test_a_failed_gate_makes_it_inconclusive_even_when_every_claim_passes():
    assert judge([gate(False), claim(True), claim(True)]) is Verdict.INCONCLUSIVE
    assert judge([gate(True), gate(False), claim(False)]) is Verdict.INCONCLUSIVE
    assert Verdict.INCONCLUSIVE == "inconclusive"


def test_claims_decide_once_the_gates_pass():
    assert judge([gate(True), claim(True), claim(True)]) is Verdict.REPRODUCED
    assert judge([gate(True), claim(True), claim(False)]) is Verdict.PARTIAL
    assert judge([gate(True), claim(False)]) is Verdict.NOT_REPRODUCED
    assert judge([claim(True)], scale="quick") is Verdict.REPRODUCED  # no gate: v1 semantics


@pytest.mark.parametrize("checks", [[], [gate(True)], [gate(True), gate(False)]])
def test_checks_without_a_claim_are_a_config_error(checks):
    with pytest.raises(ConfigError, match="at least one claim"):
        judge(checks)


def test_ties_fail_with_strict_ops():
    assert not Check("tie", 1.0, ">", 1.0).passed and not Check("tie", 1.0, "<", 1.0).passed
    assert Check("tie", 1.0, ">=", 1.0).passed  # why comparisons of arms must use a strict op
    assert not Check("nan", math.nan, ">", 0.0).passed


def test_kinds_are_validated():
    assert Check("a", 1.0, ">", 0.0).kind == "claim"
    with pytest.raises(ValueError, match="unknown check kind 'Gate'"):
        Check("a", 1.0, ">", 0.0, kind="Gate")
    with pytest.raises(ValueError, match="unknown comparison"):
        Check("a", 1.0, "=>", 0.0)


def test_experiment_check_takes_kind_and_paper_value():
    exp = Gated()
    g = exp.check("learned", {"x": 0.95}, "x", ">=", "min_learned", kind="gate")
    c = exp.check("gain", {}, "gain", ">", 1.0, paper_value="2.5 ± 0.3")
    assert (g.kind, g.threshold, g.passed, g.paper_value) == ("gate", 0.9, True, None)
    assert (c.kind, c.paper_value, c.passed) == ("claim", "2.5 ± 0.3", False)


# --- the reason of an inconclusive verdict --------------------------------------------------

def test_inconclusive_reason_names_the_gate_and_the_scale():
    checks = [gate(False), claim(True)]
    assert inconclusive_reason(checks, "quick") == (
        "gate failed: model learned (0.4 >= 0.9); a larger scale (full) may settle it, "
        "or the setup needs fixing")
    assert "a larger scale (quick)" in inconclusive_reason(checks, "smoke")
    assert "failed at full scale" in inconclusive_reason(checks, "full")
    assert inconclusive_reason(checks).endswith("; a larger scale may settle it, or the setup needs fixing")
    two = inconclusive_reason([gate(False), Check("baseline trained", math.nan, ">", 0.5, kind="gate")])
    assert two.startswith("2 gates failed: model learned (0.4 >= 0.9); baseline trained (nan > 0.5)")
    assert inconclusive_reason([gate(True), claim(False)], "quick") is None


# --- seed-paired comparisons ----------------------------------------------------------------

def test_mean_se_closed_form():
    assert mean_se([2.0, 4.0]) == (3.0, 1.0)  # sample var 2, SE sqrt(2 / 2)
    mean, se = mean_se([1.0, 2.0, 3.0, 4.0])  # sample var 5/3, SE sqrt(5/12)
    assert mean == 2.5 and se == pytest.approx(math.sqrt(5 / 12))
    assert mean_se([0.5, 0.5, 0.5]) == (0.5, 0.0)


@pytest.mark.parametrize("values", [[], [1.0]])
def test_mean_se_needs_two_seeds(values):
    with pytest.raises(ConfigError, match="at least 2"):
        mean_se(values)
    with pytest.raises(ConfigError):
        seed_metrics("gain", values)


def test_seed_metrics_judge_mean_minus_two_se():
    exp = Gated()

    def passes(diffs, margin):
        return exp.check("gain", seed_metrics("g", diffs), "g_lcb", ">", margin).passed

    assert passes([2.0, 4.0], 0.5)
    assert not passes([2.0, 4.0], 1.0)  # mean − 2·SE == margin: a tie fails
    # 1, 2, 3, 4: 2.5 − 2·sqrt(5/12) = 1.2090...
    assert seed_metrics("g", [1, 2, 3, 4])["g_lcb"] == pytest.approx(2.5 - 2 * math.sqrt(5 / 12))
    assert not passes([5.0, -3.0, 4.0], 0.0)  # big mean, big SE
    assert not passes([1.0, math.nan, 2.0], -10.0)
    assert not passes([math.inf, -math.inf], -10.0)


# --- stored form ----------------------------------------------------------------------------

def test_as_dict_round_trip():
    for c in (gate(False), claim(True), Check("x", 0.3, "<", 0.5, "claim", "0.2 (Tab. 3)"),
              Check("y", math.nan, "<=", 1.0, "gate", 1.5)):
        d = c.as_dict()
        assert {d["kind"], d["passed"]} >= {c.kind, c.passed} and d["paper_value"] == c.paper_value
        back = Check.from_dict(json.loads(json.dumps(d)))
        assert back.as_dict().keys() == d.keys() and back.passed == c.passed
        assert back == c or math.isnan(c.value)
    old = {"description": "v1 check", "value": 1.0, "op": ">", "threshold": 0.0, "passed": True}
    assert Check.from_dict(old).kind == "claim" and Check.from_dict(old).paper_value is None


def test_history_entries_are_validated():
    assert Gated.history[0][1] == "min_learned 0.95 -> 0.9" and Experiment.history == ()

    class Bad(Experiment):
        id, title, claim, paper_figure = "bad-history-test", "t", "c", "f"
        history = (("2026-01-01", "changed the margin"),)

    with pytest.raises(TypeError, match="date, change, reason"):
        register(Bad)
    assert "bad-history-test" not in EXPERIMENTS


# --- runner, store, report, CLI -------------------------------------------------------------

def test_runner_writes_verdict_reason(tmp_path):
    rec = run_experiment("gated-test", "smoke", out=tmp_path, overrides=["learned=0.5"])
    assert rec.verdict == "inconclusive"
    stored = json.loads((rec.path / "metrics.json").read_text())
    assert stored["verdict_reason"] == rec.verdict_reason
    assert rec.verdict_reason.startswith("gate failed: model learned its task (ID accuracy) (0.5 >= 0.9)")
    assert rec.verdict_reason.endswith("a larger scale (quick) may settle it, or the setup needs fixing")
    assert [c["kind"] for c in stored["checks"]] == ["gate", "claim", "claim"]
    assert stored["checks"][1]["paper_value"] == 2.5
    ok = run_experiment("gated-test", "quick", out=tmp_path)
    assert ok.verdict == "reproduced" and ok.verdict_reason == ""
    assert json.loads((ok.path / "metrics.json").read_text())["verdict_reason"] is None
    claims_fail = run_experiment("gated-test", "quick", out=tmp_path, overrides=["gain=0.5"])
    assert claims_fail.verdict == "not reproduced"


def test_old_runs_without_a_reason_read_back(tmp_path):
    run = tmp_path / "tiny-test" / "20250101T000000-quick-s0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"scale": "quick", "seed": 0}))
    (run / "metrics.json").write_text(json.dumps({"metrics": {"abs_mean": 0.1}, "verdict": "reproduced",
                                                  "checks": []}))
    seal_run(run)
    rec = read_run(run)
    assert rec.status == "ok" and rec.verdict_reason == ""


def test_report_shows_kinds_paper_values_reason_and_history(tmp_path):
    run_experiment("gated-test", "quick", out=tmp_path, overrides=["learned=0.5"])
    page = render(tmp_path).read_text()
    section = page[page.index('<section class=exp id="gated-test"'):]
    section = section[:section.index("</section>")]
    assert "<th>kind</th>" in section and "<td class=kind>gate</td>" in section
    assert section.index("<td class=kind>gate</td>") < section.index("<td class=kind>claim</td>")
    assert "<th>paper</th>" in section and ">2.5<" in section
    assert 'class="v inconclusive"' in section
    assert "<b>Inconclusive:</b> gate failed: model learned" in section
    assert "<small>2 ± 0.058 over 3 seeds</small>" in section
    assert "history: changed after a result was seen (1)" in section
    assert "min_learned 0.95 -&gt; 0.9 — the quick scale trains for fewer steps" in section


def _cli(*args):
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_show_prints_gates_claims_paper_values_and_history(tmp_path):
    out = _cli("show", "gated-test", "--runs", str(tmp_path))
    declared = out[out.index("gates:"):out.index("history")]
    assert "model learned its task (ID accuracy): >= 0.9" in declared.split("claims:")[0]
    assert "ours minus baseline (points): > 1  (paper: 2.5)" in declared.split("claims:")[1]
    assert "2026-01-02  min_learned 0.95 -> 0.9 — the quick scale trains for fewer steps" in out
    run_experiment("gated-test", "smoke", out=tmp_path, overrides=["learned=0.5"])
    out = _cli("show", "gated-test", "--runs", str(tmp_path))
    last = out[out.index("last smoke run"):]
    assert "inconclusive" in last and "gate failed: model learned" in last
    assert "FAIL  model learned its task (ID accuracy): 0.5 >= 0.9" in last.split("claims:")[0]
    assert "pass  ours minus baseline (points): 2 > 1  (paper: 2.5)" in last.split("claims:")[1]


def test_show_falls_back_to_the_latest_runs_checks(tmp_path, monkeypatch):
    run_experiment("gated-test", "smoke", out=tmp_path)
    checks = Gated.checks

    def needs_real_metrics(self, metrics):
        if isinstance(metrics, NaNMetrics):
            raise ValueError("cannot convert float NaN to integer")
        return checks(self, metrics)

    monkeypatch.setattr(Gated, "checks", needs_real_metrics)
    out = _cli("show", "gated-test", "--runs", str(tmp_path))
    assert "gates:\n  model learned its task (ID accuracy): >= 0.9" in out


def test_list_shows_inconclusive_and_unknown_verdicts(tmp_path):
    run_experiment("gated-test", "smoke", out=tmp_path, overrides=["learned=0.5"])
    run = tmp_path / "tiny-test" / "20250101T000000-quick-s0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"scale": "quick", "seed": 0}))
    (run / "metrics.json").write_text(json.dumps({"metrics": {}, "verdict": "[weird] verdict"}))
    seal_run(run)
    lines = _cli("list", "--runs", str(tmp_path)).splitlines()
    assert "inconclusive" in next(line for line in lines if "gated-test" in line)
    assert "[weird] verdict" in next(line for line in lines if "tiny-test" in line)


# --- the catalogue ----------------------------------------------------------------------------

@pytest.mark.parametrize("exp_id", CATALOGUE)
def test_checks_can_fail_all_nan_metrics_never_reproduce(exp_id):
    """First step of "checks can fail": with every metric NaN, no experiment is reproduced."""
    checks = EXPERIMENTS.get(exp_id)().checks(NaNMetrics())
    assert checks and judge(checks, "quick") is not Verdict.REPRODUCED
    assert not any(c.passed for c in checks)


def _declared(exp_id: str) -> list[Check]:
    return EXPERIMENTS.get(exp_id)().checks(NaNMetrics())


def _value(check: Check, passing: bool) -> float:
    """A value on the passing or failing side of the check's threshold (a tie for strict ops)."""
    above = check.op in (">", ">=")
    step = 1.0 + abs(check.threshold)
    if passing:
        return check.threshold + (step if above else -step)
    return check.threshold if check.op in (">", "<") else check.threshold + (-step if above else step)


def _metrics(checks: list[Check], gates_pass: bool, claims_pass: bool) -> dict[str, float]:
    return {c.metric: _value(c, gates_pass if c.kind == "gate" else claims_pass) for c in checks}


@pytest.mark.parametrize("exp_id", CATALOGUE)
def test_every_check_reads_one_metric_and_gates_and_claims_are_apart(exp_id):
    checks = _declared(exp_id)
    assert all(c.metric for c in checks), [c.description for c in checks if not c.metric]
    gates = {c.metric for c in checks if c.kind == "gate"}
    claims = {c.metric for c in checks if c.kind == "claim"}
    assert gates and claims, "each experiment declares at least one gate and one claim"
    assert not gates & claims, f"metrics judged as both gate and claim: {gates & claims}"


@pytest.mark.parametrize("exp_id", CATALOGUE)
def test_claims_can_fail_and_gates_make_it_inconclusive(exp_id):
    """With the gates passing, failing claims give `not reproduced`, passing ones `reproduced`;
    with a gate failing, the verdict is `inconclusive` whatever the claims say."""
    exp, checks = EXPERIMENTS.get(exp_id)(), _declared(exp_id)
    assert exp.verdict(_metrics(checks, True, False), "quick") is Verdict.NOT_REPRODUCED
    assert exp.verdict(_metrics(checks, True, True), "quick") is Verdict.REPRODUCED
    for gate_check in (c for c in checks if c.kind == "gate"):
        metrics = _metrics(checks, True, True)
        metrics[gate_check.metric] = _value(gate_check, False)
        assert exp.verdict(metrics, "quick") is Verdict.INCONCLUSIVE, gate_check.description


def test_seed_metrics_and_their_spread():
    metrics = seed_metrics("gain", [1.0, 2.0, 3.0])
    assert metrics["gain_mean"] == 2.0 and metrics["gain_seeds"] == 3.0
    assert metrics["gain_se"] == pytest.approx(1 / math.sqrt(3))
    assert metrics["gain_lcb"] == pytest.approx(2.0 - 2 / math.sqrt(3))
    assert seed_spread("gain_lcb", metrics) == "2 ± 0.58 over 3 seeds"
    assert seed_spread("gain_mean", metrics) == "" and seed_spread("other_lcb", metrics) == ""
    check = Gated().check("gain", metrics, "gain_lcb", ">", 0.5)
    assert check.metric == "gain_lcb" and check.passed
