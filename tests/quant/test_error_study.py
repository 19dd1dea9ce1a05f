"""Quantization error studies: relative MSE against a NumPy reference, rows per layer,
calibration errors per observer, token states without padding."""

import numpy as np
import torch
from torch import nn

from mantissa.quant.error_study import calibration_errors, relative_mse, token_states, weight_errors


def _int8_tensor_reference(w: np.ndarray) -> float:
    scale = np.abs(w).max() / 127
    q = np.clip(np.round(w / scale), -127, 127) * scale
    return float(((q - w) ** 2).sum() / (w ** 2).sum())


def test_relative_mse_of_per_tensor_int8_matches_numpy():
    w = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))
    assert abs(relative_mse("int8", w) - _int8_tensor_reference(w.double().numpy())) < 1e-6
    assert relative_mse("int8:channel", w) < relative_mse("int8", w)


class _Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(8, 8)


def test_weight_errors_cover_the_first_layers_only():
    model = nn.Module()
    model.encoder = nn.Module()
    model.encoder.layer = nn.ModuleList([_Layer() for _ in range(3)])
    rows = weight_errors(model, ("int4", "int8"), layers=2)
    assert [r["layer"] for r in rows] == ["encoder.layer.0.dense", "encoder.layer.1.dense"]
    assert all(r["int8"] < r["int4"] for r in rows)


def test_calibration_errors_clip_an_outlier_better_than_min_max():
    g = torch.Generator().manual_seed(0)
    calib, held = torch.randn(4000, generator=g), torch.randn(4000, generator=g)
    calib[0] = 60.0  # one outlier stretches the min-max range
    (row,) = calibration_errors([calib], [held], bits=4, pct=99.9, observers=("minmax", "percentile", "mse"))
    assert row["outlier_ratio"] > 50 and row["mse"] < row["minmax"] and row["percentile"] < row["minmax"]


class _Encoder:
    max_length = 0

    def forward_hidden(self, texts, all_layers):
        mask = torch.tensor([[1] * len(t) + [0] * (4 - len(t)) for t in texts])
        hs = [torch.full((len(texts), 4, 2), float(i)) for i in range(3)]
        return hs, mask


def test_token_states_keep_real_tokens_of_every_layer():
    states = token_states(_Encoder(), ["ab", "abcd", "a"], max_length=4, batch=2)
    assert len(states) == 3 and [s.shape for s in states] == [torch.Size([7, 2])] * 3
    assert float(states[2].mean()) == 2.0
