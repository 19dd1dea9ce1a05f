"""memoryformer experiment: the quick scale's FLOP ratio and the checks' wiring (FLOP accounting
in closed form: tests/nn/test_memoryformer.py)."""

from __future__ import annotations

from mantissa.experiments.architectures.memoryformer import MemoryFormer
from mantissa.models.memoryformer import flop_breakdown, memoryformer_lm


def test_ffn_flop_ratio_at_quick_scale_is_far_below_dense():
    """By construction (closed form of the shapes): at tau=8 the Memory-FFN costs < 0.2 of the dense FFN."""
    cfg = MemoryFormer().config("quick")
    shape = dict(vocab_size=40, n_layer=cfg.n_layer, n_head=cfg.n_head, d_model=cfg.d_model,
                 max_len=cfg.seq_len + 1, tau=cfg.tau)
    dense = flop_breakdown(memoryformer_lm("dense", **shape), cfg.seq_len)
    mem = flop_breakdown(memoryformer_lm("memory-ffn", temperature=0.5, **shape), cfg.seq_len)
    assert mem["ffn"] / dense["ffn"] < 0.2


def test_checks_follow_the_thresholds():
    exp = MemoryFormer()
    good = {"dense_test_loss": 1.7, "memory_ffn_rel_loss_gap": 0.05, "memory_all_rel_loss_gap": 0.09}
    assert all(c.passed for c in exp.checks(good))
    bad = {**good, "memory_ffn_rel_loss_gap": 0.10, "memory_all_rel_loss_gap": 0.3}
    assert [c.passed for c in exp.checks(bad)] == [True, False, False]
    assert exp.verdict({**good, "dense_test_loss": 2.5}) == "inconclusive"
