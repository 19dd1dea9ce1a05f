from mantissa.catalogue.protocol import Verdict
from mantissa.experiments.architectures.ecoformer import Config, EcoFormer, char_lm_accuracy


def test_checks_can_fail():
    exp = EcoFormer()
    good = {"acc_softmax": 95.0, "acc_diff_lcb": -1.0, "ecoformer_time_exponent": 1.05,
            "softmax_time_exponent": 1.9}
    assert exp.verdict(good) == Verdict.REPRODUCED
    assert exp.verdict({**good, "acc_diff_lcb": -2.0}) == Verdict.PARTIAL  # a tie with the margin fails
    assert exp.verdict({**good, "ecoformer_time_exponent": 1.8}) == Verdict.PARTIAL
    assert exp.verdict({**good, "softmax_time_exponent": 1.1}) == Verdict.INCONCLUSIVE  # timing too noisy
    assert exp.verdict({**good, "acc_softmax": 60.0}) == Verdict.INCONCLUSIVE


def test_char_lm_section_runs():
    m = char_lm_accuracy(Config(lm_steps=2, lm_seq_len=16, hash_iters=2, bits=8, anchors=4), seed=0)
    assert set(m) == {"lm_acc_softmax", "lm_acc_ecoformer", "lm_acc_uniform", "lm_acc_drop_pts"}
    assert all(0 <= m[f"lm_acc_{a}"] <= 100 for a in ("softmax", "ecoformer", "uniform"))
