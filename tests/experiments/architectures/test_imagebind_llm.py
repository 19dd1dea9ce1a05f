"""imagebind-llm: the properties that hold by construction (formerly verdict checks) as unit tests."""

import torch

from mantissa.experiments.architectures.imagebind_llm import (
    TEMPLATES,
    ImageBindLLM,
    _captions,
    _Conditioned,
    _determined_char_acc,
    _Encoder,
    _scores,
)
from mantissa.nn.bind import BindNetwork, GatedInjection, freeze
from mantissa.tasks.tokenizer import CharTokenizer


def _setup():
    exp = ImageBindLLM()
    cfg = exp.config("smoke", {"pretrain_steps": 5, "bind_steps": 5})
    tok, enc = CharTokenizer(), _Encoder(cfg.d_feat, 0)
    lm = exp._pretrain_lm(cfg, tok, 0)
    inj = GatedInjection(BindNetwork(cfg.d_feat, cfg.d_model, n_blocks=cfg.bind_blocks),
                         n_layer=cfg.n_layer).attach(lm)
    model = _Conditioned(freeze(lm).eval(), inj)
    g = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 17, (12, 64), generator=g).float()
    return exp, cfg, tok, enc, lm, model, pixels


def test_gates_at_zero_leave_the_lm_unchanged_and_the_lm_stays_frozen():
    exp, cfg, tok, enc, lm, model, pixels = _setup()
    feats = enc(pixels)
    assert torch.equal(_scores(model, tok, feats), _scores(lambda i, f: lm(i), tok, feats))
    before = [p.detach().clone() for p in lm.parameters()]
    exp._train_bind(model, cfg, tok, feats, torch.arange(12) % 10, 0)
    assert all(torch.equal(p, q) for p, q in zip(lm.parameters(), before, strict=True))
    assert any(float(g) != 0.0 for g in model.inj.gates.detach())  # the gates did train


def test_lm_alone_cannot_tell_images_apart():
    _, _, tok, enc, lm, _, pixels = _setup()
    scores = _scores(lambda i, f: lm(i), tok, enc(pixels))
    assert torch.equal(scores, scores[:1].expand_as(scores))


def test_determined_char_acc_is_100_for_an_oracle_and_low_for_noise():
    tok = CharTokenizer()
    t, d = torch.meshgrid(torch.arange(len(TEMPLATES)), torch.arange(10), indexing="ij")
    idx = _captions(tok, t.flatten(), d.flatten())["idx"]
    table: dict[tuple, int] = {}
    for row in idx.tolist():
        for i in range(1, len(row)):
            table.setdefault(tuple(row[:i]), row[i])

    def oracle(x):  # predicts the first continuation seen for each prefix
        out = torch.full((*x.shape, tok.vocab_size), -1e9)
        for b, row in enumerate(x.tolist()):
            for i in range(len(row)):
                out[b, i, table.get(tuple(row[: i + 1]), 0)] = 0.0
        return out

    assert _determined_char_acc(oracle, tok) == 100.0
    assert _determined_char_acc(lambda x: torch.zeros(*x.shape, tok.vocab_size), tok) < 20.0
