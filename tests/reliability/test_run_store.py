"""The run store under stress: simultaneous writers, misshapen records, hostile artifacts."""

from __future__ import annotations

import base64
import json
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mantissa.catalogue.report import render
from mantissa.catalogue.runner import finished_run
from mantissa.catalogue.store import list_runs, new_run_dir, read_run, seal_run
from mantissa.experiments import EXPERIMENTS, load_all
from mantissa.io import seal, sha256_file


def test_80_simultaneous_new_run_dirs_in_threads(tmp_path):
    barrier = threading.Barrier(80)

    def start(_: int) -> Path:
        barrier.wait()
        return new_run_dir(tmp_path, "exp", "quick", 0)

    with ThreadPoolExecutor(80) as pool:
        dirs = list(pool.map(start, range(80)))
    assert len(set(dirs)) == 80 and all(d.is_dir() for d in dirs)


def _start_at(args: tuple[str, float]) -> list[str]:
    root, when = args
    time.sleep(max(0.0, when - time.time()))
    return [str(new_run_dir(Path(root), "exp", "quick", 0)) for _ in range(10)]


def test_80_new_run_dirs_from_8_processes(tmp_path):
    when = time.time() + 1.5
    with ProcessPoolExecutor(8, mp_context=multiprocessing.get_context("spawn")) as pool:
        dirs = [d for batch in pool.map(_start_at, [(str(tmp_path), when)] * 8) for d in batch]
    assert len(dirs) == 80 and len(set(dirs)) == 80


@pytest.fixture
def exp_id():
    load_all()
    return EXPERIMENTS.list()[0]


def _run_dir(store: Path, exp_id: str, name: str, *, config=None, env=None, metrics=None) -> Path:
    d = store / exp_id / name
    d.mkdir(parents=True)
    records = {"config.json": config if config is not None else
               {"experiment": exp_id, "scale": "quick", "seed": 0, "started": "2025-01-01", "config": {}},
               "env.json": env if env is not None else {"git_commit": "abc"},
               "metrics.json": metrics if metrics is not None else
               {"metrics": {"m": 1.0}, "verdict": "reproduced", "verdict_reason": "", "wall_s": 1.0,
                "checks": [{"description": "m", "value": 1.0, "op": ">", "threshold": 0.5, "kind": "claim",
                            "passed": True}]}}
    for name_, rec in records.items():
        (d / name_).write_text(rec if isinstance(rec, str) else json.dumps(rec))
    seal_run(d)
    return d


GOOD_CHECK = {"description": "m", "value": 1.0, "op": ">", "threshold": 0.5}
#: (name, record file, content) for records that parse but have the wrong shape, or do not parse
BAD = [
    ("checks-int", "metrics.json", {"metrics": {}, "checks": [1]}),
    ("verdict-int", "metrics.json", {"metrics": {}, "verdict": 5, "checks": []}),
    ("env-list", "env.json", []),
    ("checks-dict", "metrics.json", {"metrics": {}, "checks": {"a": 1}}),
    ("check-no-op", "metrics.json", {"metrics": {}, "checks": [{"description": "x", "value": 1}]}),
    ("check-markup", "metrics.json", {"metrics": {}, "checks": [{**GOOD_CHECK, "op": 7}]}),
    ("check-str-value", "metrics.json", {"metrics": {}, "checks": [{**GOOD_CHECK, "value": "[/x]"}]}),
    ("metrics-list", "metrics.json", {"metrics": [1, 2]}),
    ("metrics-null", "metrics.json", None),
    ("wall-str", "metrics.json", {"metrics": {}, "wall_s": "fast"}),
    ("config-list", "config.json", [1]),
    ("scale-list", "config.json", {"scale": ["quick"], "seed": 0}),
    ("seed-str", "config.json", {"scale": "quick", "seed": "zero"}),
    ("seed-bool", "config.json", {"scale": "quick", "seed": True}),
    ("config-str", "config.json", {"scale": "quick", "seed": 0, "config": "x"}),
    ("not-json", "metrics.json", "{not json"),
    ("binary", "env.json", "\udcff"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_a_misshapen_record_is_shown_as_corrupt_and_never_fatal(cli, tmp_path, exp_id, case):
    name, file, content = case
    store = tmp_path / "runs"
    good = _run_dir(store, exp_id, "20250101T000000-quick-s0")
    bad = _run_dir(store, exp_id, "20250101T000001-quick-s0")
    path = bad / file
    if content == "\udcff":
        path.write_bytes(b"\xff\xfe\x00binary")
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    seal_run(bad)  # sealed as it is: the record's shape, not its checksum, must catch it
    assert read_run(bad).status == "corrupt" and file in read_run(bad).error
    assert [r.status for r in list_runs(store)] == ["ok", "corrupt"]
    for args in (("report", "--runs", store), ("show", exp_id, "--runs", store), ("list", "--runs", store)):
        code, out, err = cli(*args)
        assert code == 0 and "Traceback" not in err, (args, err)
    assert "corrupt" in (store / "report.html").read_text()
    assert finished_run(exp_id, "quick", 0, out=store) in (None, read_run(good))  # run --resume reads it


def test_svg_artifacts_are_images_never_markup(tmp_path, exp_id):
    store = tmp_path / "runs"
    d = _run_dir(store, exp_id, "20250101T000000-quick-s0")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert("owned")</script></svg>'
    (d / "plot.svg").write_bytes(svg)
    (d / "binary.svg").write_bytes(b"\x89\xff\x00 not text")
    seal_run(d)
    page = render(store).read_text()
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(svg).decode()}"' in page
    assert "alert(" not in page and "<svg" not in page
    assert page.count('src="data:image/svg+xml;base64,') == 2


@pytest.mark.parametrize("damage", ["edit", "unsealed", "no-manifest", "outside"])
def test_a_record_that_does_not_match_its_manifest_is_corrupt(tmp_path, exp_id, damage):
    run = _run_dir(tmp_path, exp_id, "20250101T000000-quick-s0")
    manifest = json.loads((run / "manifest.json").read_text())
    if damage == "edit":  # a verdict edited by hand
        text = (run / "metrics.json").read_text().replace('"reproduced"', '"partial"')
        (run / "metrics.json").write_text(text)
    elif damage == "unsealed":  # the manifest itself edited
        manifest["files"]["metrics.json"] = "0" * 64
        (run / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "no-manifest":
        (run / "manifest.json").unlink()
    else:  # a listed name outside the folder, resealed
        (tmp_path / "x.txt").write_text("x")
        manifest["files"]["../../x.txt"] = sha256_file(tmp_path / "x.txt")
        (run / "manifest.json").write_text(json.dumps(seal(manifest)))
    rec = read_run(run)
    assert rec.status == "corrupt" and rec.verdict is None and rec.artifacts == []


def test_only_listed_files_are_artifacts(tmp_path, exp_id):
    run = _run_dir(tmp_path, exp_id, "20250101T000000-quick-s0")
    (run / "added-later.svg").write_text("<svg/>")
    rec = read_run(run)
    assert rec.status == "ok" and rec.artifacts == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
_check = st.fixed_dictionaries({"description": st.text(max_size=20), "value": _json, "op": _json,
                                "threshold": _json}, optional={"kind": _json, "passed": _json,
                                                               "paper_value": _json, "metric": _json})
_metrics_record = st.fixed_dictionaries({}, optional={
    "metrics": st.dictionaries(st.text(max_size=8), _json, max_size=3) | _json,
    "verdict": _json, "verdict_reason": _json, "checks": st.lists(_check, max_size=3) | _json,
    "wall_s": _json, "artifacts": _json})
_config_record = st.fixed_dictionaries({}, optional={"scale": _json, "seed": _json, "started": _json,
                                                     "config": _json, "experiment": _json})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=_config_record | _json, env=_json, metrics=_metrics_record | _json)
def test_generated_records_never_break_read_or_report(tmp_path_factory, config, env, metrics):
    store = tmp_path_factory.mktemp("store")
    load_all()
    run = _run_dir(store, EXPERIMENTS.list()[0], "20250101T000000-quick-s0",
                   config=config, env=env, metrics=metrics)
    rec = read_run(run)
    assert rec.status in ("ok", "corrupt")
    page = render(store).read_text()
    assert "<script>alert" not in page
