"""memoryformer experiment: FLOP accounting in closed form and the checks' wiring."""

from __future__ import annotations

from mantissa.experiments.architectures.memoryformer import Config, MemoryFormer, _model, flop_breakdown


def test_flop_breakdown_closed_form():
    cfg = Config(d_model=16, n_layer=2, n_head=2, seq_len=9, tau=4)
    dense = flop_breakdown(_model(cfg, 11, "dense"), cfg.seq_len)
    d, f = 16, 64
    assert dense["ffn"] == 2 * (2 * d * f + f + 2 * f * d + d)
    assert dense["attn_proj"] == 2 * (2 * d * 3 * d + 3 * d + 2 * d * d + d)
    assert dense["attn_scores"] == 2 * 2 * 2 * d * 5
    assert dense["head"] == 2 * d * 11
    mem = flop_breakdown(_model(cfg, 11, "memory-all", 0.5), cfg.seq_len)
    k1, k2 = d // 4, f // 4
    assert mem["ffn"] == 2 * ((5 * d + k1 + 2 * k1 * f) + (5 * f + k2 + 2 * k2 * d))
    assert mem["attn_proj"] == 2 * ((5 * d + k1 + 2 * k1 * 3 * d) + (5 * d + k1 + 2 * k1 * d))
    assert mem["attn_scores"] == dense["attn_scores"] and mem["head"] == dense["head"]


def test_ffn_flop_ratio_at_quick_scale_is_far_below_dense():
    """By construction (closed form of the shapes): at tau=8 the Memory-FFN costs < 0.2 of the dense FFN."""
    cfg = MemoryFormer().config("quick")
    dense = flop_breakdown(_model(cfg, 40, "dense"), cfg.seq_len)
    mem = flop_breakdown(_model(cfg, 40, "memory-ffn", 0.5), cfg.seq_len)
    assert mem["ffn"] / dense["ffn"] < 0.2


def test_checks_follow_the_thresholds():
    exp = MemoryFormer()
    good = {"dense_test_loss": 1.7, "memory_ffn_rel_loss_gap": 0.05, "memory_all_rel_loss_gap": 0.09}
    assert all(c.passed for c in exp.checks(good))
    bad = {**good, "memory_ffn_rel_loss_gap": 0.10, "memory_all_rel_loss_gap": 0.3}
    assert [c.passed for c in exp.checks(bad)] == [True, False, False]
    assert exp.verdict({**good, "dense_test_loss": 2.5}) == "inconclusive"
