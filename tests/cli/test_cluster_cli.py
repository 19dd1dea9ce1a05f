"""The command line of docs/cluster.md: --seeds and executors of `mantissa run`, runs of several
seeds in list/show/report, `index build --executor --shards`, and training on two torchrun
"nodes" (two local agents, gloo)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mantissa.cli.cmd_run import parse_seeds
from mantissa.errors import ConfigError

TESTS = Path(__file__).resolve().parents[1]
SRC = TESTS.parent / "src"


def mantissa(*args, runs, pythonpath=(), cwd=None):
    env = {**os.environ, "MANTISSA_PLUGINS": "tiny_experiment", "MANTISSA_RUNS": str(runs),
           "PYTHONPATH": os.pathsep.join([*map(str, pythonpath), str(SRC), str(TESTS / "plugins")]),
           "MANTISSA_PROGRESS": "0", "OMP_NUM_THREADS": "1", "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "mantissa.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300, cwd=cwd)


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("0-2,9,1") == [0, 1, 2, 9]
    assert parse_seeds("5") == [5]
    for bad in ("3-1", "a-b", "", ",", "-1"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_seeds_are_judged_together_in_list_show_and_report(tmp_path):
    runs = tmp_path / "runs"
    out = mantissa("run", "tiny-test", "--scale", "smoke", "--seeds", "0-2", runs=runs)
    assert out.returncode == 0, out.stderr
    assert "tiny-test seed 2" in out.stdout and "over seeds" in out.stdout
    assert len(list((runs / "tiny-test").iterdir())) == 3
    out = mantissa("list", runs=runs)
    assert "3: 0,1,2" in out.stdout
    out = mantissa("show", "tiny-test", runs=runs)
    assert "smoke over 3 seeds" in out.stdout and "judged on mean + 2·SE" in out.stdout
    assert "seeds 0:" in out.stdout and "seed 2:" in out.stdout
    assert mantissa("report", runs=runs).returncode == 0
    assert "over 3 seeds (0, 1, 2)" in (runs / "report.html").read_text()


@pytest.mark.parametrize("args, words", [
    (["run", "tiny-test", "--seed", "1", "--seeds", "0-1"], ["--seed or --seeds"]),
    (["run", "tiny-test", "--seeds", "3-1"], ["backwards"]),
    (["run", "tiny-test", "--workers", "2"], ["--workers needs --executor"]),
    (["run", "tiny-test", "--executor", "process", "--address", "auto"], ["--address"]),
    (["run", "tiny-test", "--executor", "ray"], ["pip install 'mantissa[cluster]'"]),
    (["index", "build", "--input", "x.npy", "--out", "i", "--shards", "2"], ["give --executor"]),
    (["index", "build", "--input", "x.npy", "--out", "i", "--executor", "ray"],
     ["pip install 'mantissa[cluster]'"]),
])
def test_refusals_are_one_line_exit_2(tmp_path, args, words):
    hidden = tmp_path / "hide"  # a `ray` that cannot be imported, first on the path
    hidden.mkdir()
    (hidden / "ray.py").write_text("raise ImportError('hidden by the test')\n")
    np.save(tmp_path / "x.npy", np.ones((4, 8), dtype=np.float32))
    out = mantissa(*args, runs=tmp_path / "runs", pythonpath=[hidden], cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith("error:") and all(w in out.stderr for w in words), out.stderr


def test_index_build_in_shards_equals_one_process(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(1).standard_normal((700, 16)).astype(np.float32))
    common = ["--input", str(tmp_path / "x.npy"), "--spec", "ivf:4,nprobe=2+int8+rescore:2", "--chunk", "128"]
    one = mantissa("index", "build", *common, "--out", str(tmp_path / "one"), runs=tmp_path)
    sh = mantissa("index", "build", *common, "--out", str(tmp_path / "sh"), "--executor", "local",
                  "--shards", "3", runs=tmp_path)
    assert one.returncode == 0 and sh.returncode == 0, one.stderr + sh.stderr
    assert "3 shard(s) encoded by the local executor" in sh.stdout
    from mantissa.index.sharded import same_index

    assert all(same_index(tmp_path / "one", tmp_path / "sh").values())


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TRAIN = ["train", "copy", "--train-lengths", "4", "--test-lengths", "4", "--steps", "8",
         "--set", "data.n_train=64", "--set", "data.n_test=4", "--set", "model.d_model=16",
         "--set", "model.n_layer=1", "--set", "train.batch_size=8", "--set", "train.log_every=4"]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_train_on_two_torchrun_nodes_matches_one_process(tmp_path):
    """`torchrun --nnodes 2` as docs/cluster.md gives it, both "nodes" on this machine."""
    from mantissa.train.checkpoint import read_checkpoint

    env = {**os.environ, "MANTISSA_PROGRESS": "0", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    single = subprocess.run([sys.executable, "-m", "mantissa.cli", *TRAIN, "--out", str(tmp_path / "one")],
                            capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    port = str(_free_port())
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
              "--master_addr", "127.0.0.1", "--master_port", port]
    train = ["-m", "mantissa.cli", *TRAIN, "--out", str(tmp_path / "two")]
    nodes = [subprocess.Popen([*launch, "--node_rank", str(rank), *train], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path) for rank in (0, 1)]
    outs = [p.communicate(timeout=300) for p in nodes]
    assert all(p.returncode == 0 for p in nodes), outs
    assert "on 2 process(es)" in outs[0][0]
    a, _ = read_checkpoint(tmp_path / "one" / "last.ckpt")
    b, meta = read_checkpoint(tmp_path / "two" / "last.ckpt")
    assert meta["step"] == 8
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a if k.startswith("model/"))
