"""hyperinterval: the no-forgetting guarantee holds by construction (boxes intersect, the
universal weights lie in every certified box, universal accuracy >= certified accuracy);
the EWC arm trains."""

import torch

from mantissa.experiments.architectures.hyperinterval import Config, _tasks
from mantissa.train.continual import finetune_tasks
from mantissa.train.hyperinterval import HyperInterval


def _small():
    cfg = Config(n_tasks=3, hidden=8, hyper_hidden=16, steps=20, fisher_examples=10)
    shapes = [(cfg.hidden, 64), (cfg.hidden,), (2, cfg.hidden), (2,)]
    return cfg, _tasks(cfg, 0), shapes


def test_guarantee_holds_by_construction():
    cfg, tasks, shapes = _small()
    torch.manual_seed(0)
    hi = HyperInterval(shapes, embed_dim=cfg.embed_dim, hyper_hidden=cfg.hyper_hidden, eps=cfg.eps,
                       steps=cfg.steps, lr=cfg.lr, kappa=cfg.kappa, beta=cfg.beta, multi_head=cfg.multi_head)
    for i, ((x, y), _) in enumerate(tasks):
        hi.train_task(x, y, i)
    assert (hi.hi - hi.lo).min().item() > 0  # the boxes share a non-empty intersection
    u = hi.universal()
    assert all(hi.in_box(u, j) for j in range(cfg.n_tasks))
    cert = torch.tensor([hi.evaluate(xt, yt, j)[1] for j, (_, (xt, yt)) in enumerate(tasks)])
    assert (hi.universal_accuracy(tasks) >= cert - 1e-9).all()


def test_ewc_arm_differs_from_plain_fine_tuning():
    cfg, tasks, shapes = _small()
    torch.manual_seed(0)
    kw = {"steps": cfg.steps, "lr": cfg.lr, "multi_head": cfg.multi_head, "fisher_examples": 10}
    ft = finetune_tasks(tasks, shapes, **kw)
    torch.manual_seed(0)
    ewc = finetune_tasks(tasks, shapes, **kw, ewc_lambda=1e4, seed=0)
    assert torch.equal(ft[0], ewc[0])  # the first task has no anchor yet
    assert not torch.equal(ft[-1], ewc[-1])
