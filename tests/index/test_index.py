"""Index specs and in-memory search: composition, rescoring, IVF."""

from __future__ import annotations

import pytest
import torch

from mantissa.errors import ShapeError, SpecError, UnknownNameError
from mantissa.index.index import Index, IndexSpec
from mantissa.index.recall import recall_at_k


def _clustered(n=2000, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(40, d, generator=g)
    x = centres[torch.randint(0, 40, (n,), generator=g)] + 0.6 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1)


def test_spec_grammar_round_trips():
    s = IndexSpec.parse("ivf:64,nprobe=4+matryoshka:16+int8+rescore:4,with=int8")
    got = (s.ivf, s.nprobe, s.matryoshka, s.base.name, s.rescore, s.rescore_with)
    assert got == (64, 4, 16, "int8", 4, "int8")
    assert IndexSpec.parse(str(s)) == s
    assert IndexSpec.parse("rescore:3").base.name == "float32"
    assert str(IndexSpec.parse("pq:8x8")) == "pq:8x8"


@pytest.mark.parametrize("bad", ["", "int8+binary", "rescore:0", "rescore:2,with=int4", "ivf:x", "int8+"])
def test_bad_specs_show_the_grammar(bad):
    with pytest.raises(SpecError, match="BASE|grammar|rescore|ivf"):
        IndexSpec.parse(bad)


def test_unknown_part_lists_valid_names():
    with pytest.raises(UnknownNameError, match="float32"):
        IndexSpec.parse("lsh:32")


def test_float32_index_is_exact_search():
    x, q = _clustered(), _clustered(50, seed=1)
    idx = Index.build("float32", x)
    idx.chunk = 300  # several chunks
    s, i = idx.search(q, 10)
    ref = torch.topk(q @ x.T, 10)
    assert torch.equal(i, ref.indices) and torch.allclose(s, ref.values, atol=1e-5)


def test_rescoring_recovers_recall_of_binary_codes():
    x, q = _clustered(), _clustered(100, seed=1)
    truth = torch.topk(q @ x.T, 10).indices
    plain = recall_at_k(Index.build("binary", x).search(q, 10)[1], truth)
    rescored = recall_at_k(Index.build("binary+rescore:8", x).search(q, 10)[1], truth)
    assert rescored > plain + 0.1
    idx = Index.build("binary+rescore:8", x)
    assert idx.bytes_per_vector == 8 and idx.disk_bytes_per_vector == 8 + 128


def test_ivf_scores_fewer_vectors_and_full_probe_is_exact():
    x, q = _clustered(), _clustered(40, seed=2)
    truth = torch.topk(q @ x.T, 10).indices
    full = Index.build("ivf:16,nprobe=16+float32", x)
    assert torch.equal(full.search(q, 10)[1], truth)
    part = Index.build("ivf:16,nprobe=4+float32", x)
    assert 0.6 < recall_at_k(part.search(q, 10)[1], truth) <= 1.0


def test_appending_segments_equals_one_build():
    x, q = _clustered(), _clustered(20, seed=3)
    one = Index.build("int8", x)
    two = Index.fit("int8", x)
    two.add(x[:700])
    two.add(x[700:])
    assert two.count == len(x)
    assert torch.equal(one.search(q, 5)[1], two.search(q, 5)[1])


def test_search_input_errors():
    idx = Index.build("int8", _clustered(100))
    with pytest.raises(ShapeError, match="dimension 8"):
        idx.search(torch.randn(2, 8))
    with pytest.raises(ShapeError, match="NaN"):
        idx.search(torch.full((1, 32), float("nan")))
    with pytest.raises(ShapeError):
        idx.search(torch.randn(1, 32), k=0)
    with pytest.raises(ShapeError, match="empty"):
        Index.fit("int8", _clustered(100)).search(torch.randn(1, 32))


@pytest.mark.parametrize("base", ["float32", "float16", "int8", "int4", "pq:8x8"])
def test_l2_metric_ranks_decoded_codes_by_squared_distance(base):
    g = torch.Generator().manual_seed(4)
    x, q = 3 * torch.randn(800, 32, generator=g), 3 * torch.randn(12, 32, generator=g)  # not unit length
    idx = Index.build(f"{base}+metric:l2", x)
    d, i = idx.search(q, 10)
    dec = idx.compressor.decode(torch.cat([s.codes for s in idx.segments]))
    ref = torch.cdist(q.double(), dec.double()) ** 2
    assert torch.equal(i, torch.topk(-ref, 10).indices)
    assert torch.allclose(d.double(), torch.gather(ref, 1, i), rtol=1e-3, atol=1e-2)
    assert (d[:, 1:] >= d[:, :-1]).all()  # distances, nearest first


def test_cos_metric_equals_cosine_brute_force_and_l2_rescoring_is_exact():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(700, 32, generator=g) * torch.rand(700, 1, generator=g)
    q = torch.randn(9, 32, generator=g)
    _, i = Index.build("float32+metric:cos", x).search(q, 10)
    xn, qn = torch.nn.functional.normalize(x, dim=1), torch.nn.functional.normalize(q, dim=1)
    assert torch.equal(i, torch.topk(qn @ xn.T, 10).indices)
    _, i = Index.build("int8+rescore:50+metric:l2", x).search(q, 5)
    assert torch.equal(i, torch.topk(-torch.cdist(q, x), 5).indices)


@pytest.mark.parametrize("spec", ["binary+metric:l2", "bebr:1,steps=0+metric:l2", "metric:manhattan",
                                  "hnsw:8+pq:4", "hnsw:8+ivf:4+float32"])
def test_metrics_and_graphs_a_code_cannot_serve_are_refused(spec):
    with pytest.raises(SpecError, match="metric|hnsw"):
        IndexSpec.parse(spec).compressor()


def test_binary_search_by_faiss_equals_popcount_reference():
    x, q = _clustered(), _clustered(30, seed=6)
    fast = Index.build("binary", x).search(q, 10)[0]
    ref = Index.build("binary:kernel=popcount", x).search(q, 10)[0]
    assert torch.equal(fast, ref)  # the same Hamming similarities (ids may differ among ties)
