"""mantissa → FAISS (object and file) → mantissa: the same codes and ids; FAISS's own search agrees."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa.errors import CorruptFileError, OverwriteRefusedError, SpecError
from mantissa.index.faiss_io import save_faiss
from mantissa.index.faiss_kernels import faiss
from mantissa.index.index import Index
from mantissa.index.recall import recall_at_k


def _clustered(n=1200, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(30, d, generator=g)
    x = centres[torch.randint(0, 30, (n,), generator=g)] + 0.7 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1)


SPECS = ["float32", "float32+metric:l2", "float16", "int8:query=float", "pq:8x8", "pq:8x4+metric:l2",
         "binary", "ivf:10,nprobe=3+float32", "ivf:10,nprobe=3+int8:query=float", "ivf:10,nprobe=4+pq:8x8",
         "hnsw:8+float32", "hnsw:8+int8", "hnsw:8+binary"]


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_through_a_faiss_file_returns_identical_ids(spec, tmp_path):
    x, q = _clustered(), _clustered(20, seed=1)
    ours = Index.build(spec, x)
    s0, i0 = ours.search(q, 10)
    path = save_faiss(ours, tmp_path / "x.faiss")
    back = Index.from_faiss(path)
    assert back.count == ours.count and back.spec.metric == ours.spec.metric
    codes = [torch.cat([s.codes for s in idx.segments]) for idx in (back, ours)]
    assert torch.equal(codes[0], codes[1])
    s1, i1 = back.search(q, 10)
    assert torch.equal(i1, i0) and torch.allclose(s1, s0)
    assert torch.equal(Index.from_faiss(ours.to_faiss()).search(q, 10)[1], i0)  # from the object too


@pytest.mark.parametrize("spec", [s for s in SPECS if "binary" not in s])
def test_faiss_searching_our_codes_finds_what_we_find(spec):
    x, q = _clustered(), _clustered(20, seed=2)
    ours = Index.build(spec, x)
    s0, i0 = ours.search(q, 10)
    fs, fi = ours.to_faiss().search(q.numpy(), 10)
    assert recall_at_k(torch.from_numpy(fi), i0) > 0.99  # float rounding may swap a near tie
    assert np.allclose(fs, s0.numpy(), atol=1e-3)


def test_binary_codes_equal_faiss_binary_flat_distances():
    x, q = _clustered(), _clustered(20, seed=3)
    ours = Index.build("binary", x)
    s0, _ = ours.search(q, 10)
    d, _ = ours.to_faiss().search(ours.compressor.encode(q)[:, :4].numpy(), 10)  # 32 bits: 4 bytes
    assert np.array_equal(32 - 2 * d, s0.numpy().astype(int))


def test_binary_layout_is_sentence_transformers_ubinary():
    st = pytest.importorskip("sentence_transformers.util.quantization")  # the [real] extra
    x = torch.randn(50, 384)
    codes = Index.build("binary", x).segments[0].codes
    assert torch.equal(codes, torch.from_numpy(st.quantize_embeddings(x.numpy(), precision="ubinary")))


def test_refusals(tmp_path):
    x = _clustered(300)
    for spec in ("int8+rescore:2", "matryoshka:16", "bebr:0,steps=0", "int4", "ivf:4+binary"):
        with pytest.raises(SpecError, match="FAISS"):
            Index.build(spec, x).to_faiss()
    (tmp_path / "mine.faiss").write_text("user data")
    with pytest.raises(OverwriteRefusedError):
        save_faiss(Index.build("float32", x), tmp_path / "mine.faiss")
    assert (tmp_path / "mine.faiss").read_text() == "user data"
    with pytest.raises(CorruptFileError):
        Index.from_faiss(tmp_path / "mine.faiss")
    with pytest.raises(CorruptFileError):
        Index.from_faiss(tmp_path / "missing.faiss")
    residual = faiss().IndexIVFPQ(faiss().IndexFlatL2(32), 32, 4, 4, 8)
    residual.train(x.numpy())
    with pytest.raises(SpecError, match="residual"):
        Index.from_faiss(residual)
