"""`mantissa train` / `mantissa eval` through click, in process."""

from click.testing import CliRunner

from mantissa.cli import cli


def _invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def test_train_eval_and_bad_input(tmp_path):
    out = tmp_path / "run"
    res = _invoke(["train", "add", "--format", "reverse", "--pe", "nope", "--train-lengths", "1-2",
                   "--test-lengths", "3", "--steps", "3", "--set", "model.d_model=16", "--set",
                   "data.n_train=50", "--set", "data.n_test=3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "last.ckpt").exists() and (out / "eval.json").exists()
    res = _invoke(["eval", str(out / "last.ckpt"), "--lengths", "1-2", "--n", "3", "--csv",
                   str(tmp_path / "a.csv")])
    assert res.exit_code == 0, res.output
    assert "length" in (tmp_path / "a.csv").read_text()
    # incompatible config on resume: the mismatched key is named
    res = _invoke(["train", "add", "--steps", "3", "--set", "model.d_model=32", "--out", str(out),
                   "--resume"])
    assert res.exit_code != 0 and "d_model" in str(res.exception)
    res = _invoke(["train", "add", "--format", "bogus", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "valid names" in str(res.exception)
    (out / "last.ckpt").write_bytes(b"not a checkpoint")
    res = _invoke(["eval", str(out / "last.ckpt")])
    assert res.exit_code != 0 and "safetensors" in str(res.exception)
