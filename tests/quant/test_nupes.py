"""NUPES power quantization: closed forms and the exponent search/learning."""

from __future__ import annotations

import torch

from mantissa.formats import PowerFormat
from mantissa.quant import parse_quantizer
from mantissa.quant.nupes import (
    PowerQuantizer,
    learn_exponent,
    output_error,
    power_fake_quant,
    search_exponent,
)


def test_exponent_one_is_uniform_symmetric_per_channel():
    w = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(power_fake_quant(w, 1.0), parse_quantizer("int4:channel").fake(w), atol=1e-6)


def test_matches_power_format_grid():
    w = torch.tensor([[1.0, 0.5, -0.2, 0.01]])
    expected = PowerFormat(4, 0.5).quantize(w)  # max |w| is 1, so the scale is 1
    assert torch.allclose(power_fake_quant(w, 0.5), expected)


def test_search_beats_uniform_on_bell_shaped_weights():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(64, 256, generator=g) * 0.05
    a = search_exponent(w)
    assert a < 1.0
    err = lambda q: float((q - w).pow(2).sum())  # noqa: E731
    assert err(power_fake_quant(w, a)) < err(parse_quantizer("int4:channel").fake(w))


def test_learned_exponent_not_worse_and_gradients_finite():
    g = torch.Generator().manual_seed(2)
    w = torch.randn(32, 64, generator=g)
    w[0, :5] = 0.0  # zeros must not produce NaN gradients
    x = torch.randn(500, 64, generator=g)
    gram = x.T @ x
    a0 = 0.9
    a = learn_exponent(w, gram, a0, steps=10)
    assert output_error(w, power_fake_quant(w, a), gram) <= output_error(w, power_fake_quant(w, a0), gram)
    pq = PowerQuantizer(4, 0.7)
    pq(w).pow(2).sum().backward()
    assert torch.isfinite(pq.log_a.grad)
    assert str(pq.format).startswith("power:4,a=0.7")
