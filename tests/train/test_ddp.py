"""Two-process data-parallel training (torchrun, gloo) equals one process on the same batches."""

import os
import subprocess
import sys

import pytest
import torch

from mantissa.train.checkpoint import read_checkpoint

ARGS = ["train", "copy", "--train-lengths", "4", "--test-lengths", "4", "--steps", "12",
        "--set", "data.n_train=128", "--set", "data.n_test=4", "--set", "model.d_model=16",
        "--set", "model.n_layer=1", "--set", "train.batch_size=8", "--set", "train.log_every=4"]


def _run(cmd, tmp_path):
    env = {**os.environ, "MANTISSA_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_two_gloo_processes_match_one(tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    _run([sys.executable, "-m", "mantissa.cli", *ARGS, "--out", str(single)], tmp_path)
    text = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                 "-m", "mantissa.cli", *ARGS, "--out", str(ddp)], tmp_path)
    assert "on 2 process(es)" in text
    a, _ = read_checkpoint(single / "last.ckpt")
    b, meta = read_checkpoint(ddp / "last.ckpt")
    assert meta["step"] == 12
    for k in a:
        if k.startswith("model/"):
            assert torch.allclose(a[k], b[k], atol=1e-5), k


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    """A real process killed with SIGKILL mid-run resumes bit-for-bit with --resume."""
    import signal
    import time

    args = [a for a in ARGS if a != "12"]
    args[args.index("--steps") + 1:args.index("--steps") + 1] = ["400"]
    args += ["--set", "train.ckpt_every=20", "--set", "model.dropout=0.1"]
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    _run([sys.executable, "-m", "mantissa.cli", *args, "--out", str(ref)], tmp_path)
    env = {**os.environ, "MANTISSA_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mantissa.cli", *args, "--out", str(killed)], env=env,
                            cwd=tmp_path)
    deadline = time.time() + 240
    while time.time() < deadline and not (killed / "last.ckpt").exists():
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step = read_checkpoint(killed / "last.ckpt")[1]["step"]
    assert step < 400, "the run finished before it could be killed"
    _run([sys.executable, "-m", "mantissa.cli", *args, "--out", str(killed), "--resume"], tmp_path)
    a, _ = read_checkpoint(ref / "last.ckpt")
    b, _ = read_checkpoint(killed / "last.ckpt")
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model/"))
