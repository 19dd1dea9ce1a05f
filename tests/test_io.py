import os

import pytest
import torch

from mantissa.errors import CorruptFileError
from mantissa.io import atomic_path, atomic_write, load_tensors, read_json, save_tensors, write_json


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_json_roundtrip_and_corrupt(tmp_path):
    p = write_json(tmp_path / "a.json", {"x": torch.tensor(1.5), "n": float("nan")})
    assert read_json(p)["x"] == 1.5
    p.write_text('{"x": ')
    with pytest.raises(CorruptFileError):
        read_json(p)
    with pytest.raises(CorruptFileError):
        read_json(tmp_path / "missing.json")


def test_tensors_verified(tmp_path):
    t = {"w": torch.randn(4, 3), "codes": torch.arange(10, dtype=torch.uint8)}
    p = save_tensors(tmp_path / "t.safetensors", t, kind="demo", meta={"a": 1})
    back, meta = load_tensors(p, kind="demo")
    assert torch.equal(back["w"], t["w"]) and meta == {"a": 1}
    with pytest.raises(CorruptFileError, match="expected 'other'"):
        load_tensors(p, kind="other")
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="checksum"):
        load_tensors(p, kind="demo")
    p.write_bytes(bytes(raw[: len(raw) // 2]))
    with pytest.raises(CorruptFileError):
        load_tensors(p, kind="demo")
    (tmp_path / "foreign").write_bytes(b"hello world, not tensors")
    with pytest.raises(CorruptFileError):
        load_tensors(tmp_path / "foreign", kind="demo")


def test_atomic_write_uses_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        p = atomic_write(tmp_path / "f.txt", "x")
    finally:
        os.umask(umask)
    assert (p.stat().st_mode & 0o777) == 0o644
