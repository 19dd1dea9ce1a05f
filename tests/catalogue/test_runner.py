import json

import pytest

from mantissa.catalogue.report import render
from mantissa.catalogue.runner import run_experiment
from mantissa.catalogue.store import list_runs, runs_root
from mantissa.errors import ConfigError, UnknownNameError
from mantissa.experiments import Check, Verdict, judge


@pytest.fixture(autouse=True)
def _plugin(monkeypatch):
    import tiny_experiment  # noqa: F401  (registers "tiny-test")


def test_judge():
    ok, bad = Check("a", 1.0, ">=", 0.5), Check("b", 0.1, ">=", 0.5)
    assert judge([ok, ok]) is Verdict.REPRODUCED
    assert judge([ok, bad]) is Verdict.PARTIAL
    assert judge([bad]) is Verdict.NOT_REPRODUCED
    with pytest.raises(ConfigError):  # protocol v2: a verdict needs at least one claim
        judge([])
    assert not Check("nan", float("nan"), "<", 1.0).passed


def test_run_writes_store(tmp_path):
    rec = run_experiment("tiny-test", "smoke", seed=3, out=tmp_path)
    assert rec.status == "ok" and rec.verdict in {v.value for v in Verdict}
    files = {p.name for p in rec.path.iterdir()}
    assert {"config.json", "env.json", "metrics.json", "hist.png", "samples.csv"} <= files
    env = json.loads((rec.path / "env.json").read_text())
    assert env["seed"] == 3 and env["wall_s"] >= 0 and "torch" in env["packages"]
    assert json.loads((rec.path / "config.json").read_text())["config"]["n"] == 100
    # the verdict is computed from the measured metric, not fixed
    assert (rec.verdict == "reproduced") == (rec.metrics["abs_mean"] < 0.2)


def test_verdict_follows_metrics():
    from tiny_experiment import Tiny

    assert Tiny().verdict({"abs_mean": 0.05}) is Verdict.REPRODUCED
    assert Tiny().verdict({"abs_mean": 0.5}) is Verdict.NOT_REPRODUCED
    assert Tiny().verdict({}) is Verdict.NOT_REPRODUCED


def test_bad_input_writes_nothing(tmp_path):
    with pytest.raises(UnknownNameError):
        run_experiment("tiny-tset", out=tmp_path)
    with pytest.raises(ConfigError):
        run_experiment("tiny-test", out=tmp_path, overrides=["nn=3"])
    with pytest.raises(ConfigError):
        run_experiment("tiny-test", scale="huge", out=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failed_run_recorded(tmp_path):
    with pytest.raises(RuntimeError):
        run_experiment("tiny-test", "smoke", out=tmp_path, overrides=["fail=true"])
    (rec,) = list_runs(tmp_path)
    assert rec.status == "failed" and "asked to fail" in rec.error


def test_report_survives_broken_runs(tmp_path):
    run_experiment("tiny-test", "smoke", out=tmp_path)
    good = run_experiment("tiny-test", "quick", out=tmp_path)
    broken = tmp_path / "tiny-test" / "20990101T000000-quick-s9"
    broken.mkdir()
    (broken / "config.json").write_text('{"scale": "quick", "se')
    half = tmp_path / "tiny-test" / "20990101T000001-quick-s9"
    half.mkdir()
    (half / "config.json").write_text(json.dumps({"scale": "quick", "seed": 9}))
    junk = tmp_path / "no-such-experiment" / "x"
    junk.mkdir(parents=True)
    (junk / "config.json").write_text(json.dumps({"scale": "quick", "seed": 0}))
    tool_output = tmp_path / "demo" / "quantize-compare"  # not a run: no config.json
    tool_output.mkdir(parents=True)
    (tool_output / "compare.csv").write_text("recipe\nint8\n")
    page = render(tmp_path).read_text()
    assert "tiny-test" in page and "data:image/png;base64," in page
    assert "incomplete" in page  # the latest quick run is the half-written one
    assert "no-such-experiment" in page
    statuses = {r.path.name: r.status for r in list_runs(tmp_path)}
    assert statuses[broken.name] == "corrupt" and statuses[half.name] == "incomplete"
    assert statuses[good.path.name] == "ok"
    assert "quantize-compare" not in statuses and not any(r.experiment == "demo" for r in list_runs(tmp_path))


def test_runs_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MANTISSA_RUNS", str(tmp_path / "r"))
    assert runs_root() == tmp_path / "r"


def test_the_runner_writes_a_results_tables_and_figures(tmp_path):
    from mantissa import plot
    from mantissa.catalogue.protocol import Result
    from mantissa.catalogue.runner import write_outputs

    fig, ax = plot.figure()
    ax.plot([0, 1], [1, 0])
    result = Result({"x": 1.0}, tables={"acc": [{"arm": "a", "acc": 0.5}, {"arm": "b", "acc": 0.25}],
                                        "grid.csv": (["i", "v"], [[0, 1.5]])}, figures={"curve": fig})
    assert write_outputs(result, tmp_path) == ["acc.csv", "grid.csv", "curve.png"]
    assert (tmp_path / "acc.csv").read_text() == "arm,acc\na,0.5\nb,0.25\n"
    assert (tmp_path / "grid.csv").read_text() == "i,v\n0,1.5\n"
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", ["", "../x.csv", "sub/x.csv"])
def test_an_output_name_is_a_plain_file_name(name):
    from mantissa.catalogue.protocol import Result

    with pytest.raises(ValueError, match="plain file name"):
        Result({}, tables={name: []})
