"""The MiniLM end-to-end section shared by llm-int8, nupes, shiftaddllm and lmul
(disabled at smoke scale, so tested here on one layer and a few texts)."""

import csv
import math

import pytest
import torch

from mantissa.data import load_minilm
from mantissa.errors import ConfigError
from mantissa.experiments._cheap_arith import (
    E2E_HEADER,
    end_to_end_metrics,
    minilm_end_to_end,
    minilm_linear_inputs,
    write_end_to_end,
)
from mantissa.experiments.formats.lmul import Config as LMulConfig
from mantissa.experiments.formats.lmul import end_to_end as lmul_end_to_end
from mantissa.quant import quantize
from mantissa.quant.evaluate import evaluation_corpus

LAYER = "encoder.layer.0.attention.self.query"


@pytest.mark.real
def test_minilm_end_to_end_rows_match_a_direct_measurement(tmp_path):
    rows = minilm_end_to_end({"float": None, "int8": "int8"}, 8, 0, seed=0, include=LAYER)
    assert [r["label"] for r in rows] == ["float", "int8"]
    flt, q = rows
    assert flt["recipe"] == "float32" and flt["texts"] == 8 and flt["k"] == 2
    assert flt["mean_cosine"] == pytest.approx(1.0, abs=1e-5) and flt["recall_at_k"] == 1.0
    # the same cosine measured directly: the quantized copy against the float model
    texts = evaluation_corpus(8, 0)
    base = load_minilm()
    direct = (quantize(load_minilm(), "int8", include=[LAYER]).encode(texts) * base.encode(texts)).sum(1)
    assert q["mean_cosine"] == pytest.approx(float(direct.mean()), abs=1e-5)
    assert q["min_cosine"] == pytest.approx(float(direct.min()), abs=1e-5)
    assert 0.99 < q["mean_cosine"] < 1.0  # one int8 layer: close to, but not exactly, the float model
    assert 8.0 < q["bits_per_weight"] < 8.5  # int8 codes + a float scale per output channel

    m = end_to_end_metrics(rows)
    assert m["e2e_int8_cosine"] == q["mean_cosine"] and m["e2e_float_recall"] == 1.0
    names = write_end_to_end(rows, tmp_path, "test")
    assert names == ["minilm_e2e.csv", "minilm_e2e.png"]
    with open(tmp_path / "minilm_e2e.csv") as f:
        table = list(csv.reader(f))
    assert tuple(table[0]) == E2E_HEADER and [r[0] for r in table[1:]] == ["float", "int8"]
    assert (tmp_path / "minilm_e2e.png").stat().st_size > 1000


def test_minilm_end_to_end_rejects_too_few_texts():
    with pytest.raises(ConfigError, match="at least 8 texts"):
        minilm_end_to_end({"int8": "int8"}, 4, 0, seed=0)


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


def test_end_to_end_metrics_names():
    rows = [{"label": "x", "mean_cosine": 0.9, "min_cosine": 0.5, "recall_at_k": 0.7,
             "synonym_auc": float("nan")}]
    m = end_to_end_metrics(rows)
    assert sorted(m) == ["e2e_x_auc", "e2e_x_cosine", "e2e_x_min_cosine", "e2e_x_recall"]
    assert (m["e2e_x_cosine"], m["e2e_x_min_cosine"], m["e2e_x_recall"]) == (0.9, 0.5, 0.7)
    assert math.isnan(m["e2e_x_auc"])


@pytest.mark.real
def test_end_to_end_calibrates_recipes_that_need_it():
    """int-only needs calibration text: the section supplies WordNet glosses (else quantize raises)."""
    rows = minilm_end_to_end({"int_only": "int-only"}, 8, 0, seed=0, calibration=8)
    assert rows[0]["recipe"] == "int-only" and 0.9 < rows[0]["mean_cosine"] <= 1.0


@pytest.mark.real
def test_i_vit_minilm_encoder_runs_integer_only():
    from mantissa.experiments.formats.i_vit import _minilm_integer_ops

    assert _minilm_integer_ops(n_texts=2) > 100  # integer_only() raises on any float tensor


@pytest.mark.real
def test_end_to_end_takes_a_callable_transform():
    from mantissa.arith.rtn import rtn_quantize
    from mantissa.experiments.formats.shiftaddllm import rtn_mse, rtn_mse_transform

    transform = rtn_mse_transform(3, 128)
    rows = minilm_end_to_end({"rtn3_mse": transform}, 8, 0, seed=0, include=LAYER)
    assert rows[0]["recipe"].startswith("rtn-mse:bits=3,group=128") and 0.9 < rows[0]["mean_cosine"] < 1.0
    w = load_minilm().model.get_submodule(LAYER).weight.detach().float()
    moved = transform(load_minilm(), LAYER).model.get_submodule(LAYER).weight.detach().float()
    assert torch.equal(moved, rtn_mse(w, 3, 128))
    # the searched clip has a lower weight error than min-max here
    err = lambda q: float((q - w).pow(2).sum())  # noqa: E731
    assert err(rtn_mse(w, 3, 128)) < err(rtn_quantize(w, 3, 128))
    assert len(torch.unique(moved[0, :128])) <= 8  # 3-bit codes per group


@pytest.mark.parametrize("layers", [[99], [-1], []])
def test_minilm_linear_inputs_refuses_layers_minilm_lacks(layers):
    with pytest.raises(ConfigError, match=r"encoder layers 0\.\.5"):
        minilm_linear_inputs(2, 0, layers=layers)
