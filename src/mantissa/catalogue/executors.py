"""Where ``mantissa run`` runs its tasks, one task per (experiment, scale, seed).

* ``local`` (the default): one after another in this process; needs nothing beyond mantissa.
* ``process``: a pool of ``workers`` processes on this machine (spawned: each has its own torch).
* ``ray``: one Ray task per run, on the cluster at ``address`` or on a local Ray of ``workers``
  CPUs. Each task declares the CPUs, GPUs and memory its experiment asks for at that scale
  (:attr:`Experiment.resources <mantissa.catalogue.protocol.Experiment.resources>` over
  :data:`~mantissa.catalogue.protocol.DEFAULT_RESOURCES`), so Ray places it on a node that has
  them. Ray is the optional ``[cluster]`` extra and is imported only when asked for.

Every executor stores a run exactly as a local run does (:func:`~mantissa.catalogue.runner.
start_run`, :func:`~mantissa.catalogue.runner.finish_run`): the same folder, files and sealed
manifest. A Ray task writes into a shared store (``store=``, a path every node sees) or, by
default, into a scratch folder on its node whose files it sends back; the driver writes them
into its own store byte for byte (:func:`unpack_run`) and reads them back through the manifest.
A failed task (the experiment raised, or its worker died) is recorded with its error (the run's
``error.json``, or the outcome's ``error`` when no folder came back) and retried ``retries``
times (once by default; ``local`` never retries, as before). ``resume`` skips runs finished in
the store by the same commit. Progress lines count the tasks done, running and failed.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mantissa import runtime
from mantissa.catalogue.discovery import get_experiment
from mantissa.catalogue.protocol import DEFAULT_RESOURCES, Experiment
from mantissa.catalogue.runner import finish_run, finished_run, start_run
from mantissa.catalogue.store import MANIFEST, RunRecord, read_run
from mantissa.errors import ConfigError, MissingDependencyError
from mantissa.fresh_dir import fresh_dir
from mantissa.io import atomic_write

EXECUTORS = ("local", "process", "ray")
RESOURCE_KEYS = ("cpus", "gpus", "memory_gb")
_CLUSTER_HINT = "pip install 'mantissa[cluster]'"
#: environment variables a worker takes over from the driver (plugins, cache, data paths)
_ENV_PREFIX = "MANTISSA_"


@dataclass(frozen=True)
class Resources:
    """What one run asks of a scheduler: CPUs (also its torch threads), GPUs, memory in GiB."""

    cpus: float = 1
    gpus: float = 0
    memory_gb: float = 1

    def ray_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_cpus": self.cpus, "memory": int(self.memory_gb * 2**30)}
        if self.gpus:
            opts["num_gpus"] = self.gpus
        return opts

    @property
    def threads(self) -> int:
        return max(1, int(self.cpus))


def resources_of(exp: Experiment | type[Experiment], scale: str) -> Resources:
    """The resources one run of ``exp`` at ``scale`` asks for: its own ``resources[scale]``
    over :data:`DEFAULT_RESOURCES`; an unknown key or a negative amount is a ConfigError."""
    own = dict(getattr(exp, "resources", {}) or {})
    unknown = set(own) - set(DEFAULT_RESOURCES)
    if unknown:
        raise ConfigError(f"experiment {exp.id}: resources for unknown scale(s) {sorted(unknown)}")
    merged = {**DEFAULT_RESOURCES.get(scale, DEFAULT_RESOURCES["quick"]), **own.get(scale, {})}
    bad = set(merged) - set(RESOURCE_KEYS)
    if bad:
        raise ConfigError(f"experiment {exp.id}: unknown resource(s) {sorted(bad)}; "
                          f"use {', '.join(RESOURCE_KEYS)}")
    if any(not isinstance(v, int | float) or v < 0 for v in merged.values()) or merged["cpus"] <= 0:
        raise ConfigError(f"experiment {exp.id}: resources at {scale} must be non-negative numbers "
                          f"and cpus > 0, got {merged}")
    return Resources(**{k: float(v) for k, v in merged.items()})


@dataclass(frozen=True)
class Task:
    """One run to make: an experiment at a scale with a seed (and config overrides)."""

    exp_id: str
    scale: str
    seed: int
    overrides: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.exp_id} seed {self.seed}"


@dataclass
class Outcome:
    """What became of a task: its stored run (ok or failed), or the error when none was stored."""

    task: Task
    record: RunRecord | None = None
    error: str = ""
    attempts: int = 0
    wall_s: float = 0.0
    resumed: bool = False
    host: str = ""

    @property
    def ok(self) -> bool:
        return self.record is not None and self.record.status == "ok"

    @property
    def status(self) -> str:
        if self.ok:
            assert self.record is not None
            return str(self.record.verdict)
        return "failed"


def make_tasks(names: Sequence[str], scale: str, seeds: Sequence[int],
               overrides: Sequence[str] = ()) -> list[Task]:
    """Every (experiment, seed) pair, experiments in order, each one's seeds together."""
    return [Task(n, scale, s, tuple(overrides)) for n in names for s in seeds]


# -- the work of one task, in whichever process runs it --------------------------------
def pack_run(path: Path) -> dict[str, bytes]:
    """Every file of a run folder by its relative path, to send to the driver."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def unpack_run(root: Path, exp_id: str, name: str, files: Mapping[str, bytes]) -> Path:
    """Write a run folder sent by a worker into the store ``root``: a fresh folder named as
    the worker's, ``config.json`` first and the sealed manifest last (as a local run does)."""
    dest = fresh_dir(root / exp_id / name)
    last = ("metrics.json", "error.json", MANIFEST)
    order = sorted(files, key=lambda n: (n != "config.json", n in last, last.index(n) if n in last else 0))
    for rel in order:
        target = dest / rel
        if not target.resolve().is_relative_to(dest.resolve()):
            raise ConfigError(f"a worker sent a file outside its run folder: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, files[rel])
    return dest


def execute(task: Task, store: str | None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``task`` in this process and return where its run went.

    With ``store`` the run is written there (a store this process shares with the driver) and
    its path is returned; without, it is written to a scratch folder whose files are returned
    (``files``) and then removed. An exception inside the experiment does not escape: the run
    is stored with its ``error.json`` and the error returned too."""
    for key, value in (env or {}).items():
        os.environ.setdefault(key, value)
    for name in filter(None, (n.strip() for n in os.environ.get("MANTISSA_PLUGINS", "").split(","))):
        if name not in sys.modules:  # a reused worker that loaded the catalogue before the plugins
            importlib.import_module(name)
    exp = get_experiment(task.exp_id)
    res = resources_of(exp, task.scale)
    scratch = None if store else Path(tempfile.mkdtemp(prefix="mantissa-task-"))
    root = Path(store) if store else scratch
    assert root is not None
    error, t0 = None, time.perf_counter()
    with runtime.threads(res.threads):
        exp, cfg, run_dir = start_run(task.exp_id, task.scale, task.seed, root, task.overrides)
        try:
            finish_run(exp, cfg, task.scale, task.seed, run_dir)
        except Exception as exc:  # recorded in the run's error.json; the driver retries
            error = f"{type(exc).__name__}: {exc}"
    out: dict[str, Any] = {"path": str(run_dir), "name": run_dir.name, "error": error,
                           "wall_s": time.perf_counter() - t0, "host": socket.gethostname(), "files": None}
    if scratch is not None:
        out["files"] = pack_run(run_dir)
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def _forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIX) and k != "MANTISSA_RUNS"}


# -- progress ----------------------------------------------------------------------------
@dataclass
class Progress:
    """Counts of tasks done, running and failed; ``say`` prints each event with them."""

    total: int
    say: Callable[[str], None] = print
    done: int = 0
    running: int = 0
    failed: int = 0
    retried: int = 0

    def line(self, text: str) -> None:
        self.say(f"[{self.done}/{self.total} done, {self.running} running, {self.failed} failed] {text}")

    def started(self, task: Task, attempt: int) -> None:
        self.running += 1
        again = f" (retry {attempt - 1})" if attempt > 1 else ""
        self.line(f"{task}: started{again}")

    def finished(self, outcome: Outcome, retry: bool) -> None:
        self.running -= 1
        if retry:
            self.retried += 1
            self.line(f"{outcome.task}: failed ({outcome.error}); retrying once")
            return
        self.done += 1
        self.failed += not outcome.ok
        rec = outcome.record
        where = f" on {outcome.host}" if outcome.host else ""
        if outcome.ok and rec is not None:
            reason = f" — {rec.verdict_reason}" if rec.verdict_reason else ""
            self.line(f"{outcome.task}: {rec.verdict} ({outcome.wall_s:.1f}s{where}){reason}")
        else:
            self.line(f"{outcome.task}: FAILED ({outcome.error}){where}")

    def resumed(self, outcome: Outcome) -> None:
        self.done += 1
        assert outcome.record is not None
        self.line(f"{outcome.task}: {outcome.record.verdict} (done before, kept: {outcome.record.path})")


# -- executors ---------------------------------------------------------------------------
@dataclass
class Executor:
    """Runs tasks into the run store ``root``; subclasses say where (see the module docstring)."""

    workers: int | None = None
    retries: int = 1
    store: str | None = None  # a store every worker shares (the ray executor); else results are sent
    pending: dict[Any, tuple[Task, int]] = field(default_factory=dict, init=False)

    def run(self, tasks: Sequence[Task], root: Path, *, resume: bool = False,
            say: Callable[[str], None] = print) -> list[Outcome]:
        """Run every task (skipping finished ones with ``resume``); outcomes in task order."""
        progress = Progress(len(tasks), say)
        outcomes: dict[int, Outcome] = {}
        todo: list[tuple[int, Task, int]] = []
        for i, task in enumerate(tasks):
            done = finished_run(task.exp_id, task.scale, task.seed, root, task.overrides) if resume else None
            if done is not None:
                outcomes[i] = Outcome(task, done, resumed=True)
                progress.resumed(outcomes[i])
            else:
                todo.append((i, task, 1))
        self.open(root, [t for _, t, _ in todo])
        try:
            queue = list(todo)
            in_flight: dict[Any, tuple[int, Task, int]] = {}
            while queue or in_flight:
                while queue and len(in_flight) < self.capacity():
                    i, task, attempt = queue.pop(0)
                    in_flight[self.submit(task, root)] = (i, task, attempt)
                    progress.started(task, attempt)
                handle, result, exc = self.wait(list(in_flight))
                i, task, attempt = in_flight.pop(handle)
                outcome = self.collect(task, root, result, exc, attempt)
                retry = not outcome.ok and attempt <= self.retries
                progress.finished(outcome, retry)
                if retry:
                    queue.insert(0, (i, task, attempt + 1))
                else:
                    outcomes[i] = outcome
        finally:
            self.close()
        say(f"{progress.done} task(s) done, {progress.failed} failed, {progress.retried} retried")
        return [outcomes[i] for i in range(len(tasks))]

    def collect(self, task: Task, root: Path, result: dict[str, Any] | None, exc: BaseException | None,
                attempt: int) -> Outcome:
        """The outcome of one attempt from what the worker returned (or how it failed)."""
        if result is None:  # the worker died or could not run the task: no run folder came back
            return Outcome(task, None, f"{type(exc).__name__}: {exc}", attempt)
        path = Path(result["path"])
        if result.get("files") is not None:
            path = unpack_run(root, task.exp_id, result["name"], result["files"])
        rec = read_run(path)
        error = result.get("error") or (rec.error if rec.status != "ok" else "")
        return Outcome(task, rec, error, attempt, float(result.get("wall_s") or 0.0),
                       host=str(result.get("host") or ""))

    # what a subclass provides
    def open(self, root: Path, tasks: Sequence[Task]) -> None:
        """Start whatever runs the tasks (a pool, a Ray connection)."""

    def close(self) -> None:
        """Stop what :meth:`open` started."""

    def capacity(self) -> int:
        return self.workers or 1

    def submit(self, task: Task, root: Path) -> Any:  # pragma: no cover
        raise NotImplementedError

    def wait(self, handles: list[Any]) -> tuple[Any, dict[str, Any] | None, BaseException | None]:
        raise NotImplementedError  # pragma: no cover


class LocalExecutor(Executor):
    """One task after another in this process (the default; never retries)."""

    def __init__(self, retries: int = 0, **_: Any) -> None:
        super().__init__(workers=1, retries=retries)
        self._done: dict[int, tuple[dict[str, Any] | None, BaseException | None]] = {}
        self._n = 0

    def submit(self, task: Task, root: Path) -> Any:
        self._n += 1
        try:
            self._done[self._n] = (execute(task, str(root)), None)
        except Exception as exc:  # bad names and overrides are checked before; anything else
            self._done[self._n] = (None, exc)
        return self._n

    def wait(self, handles: list[Any]) -> tuple[Any, dict[str, Any] | None, BaseException | None]:
        handle = handles[0]
        return (handle, *self._done.pop(handle))


class ProcessExecutor(Executor):
    """A pool of ``workers`` spawned processes on this machine, writing into the store directly."""

    def open(self, root: Path, tasks: Sequence[Task]) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = self.workers or max(1, os.cpu_count() or 1)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, task: Task, root: Path) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(execute, task, str(root), _forwarded_env())
        except BrokenProcessPool:  # a worker died: start a new pool for what is left
            self.close()
            self.open(root, [])
            return self._pool.submit(execute, task, str(root), _forwarded_env())

    def wait(self, handles: list[Any]) -> tuple[Any, dict[str, Any] | None, BaseException | None]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures

        done, _ = wait_futures(handles, return_when=FIRST_COMPLETED)
        fut = next(iter(done))
        exc = fut.exception()
        return fut, (None if exc else fut.result()), exc


def import_ray() -> Any:
    """The ``ray`` module; a MissingDependencyError naming the extra when it is not installed."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(f"the ray executor needs Ray, which is not installed: {_CLUSTER_HINT}") \
            from None
    return ray


def _ray_execute(task: Task, store: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    return execute(task, store, env)


class RayExecutor(Executor):
    """One Ray task per run: on the cluster at ``address``, else on a local Ray of ``workers`` CPUs
    (or the Ray this process already joined). At most ``workers`` tasks (default: the cluster's
    CPUs) are in flight at once; Ray places each by the resources it declares."""

    def __init__(self, address: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address = address
        self._started = False

    def open(self, root: Path, tasks: Sequence[Task]) -> None:
        ray = self.ray = import_ray()
        if not ray.is_initialized():
            opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                    "configure_logging": False}
            if self.address:
                ray.init(address=self.address, **opts)
            else:
                ray.init(num_cpus=self.workers or os.cpu_count() or 1, **opts)
            self._started = True
        self._capacity = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(max_retries=0)(_ray_execute)
        self._env = _forwarded_env()
        self._check_feasible(tasks)

    def _check_feasible(self, tasks: Sequence[Task]) -> None:
        """Refuse a task no node could ever take (Ray would wait for it forever)."""
        nodes = [n.get("Resources", {}) for n in self.ray.nodes() if n.get("Alive")]
        for task in {(t.exp_id, t.scale): t for t in tasks}.values():
            res = resources_of(get_experiment(task.exp_id), task.scale)
            need = {"CPU": res.cpus, "GPU": res.gpus, "memory": res.memory_gb * 2**30}
            if not any(all(n.get(k, 0) >= v for k, v in need.items() if v) for n in nodes):
                have = [{k: n.get(k, 0) for k in need} for n in nodes]
                raise ConfigError(f"{task.exp_id} at {task.scale} asks for {res} (cpus, gpus, memory); "
                                  f"no node of this Ray cluster has that much: {have}. Give the cluster "
                                  "more (ray start --num-cpus/--num-gpus/--memory) or use --workers")

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False

    def capacity(self) -> int:
        """Tasks in flight: ``workers``, else the cluster's CPUs (so "running" counts what runs)."""
        return self._capacity

    def submit(self, task: Task, root: Path) -> Any:
        res = resources_of(get_experiment(task.exp_id), task.scale)
        return self._remote.options(**res.ray_options()).remote(task, self.store, self._env)

    def wait(self, handles: list[Any]) -> tuple[Any, dict[str, Any] | None, BaseException | None]:
        ready, _ = self.ray.wait(handles, num_returns=1)
        ref = ready[0]
        try:
            return ref, self.ray.get(ref), None
        except Exception as exc:  # the worker died (RayError), or the task raised before storing
            return ref, None, exc


def make_executor(kind: str, *, address: str | None = None, workers: int | None = None,
                  store: str | None = None, retries: int | None = None) -> Executor:
    """The executor named ``kind`` (see :data:`EXECUTORS`); options that do not apply refuse."""
    if kind not in EXECUTORS:
        raise ConfigError(f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")
    if address and kind != "ray":
        raise ConfigError("--address names a Ray cluster: use it with --executor ray")
    if workers and kind == "local":
        raise ConfigError("--workers needs --executor process or ray (local runs one task at a time)")
    if kind == "local":
        return LocalExecutor(retries=retries or 0)
    if kind == "process":
        return ProcessExecutor(workers=workers, retries=1 if retries is None else retries)
    return RayExecutor(address=address, workers=workers, store=store,
                       retries=1 if retries is None else retries)
