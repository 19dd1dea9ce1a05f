"""Executors of `mantissa run`: resources, shipping run folders, retries, --resume, and Ray runs
compared with local ones (3 smoke experiments x 2 seeds on a local Ray of 2 CPUs)."""

import importlib.util
import os

import pytest

from mantissa.catalogue.aggregate import group_runs
from mantissa.catalogue.executors import (
    ProcessExecutor,
    RayExecutor,
    Resources,
    Task,
    make_executor,
    make_tasks,
    pack_run,
    resources_of,
    unpack_run,
)
from mantissa.catalogue.runner import run_experiment
from mantissa.catalogue.store import list_runs, read_run
from mantissa.errors import ConfigError, MissingDependencyError
from mantissa.experiments import EXPERIMENTS, SCALES, Experiment, get_experiment, load_all
from mantissa.runtime import threads

#: fast smoke experiments without wall-clock metrics, so two runs of a seed measure the same
SMOKE = ("cot-theory", "task-hinting", "dfp-training")  # none needs WordNet: CI also runs with it hidden


@pytest.fixture
def tiny(monkeypatch):
    import tiny_experiment  # noqa: F401  (registers "tiny-test")

    monkeypatch.setenv("MANTISSA_PLUGINS", "tiny_experiment")


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray of 2 CPUs for this module; skipped only when Ray is absent and CI does not
    require it (MANTISSA_REQUIRE_DATA=1 makes a missing Ray a failure)."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("MANTISSA_REQUIRE_DATA") == "1":
            pytest.fail("Ray is not installed; CI installs the [cluster] extra")
        pytest.skip("Ray is not installed: pip install 'mantissa[cluster]'")
    import ray

    plugins = os.path.join(os.path.dirname(os.path.dirname(__file__)), "plugins")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [
                 plugins, os.environ.get("PYTHONPATH", "")]))}})
    yield ray
    ray.shutdown()


def test_resources_default_and_declared():
    class Big(Experiment):
        id = "big"
        resources = {"full": {"gpus": 1, "memory_gb": 64}}

    assert resources_of(Big, "smoke") == Resources(1, 0, 1)
    assert resources_of(Big, "full") == Resources(4, 1, 64)
    assert Resources(2, 1, 3).ray_options() == {"num_cpus": 2, "memory": 3 * 2**30, "num_gpus": 1}
    Big.resources = {"full": {"tpus": 1}}
    with pytest.raises(ConfigError, match="unknown resource"):
        resources_of(Big, "full")
    Big.resources = {"huge": {}}
    with pytest.raises(ConfigError, match="unknown scale"):
        resources_of(Big, "full")
    Big.resources = {"quick": {"cpus": 0}}
    with pytest.raises(ConfigError, match="cpus > 0"):
        resources_of(Big, "quick")


def test_every_experiment_declares_valid_resources():
    load_all()
    for exp_id in EXPERIMENTS.list():
        for scale in SCALES:
            assert resources_of(EXPERIMENTS.get(exp_id), scale).cpus > 0


def test_options_that_do_not_apply_refuse():
    with pytest.raises(ConfigError, match="--address"):
        make_executor("process", address="auto")
    with pytest.raises(ConfigError, match="--workers"):
        make_executor("local", workers=2)
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("slurm")
    assert make_tasks(["a", "b"], "smoke", [0, 1]) == [
        Task("a", "smoke", 0), Task("a", "smoke", 1), Task("b", "smoke", 0), Task("b", "smoke", 1)]


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'mantissa\[cluster\]'"):
        make_executor("ray").run([Task("cot-theory", "smoke", 0)], tmp_path)


def test_a_shipped_run_folder_reads_back_the_same(tiny, tmp_path):
    rec = run_experiment("tiny-test", "smoke", 3, tmp_path / "worker")
    files = pack_run(rec.path)
    back = read_run(unpack_run(tmp_path / "driver", "tiny-test", rec.path.name, files))
    assert back.status == "ok" and back.metrics == rec.metrics and back.verdict == rec.verdict
    assert back.path.name == rec.path.name and pack_run(back.path) == files
    with pytest.raises(ConfigError, match="outside"):
        unpack_run(tmp_path / "driver", "tiny-test", "x", {"../evil": b""})


def test_process_pool_retries_a_failure_once_and_resumes(tiny, tmp_path):
    tasks = [Task("tiny-test", "smoke", 0), Task("tiny-test", "smoke", 1),
             Task("tiny-test", "smoke", 2, ("fail=true",))]
    lines = []
    outcomes = ProcessExecutor(workers=2).run(tasks, tmp_path, say=lines.append)
    assert [o.ok for o in outcomes] == [True, True, False]
    failed = outcomes[2]
    assert failed.attempts == 2 and "asked to fail" in failed.error and failed.record.status == "failed"
    assert len([r for r in list_runs(tmp_path) if r.status == "failed"]) == 2  # both attempts stored
    assert any("retrying once" in line for line in lines) and "3 task(s) done, 1 failed" in lines[-1]
    assert any("[3/3 done, 0 running, 1 failed]" in line for line in lines)
    # the same runs again with --resume: the finished ones are kept, only the failed one runs
    again = ProcessExecutor(workers=1, retries=0).run(tasks, tmp_path, resume=True, say=lines.append)
    assert [o.resumed for o in again] == [True, True, False]
    assert again[0].record.path == outcomes[0].record.path


def _comparable(metrics):
    return {k: v for k, v in metrics.items() if not k.endswith(("_s", "seconds", "qps"))}


def test_ray_runs_match_local_runs(ray_local, tmp_path):
    """3 smoke experiments x 2 seeds as Ray tasks (files sent back to the driver) against the
    same runs made here: equal metrics, verdicts and multi-seed verdicts."""
    tasks = make_tasks(SMOKE, "smoke", [0, 1])
    lines = []
    outcomes = RayExecutor(workers=2).run(tasks, tmp_path / "ray", say=lines.append)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert ray_local.is_initialized()  # a Ray it did not start is left running
    with threads(1):
        local = [run_experiment(t.exp_id, t.scale, t.seed, tmp_path / "local") for t in tasks]
    for o, rec in zip(outcomes, local):
        assert o.record.path.parent.parent == tmp_path / "ray"  # unpacked into the driver's store
        assert _comparable(o.record.metrics) == pytest.approx(_comparable(rec.metrics), rel=1e-6, abs=1e-9)
        assert o.record.verdict == rec.verdict, o.task
        assert [c["passed"] for c in o.record.checks] == [c["passed"] for c in rec.checks]
    by_ray = {g.experiment: g.verdict for g in group_runs(list_runs(tmp_path / "ray"))}
    by_local = {g.experiment: g.verdict for g in group_runs(list_runs(tmp_path / "local"))}
    assert by_ray == by_local and len(by_ray) == 3


def test_ray_retries_a_task_that_cannot_start_and_writes_a_shared_store(ray_local, tmp_path):
    store = tmp_path / "shared"
    bad = Task("cot-theory", "smoke", 0, ("no_such_key=1",))  # refused before a run folder exists
    ok = Task("cot-theory", "smoke", 1)
    outcomes = RayExecutor(workers=2, store=str(store)).run([bad, ok], store, say=lambda s: None)
    assert outcomes[0].record is None and outcomes[0].attempts == 2
    assert "no_such_key" in outcomes[0].error
    assert outcomes[1].ok and outcomes[1].record.path.parent.parent == store


def test_ray_refuses_a_task_no_node_can_take(ray_local, tmp_path, monkeypatch):
    exp = type(get_experiment("cot-theory"))
    monkeypatch.setattr(exp, "resources", {"smoke": {"gpus": 1}}, raising=False)
    with pytest.raises(ConfigError, match="no node of this Ray cluster"):
        RayExecutor().run([Task("cot-theory", "smoke", 0)], tmp_path, say=lambda s: None)
