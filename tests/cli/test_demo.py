"""``mantissa demo``: the curated list, resume after an interruption, failures reported."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mantissa.cli import cmd_demo
from mantissa.cli.cmd_demo import DEMO, Step
from mantissa.experiments import get_experiment, load_all


def test_demo_covers_every_pillar_with_registered_experiments():
    load_all()
    per_pillar: dict[str, int] = {}
    for step in DEMO:
        if step.args[0] == "run":
            get_experiment(step.args[1])  # raises on an unknown id
            per_pillar[step.pillar] = per_pillar.get(step.pillar, 0) + 1
    assert len(per_pillar) == 5 and min(per_pillar.values()) >= 2
    commands = {step.args[:2] for step in DEMO}
    assert ("quantize", "--compare") in commands and ("index", "eval") in commands


def test_list_prints_command_lines(tmp_path):
    out = CliRunner().invoke(cmd_demo.command, ["--list", "--out", str(tmp_path)])
    assert out.exit_code == 0
    assert f"mantissa index eval --input {tmp_path}/demo/wordnet-definitions.txt" in out.output
    assert len(out.output.splitlines()) == len(DEMO)


@pytest.fixture
def tiny_demo(monkeypatch):
    import tiny_experiment  # noqa: F401  (registers "tiny-test")

    prepared = []
    steps = (Step("test", ("run", "tiny-test", "--scale", "smoke", "--resume", "--out", "{store}")),
             Step("test", ("run", "tiny-test", "--scale", "smoke", "--seed", "1", "--out", "{store}"),
                  prepare=prepared.append))
    monkeypatch.setattr(cmd_demo, "DEMO", steps)
    return prepared


def test_demo_runs_resumes_and_renders_the_report(tiny_demo, tmp_path):
    store = tmp_path / "runs"
    out = CliRunner().invoke(cmd_demo.command, ["--out", str(store)])
    assert out.exit_code == 0, out.output
    assert tiny_demo == [store / "demo"]
    assert f"report: {(store / 'report.html').resolve()}" in out.output
    assert len(list((store / "tiny-test").iterdir())) == 2
    again = CliRunner().invoke(cmd_demo.command, ["--out", str(store)])
    assert again.exit_code == 0 and again.output.count("done before") == 2
    assert len(list((store / "tiny-test").iterdir())) == 2  # nothing ran twice
    assert len(tiny_demo) == 1


def test_a_failed_step_is_reported_and_not_recorded(monkeypatch, tmp_path):
    monkeypatch.setattr(cmd_demo, "DEMO", (Step("test", ("run", "no-such-experiment", "--out", "{store}")),))
    out = CliRunner().invoke(cmd_demo.command, ["--out", str(tmp_path)])
    assert out.exit_code == 1 and "failed (exit 2)" in out.output
    assert not (tmp_path / "demo" / "done.json").exists()
