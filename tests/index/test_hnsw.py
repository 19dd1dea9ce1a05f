"""HNSW graphs over float32, int8 and binary codes: recall against brute force, storage, refusals."""

from __future__ import annotations

import pytest
import torch

from mantissa.errors import SpecError
from mantissa.index.index import Index
from mantissa.index.index_file import append_index, build_index, open_index
from mantissa.index.recall import recall_at_k


def _clustered(n=1500, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(30, d, generator=g)
    x = centres[torch.randint(0, 30, (n,), generator=g)] + 0.7 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1)


@pytest.mark.parametrize(("base", "flat"), [("float32", "float32"), ("int8", "int8:query=float"),
                                            ("binary", "binary"), ("float32+metric:l2", "float32+metric:l2")])
def test_hnsw_finds_what_exhaustive_search_over_the_same_codes_finds(base, flat):
    x, q = _clustered(), _clustered(40, seed=1)
    graph = Index.build(f"hnsw:16,ef=128+{base}", x)
    exact = Index.build(flat, x)
    gs, gi = graph.search(q, 10)
    es, ei = exact.search(q, 10)
    # the same scores (same codes, same query handling); ids may differ only among Hamming ties
    assert ((gs - es).abs() < 1e-3).float().mean() > 0.97
    if base != "binary":
        assert recall_at_k(gi, ei) > 0.97
    assert graph.bytes_per_vector == exact.bytes_per_vector + 8 * 16


def test_int8_graph_storage_holds_exactly_mantissas_codes():
    x = _clustered(300)
    idx = Index.build("hnsw:8+int8", x)
    faiss_codes = idx.graph.index.storage.sa_encode(idx.compressor.decode(idx.segments[0].codes).numpy())
    assert torch.equal(torch.from_numpy(faiss_codes), idx.segments[0].codes)


def test_hnsw_index_on_disk_round_trip_and_append_refused(tmp_path):
    x, q = _clustered(800), _clustered(10, seed=2)
    built = build_index(tmp_path / "g", "hnsw:8+int8+rescore:2", [x[:500], x[500:]], chunk_size=200)
    mem = Index.build("hnsw:8+int8+rescore:2", x)
    opened = open_index(tmp_path / "g")
    assert opened.graph.count == 800
    assert torch.equal(opened.search(q, 5)[1], built.search(q, 5)[1])
    assert recall_at_k(opened.search(q, 5)[1], mem.search(q, 5)[1]) > 0.9
    with pytest.raises(SpecError, match="hnsw"):
        append_index(tmp_path / "g", [x[:10]])
