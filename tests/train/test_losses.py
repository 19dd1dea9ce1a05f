"""Embedding losses against float64 closed forms written out independently."""

import math
import random

import pytest
import torch

from mantissa.embed.encoder import Encoder
from mantissa.errors import ConfigError, ShapeError, UnknownNameError
from mantissa.train.losses import (
    EMBEDDING_LOSSES,
    GIST,
    ESimCSE,
    GeodesicMixup,
    InfoNCE,
    Matryoshka,
    Starbucks,
    TwoDMSE,
    slerp,
    word_repetition,
)


def _emb(n=6, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64)


def _nce_reference(a, p, tau):
    """-1/B Σ log softmax row i at column i, written with loops."""
    a = a / a.norm(dim=1, keepdim=True)
    p = p / p.norm(dim=1, keepdim=True)
    total = 0.0
    for i in range(len(a)):
        s = [float(a[i] @ p[j]) / tau for j in range(len(p))]
        total += -(s[i] - math.log(sum(math.exp(x) for x in s)))
    return total / len(a)


def test_infonce_matches_the_formula():
    a, p = _emb(), _emb(seed=1)
    got = InfoNCE(0.05).compute_loss_from_embeddings(a, p).item()
    assert got == pytest.approx(_nce_reference(a, p, 0.05))
    sym = InfoNCE(0.1, symmetric=True).compute_loss_from_embeddings(a, p).item()
    assert sym == pytest.approx((_nce_reference(a, p, 0.1) + _nce_reference(p, a, 0.1)) / 2)
    assert EMBEDDING_LOSSES.build("mnrl:temperature=0.1").temperature == 0.1


def test_matryoshka_is_the_weighted_sum_over_prefixes():
    a, p = _emb(d=32), _emb(d=32, seed=1)
    loss = Matryoshka(dims="8-16-32", weights=[1, 2, 3]).compute_loss_from_embeddings(a, p).item()
    ref = sum(w * _nce_reference(a[:, :d], p[:, :d], 0.05) for w, d in ((1, 8), (2, 16), (3, 32)))
    assert loss == pytest.approx(ref)
    with pytest.raises(ShapeError, match="beyond the embedding size"):
        Matryoshka(dims="8-64").compute_loss_from_embeddings(a, p)


def _kl(student, teacher, t):
    ps = torch.softmax(student / t, -1)
    pt = torch.softmax(teacher / t, -1)
    return float((pt * (pt.log() - ps.log())).sum(-1).mean())


def test_2dmse_combines_the_four_objectives_and_alignment():
    layers = {i: [_emb(d=16, seed=2 * i), _emb(d=16, seed=2 * i + 1), None] for i in (2, 4)}
    loss_fn = TwoDMSE(dims="8", kl_temperature=0.3)
    loss = loss_fn.compute_loss_from_embeddings(layers, last=4, layers=[2], dim=8)
    n = lambda i, d: _nce_reference(layers[i][0][:, :d], layers[i][1][:, :d], 0.05)  # noqa: E731
    kl = sum(_kl(layers[2][c], layers[4][c], 0.3) for c in (0, 1))
    assert loss.item() == pytest.approx(n(4, 16) + n(4, 8) + n(2, 16) + n(2, 8) + 0.3 * kl)


def test_2dmse_runs_the_encoder_once_per_column():
    enc = Encoder.tiny(hidden=16, layers=3, heads=2)
    calls = []
    orig = enc.features
    enc.features = lambda texts: calls.append(len(texts)) or orig(texts)
    loss = TwoDMSE(dims="4-8", seed=0)(enc, ["a b", "c d", "e"], ["f", "g h", "i"])
    loss.backward()
    assert len(calls) == 2 and math.isfinite(loss.item())
    for loss_fn in (Starbucks(pairs="1x4-2x8-3x16"), Matryoshka(dims="4-16")):
        calls.clear()
        loss_fn(enc, ["a b", "c d"], ["f", "g h"]).backward()
        assert len(calls) == 2


def test_starbucks_is_the_mean_over_pairs_with_kl_to_the_full_model():
    layers = {i: [_emb(d=16, seed=2 * i), _emb(d=16, seed=2 * i + 1), None] for i in (1, 2)}
    loss = Starbucks(pairs="1x8-2x16", kl_temperature=1.0).compute_loss_from_embeddings(layers, last=2).item()

    def scores(i, d):
        a, p = layers[i][0][:, :d], layers[i][1][:, :d]
        return (a / a.norm(dim=1, keepdim=True)) @ (p / p.norm(dim=1, keepdim=True)).T / 0.05

    ref = (_nce_reference(layers[1][0][:, :8], layers[1][1][:, :8], 0.05)
           + _kl(scores(1, 8), scores(2, 16), 1.0)
           + _nce_reference(layers[2][0], layers[2][1], 0.05)) / 2
    assert loss == pytest.approx(ref)


def test_pairs_beyond_the_model_are_refused():
    enc = Encoder.tiny(hidden=16, layers=2, heads=2)
    with pytest.raises(ShapeError, match="beyond the model"):
        Starbucks(pairs="3x8")(enc, ["a"], ["b"])
    with pytest.raises(ShapeError, match="beyond"):
        TwoDMSE(dims="32")(enc, ["a", "b"], ["c", "d"])
    with pytest.raises(ConfigError, match="pairs"):
        Starbucks(pairs="1y8")


def test_gist_masks_what_the_guide_scores_above_the_positive():
    a, p = _emb(4, 8), _emb(4, 8, seed=1)
    ga, gp = a.clone(), p.clone()
    gp[1] = ga[0] * 10  # the guide thinks positive 1 matches anchor 0 perfectly: a false negative for row 0
    loss = GIST(temperature=0.05).compute_loss_from_embeddings(a, p, ga, gp).item()
    # reference: row-wise CE over [a·p | a·a | p·p] minus masked entries and self-pairs, written with loops
    an, pn = a / a.norm(dim=1, keepdim=True), p / p.norm(dim=1, keepdim=True)
    gan, gpn = ga / ga.norm(dim=1, keepdim=True), gp / gp.norm(dim=1, keepdim=True)
    total = 0.0
    for i in range(4):
        thr = float(gan[i] @ gpn[i])
        logits = [float(an[i] @ pn[i]) / 0.05]
        for j in range(4):
            if j != i and float(gan[i] @ gpn[j]) <= thr:
                logits.append(float(an[i] @ pn[j]) / 0.05)
            if j != i and float(gan[i] @ gan[j]) <= thr:
                logits.append(float(an[i] @ an[j]) / 0.05)
            if j != i and float(gpn[i] @ gpn[j]) <= thr:
                logits.append(float(pn[i] @ pn[j]) / 0.05)
        total += -(logits[0] - math.log(sum(math.exp(x) for x in logits)))
    assert loss == pytest.approx(total / 4)


def test_gist_guide_with_another_tokenizer_retokenizes():
    student = Encoder.tiny(hidden=16, layers=1, heads=2, vocab_size=500)
    guide = Encoder.tiny(hidden=8, layers=1, heads=2, vocab_size=97)
    loss = GIST(guide=guide)(student, ["a cat", "a dog"], ["feline", "canine"])
    loss.backward()
    assert math.isfinite(loss.item()) and guide.backbone.tok.weight.grad is None


def test_esimcse_word_repetition_and_queue():
    rng = random.Random(0)
    text = "one two three four five six seven eight nine ten"
    for _ in range(20):
        rep = word_repetition(text, rng).split()
        dedup = [w for i, w in enumerate(rep) if i == 0 or rep[i - 1] != w]
        assert dedup == text.split() and len(rep) - 10 <= 3
    enc = Encoder.tiny(hidden=16, layers=1, heads=2)
    loss = ESimCSE(queue_size=5, seed=0)
    for _ in range(3):
        loss(enc, ["a b c", "d e f", "g h"]).backward()
    assert loss.queue.shape == (5, 16) and not loss.queue.requires_grad


def test_esimcse_queue_adds_negatives():
    a, p, q = _emb(4, 8), _emb(4, 8, seed=1), _emb(3, 8, seed=2)
    got = ESimCSE().compute_loss_from_embeddings(a, p, q).item()
    an, cn = a / a.norm(dim=1, keepdim=True), torch.cat([p, q]) / torch.cat([p, q]).norm(dim=1, keepdim=True)
    ref = sum(-(float(an[i] @ cn[i]) / 0.05 - math.log(sum(math.exp(float(an[i] @ c) / 0.05) for c in cn)))
              for i in range(4)) / 4
    assert got == pytest.approx(ref)


def test_slerp_walks_the_great_circle():
    a, b = _emb(5, 8), _emb(5, 8, seed=1)
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    theta = torch.acos((a * b).sum(1))
    for lam in (0.0, 0.3, 1.0):
        m = slerp(a, b, lam)
        torch.testing.assert_close(m.norm(dim=1), torch.ones(5, dtype=torch.float64))
        torch.testing.assert_close(torch.acos((m * b).sum(1).clamp(-1, 1)), lam * theta, atol=1e-6, rtol=1e-6)


def test_geodesic_mixup_adds_the_mixed_negative_term():
    a, b = _emb(4, 8), _emb(4, 8, seed=1)
    plain = GeodesicMixup(weight=0).compute_loss_from_embeddings(a, b, lam=0.5)
    mixed = GeodesicMixup(weight=1).compute_loss_from_embeddings(a, b, lam=0.5)
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    m = slerp(an, bn, 0.5)
    ref = 0.0
    for x in (an, bn):
        for i in range(4):
            logits = [float(an[i] @ bn[i]) / 0.05] + [float(x[i] @ m[j]) / 0.05 for j in range(4) if j != i]
            ref += -(logits[0] - math.log(sum(math.exp(v) for v in logits))) / 8
    assert (mixed - plain).item() == pytest.approx(ref)


def test_empty_and_mismatched_batches():
    enc = Encoder.tiny(hidden=16, layers=1, heads=2)
    with pytest.raises(ShapeError, match="empty batch"):
        InfoNCE()(enc, [], [])
    with pytest.raises(ShapeError, match="differ in length"):
        InfoNCE()(enc, ["a", "b"], ["c"])
    with pytest.raises(UnknownNameError):
        EMBEDDING_LOSSES.build("contrastive-ish")
    for name in EMBEDDING_LOSSES.list():
        assert EMBEDDING_LOSSES.get(name).citation


def test_kl_to_teacher_averages_over_every_position():
    """3-D logits (batch, length, vocab): the mean over all positions of the per-position KL,
    checked against a float64 loop."""
    import torch as _t

    from mantissa.train.losses.base import kl_to_teacher

    g = _t.Generator().manual_seed(0)
    s, t = _t.randn(2, 5, 7, generator=g), _t.randn(2, 5, 7, generator=g)
    ref = []
    for i in range(2):
        for j in range(5):
            p = _t.softmax(t[i, j].double() / 2, -1)
            ref.append(float((p * (p.log() - _t.log_softmax(s[i, j].double() / 2, -1))).sum()))
    assert abs(float(kl_to_teacher(s, t, 2.0)) - sum(ref) / len(ref)) < 1e-6
