"""IVF search (FAISS's IVF, or FAISS probes + one scan per probed list) against a per-query
brute-force reference."""

from __future__ import annotations

import pytest
import torch

from mantissa.index.index import Index


def _clustered(n=1500, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(30, d, generator=g)
    x = centres[torch.randint(0, 30, (n,), generator=g)] + 0.7 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1)


def _reference(idx: Index, q: torch.Tensor, k: int) -> torch.Tensor:
    """For each query alone: score the codes of the probed lists with ``score``, take the top k."""
    lists = torch.cat([s.lists for s in idx.segments]).flatten()
    codes = torch.cat([s.codes for s in idx.segments])
    cents = idx.centroids
    out = []
    for row in q:
        if idx.spec.metric == "l2":
            probes = torch.topk(-torch.cdist(row[None], cents)[0], idx.spec.nprobe).indices
        else:
            probes = torch.topk(cents @ row, idx.spec.nprobe).indices
        cand = torch.isin(lists, probes).nonzero().flatten()
        dec = idx.compressor.decode(codes[cand])
        if idx.spec.metric == "l2":
            s = -((dec - row) ** 2).sum(1)
        else:
            s = idx.compressor.score(row[None], codes[cand])[0]
        out.append(cand[torch.topk(s, k).indices])
    return torch.stack(out)


@pytest.mark.parametrize("spec", ["ivf:12,nprobe=3+float32", "ivf:12,nprobe=3+int8:query=float",
                                  "ivf:12,nprobe=4+pq:8x8", "ivf:12,nprobe=3+float32+metric:l2",
                                  "ivf:12,nprobe=3+int8", "ivf:12,nprobe=3+matryoshka:16"])
def test_ivf_equals_per_query_brute_force_over_probed_lists(spec):
    x, q = _clustered(), _clustered(25, seed=5)
    idx = Index.build(spec, x)
    _, ids = idx.search(q, 10)
    assert torch.equal(ids, _reference(idx, q, 10))
    own_scan = spec.endswith(("+int8", "matryoshka:16"))
    assert (idx._faiss_ivf is None) == own_scan  # which engine ran: FAISS's IVF or mantissa's list scan


def test_ivf_short_lists_leave_empty_slots_marked():
    x = _clustered(60)
    idx = Index.build("ivf:30,nprobe=1+float32", x)
    s, i = idx.search(x[:3], 50)
    assert ((i < 0) == torch.isinf(s)).all() and (i < 0).any()
