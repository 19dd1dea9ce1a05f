"""imagebind-llm: the properties that hold by construction (formerly verdict checks) as unit tests.
The parts are tested beside them (tests/nn/test_bind.py, tests/probe/test_captions.py, ...)."""

import torch

from mantissa.experiments.architectures.imagebind_llm import ImageBindLLM
from mantissa.models.bind import BindNetwork, GatedInjection, InjectedLM, freeze
from mantissa.nn.random_features import RandomReLUFeatures
from mantissa.probe.captions import candidate_scores
from mantissa.tasks.digit_captions import candidate_captions
from mantissa.tasks.tokenizer import CharTokenizer


def _setup():
    exp = ImageBindLLM()
    cfg = exp.config("smoke", {"pretrain_steps": 5, "bind_steps": 5})
    tok, enc = CharTokenizer(), RandomReLUFeatures(64, cfg.d_feat, 7919)
    lm = exp.pretrain_lm(cfg, tok, 0)
    inj = GatedInjection(BindNetwork(cfg.d_feat, cfg.d_model, n_blocks=cfg.bind_blocks),
                         n_layer=cfg.n_layer).attach(lm)
    model = InjectedLM(freeze(lm).eval(), inj)
    g = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 17, (12, 64), generator=g).float()
    return exp, cfg, tok, enc, lm, model, pixels


def test_gates_at_zero_leave_the_lm_unchanged_and_the_lm_stays_frozen():
    exp, cfg, tok, enc, lm, model, pixels = _setup()
    feats, cands = enc(pixels), candidate_captions(tok)
    alone = candidate_scores(lambda i, f: lm(i), cands, feats)
    assert torch.equal(candidate_scores(model, cands, feats), alone)
    before = [p.detach().clone() for p in lm.parameters()]
    exp.train_bind(model, cfg, tok, feats, torch.arange(12) % 10, 0)
    assert all(torch.equal(p, q) for p, q in zip(lm.parameters(), before, strict=True))
    assert any(float(g) != 0.0 for g in model.inj.gates.detach())  # the gates did train


def test_lm_alone_cannot_tell_images_apart():
    _, _, tok, enc, lm, _, pixels = _setup()
    scores = candidate_scores(lambda i, f: lm(i), candidate_captions(tok), enc(pixels))
    assert torch.equal(scores, scores[:1].expand_as(scores))
