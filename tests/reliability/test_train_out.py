"""``train --out``: an existing checkpoint is refused unless --resume (same configs) or --force;
without --out every run gets its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_helpers import assert_one_error_line

from mantissa.train.checkpoint import read_checkpoint
from mantissa.train.resume_check import config_diff

TINY = ("train", "add", "--train-lengths", "1-2", "--test-lengths", "3", "--steps", "3",
        "--set", "model.d_model=16", "--set", "data.n_train=50", "--set", "data.n_test=3")


@pytest.fixture
def trained(cli, tmp_path):
    out = tmp_path / "tro"
    code, _, err = cli(*TINY, "--out", out)
    assert code == 0, err
    return out


def test_existing_checkpoint_is_refused_without_resume_or_force(cli, trained):
    before = (trained / "last.ckpt").read_bytes()
    code, _, err = cli(*TINY, "--out", trained)
    assert_one_error_line(code, err, "last.ckpt", "step 3", "--resume", "--force")
    assert (trained / "last.ckpt").read_bytes() == before


def test_resume_with_another_seed_or_lr_is_refused_with_a_diff(cli, trained):
    before = (trained / "last.ckpt").read_bytes()
    code, _, err = cli(*TINY, "--out", trained, "--resume", "--seed", "1", "--set", "train.lr=0.003")
    assert_one_error_line(code, err, "--resume with a different config: train.lr 0.001 -> 0.003; seed 0 -> 1")
    code, _, err = cli(*TINY, "--out", trained, "--resume", "--format", "reverse", "--train-lengths", "1-3")
    assert_one_error_line(code, err, "data.format '' -> 'reverse'", "data.train_lengths '1-2' -> '1-3'")
    code, _, err = cli(*TINY, "--out", trained, "--resume", "--set", "model.n_layer=3")
    assert_one_error_line(code, err, "model.n_layer 2 -> 3")
    assert (trained / "last.ckpt").read_bytes() == before


def test_resume_with_the_same_config_continues(cli, trained):
    code, out, err = cli(*TINY, "--out", trained, "--resume", "--set", "train.device=cpu")
    assert code == 0, err
    assert "trained 3 steps" in out


def test_force_starts_over_but_only_over_a_mantissa_checkpoint(cli, trained, tmp_path):
    code, _, err = cli(*TINY, "--out", trained, "--force", "--resume")
    assert_one_error_line(code, err, "--resume", "--force")
    code, _, err = cli(*TINY, "--out", trained, "--force", "--set", "train.lr=0.003")
    assert code == 0, err
    assert read_checkpoint(trained / "last.ckpt")[1]["train_config"]["lr"] == 0.003
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "last.ckpt").write_text("my own checkpoint format")
    for flags in ((), ("--force",)):
        code, _, err = cli(*TINY, "--out", foreign, *flags)
        assert_one_error_line(code, err, "last.ckpt", "its own checkpoint")
        assert (foreign / "last.ckpt").read_text() == "my own checkpoint format"


def test_runs_without_out_get_fresh_folders(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, _, err = cli(*TINY)
        assert code == 0, err
    runs = sorted((tmp_path / "runs" / "train").iterdir())
    assert len(runs) == 2 and all((r / "last.ckpt").is_file() for r in runs)
    code, _, err = cli(*TINY, "--resume")
    assert_one_error_line(code, err, "--resume needs --out")


def test_ddp_without_out_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = cli(*TINY)
    assert_one_error_line(code, err, "--out")
    assert not Path("runs").exists()


def test_config_diff_details():
    saved = {"data": {"task": "add"}, "model": {"d_model": 16, "vocab_size": 20},
             "train": {"lr": 0.001, "seed": 0, "betas": [1, 2], "device": "cpu"}}
    wanted = {"data": {"task": "add", "curriculum": 0.0}, "model": {"d_model": 16, "vocab_size": 99},
              "train": {"lr": 0.001, "seed": 0, "betas": (1, 2), "device": "cuda"}}
    # a key newer than the checkpoint compares against its default; derived keys and device never
    assert config_diff(saved, wanted, {"data": {"curriculum": 0.0}}) == []
    assert config_diff(saved, wanted) == ["data.curriculum (absent) -> 0.0"]
    assert config_diff({"data": saved["data"]}, wanted, {"data": {"curriculum": 0.0}}) == [
        "model config not stored in the checkpoint", "train config not stored in the checkpoint"]


def test_resume_without_a_checkpoint_is_refused_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "typo"
    code, _, err = cli(*TINY, "--out", out, "--resume")
    assert_one_error_line(code, err, "--resume: no checkpoint at", "last.ckpt")
    assert not out.exists()
