"""Loss by position: its mean is the LM loss in bits; the two figures draw one line per method."""

import math

import torch

from mantissa.models import Transformer, TransformerConfig
from mantissa.probe.length_extrapolation import plot_bits_by_position, plot_bits_vs_length, position_bits
from mantissa.train import lm_loss


def test_position_bits_matches_lm_loss():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=11, n_layer=1, n_head=2, d_model=16, pe="rope")).eval()
    windows = torch.randint(0, 11, (5, 13))
    bits = position_bits(model, windows, batch=2)
    with torch.no_grad():
        loss, _ = lm_loss(model, {"idx": windows, "mask": torch.ones_like(windows, dtype=torch.bool)})
    assert bits.shape == (12,)
    assert math.isclose(float(bits.mean()), float(loss) / math.log(2), rel_tol=1e-5)


def test_figures():
    fig = plot_bits_vs_length([16, 32], {"a": [2.0, 2.5], "b": [2.1, 2.2]}, 16, dashed=("b",))
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines[:2]] == ["a", "b"] and lines[1].get_linestyle() == "--"
    fig = plot_bits_by_position({"a": torch.rand(256), "b": torch.rand(256)}, 64, points=64)
    assert len(fig.axes[0].lines[0].get_xdata()) == 64
    assert "256-char window" in fig.axes[0].get_xlabel()
