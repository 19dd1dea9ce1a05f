"""clex: the verdict follows the measured gaps (the loss by position is tested in
tests/probe/test_length_extrapolation.py, the RoPE -> CLEX weights in tests/nn/test_rope_scaling.py)."""

from mantissa.catalogue.protocol import Verdict
from mantissa.experiments.architectures.clex import CLEXExperiment


def _metrics(clex_4l, gap, rope_1l=2.3, rope_4l=2.9):
    return {"clex_minus_pi_at_max_bits": clex_4l - 3.0, "clex_minus_ntk_at_max_bits": clex_4l - 2.5,
            "clex_gap_at_L_bits": gap, "rope_bits_1L": rope_1l,
            "rope_degradation_at_max_bits": rope_4l - rope_1l}


def test_verdict_follows_the_measured_gaps():
    exp = CLEXExperiment()
    assert exp.verdict(_metrics(2.4, 0.01)) == Verdict.REPRODUCED
    assert exp.verdict(_metrics(2.7, 0.01)) == Verdict.PARTIAL  # beats PI, not NTK
    assert exp.verdict(_metrics(2.47, 0.01)) == Verdict.PARTIAL  # beats NTK by less than the margin
    assert exp.verdict(_metrics(3.1, 0.2)) == Verdict.NOT_REPRODUCED
    assert exp.verdict(_metrics(2.4, 0.01, rope_4l=2.35)) == Verdict.INCONCLUSIVE  # RoPE does not degrade
    assert exp.verdict(_metrics(2.4, 0.01, rope_1l=3.5, rope_4l=4.0)) == Verdict.INCONCLUSIVE
    assert exp.verdict({}) == Verdict.INCONCLUSIVE  # missing metrics fail
