"""The bind loss is caption-token cross-entropy; training moves only what is trainable."""

import torch
import torch.nn.functional as F

from mantissa.models.bind import BindNetwork, GatedInjection, InjectedLM, freeze
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.tasks.digit_captions import drawn_captions, every_caption
from mantissa.tasks.tokenizer import CharTokenizer
from mantissa.train.bind import bind_loss, pretrain_text_lm, train_bind


def _lm(tok):
    torch.manual_seed(0)
    cfg = TransformerConfig(vocab_size=tok.vocab_size, n_layer=1, d_model=16, n_head=2, max_len=32)
    return Transformer(cfg)


def test_bind_loss_is_masked_cross_entropy():
    tok = CharTokenizer()
    lm = _lm(tok)
    model = InjectedLM(lm, GatedInjection(BindNetwork(4, 16), n_layer=1).attach(lm))
    batch = {**every_caption(tok), "feats": torch.randn(50, 4)}
    loss, _ = bind_loss(model, batch)
    idx, m = batch["idx"], batch["mask"][:, 1:]
    torch.testing.assert_close(loss, F.cross_entropy(lm(idx[:, :-1])[m], idx[:, 1:][m]))


def test_stages_train_what_they_should():
    tok = CharTokenizer()
    lm = _lm(tok)
    start = [p.detach().clone() for p in lm.parameters()]
    pretrain_text_lm(lm, every_caption(tok), steps=3, batch_size=8, lr=1e-2, seed=0)
    assert any(not torch.equal(p, q) for p, q in zip(lm.parameters(), start))
    inj = GatedInjection(BindNetwork(4, 16), n_layer=1).attach(lm)
    model = InjectedLM(freeze(lm).eval(), inj)
    frozen = [p.detach().clone() for p in lm.parameters()]
    y = torch.arange(6) % 10
    data = drawn_captions(tok, y, 2, seed=0)
    data["feats"] = torch.randn(6, 4).repeat(2, 1)
    train_bind(model, data, steps=3, batch_size=4, lr=1e-2, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(lm.parameters(), frozen))
    assert float(inj.gates.detach().abs().sum()) > 0
