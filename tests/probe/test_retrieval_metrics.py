import math

import numpy as np
import pytest
import torch
from sklearn.metrics import ndcg_score

from mantissa.errors import ShapeError
from mantissa.probe.retrieval_metrics import retrieval_metrics


def test_single_relevant_by_hand():
    scores = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1], [0.0, 0.5, 0.4]])
    m = retrieval_metrics(scores, [0, 2, 0], ks=(1, 2), k=2)
    # ranks of the relevant doc: 1, 3, 3
    assert m["mrr@2"] == pytest.approx((1 + 0 + 0) / 3)
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["ndcg@2"] == pytest.approx(1 / 3)


def test_ndcg_matches_sklearn_and_mrr_recall_brute_force():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 30))
    relevant = [set(rng.choice(30, size=rng.integers(1, 4), replace=False).tolist()) for _ in range(40)]
    got = retrieval_metrics(torch.tensor(scores), [sorted(r) for r in relevant])
    truth = np.zeros_like(scores)
    for i, r in enumerate(relevant):
        truth[i, list(r)] = 1
    assert got["ndcg@10"] == pytest.approx(ndcg_score(truth, scores, k=10))
    mrr, rec5 = 0.0, 0.0
    for i, r in enumerate(relevant):
        order = np.argsort(-scores[i])
        first = next(j for j, d in enumerate(order) if d in r)
        mrr += 1 / (first + 1) if first < 10 else 0
        rec5 += len(set(order[:5].tolist()) & r) / len(r)
    assert got["mrr@10"] == pytest.approx(mrr / 40)
    assert got["recall@5"] == pytest.approx(rec5 / 40)
    assert not math.isnan(got["recall@1"])


def test_bad_relevance():
    with pytest.raises(ShapeError, match="relevance entries"):
        retrieval_metrics(torch.zeros(2, 3), [0])
    with pytest.raises(ShapeError, match="relevant documents"):
        retrieval_metrics(torch.zeros(2, 3), [0, 5])


def test_submodel_grid_matches_direct_evaluation():
    from mantissa.embed.encoder import Encoder
    from mantissa.probe.retrieval_metrics import cosine_scores, submodel_grid

    torch.manual_seed(0)
    enc = Encoder.tiny(hidden=16, layers=2, heads=2).eval()
    queries, corpus = ["a b", "c d", "e f"], ["a b c", "d", "f e", "x"]
    grid = submodel_grid(enc, queries, corpus, [[0], [1], [2]], layers=[1, 2], dims=[4, 16])
    assert set(grid) == {(1, 4), (1, 16), (2, 4), (2, 16)}
    with torch.no_grad():
        q, c = enc(queries, layer=1, dim=4), enc(corpus, layer=1, dim=4)
    assert grid[(1, 4)] == retrieval_metrics(cosine_scores(q, c), [[0], [1], [2]])
