import pytest
import torch

from mantissa.embed.encoder import Encoder
from mantissa.embed.pairs import Pair
from mantissa.errors import ShapeError
from mantissa.train.embed_trainer import PairBatches, fit_embedding
from mantissa.train.losses import InfoNCE, TwoDMSE


def _pairs(n=64):
    words = ["red", "green", "blue", "cat", "dog", "car", "tree", "house"]
    return [Pair(f"{words[i % 8]} {i}", f"the {words[i % 8]} thing {i}", f"g{i // 2}") for i in range(n)]


def test_pair_batches_are_a_pure_function_of_the_step():
    b1, b2 = PairBatches(_pairs(), 8, seed=1), PairBatches(_pairs(), 8, seed=1)
    assert all(torch.equal(b1(s)["index"], b2(s)["index"]) for s in (0, 7, 8, 15))
    assert sorted(torch.cat([b1(s)["index"] for s in range(8)]).tolist()) == list(range(64))
    with pytest.raises(ShapeError, match="fewer than one batch"):
        PairBatches(_pairs(4), 8)


def test_fine_tune_lowers_the_loss_and_resumes(tmp_path):
    torch.manual_seed(0)
    enc = Encoder.tiny(hidden=32, layers=2, heads=4, dropout=0.0)
    trainer = fit_embedding(enc, TwoDMSE(dims="8-16", seed=0), _pairs(), steps=30, batch_size=16, lr=3e-3,
                            ckpt_dir=tmp_path)
    losses = [row["loss"] for row in trainer.history if "loss" in row]
    assert losses[-1] < losses[0]
    assert (tmp_path / "last.ckpt").exists()
    enc2 = Encoder.tiny(hidden=32, layers=2, heads=4, dropout=0.0)
    again = fit_embedding(enc2, InfoNCE(), _pairs(), steps=30, batch_size=16, lr=3e-3, ckpt_dir=tmp_path,
                          resume=True)
    assert again.step == 30  # resumed at the end: nothing left to do
    torch.testing.assert_close(enc2.backbone.tok.weight, enc.backbone.tok.weight)


def test_group_size_keeps_pairs_of_a_group_together():
    b = PairBatches(_pairs(), 8, seed=0, group_size=2)
    pairs = _pairs()
    for s in range(8):
        groups = [pairs[i].group for i in b(s)["index"].tolist()]
        assert len(set(groups)) == 4
