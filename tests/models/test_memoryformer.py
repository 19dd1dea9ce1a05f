"""MemoryFormer's LM arms and their FLOPs in closed form."""

from __future__ import annotations

import pytest

from mantissa.errors import ConfigError
from mantissa.models.memoryformer import flop_breakdown, flops_table, memoryformer_lm, plot_flops
from mantissa.nn.memory_layer import MemoryLinear


def _lm(arm: str, temperature: float = 1.0):
    return memoryformer_lm(arm, vocab_size=11, n_layer=2, n_head=2, d_model=16, max_len=10, tau=4,
                           temperature=temperature)


def test_flop_breakdown_closed_form():
    dense = flop_breakdown(_lm("dense"), 9)
    d, f = 16, 64
    assert dense["ffn"] == 2 * (2 * d * f + f + 2 * f * d + d)
    assert dense["attn_proj"] == 2 * (2 * d * 3 * d + 3 * d + 2 * d * d + d)
    assert dense["attn_scores"] == 2 * 2 * 2 * d * 5
    assert dense["head"] == 2 * d * 11
    mem = flop_breakdown(_lm("memory-all", 0.5), 9)
    k1, k2 = d // 4, f // 4
    assert mem["ffn"] == 2 * ((5 * d + k1 + 2 * k1 * f) + (5 * f + k2 + 2 * k2 * d))
    assert mem["attn_proj"] == 2 * ((5 * d + k1 + 2 * k1 * 3 * d) + (5 * d + k1 + 2 * k1 * d))
    assert mem["attn_scores"] == dense["attn_scores"] and mem["head"] == dense["head"]


def test_arms_swap_the_right_linears():
    count = {arm: sum(isinstance(m, MemoryLinear) for m in _lm(arm).modules())
             for arm in ("dense", "memory-ffn", "memory-all")}
    assert count == {"dense": 0, "memory-ffn": 4, "memory-all": 8}
    with pytest.raises(ConfigError):
        _lm("sparse")


def test_flops_table_and_plot():
    flops = {"dense": flop_breakdown(_lm("dense"), 9), "memory-ffn": flop_breakdown(_lm("memory-ffn"), 9)}
    header, rows = flops_table(flops)
    assert header == ["arm", "ffn", "attn_proj", "attn_scores", "head", "total"]
    assert rows[0][-1] == int(sum(flops["dense"].values())) and rows[1][0] == "memory-ffn"
    assert len(plot_flops(flops).axes[0].patches) == 8
