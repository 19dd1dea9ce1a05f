"""The attention-cost helpers of the efficient-attention experiments."""

import math

import pytest
import torch

from mantissa.nn.attention_cost import cpu_timed, log_log_slope


@pytest.mark.parametrize("power", [1.0, 1.5, 2.0])
def test_log_log_slope_recovers_a_power_law(power):
    lengths = (256, 512, 1024, 2048)
    assert log_log_slope(lengths, [3e-6 * t ** power for t in lengths]) == pytest.approx(power)


def test_cpu_timed_is_a_positive_finite_time():
    t = cpu_timed(lambda q, k, v: q @ k.transpose(-1, -2) @ v, 64, repeats=2)
    assert 0 <= t < 1 and math.isfinite(t)
    calls = []
    cpu_timed(lambda q, k, v: calls.append(q.shape) or q, 32, heads=2, head_dim=8, repeats=3)
    assert calls == [torch.Size([1, 2, 32, 8])] * 4  # warm-up + repeats


def test_attention_times_and_plot():
    from mantissa import plot
    from mantissa.nn.attention_cost import attention_times, plot_time_vs_length

    kernels = {"a": lambda q, k, v: q + v, "b": lambda q, k, v: q * v}
    times = attention_times(kernels, [4, 8])
    assert list(times) == ["a", "b"] and all(len(ts) == 2 and min(ts) >= 0 for ts in times.values())
    fig, ax = plot.figure()
    plot_time_vs_length(ax, [4, 8], {"a": [1e-4, 2e-4], "b": [1e-4, 4e-4]})
    assert [line.get_label() for line in ax.lines] == ["a (slope 1.00)", "b (slope 2.00)"]
