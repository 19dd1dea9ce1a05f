"""IMAGINATOR parts against brute-force / closed-form references."""

import itertools
import math

import numpy as np
import pytest
import torch

from mantissa.embed.imaginator import (
    Imaginator,
    ImaginatorConfig,
    bag_of_words,
    chance_at_1,
    cooccurrence,
    correlation,
    hit_at_1,
    image_only_scores,
    joint_scores,
    mean_word_vectors,
    ppmi,
    ppmi_word_vectors,
    ridge_bridge,
    select_weights,
    svd_vectors,
    text_only_scores,
)
from mantissa.errors import ConfigError


def test_cooccurrence_brute_force():
    rows = [{0, 1}, {1}, {0, 2}, set()]
    cols = [{1}, {0, 1}, {1}, {0}]
    c = cooccurrence(rows, cols, 3, 2)
    ref = np.zeros((3, 2))
    for r, k in zip(rows, cols):
        for i, j in itertools.product(r, k):
            ref[i, j] += 1
    np.testing.assert_array_equal(c, ref)


def test_ppmi_hand_computed():
    c = np.array([[2.0, 0.0], [1.0, 1.0]])
    got = ppmi(c, alpha=1.0)
    total = 4.0
    ref = np.zeros((2, 2))
    for i, j in itertools.product(range(2), range(2)):
        if c[i, j]:
            pmi = math.log((c[i, j] / total) / ((c[i].sum() / total) * (c[:, j].sum() / total)))
            ref[i, j] = max(pmi, 0.0)
    np.testing.assert_allclose(got, ref)
    # smoothing: P_alpha(j) = c_j^a / sum c^a
    a = 0.75
    pj = c.sum(0) ** a / (c.sum(0) ** a).sum()
    assert ppmi(c, a)[0, 0] == pytest.approx(max(0.0, math.log(0.5 / (0.5 * pj[0]))))
    with pytest.raises(ConfigError):
        ppmi(-c)


def test_correlation_matches_numpy_and_svd_reconstructs():
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 4)), rng.random((50, 3))
    b[:, 2] = 1.0  # constant column -> 0
    ref = np.corrcoef(a.T, b[:, :2].T)[:4, 4:]
    got = correlation(a, b)
    np.testing.assert_allclose(got[:, :2], ref, atol=1e-12)
    assert (got[:, 2] == 0).all()
    m = rng.random((5, 7))
    u, v = svd_vectors(m, 5)
    np.testing.assert_allclose(u @ v.T, m, atol=1e-10)


def _toy(n=300, seed=0):
    """Four object classes with well-separated features; captions name them."""
    rng = np.random.default_rng(seed)
    centers = np.eye(4) * 10
    words_of = ["ant", "bee", "cat", "dog"]
    feats, owner, words, keys = [], [], [], []
    for s in range(n):
        objs = sorted(rng.choice(4, size=2, replace=False).tolist())
        for o in objs:
            feats.append(centers[o] + rng.normal(0, 0.3, 4))
            owner.append(s)
        words.append(["a", words_of[objs[0]], "and", "a", words_of[objs[1]]])
        keys.append(tuple(objs))
    return torch.tensor(np.array(feats)).float(), torch.tensor(owner), words, keys


def test_imaginator_grounds_words_in_objects():
    f, owner, words, keys = _toy()
    m = Imaginator(ImaginatorConfig(n_objects=4, dim=4)).fit(f, owner, words, seed=0)
    # each visual word is one object class
    ids = m.stats["object_ids"]
    truth = np.array([o for k in keys for o in k])
    assert all(len(set(truth[ids == c])) == 1 for c in np.unique(ids))
    s = m.embed_text(words) @ m.embed_images(f, owner, len(words)).T
    assert hit_at_1(s, keys) == 100.0
    native = lambda model: model.embed_text(words) @ model.embed_images(f, owner, len(words)).T  # noqa: E731
    w, hit = select_weights(m, native, keys)
    assert hit == 100.0 and m.cfg.weights == w and max(w) > 0
    assert m.word_vectors().shape == (len(m.vocab), 3 * 4)
    assert m.visual_words(f, owner, len(words)).sum(1) == pytest.approx(np.full(len(words), 2.0))


def test_hit_and_chance_hand_computed():
    keys = [(1,), (1,), (2,), (3,)]
    scores = torch.tensor([[0.0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    assert hit_at_1(scores, keys) == 50.0
    assert chance_at_1(keys) == pytest.approx(100 * (0.5 + 0.5 + 0.25 + 0.25) / 4)


def test_ridge_bridge_recovers_a_linear_map():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5))
    w = rng.normal(size=(5, 3))
    pred = ridge_bridge(x, x @ w + 2.0, x[:10], alphas=(1e-8,))
    np.testing.assert_allclose(pred, x[:10] @ w + 2.0, atol=1e-5)


def test_baselines_and_text_helpers():
    f, owner, words, keys = _toy()
    m = Imaginator(ImaginatorConfig(n_objects=4, dim=4)).fit(f, owner, words)
    bovw = m.visual_words(f, owner, len(words))
    s_img = image_only_scores(words, bovw, words, bovw)
    s_txt = text_only_scores(words, bovw, words, bovw, dim=4)
    assert s_img.shape == s_txt.shape == (len(words), len(words))
    assert hit_at_1(s_img, keys) > 90  # words map onto their visual words
    assert hit_at_1(joint_scores(m, words, bovw, words, bovw), keys) > 90
    # uniformly random pairs: caption co-occurrence says nothing about which animal is which,
    # so the text-only space cannot tell captions apart (all scores equal), by construction
    assert torch.isfinite(s_txt).all() and float(s_txt.std()) < 1e-4
    vocab, vecs = ppmi_word_vectors(words, 4)
    assert bag_of_words([["ant", "zzz"]], vocab).sum() == 1
    np.testing.assert_allclose(mean_word_vectors([["ant", "bee"]], vocab, vecs)[0],
                               (vecs[vocab["ant"]] + vecs[vocab["bee"]]) / 2)
    with pytest.raises(ConfigError):
        Imaginator(ImaginatorConfig(blocks=("nope",)))
    with pytest.raises(ConfigError):
        Imaginator(ImaginatorConfig(weights=(1.0,)))
