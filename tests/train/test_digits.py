"""The digits TinyViT bench (mantissa.train.digits): split, training and accuracy."""

import torch

from mantissa.train.digits import accuracy, digits_split, train_digits_vit


def test_digits_split_gives_8x8_images_with_raw_pixels():
    (xtr, ytr), (xte, yte) = digits_split(0)
    assert xtr.shape[1:] == xte.shape[1:] == (8, 8) and len(xtr) == len(ytr) and len(xte) == len(yte)
    assert len(xtr) + len(xte) == 1797 and abs(len(xte) / 1797 - 0.25) < 0.01
    assert xtr.dtype == torch.float32 and xtr.min() == 0 and xtr.max() == 16
    assert set(ytr.tolist()) == set(range(10))
    (xtr2, _), _ = digits_split(0)
    (xtr3, _), _ = digits_split(1)
    assert torch.equal(xtr, xtr2) and not torch.equal(xtr, xtr3)


def test_train_digits_vit_learns_and_is_seeded():
    data = digits_split(0)
    a = train_digits_vit(data, 0, steps=150, d_model=16, n_layer=1)
    b = train_digits_vit(data, 0, steps=150, d_model=16, n_layer=1)
    assert not a.training
    acc = accuracy(a, *data[1])
    assert acc == accuracy(b, *data[1]) and acc > 30  # chance: 10 %
    assert accuracy(a, *data[1], batch=7) == acc  # batching does not change the predictions
    tuned = train_digits_vit(data, 1, steps=20, lr=1e-3, model=a)
    assert tuned is a  # fine-tuning continues the given model


def test_inference_cpu_ms_times_an_eval_forward():
    from mantissa.train.digits import inference_cpu_ms

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Dropout(0.5)).train()
    ms = inference_cpu_ms(model, torch.randn(4, 8), repeats=2)
    assert ms >= 0 and not model.training


def test_attention_swap_accuracy_measures_each_width_per_seed():
    from mantissa.train.digits import attention_swap_accuracy

    base, res = attention_swap_accuracy(range(0, 2), steps=2, widths=[2, 4], spec="lmul:mantissa_bits={}",
                                        test_limit=20)
    assert len(base) == 2 and list(res) == [2, 4] and all(len(v) == 2 for v in res.values())
    assert all(0 <= a <= 100 for a in base + res[2] + res[4])
