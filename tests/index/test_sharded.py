"""Sharded index builds equal the one-process build bit for bit; per-shard top-k merges equal
the whole index's search over exhaustive specs."""

import importlib.util
import os

import numpy as np
import pytest
import torch
from markers import needs_minilm

from mantissa.errors import ShapeError
from mantissa.index.index_file import build_index, open_index
from mantissa.index.inputs import iter_vectors
from mantissa.index.sharded import build_sharded, plan_shards, same_index, search_shards

CHUNK = 256


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    path = tmp_path_factory.mktemp("vec") / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((1500, 24)).astype(np.float32))
    return path


@pytest.fixture(scope="module")
def ray_local():
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("MANTISSA_REQUIRE_DATA") == "1":
            pytest.fail("Ray is not installed; CI installs the [cluster] extra")
        pytest.skip("Ray is not installed: pip install 'mantissa[cluster]'")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def _single(tmp_path, spec, path, **kw):
    return build_index(tmp_path / "one", spec, iter_vectors(path, CHUNK), fit_size=600, chunk_size=CHUNK,
                       **kw)


def test_plan_shards_cuts_whole_chunks():
    assert plan_shards(1000, 3, 100) == [(0, 300), (300, 700), (700, 1000)]
    assert plan_shards(250, 8, 100) == [(0, 100), (100, 200), (200, 250)]  # fewer chunks than shards
    plan = plan_shards(12345, 7, 1000)
    assert plan[0][0] == 0 and plan[-1][1] == 12345 and all(a % 1000 == 0 for a, _ in plan)
    assert all(b == c for (_, b), (c, _) in zip(plan, plan[1:]))
    with pytest.raises(ShapeError):
        plan_shards(10, 0, 5)


@pytest.mark.parametrize("spec", ["int8", "binary+rescore:2", "ivf:8,nprobe=2+int8", "pq:6x8",
                                  "hnsw:8+int8", "matryoshka:16+int4+metric:cos"])
def test_sharded_build_equals_one_process_build(tmp_path, vectors, spec):
    one = _single(tmp_path, spec, vectors)
    sharded = build_sharded(tmp_path / "sh", spec, vectors, shards=3, executor="local", fit_size=600,
                            chunk_size=CHUNK)
    assert len(sharded.segments) == 3 and sharded.count == one.count == 1500
    assert all(same_index(tmp_path / "one", tmp_path / "sh").values())
    reopened = open_index(tmp_path / "sh")  # checksums verified
    if spec.startswith("binary"):
        return  # Hamming ties at the k-th candidate are merged in no fixed order across segments
    q = torch.from_numpy(np.load(vectors)[:40])
    s1, i1 = one.search(q, 10)
    assert torch.equal(reopened.search(q, 10)[0], s1)
    if not spec.startswith("ivf"):  # exhaustive, or one graph: per-shard top-k merged is the same
        assert torch.equal(search_shards(sharded, q, 10)[0], s1)


def test_search_shards_merges_l2_distances_smallest_first(tmp_path, vectors):
    idx = build_sharded(tmp_path / "sh", "float32+metric:l2", vectors, shards=4, executor="local",
                        fit_size=600, chunk_size=CHUNK)
    q = torch.from_numpy(np.load(vectors)[:20])
    s, i = search_shards(idx, q, 5)
    ws, wi = idx.search(q, 5)
    assert torch.allclose(s, ws) and torch.equal(i, wi) and (i[:, 0] == torch.arange(20)).all()


def test_same_index_sees_a_difference(tmp_path, vectors):
    _single(tmp_path, "int8", vectors)
    build_sharded(tmp_path / "sh", "int8", vectors, shards=2, executor="local", fit_size=600,
                  chunk_size=CHUNK, seed=0)
    other = tmp_path / "y.npy"
    x = np.load(vectors)
    x[1400] += 1.0  # one vector of the last shard changed
    np.save(other, x)
    build_sharded(tmp_path / "sh2", "int8", other, shards=2, executor="local", fit_size=600, chunk_size=CHUNK)
    same = same_index(tmp_path / "one", tmp_path / "sh2")
    assert not same["codes bytes"] and same["aux tensors"]


def test_process_pool_build_equals_one_process_build(tmp_path, vectors):
    _single(tmp_path, "binary+rescore:2", vectors)
    build_sharded(tmp_path / "sh", "binary+rescore:2", vectors, shards=2, executor="process", workers=2,
                  fit_size=600, chunk_size=CHUNK)
    assert all(same_index(tmp_path / "one", tmp_path / "sh").values())


def test_ray_build_equals_one_process_build(ray_local, tmp_path, vectors):
    for spec in ("int8", "ivf:8,nprobe=2+int8+rescore:2"):
        _single(tmp_path, spec, vectors, overwrite=True)
        idx = build_sharded(tmp_path / "sh", spec, vectors, shards=3, executor="ray", fit_size=600,
                            chunk_size=CHUNK, overwrite=True)
        assert len(idx.segments) == 3
        assert all(same_index(tmp_path / "one", tmp_path / "sh").values()), spec
    assert ray_local.is_initialized()


@needs_minilm
def test_texts_are_embedded_in_the_shards(tmp_path, monkeypatch):
    texts = tmp_path / "t.txt"
    texts.write_text("\n".join(f"sentence number {i} about {w}" for i, w in
                               enumerate(["cats", "dogs", "numbers", "floats", "ships"] * 8)) + "\n")
    monkeypatch.setenv("MANTISSA_CACHE", str(tmp_path / "cache-sharded"))  # each build embeds anew
    build_sharded(tmp_path / "sh", "int8", texts, shards=2, executor="local", fit_size=20, chunk_size=16,
                  encoder="all-MiniLM-L6-v2")
    monkeypatch.setenv("MANTISSA_CACHE", str(tmp_path / "cache-one"))
    build_index(tmp_path / "one", "int8", iter_vectors(texts, 16), fit_size=20, chunk_size=16,
                texts=texts.read_text().split("\n")[:-1], encoder="all-MiniLM-L6-v2")
    assert all(same_index(tmp_path / "one", tmp_path / "sh").values())
