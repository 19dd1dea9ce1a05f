import pytest

from mantissa.errors import ConfigError
from mantissa.models.transformer import TransformerConfig
from mantissa.train import TrainConfig
from mantissa.train.pipeline import DataConfig, LabConfig, build_split, build_task, fit_task


def test_fit_task_end_to_end_learns_copy():
    cfg = LabConfig(DataConfig(task="copy", train_lengths="3", test_lengths="3", n_train=300, n_test=20),
                    TransformerConfig(d_model=32, n_layer=1, n_head=2),
                    TrainConfig(steps=250, batch_size=32, lr=5e-3, warmup=20))
    run = fit_task(cfg, seed=0)
    correct, _ = run.exact(run.split.test)
    assert sum(correct) / len(correct) >= 0.5  # copying 3 digits is learned in a few hundred steps
    assert run.model.cfg.vocab_size == run.tokenizer.vocab_size
    assert run.model.cfg.digit_tokens == run.tokenizer.digit_ids


def test_disjoint_lengths_are_enforced():
    data = DataConfig(task="add", format="reverse", train_lengths="1-4", test_lengths="3-6", disjoint=True)
    with pytest.raises(ConfigError, match="overlap"):
        build_split(data, build_task(data), seed=0)


def test_grid_vs_diagonal_buckets():
    data = DataConfig(task="add", train_lengths="1-2", test_lengths="1-3", n_train=50, n_test=2)
    assert {e.length for e in build_split(data, build_task(data), 0).test} == {(1, 1), (2, 2), (3, 3)}
    data.grid = True
    assert len({e.length for e in build_split(data, build_task(data), 0).test}) == 9


def test_fit_task_resume_refuses_another_config_or_seed(tmp_path):
    cfg = LabConfig(DataConfig(task="copy", train_lengths="2", test_lengths="2", n_train=50, n_test=5),
                    TransformerConfig(d_model=16, n_layer=1, n_head=2),
                    TrainConfig(steps=4, batch_size=8, ckpt_every=2))
    fit_task(cfg, seed=0, ckpt_dir=tmp_path)
    again = fit_task(cfg, seed=0, ckpt_dir=tmp_path, resume=True)  # same config: continues
    assert again.trainer.step == 4
    other_lr = LabConfig(cfg.data, cfg.model, TrainConfig(steps=4, batch_size=8, ckpt_every=2, lr=0.01))
    with pytest.raises(ConfigError, match=r"train\.lr 0\.001 -> 0\.01"):
        fit_task(other_lr, seed=0, ckpt_dir=tmp_path, resume=True)
    with pytest.raises(ConfigError, match="seed 0 -> 1"):
        fit_task(cfg, seed=1, ckpt_dir=tmp_path, resume=True)
