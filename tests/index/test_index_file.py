"""The on-disk index: round trip, append, atomic build, corruption, concurrent readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from mantissa.errors import CorruptFileError, ShapeError
from mantissa.index.index import Index
from mantissa.index.index_file import append_index, build_index, open_index


def _data(n=1500, d=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


@pytest.mark.parametrize("spec", ["float32", "int8", "binary+rescore:4", "pq:6x4,iters=5",
                                  "ivf:8,nprobe=3+int4", "matryoshka:24+binary+rescore:2,with=int8"])
def test_file_index_searches_like_the_memory_index(tmp_path, spec):
    x, q = _data(), _data(30, seed=1)
    mem = Index.build(spec, x)
    disk = build_index(tmp_path / "idx", spec, [x[:400], x[400:]], fit_size=len(x), chunk_size=256)
    assert disk.count == len(x)
    disk = open_index(tmp_path / "idx")
    assert torch.equal(disk.search(q, 10)[1], mem.search(q, 10)[1])
    man = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert man["spec"] == str(mem.spec) and man["dim"] == 48 and man["count"] == len(x)


def test_append_adds_a_segment(tmp_path):
    x, q = _data(), _data(10, seed=2)
    build_index(tmp_path / "idx", "int8", [x[:1000]], fit_size=1500)
    idx = append_index(tmp_path / "idx", [x[1000:]])
    assert idx.count == len(x) and len(idx.segments) == 2
    ref = Index.fit("int8", x[:1000])
    ref.add(x)
    assert torch.equal(open_index(tmp_path / "idx").search(q, 5)[1], ref.search(q, 5)[1])


def test_interrupted_build_leaves_nothing(tmp_path):
    def chunks():
        yield _data(500)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(tmp_path / "idx", "int8", chunks(), fit_size=100)
    assert list(tmp_path.iterdir()) == []


def test_nan_rows_are_reported_with_their_row_numbers(tmp_path):
    x = _data(600)
    x[555, 3] = float("nan")
    with pytest.raises(ShapeError, match="555"):
        build_index(tmp_path / "idx", "int8", [x[:300], x[300:]], fit_size=100, chunk_size=100)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ShapeError):
        build_index(tmp_path / "idx", "int8", [])


def test_existing_index_is_not_overwritten_without_force(tmp_path):
    build_index(tmp_path / "idx", "binary", [_data(100)])
    with pytest.raises(FileExistsError):
        build_index(tmp_path / "idx", "binary", [_data(100)])
    build_index(tmp_path / "idx", "int8", [_data(100)], overwrite=True)
    assert str(open_index(tmp_path / "idx").spec) == "int8"


def _corrupt(tmp_path: Path, how: str) -> Path:
    p = tmp_path / "idx"
    build_index(p, "int8+rescore:2", [_data(300)])
    f = p / "seg-00000.codes"
    raw = bytearray(f.read_bytes())
    if how == "truncate":
        f.write_bytes(raw[:-10])
    elif how == "flip":
        raw[5000] ^= 1
        f.write_bytes(raw)
    elif how == "magic":
        f.write_bytes(b"NOTMAGIC" + raw[8:])
    elif how == "foreign":
        f.write_bytes(b"hello world")
    elif how == "version":
        f.write_bytes(raw.replace(b'"version": 2', b'"version": 9', 1))
    elif how == "manifest":
        (p / "index.json").write_text("{not json")
    elif how == "aux":
        (p / "aux.safetensors").write_bytes(b"\0" * 30)
    elif how == "count":
        man = json.loads((p / "index.json").read_text())
        man["count"] = 5
        (p / "index.json").write_text(json.dumps(man))
    return p


DAMAGE = ["truncate", "flip", "magic", "foreign", "version", "manifest", "aux", "count"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_indexes_raise_corrupt_file_error(tmp_path, how):
    p = _corrupt(tmp_path, how)
    with pytest.raises(CorruptFileError):
        open_index(p)


def test_missing_or_foreign_folders(tmp_path):
    with pytest.raises(CorruptFileError):
        open_index(tmp_path / "nothing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.json").write_text('{"magic": "something else"}')
    with pytest.raises(CorruptFileError, match="not a mantissa index"):
        open_index(tmp_path / "other")


def test_query_dimension_mismatch_on_a_file_index(tmp_path):
    idx = build_index(tmp_path / "idx", "binary", [_data(100)])
    with pytest.raises(ShapeError, match="48-dimensional"):
        idx.search(torch.randn(1, 47))


def _search_in_process(path: str) -> list[list[int]]:
    return open_index(path).search(_data(5, seed=9), 3)[1].tolist()


def test_concurrent_readers_see_the_same_results(tmp_path):
    build_index(tmp_path / "idx", "int8", [_data()])
    expected = _search_in_process(str(tmp_path / "idx"))
    results: list[list[list[int]]] = []
    threads = [threading.Thread(target=lambda: results.append(_search_in_process(str(tmp_path / "idx"))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4
    code = ("import sys, torch; from mantissa.index.index_file import open_index; "
            "g = torch.Generator().manual_seed(9); "
            "q = torch.nn.functional.normalize(torch.randn(5, 48, generator=g), dim=1); "
            "print(open_index(sys.argv[1]).search(q, 3)[1].tolist())")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "idx")], stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == [str(expected)] * 2


BIG = """
import resource, sys, torch
from mantissa.index.index_file import build_index, open_index
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def chunks(n=1_000_000, size=20_000, d=128):
    g = torch.Generator().manual_seed(0)
    for s in range(0, n, size):
        yield torch.randn(size, d, generator=g)
idx = build_index(sys.argv[1], "binary", chunks(), fit_size=20_000, chunk_size=20_000)
hits = open_index(sys.argv[1]).search(torch.randn(3, 128), 5)[1]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(idx.count, hits.shape[1], (peak - base) // 1024)
"""


@pytest.mark.slow
def test_million_vector_build_in_bounded_memory(tmp_path):
    out = subprocess.run([sys.executable, "-c", BIG, str(tmp_path / "big")], capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr
    count, k, grown_mib = map(int, out.stdout.split())
    assert count == 1_000_000 and k == 5
    # the vectors are 488 MiB of float32; the build may grow the process by a small multiple of a chunk
    assert grown_mib < 200, f"peak memory grew by {grown_mib} MiB"
    assert (tmp_path / "big" / "seg-00000.codes").stat().st_size == 4096 + 1_000_000 * 16


def test_a_crashed_appends_lock_is_taken_over_a_live_one_refused(tmp_path):
    p = tmp_path / "idx"
    build_index(p, "int8", [_data(50)])
    (p / ".append.lock").write_text("999999999")  # no such process: a crash left it
    assert append_index(p, [_data(10)]).count == 60
    assert not (p / ".append.lock").exists()
    (p / ".append.lock").write_text(str(os.getpid()))  # a live appender
    with pytest.raises(CorruptFileError, match="another append"):
        append_index(p, [_data(10)])
    assert open_index(p).count == 60
