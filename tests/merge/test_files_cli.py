import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from mantissa.cli import main
from mantissa.merge.files import load_state_dict


def _write(tmp_path, name, sd):
    path = tmp_path / name
    if name.endswith(".safetensors"):
        save_file(sd, str(path))
    else:
        torch.save({"state_dict": sd}, path)
    return str(path)


def _sd(v):
    return {"lin.weight": torch.full((2, 3), float(v)), "lin.bias": torch.full((2,), float(v))}


def test_cli_task_arithmetic_roundtrip(tmp_path):
    base = _write(tmp_path, "base.safetensors", _sd(0))
    ft1 = _write(tmp_path, "a.safetensors", _sd(1))
    ft2 = _write(tmp_path, "b.pt", _sd(3))
    out = tmp_path / "out"
    main(["merge", base, ft1, ft2, "--method", "task-arithmetic:scale=0.5", "--out", str(out)])
    merged = load_file(str(out / "merged.safetensors"))
    assert torch.allclose(merged["lin.weight"], torch.full((2, 3), 2.0))
    assert json.loads((out / "merge.json").read_text())["scale"] == 0.5


def _cli_error(args, capsys):
    with pytest.raises(SystemExit) as ex:
        main(args)
    assert ex.value.code == 2
    return capsys.readouterr().err


def test_cli_mismatch_and_missing_objective(tmp_path, capsys):
    base = _write(tmp_path, "base.safetensors", _sd(0))
    bad = _write(tmp_path, "bad.safetensors", {"lin.weight": torch.zeros(3, 3), "lin.bias": torch.zeros(2)})
    err = _cli_error(["merge", base, bad, "--out", str(tmp_path / "o")], capsys)
    assert "lin.weight" in err and "(3, 3)" in err and "(2, 3)" in err
    ok = _write(tmp_path, "ok.safetensors", _sd(1))
    err = _cli_error(["merge", base, ok, "--method", "atlas", "--out", str(tmp_path / "o")], capsys)
    assert "objective" in err
    args = ["merge", base, ok, "--method", "atlas", "--probe", base, "--out", str(tmp_path / "o")]
    err = _cli_error(args, capsys)
    assert "--model and --probe" in err


def test_bad_files(tmp_path):
    from mantissa.errors import ConfigError, CorruptFileError

    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(CorruptFileError):
        load_state_dict(tmp_path / "junk.safetensors")
    with pytest.raises(ConfigError, match="unknown state-dict file type"):
        load_state_dict(tmp_path / "weights.npz")


def test_cli_learned_method_with_model_and_probe(tmp_path, monkeypatch):
    (tmp_path / "tiny_factory.py").write_text(
        "import torch\n\ndef build():\n    torch.manual_seed(0)\n    return torch.nn.Linear(3, 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    target = torch.nn.Linear(3, 2)
    y = target(x).argmax(1)
    sd = {k: v.detach() for k, v in target.state_dict().items()}
    base = _write(tmp_path, "base.safetensors", {k: torch.zeros_like(v) for k, v in sd.items()})
    ft = _write(tmp_path, "ft.safetensors", sd)
    probe = _write(tmp_path, "probe.safetensors", {"x": x, "y": y})
    out = tmp_path / "learned"
    main(["merge", base, ft, "--method", "self-positioning:steps=30,lr=0.1,beta=0", "--model",
          "tiny_factory:build", "--probe", probe, "--out", str(out)])
    info = json.loads((out / "merge.json").read_text())
    assert info["alpha"][0] > 1.0  # moved away from 1/T = 1 towards a sharper classifier
    assert (out / "merged.safetensors").is_file()
