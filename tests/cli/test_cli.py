"""The CLI through a subprocess, on the test-only experiment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
SRC = TESTS.parent / "src"


def mantissa(*args, runs):
    env = {**os.environ, "MANTISSA_PLUGINS": "tiny_experiment", "MANTISSA_RUNS": str(runs),
           "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS / "plugins")]), "MANTISSA_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "mantissa.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture
def runs(tmp_path):
    return tmp_path / "runs"


def test_list_show_run_report(runs):
    out = mantissa("list", runs=runs)
    assert out.returncode == 0 and "tiny-test" in out.stdout
    out = mantissa("run", "tiny-test", "--scale", "smoke", "--seed", "2", "--set", "n=50", runs=runs)
    assert out.returncode == 0, out.stderr
    assert "tiny-test" in out.stdout
    (run_dir,) = (runs / "tiny-test").iterdir()
    assert run_dir.name.endswith("smoke-s2") and (run_dir / "metrics.json").exists()
    out = mantissa("show", "tiny-test", runs=runs)
    assert out.returncode == 0 and "The mean of n standard normal" in out.stdout
    assert "last smoke run" in out.stdout
    out = mantissa("report", runs=runs)
    assert out.returncode == 0 and (runs / "report.html").exists()
    out = mantissa("list", runs=runs)
    assert "smoke" in out.stdout


def test_resume_skips_finished_runs(runs):
    args = ("run", "tiny-test", "--scale", "smoke", "--set", "n=50")
    assert mantissa(*args, runs=runs).returncode == 0
    out = mantissa(*args, "--resume", runs=runs)
    assert out.returncode == 0, out.stderr
    assert "kept" in out.stderr and len(list((runs / "tiny-test").iterdir())) == 1
    out = mantissa("run", "tiny-test", "--scale", "smoke", "--set", "n=60", "--resume", runs=runs)
    assert out.returncode == 0 and len(list((runs / "tiny-test").iterdir())) == 2  # other config: runs


@pytest.mark.parametrize("args, words", [
    (["run", "tiny-tst"], ["unknown experiment 'tiny-tst'", "did you mean", "tiny-test"]),
    (["run", "tiny-test", "--set", "n"], ["malformed override"]),
    (["run", "tiny-test", "--set", "m=3"], ["unknown config key 'm'", "noise"]),
    (["run", "tiny-test", "--set", "n=x"], ["bad value for 'n'"]),
    (["run"], ["name at least one experiment"]),
    (["show", "nothing"], ["unknown experiment"]),
])
def test_errors_are_one_line_exit_2(args, words, runs):
    out = mantissa(*args, runs=runs)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr
    line = out.stderr.strip()
    assert line.startswith("error:") and "\n" not in line
    for w in words:
        assert w in line
    assert not (runs / "tiny-test").exists()


def test_debug_shows_traceback(runs):
    out = mantissa("--debug", "run", "tiny-tst", runs=runs)
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_parts_lists_experiments(runs):
    out = mantissa("parts", "experiment", runs=runs)
    assert out.returncode == 0 and "tiny-test" in out.stdout
