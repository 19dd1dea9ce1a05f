"""Reading index inputs: .npy (memory-mapped), .safetensors slices, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from mantissa.errors import CorruptFileError, DataUnavailableError, ShapeError
from mantissa.index.inputs import iter_vectors, read_texts, read_vectors


def test_npy_and_safetensors_chunks(tmp_path):
    x = np.random.default_rng(0).standard_normal((50, 6)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    save_file({"emb": torch.from_numpy(x)}, str(tmp_path / "a.safetensors"))
    for name in ("a.npy", "a.safetensors"):
        chunks = list(iter_vectors(tmp_path / name, chunk=16))
        assert [len(c) for c in chunks] == [16, 16, 16, 2]
        assert torch.equal(torch.cat(chunks), torch.from_numpy(x))


def test_input_errors(tmp_path):
    with pytest.raises(DataUnavailableError, match="accepted inputs"):
        read_vectors(tmp_path / "none.npy")
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    with pytest.raises(CorruptFileError):
        read_vectors(tmp_path / "bad.npy")
    np.save(tmp_path / "v.npy", np.zeros(5))
    with pytest.raises(ShapeError, match="n×dim"):
        read_vectors(tmp_path / "v.npy")
    save_file({"a": torch.zeros(2, 3), "b": torch.zeros(2, 3)}, str(tmp_path / "two.safetensors"))
    with pytest.raises(ShapeError, match="--key"):
        read_vectors(tmp_path / "two.safetensors")
    assert read_vectors(tmp_path / "two.safetensors", key="b").shape == (2, 3)
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(ShapeError, match="unsupported"):
        read_vectors(tmp_path / "x.csv")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ShapeError, match="no texts"):
        read_texts(tmp_path / "empty.txt")
