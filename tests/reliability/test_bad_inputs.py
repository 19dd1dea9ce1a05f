"""Every bad input gets one line: exit 2, a single ``error:`` line, no traceback, files intact.

The cases are the table in ``bad_input_cases.py`` (over 300, across every command). Each
runs ``mantissa`` in this process under an alarm, so a bad value that is silently accepted
and starts real work fails fast instead of hanging the suite. With ``BAD_INPUTS_CENSUS=FILE``
each case's outcome (clean, traceback, silent, files lost...) is appended to FILE as JSON.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import bad_input_cases
import numpy as np
import pytest
import tiny_experiment  # noqa: F401  (registers "tiny-test")
import torch
from reliability_helpers import snapshot, user_folder, vectors
from safetensors.torch import save_file

from mantissa.index.index_file import build_index
from mantissa.train.checkpoint import read_checkpoint, save_checkpoint

CASES = bad_input_cases.all_cases()
SECONDS = int(os.environ.get("BAD_INPUTS_SECONDS", "60"))


class _Timeout(BaseException):
    """The command ran past the alarm: it accepted the bad input and started working."""


def _checkpoints(art: Path) -> None:
    """A tiny ``train`` checkpoint and variants whose configs are wrong but sealed."""
    from mantissa.cli import main

    try:
        main([a.format(out=art / "tr") for a in bad_input_cases.TINY])
    except SystemExit as exc:
        assert exc.code in (0, None)
    tensors, meta = read_checkpoint(art / "tr" / "last.ckpt")
    model = torch.nn.Module()
    for name, value in tensors.items():
        if name.startswith("model/"):
            model.register_buffer(name[6:].replace(".", "_"), value)
    variants = {
        "ckpt_extra": {**meta, "model_config": {**meta["model_config"], "nosuch": 1}},
        "ckpt_nomodel": {k: v for k, v in meta.items() if k != "model_config"},
        "ckpt_badmodel": {**meta, "model_config": {**meta["model_config"], "n_head": 0}},
        "ckpt_baddata": {**meta, "data_config": {**meta["data_config"], "nosuch": 1}},
        "ckpt_badtask": {**meta, "data_config": {**meta["data_config"], "task": "nosuch-task"}},
    }
    for name, info in variants.items():
        info = {k: v for k, v in info.items() if k not in ("step", "optimizer")}
        lin = torch.nn.Linear(2, 2)
        save_checkpoint(art / f"{name}.ckpt", model=lin, step=1, meta=info)
    (art / "junk.ckpt").write_bytes(b"not a checkpoint at all" * 10)
    (art / "empty.ckpt").write_bytes(b"")


def _state_dicts(art: Path) -> None:
    g = torch.Generator().manual_seed(0)
    base = {"weight": torch.randn(3, 4, generator=g), "bias": torch.randn(3, generator=g)}
    save_file(base, art / "base.safetensors")
    save_file({k: v + 0.1 for k, v in base.items()}, art / "ft.safetensors")
    save_file({k: torch.full_like(v, float("nan")) for k, v in base.items()}, art / "nan.safetensors")
    save_file({k: torch.full_like(v, float("inf")) for k, v in base.items()}, art / "inf.safetensors")
    save_file({"w": base["weight"], "b": base["bias"]}, art / "other_keys.safetensors")
    save_file({"weight": torch.randn(4, 4), "bias": torch.randn(4)}, art / "other_shape.safetensors")
    save_file({"x": torch.randn(8, 4, generator=g), "y": torch.randint(0, 3, (8,), generator=g).float()},
              art / "probe.safetensors")
    save_file({"a": torch.randn(5, 4), "b": torch.randn(5, 4)}, art / "two.safetensors")
    (art / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    (art / "empty.safetensors").write_bytes(b"")
    (art / "junk.pt").write_bytes(b"PK\x03\x04 garbage")
    (art / "base.txt").write_text("weights\n")


@pytest.fixture(scope="module")
def art(tmp_path_factory) -> Path:
    """Shared inputs, built once: vectors, an index, a checkpoint, state dicts, broken files."""
    art = tmp_path_factory.mktemp("bad-inputs-art")
    vectors(art / "vec.npy")
    vectors(art / "vec16.npy", n=50, dim=16, seed=1)
    (art / "empty.npy").write_bytes(b"")
    (art / "junk.npy").write_text("this is not numpy\n")
    np.save(art / "vec1d.npy", np.zeros(32, np.float32))
    np.save(art / "vec3d.npy", np.zeros((4, 4, 4), np.float32))
    np.save(art / "strs.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(art / "nan.npy", np.full((300, 32), np.nan, np.float32))
    (art / "empty.txt").write_text("\n\n")
    (art / "v.csv").write_text("1,2,3\n")
    (art / "codes").mkdir()
    (art / "empty_dir").mkdir()
    build_index(art / "index", "int8", [torch.from_numpy(np.load(art / "vec.npy"))], fit_size=300)
    import shutil

    shutil.copytree(art / "index", art / "codes_dir_index")
    for codes in (art / "codes_dir_index").glob("*.codes"):
        codes.unlink()
        codes.mkdir()
    (art / "manifest_dir").mkdir()
    (art / "manifest_dir" / "manifest.json").write_text('{"mine": true}\n')
    (art / "manifest_dir" / "app.py").write_text("print('mine')\n")
    _checkpoints(art)
    _state_dicts(art)
    return art


def _fill(template: str, art: Path, work: Path) -> str:
    names = {
        "vec": art / "vec.npy", "vec16": art / "vec16.npy", "empty_npy": art / "empty.npy",
        "junk_npy": art / "junk.npy", "vec1d": art / "vec1d.npy", "vec3d": art / "vec3d.npy",
        "strs_npy": art / "strs.npy", "nan_npy": art / "nan.npy", "empty_txt": art / "empty.txt",
        "csv": art / "v.csv", "codes_dir": art / "codes", "empty_dir": art / "empty_dir",
        "index": art / "index", "codes_dir_index": art / "codes_dir_index",
        "manifest_dir": art / "manifest_dir",
        "ckpt": art / "tr" / "last.ckpt", "ckpt_dir": art / "tr", "junk_ckpt": art / "junk.ckpt",
        "empty_ckpt": art / "empty.ckpt", "base": art / "base.safetensors", "ft": art / "ft.safetensors",
        "nan_st": art / "nan.safetensors", "inf_st": art / "inf.safetensors",
        "other_keys": art / "other_keys.safetensors", "other_shape": art / "other_shape.safetensors",
        "probe": art / "probe.safetensors", "two_st": art / "two.safetensors",
        "junk_st": art / "junk.safetensors", "empty_st": art / "empty.safetensors",
        "junk_pt": art / "junk.pt",
        "base_txt": art / "base.txt", "missing_st": work / "missing.safetensors",
        "user": work / "user", "afile": work / "afile.txt", "under_file": work / "afile.txt" / "sub",
        "out": work / "out", "missing": work / "missing.npy",
    }
    names |= {n: art / f"{n}.ckpt" for n in ("ckpt_extra", "ckpt_nomodel", "ckpt_badmodel", "ckpt_baddata",
                                             "ckpt_badtask")}
    return template.format(**{k: str(v) for k, v in names.items()})


def _outcome(code: int, err: str, lost: bool) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    if lost:
        return "files lost"
    if "Traceback" in err or (code not in (0, 2) and not err.strip()):
        return "traceback"
    if code == 0:
        return "silently accepted"
    if code == 2 and len(lines) == 1 and lines[0].startswith("error: "):
        return "clean error"
    return "other"


def _alarm(signum, frame):
    raise _Timeout


@pytest.mark.parametrize("command, template", CASES, ids=[f"{i:03d}-{c}" for i, (c, _) in enumerate(CASES)])
def test_bad_input_gets_one_error_line(command, template, art, tmp_path, monkeypatch, capsys):
    from mantissa.cli import main

    monkeypatch.chdir(tmp_path)
    user_folder(tmp_path / "user")
    (tmp_path / "afile.txt").write_text("my file\n")
    args = [_fill(a, art, tmp_path) for a in template]
    before = {"art": snapshot(art), "work": snapshot(tmp_path)}
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _Timeout:
        code = 0
    except Exception:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    err = capsys.readouterr().err
    after = {"art": snapshot(art), "work": snapshot(tmp_path)}
    lost = any(after[k].get(p, b"<gone>") != v for k in before for p, v in before[k].items())
    outcome = _outcome(code, err, lost)
    census = os.environ.get("BAD_INPUTS_CENSUS")
    if census:
        with open(census, "a") as fh:
            fh.write(json.dumps({"command": command, "args": template, "outcome": outcome,
                                 "err": err[-300:]}) + "\n")
    assert outcome == "clean error", f"{outcome}: exit {code}; stderr: {err[-2000:]}"


def test_the_table_is_large_and_covers_every_command():
    from mantissa.cli import cli

    commands = {c for c, _ in CASES}
    assert len(CASES) >= 300
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        if name == "index":
            assert {"index build", "index search", "index eval"} <= commands
        else:
            assert name in commands, name
