"""SIGKILL of a build or save in a child process: the destination is absent, the previous
valid copy or the new valid one, never half; the next build removes every leftover.

Kills land at random moments of ``mantissa index build`` (timed from when its temporary
folder appears) and, to hit the narrowest windows for sure, at each step of the swap
itself in a child that kills itself there.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from reliability_helpers import hidden_entries, vectors

from mantissa.errors import CorruptFileError
from mantissa.index.index_file import build_index, open_index
from mantissa.swap import MARKER

N, DIM = 40_000, 64
BUILD = ("--chunk", "500", "--fit-size", "2000")


def _spawn(good: Path, out: Path, spec: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MANTISSA_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "mantissa.cli", "index", "build", "--input", str(good),
                             "--out", str(out), "--spec", spec, "--force", *BUILD], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_building(parent: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> float:
    """Seconds until the build's temporary folder appears (or the process ends)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and proc.poll() is None:
        if any(".building-" in name for name in os.listdir(parent)):
            break
        time.sleep(0.005)
    return time.monotonic() - t0


def _state(out: Path) -> str:
    """What the next reader finds: ``absent``, or the spec of a fully verified index."""
    try:
        idx = open_index(out, verify=True)
    except CorruptFileError:
        assert not out.exists(), f"{out} exists but does not open"
        return "absent"
    assert idx.count == N
    return str(idx.spec)


def _next_build_cleans(parent: Path) -> None:
    build_index(parent / "other", "int8", [torch.randn(5, 4)], overwrite=True)
    assert hidden_entries(parent) == []


@pytest.fixture
def good(tmp_path):
    return vectors(tmp_path / "good.npy", n=N, dim=DIM)


def test_sigkill_of_index_build_at_random_moments(tmp_path, good):
    parent = tmp_path / "store"
    parent.mkdir()
    out = parent / "idx"
    proc = _spawn(good, out, "binary")  # first build into nothing: absent or new, never half
    time.sleep(random.Random(0).uniform(0.5, 1.5))
    proc.kill()
    proc.wait()
    assert _state(out) in ("absent", "binary")
    _next_build_cleans(parent)
    proc = _spawn(good, out, "int8")  # a full build, timed: the previous valid index
    start = _wait_for_building(parent, proc)
    t0 = time.monotonic()
    assert proc.wait() == 0 and _state(out) == "int8"
    span = time.monotonic() - t0
    rng, seen = random.Random(15), []
    for trial in range(6):
        proc = _spawn(good, out, "binary" if _state(out) == "int8" else "int8")  # new != previous
        if trial == 0:  # while starting up
            time.sleep(rng.uniform(0, start))
        else:  # while building or swapping
            _wait_for_building(parent, proc)
            time.sleep(rng.uniform(0, span * 1.1))
        proc.kill()
        proc.wait()
        seen.append(_state(out))
        assert seen[-1] in ("int8", "binary")  # a previous index existed: never absent
        _next_build_cleans(parent)
    assert sorted(p.name for p in parent.iterdir()) == ["idx", "other"]


_CHILD = textwrap.dedent("""
    import os, signal, sys, torch
    from mantissa import swap
    from mantissa.index.index_file import build_index

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    rename = os.rename
    def rename_then_die(src, dst):
        rename(src, dst)
        if ".old-" in str(dst):
            die()

    where = sys.argv[2]
    if where == "between-renames":
        swap.exchange = lambda a, b: False
        swap.os.rename = rename_then_die
    elif where == "after-exchange":
        swap.remove = die
    elif where == "before-exchange":
        swap.exchange = die
    build_index(sys.argv[1], "binary", [torch.randn(50, 8)], overwrite=True)
""")


@pytest.mark.parametrize("where,expect", [("before-exchange", "int8"), ("after-exchange", "binary"),
                                          ("between-renames", "int8")])
def test_sigkill_inside_the_swap(tmp_path, where, expect):
    out = tmp_path / "idx"
    build_index(out, "int8", [torch.randn(40, 8)])
    child = subprocess.run([sys.executable, "-c", _CHILD, str(out), where], capture_output=True, timeout=120)
    assert child.returncode == -9, child.stderr.decode()
    assert any(MARKER in os.listdir(tmp_path / n) for n in hidden_entries(tmp_path)), "left nothing to clean"
    if where == "between-renames":
        assert not out.exists()  # the window the exchange closes; the next open recovers it
    assert str(open_index(out).spec) == expect
    build_index(tmp_path / "next", "int8", [torch.randn(5, 4)])
    assert hidden_entries(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["idx", "next"]
    if where == "between-renames":
        assert not (out / MARKER).exists()  # recovered, unmarked (elsewhere a marker is harmless)
    assert build_index(out, "binary", [torch.randn(9, 8)], overwrite=True).count == 9


_QUANT_CHILD = textwrap.dedent("""
    import os, signal, sys, torch, transformers
    from mantissa import swap
    from mantissa.quant.api import quantize
    from mantissa.quant.saving import save_quantized

    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=16)
    model = transformers.BertModel(cfg).eval()
    quantize(model, sys.argv[2])
    if len(sys.argv) > 3:
        swap.remove = lambda path: os.kill(os.getpid(), signal.SIGKILL)
    save_quantized(model, sys.argv[1])
""")


def test_sigkill_of_save_quantized(tmp_path):
    pytest.importorskip("transformers")
    from mantissa.quant.saving import read_manifest

    out = tmp_path / "q"
    run = [sys.executable, "-c", _QUANT_CHILD, str(out)]
    assert subprocess.run([*run, "int8"], capture_output=True, timeout=300).returncode == 0
    assert subprocess.run([*run, "fp8", "die"], capture_output=True, timeout=300).returncode == -9
    assert read_manifest(out)["recipe"] == "fp8"  # killed after the exchange: the new copy
    assert len(hidden_entries(tmp_path)) == 1
    assert subprocess.run([*run, "int8"], capture_output=True, timeout=300).returncode == 0
    assert read_manifest(out)["recipe"] == "int8" and hidden_entries(tmp_path) == []
