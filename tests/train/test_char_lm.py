"""Char-LM plumbing: fitting lowers the loss, the curve reads the logged steps, the evaluation
matches lm_loss."""

import torch

from mantissa.models import Transformer, TransformerConfig
from mantissa.tasks.charlm import lm_batch
from mantissa.train.char_lm import evaluate_char_lm, fit_char_lm, loss_curve
from mantissa.train.lm import lm_loss


def test_fit_curve_and_evaluation():
    torch.manual_seed(0)
    windows = torch.arange(12).repeat(40, 2)[:, :9] % 7 + 3  # a periodic, learnable text
    model = Transformer(TransformerConfig(vocab_size=12, n_layer=1, n_head=2, d_model=16, max_len=9))
    before, _ = evaluate_char_lm(model, windows)
    trainer = fit_char_lm(model, windows, steps=30, batch_size=8, lr=1e-2, seed=0, warmup=2, log_every=10)
    curve = loss_curve(trainer)
    assert [s for s, _ in curve] == [10, 20, 30]
    loss, acc = evaluate_char_lm(model.eval(), windows)
    assert loss < before and 0 <= acc <= 100
    with torch.no_grad():
        ref, logs = lm_loss(model, lm_batch(windows))
    assert loss == float(ref) and acc == 100 * logs["tok_acc"]


def test_char_lm_accuracy_trains_one_lm_per_attention():
    from mantissa.nn.uniform_attention import uniform_causal_attention
    from mantissa.train.char_lm import char_lm_accuracy

    acc = char_lm_accuracy({"softmax": "softmax", "uniform": uniform_causal_attention}, steps=2, seq_len=16,
                           pe="ape", seed=0)
    assert list(acc) == ["softmax", "uniform"] and all(0 <= a <= 100 for a in acc.values())
