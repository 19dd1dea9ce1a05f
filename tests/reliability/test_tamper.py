"""Edit, truncate or swap any file of any artifact: the loader refuses, nothing loads silently.

Each artifact kind is built twice from different data (A and B). Then each file of A is cut
in half, has one byte flipped, or is replaced by B's file of the same name (where A has
several files), and loading A must refuse it: ``CorruptFileError`` for indexes, quantized
models and checkpoints, status ``corrupt`` for a run record.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import gated_experiment  # noqa: F401  (registers "gated-test")
import pytest
import torch
from tiny_models import tiny_bert

from mantissa.catalogue.runner import run_experiment
from mantissa.catalogue.store import read_run
from mantissa.errors import CorruptFileError
from mantissa.index.index_file import build_index, open_index, stored_texts
from mantissa.io import seal
from mantissa.quant import quantize
from mantissa.quant.saving import load_quantized, save_quantized
from mantissa.train.checkpoint import load_checkpoint, save_checkpoint


def _index(folder: Path, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    build_index(folder, "pq:4x4+rescore:2", [torch.randn(300, 16, generator=g)], fit_size=300,
                texts=[f"text {seed} {i}" for i in range(300)])


def _open_index(folder: Path) -> None:
    open_index(folder)
    stored_texts(folder)


def _quantized(folder: Path, seed: int) -> None:
    model = tiny_bert()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(seed * 0.01)
    quantize(model, "int8", calibration=[{"input_ids": torch.randint(0, 50, (2, 8))}])
    save_quantized(model, folder)


def _checkpoint(folder: Path, seed: int) -> None:
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    folder.mkdir()
    save_checkpoint(folder / "last.ckpt", model=model, optimizer=opt, step=10 + seed,
                    meta={"task": f"task-{seed}"})


def _load_checkpoint(folder: Path) -> None:
    model = torch.nn.Linear(4, 3)
    load_checkpoint(folder / "last.ckpt", model=model, optimizer=torch.optim.Adam(model.parameters()))


def _run(folder: Path, seed: int) -> None:
    rec = run_experiment("gated-test", "quick", seed=seed, out=folder / "store",
                         overrides=[f"gain={2 + seed}"])
    shutil.move(rec.path, folder / "run")
    shutil.rmtree(folder / "store")


def _read_run(folder: Path) -> None:
    rec = read_run(folder / "run")
    if rec.status != "ok":
        raise CorruptFileError(rec.error)


#: kind -> (build(folder, seed), load(folder))
KINDS: dict[str, tuple[Callable[[Path, int], None], Callable[[Path], None]]] = {
    "index": (_index, _open_index),
    "quantized": (_quantized, load_quantized),
    "checkpoint": (_checkpoint, _load_checkpoint),
    "run": (_run, _read_run),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("artifacts")
    out = {}
    for kind, (build, load) in KINDS.items():
        a, b = root / kind / "A", root / kind / "B"
        a.parent.mkdir()
        build(a, 0)
        build(b, 1)
        load(a)  # intact: loads
        out[kind] = (a, b)
    return out


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _damage(path: Path, how: str, other: Path) -> None:
    raw = path.read_bytes()
    if how == "truncate":
        path.write_bytes(raw[:len(raw) // 2])
    elif how == "flip":
        i = len(raw) // 2
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:])
    else:
        shutil.copyfile(other, path)


@pytest.mark.parametrize("how", ["truncate", "flip", "swap"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_file_of_every_artifact_is_covered(built, tmp_path, kind, how):
    a, b = built[kind]
    load = KINDS[kind][1]
    tried, names = 0, _files(a)
    if how == "swap" and len(names) == 1:
        pytest.skip("a one-file artifact swapped whole is just another valid artifact")
    for name in names:
        if how == "swap" and (not (b / name).is_file() or (b / name).read_bytes() == (a / name).read_bytes()):
            continue  # identical in both artifacts (e.g. a config): a swap changes nothing
        copy = tmp_path / f"{kind}-{how}-{tried}"
        shutil.copytree(a, copy)
        _damage(copy / name, how, b / name)
        with pytest.raises(CorruptFileError):
            load(copy)
            pytest.fail(f"{kind}: {how} of {name} loaded")
        tried += 1
    assert tried >= 1


def test_an_edited_quantized_manifest_is_refused(built, tmp_path):
    """The trial's case: every layer's bits changed from 8 to 4 in manifest.json."""
    copy = tmp_path / "q"
    shutil.copytree(built["quantized"][0], copy)
    text = (copy / "manifest.json").read_text()
    assert '"bits": 8' in text
    (copy / "manifest.json").write_text(text.replace('"bits": 8', '"bits": 4'))
    with pytest.raises(CorruptFileError, match="manifest was edited"):
        load_quantized(copy)


@pytest.mark.parametrize("kind", ["index", "quantized"])
def test_a_resealed_manifest_cannot_name_a_file_outside_its_folder(built, tmp_path, kind):
    copy = tmp_path / "a"
    shutil.copytree(built[kind][0], copy)
    name = "index.json" if kind == "index" else "manifest.json"
    man = json.loads((copy / name).read_text())
    if kind == "index":
        man["segments"][0]["name"] = "../B/seg-00000"
    else:
        man["files"]["../outside.txt"] = man["files"].pop("config.json")
    (copy / name).write_text(json.dumps(seal(man)))
    with pytest.raises(CorruptFileError, match="not a file inside the folder"):
        KINDS[kind][1](copy)


def test_an_edited_checkpoint_step_is_refused(built, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(built["checkpoint"][0], copy)
    raw = (copy / "last.ckpt").read_bytes()
    assert b'\\"step\\": 10' in raw
    (copy / "last.ckpt").write_bytes(raw.replace(b'\\"step\\": 10', b'\\"step\\": 99', 1))
    with pytest.raises(CorruptFileError, match="checksum"):
        _load_checkpoint(copy)
