"""The MiniLM end-to-end sections of llm-int8, nupes, shiftaddllm, lmul and i-vit (on
mantissa.quant.compare; disabled at smoke scale, so tested here on one layer and a few texts)."""

import pytest

from mantissa.errors import ConfigError
from mantissa.experiments.formats.lmul import Config as LMulConfig
from mantissa.experiments.formats.lmul import end_to_end as lmul_end_to_end

LAYER = "encoder.layer.0.attention.self.query"


@pytest.mark.real
def test_lmul_end_to_end_ratio_is_computed_from_the_rows():
    cfg = LMulConfig(e2e_texts=8, e2e_pairs=0, e2e_widths="3", e2e_layers=LAYER)
    rows, m = lmul_end_to_end(cfg, 0)
    assert [r["label"] for r in rows] == ["fp8_e4m3", "fp8_e5m2", "lmul3"]
    cos = {r["label"]: r["mean_cosine"] for r in rows}
    assert m["e2e_ratio_lmul3_e5m2"] == pytest.approx((1 - cos["lmul3"]) / (1 - cos["fp8_e5m2"]))
    assert "e2e_ratio_lmul4_e4m3" not in m
    # e5m2 keeps one mantissa bit fewer than e4m3: its embeddings drift further
    assert cos["fp8_e5m2"] < cos["fp8_e4m3"] < 1.0


def test_lmul_end_to_end_rejects_widths_it_has_no_fp8_peer_for():
    with pytest.raises(ConfigError, match="e2e_widths"):
        lmul_end_to_end(LMulConfig(e2e_texts=8, e2e_widths="5"), 0)


def _checks(exp_id: str, metrics: dict) -> dict[str, bool]:
    from mantissa.experiments import EXPERIMENTS, load_all

    load_all()
    return {c.description: c.passed for c in EXPERIMENTS.get(exp_id)().checks(metrics)}


E2E_CASES = {
    "llm-int8": ({"e2e_int8_cosine": 0.997, "e2e_cosine_gain": 0.002, "e2e_recall_gain": 0.03,
                  "e2e_int8_outlier_cosine": 0.9993},
                 {"e2e_cosine_gain": -0.001}),
    "shiftaddllm": ({"e2e_w3_cosine_gain": 0.1, "e2e_w3_recall_gain": 0.1}, {"e2e_w3_cosine_gain": -0.1}),
    "lmul": ({"e2e_ratio_lmul3_e5m2": 0.8, "e2e_ratio_lmul4_e4m3": 0.9}, {"e2e_ratio_lmul4_e4m3": 3.0}),
}


@pytest.mark.parametrize("exp_id", sorted(E2E_CASES))
def test_end_to_end_checks_are_judged_only_when_measured(exp_id):
    good, bad = E2E_CASES[exp_id]
    without = _checks(exp_id, {})
    assert not any("end to end" in d for d in without)  # section disabled: no e2e check
    with_good = {d: p for d, p in _checks(exp_id, good).items() if "end to end" in d}
    assert with_good and all(with_good.values())
    with_bad = {d: p for d, p in _checks(exp_id, {**good, **bad}).items() if "end to end" in d}
    assert sum(not p for p in with_bad.values()) == 1  # the one worse figure fails its check


@pytest.mark.real
def test_i_vit_minilm_encoder_runs_integer_only():
    from mantissa.experiments.formats.i_vit import _minilm_integer_ops

    assert _minilm_integer_ops(n_texts=2) > 100  # integer_only() raises on any float tensor
