import dataclasses

import pytest
import torch

from mantissa.errors import ConfigError, CorruptFileError
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.tasks import CharTokenizer, make_task
from mantissa.train import StopTraining, TensorBatches, TrainConfig, Trainer, exact_match, load_checkpoint
from mantissa.train.schedule import lr_factor

TOK = CharTokenizer()


def tiny_model(seed: int = 0, dropout: float = 0.1, pe: str = "ape") -> Transformer:
    import torch
    torch.manual_seed(seed)
    return Transformer(TransformerConfig(vocab_size=TOK.vocab_size, n_layer=1, n_head=2, d_model=16,
                                         max_len=32, dropout=dropout, pe=pe))


def copy_data(n: int = 256, length: int = 4, seed: int = 0):
    ex = make_task("copy").generate(n, [(length,)], seed=seed)
    return ex, TOK.batch([(e.prompt, e.answer) for e in ex])


def batches(data, bs: int = 16, seed: int = 0) -> TensorBatches:
    return TensorBatches(data, bs, seed)


def _cfg(**kw):
    base = dict(steps=40, batch_size=16, lr=3e-3, warmup=5, log_every=5, ckpt_every=10)
    return TrainConfig(**{**base, **kw})


def _params(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_loss_decreases_and_only_answers_count():
    ex, data = copy_data()
    m = tiny_model(dropout=0.0)
    hist = Trainer(m, _cfg(steps=150, ckpt_every=0), batches(data)).fit()
    assert hist[-1]["loss"] < 0.6 * hist[0]["loss"]
    # changing prompt-only tokens' targets (mask False) must not change the loss
    from mantissa.train.lm import lm_loss
    b = batches(data)(0)
    l1, _ = lm_loss(m, b)
    b2 = dict(b, mask=b["mask"].clone())
    b2["mask"][:, 1] = True  # now the first prompt token counts
    l2, _ = lm_loss(m, b2)
    assert not torch.isclose(l1, l2)


def test_schedule_shape():
    f = lr_factor("cosine")
    assert f(0, 10, 100, 0.1) == pytest.approx(0.1) and f(9, 10, 100, 0.1) == 1.0
    assert f(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert f(55, 10, 100, 0.1) == pytest.approx(0.55)
    with pytest.raises(ConfigError, match="cosine"):
        TrainConfig(schedule="cosin")


def test_seeded_runs_are_identical():
    _, data = copy_data()
    runs = []
    for _ in range(2):
        m = tiny_model()
        Trainer(m, _cfg(ckpt_every=0), batches(data)).fit()
        runs.append(_params(m))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_kill_and_resume_is_bit_exact(tmp_path):
    _, data = copy_data()
    ref = tiny_model()  # dropout on: the RNG state must be restored too
    ref_hist = Trainer(ref, _cfg(), batches(data), ckpt_dir=tmp_path / "a").fit()

    def kill(step, logs):
        if step == 27:
            raise KeyboardInterrupt  # a killed run: last checkpoint is step 20
    m = tiny_model()
    with pytest.raises(KeyboardInterrupt):
        Trainer(m, _cfg(), batches(data), ckpt_dir=tmp_path / "b", callbacks=[kill]).fit()
    m2 = tiny_model(seed=123)  # fresh process: different init, different RNG
    torch.manual_seed(999)
    tr = Trainer(m2, _cfg(), batches(data), ckpt_dir=tmp_path / "b")
    hist = tr.fit(resume=True)
    assert all(torch.equal(ref.state_dict()[k], m2.state_dict()[k]) for k in ref.state_dict())
    assert [r["loss"] for r in hist] == [r["loss"] for r in ref_hist]


def test_stop_training_callback():
    _, data = copy_data()

    def stop(step, logs):
        if step == 7:
            raise StopTraining
    tr = Trainer(tiny_model(), _cfg(ckpt_every=0), batches(data), callbacks=[stop])
    tr.fit()
    assert tr.step == 7


def test_checkpoint_errors(tmp_path):
    _, data = copy_data()
    m = tiny_model()
    meta = {"model_config": dataclasses.asdict(m.cfg)}
    Trainer(m, _cfg(steps=10), batches(data), ckpt_dir=tmp_path, meta=meta).fit()
    path = tmp_path / "last.ckpt"
    other = dict(meta["model_config"], d_model=32, n_head=4)
    with pytest.raises(ConfigError, match="d_model") as err:
        load_checkpoint(path, model=tiny_model(), expect_config=other)
    assert "n_head" in str(err.value)
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError):
        load_checkpoint(path, model=tiny_model())
    path.write_bytes(b"garbage")
    with pytest.raises(CorruptFileError):
        Trainer(tiny_model(), _cfg(), batches(data), ckpt_dir=tmp_path).fit(resume=True)


def test_eval_hook_and_exact_match():
    ex, data = copy_data(n=200, length=3)
    m = tiny_model(dropout=0.0)
    calls = []

    def evaluate(model):
        ok, _ = exact_match(model, TOK, ex[:20])
        calls.append(1)
        return {"em": sum(ok) / len(ok)}
    hist = Trainer(m, _cfg(steps=20, eval_every=10, ckpt_every=0), batches(data), evaluate=evaluate).fit()
    assert len(calls) == 2 and "em" in hist[-1]


def test_generic_loss_fn():
    """A non-LM loss through the same loop (regression on random features)."""
    torch.manual_seed(0)
    x = torch.randn(128, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    model = torch.nn.Linear(4, 1)

    def mse(model, batch):
        loss = ((model(batch["x"]).squeeze(-1) - batch["y"]) ** 2).mean()
        return loss, {}
    from mantissa.train import TensorBatches
    tr = Trainer(model, TrainConfig(steps=300, batch_size=32, lr=0.05, warmup=0, weight_decay=0.0),
                 TensorBatches({"x": x, "y": y}, 32, 0), loss_fn=mse)
    tr.fit()
    assert tr.final("loss") < 1e-2


def test_lr_scales_give_a_prefix_its_own_learning_rate():
    from mantissa.train.trainer import param_groups

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    plain = param_groups(model, 0.1)
    assert [len(g["params"]) for g in plain] == [2, 2] and all("lr_scale" not in g for g in plain)
    groups = param_groups(model, 0.1, {"1.": 10.0})
    assert [(len(g["params"]), g["weight_decay"], g.get("lr_scale", 1.0)) for g in groups] == [
        (1, 0.1, 1.0), (1, 0.0, 1.0), (1, 0.1, 10.0), (1, 0.0, 10.0)]

    x = torch.randn(16, 3)

    def loss_fn(m, batch):
        return m(batch["x"]).pow(2).mean(), {}

    cfg = TrainConfig(steps=3, batch_size=16, lr=1e-2, warmup=0, log_every=1)
    tr = Trainer(model, cfg, lambda step: {"x": x}, loss_fn, lr_scales={"1.": 10.0})
    tr.fit()
    lrs = [g["lr"] for g in tr.optimizer.param_groups]
    assert lrs[2] == pytest.approx(10 * lrs[0]) and lrs[0] == pytest.approx(tr.lr_at(2))
