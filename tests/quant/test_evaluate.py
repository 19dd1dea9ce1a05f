"""Fidelity metrics (mantissa.quant.evaluate) against closed forms and brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mantissa.quant.evaluate import auc, recall_at_k


def test_recall_identical_and_brute_force():
    torch.manual_seed(0)
    e = torch.nn.functional.normalize(torch.randn(60, 8), dim=1)
    assert recall_at_k(e, e, 5) == 1.0
    f = torch.nn.functional.normalize(e + 0.3 * torch.randn(60, 8), dim=1)
    # NumPy brute force
    def top(x):
        s = x @ x.T
        np.fill_diagonal(s, -np.inf)
        return [set(np.argsort(-row)[:5]) for row in s]
    a, b = top(e.numpy().astype(np.float64)), top(f.numpy().astype(np.float64))
    expect = np.mean([len(x & y) / 5 for x, y in zip(a, b)])
    assert recall_at_k(e, f, 5) == pytest.approx(expect, abs=1e-6)


def test_auc_closed_forms():
    assert auc(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0])) == 1.0
    assert auc(torch.tensor([0.0]), torch.tensor([1.0])) == 0.0
    assert auc(torch.tensor([1.0, 1.0]), torch.tensor([1.0])) == 0.5


def test_corpora_fall_back_to_stdlib_docstrings_without_wordnet(monkeypatch, tmp_path):
    from mantissa.data import wordnet_available
    from mantissa.quant.evaluate import calibration_corpus, evaluation_corpus, text_pool

    monkeypatch.setenv("MANTISSA_WORDNET", str(tmp_path))  # an empty folder hides WordNet
    assert not wordnet_available()
    pool = text_pool()
    assert len(pool) > 2000 and all(len(t) >= 16 and "\n" not in t for t in pool)
    texts = evaluation_corpus(200, seed=0)
    assert len(set(texts)) == 200 and set(texts) <= set(pool)
    assert evaluation_corpus(200, seed=0) == texts
    calib = calibration_corpus(50, set(texts))
    assert len(calib) == 50 and not set(calib) & set(texts)
