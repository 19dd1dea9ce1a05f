"""Recipes against fidelity, end to end (mantissa.quant.compare): the loop that both
``mantissa quantize --compare`` and the experiments' MiniLM sections run, checked against
direct measurements on one layer and a few texts."""

import csv
import math

import pytest
import torch

from mantissa.data import load_minilm
from mantissa.errors import ConfigError
from mantissa.quant import evaluate, parse_recipe, quantize
from mantissa.quant.compare import (
    E2E_HEADER,
    compare_recipes,
    end_to_end_metrics,
    minilm_end_to_end,
    minilm_linear_inputs,
    rel_error,
    row_cosine,
    write_end_to_end,
)
from mantissa.quant.evaluate import calibration_corpus, evaluation_corpus

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


def test_compare_recipes_refuses_an_unknown_recipe_before_any_work():
    from mantissa.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        next(compare_recipes(object(), {"ok": "int8", "bad": "int9"}, n_texts=8, n_pairs=0))


@pytest.mark.real
def test_compare_recipes_keeps_pairs_in_order_and_names_recipe_objects():
    """The CLI passes (spec, Recipe) pairs: a recipe named twice runs twice, named by its spec."""
    pairs = [("a", parse_recipe("int8:act_bits=0")), ("a", "int8:act_bits=0")]
    res = list(compare_recipes(load_minilm(), pairs, n_texts=8, n_pairs=0, k=2, include=LAYER,
                               measure_size=False, measure_latency=False))
    assert [(r.label, r.recipe) for r in res] == [("a", "int8:act_bits=0")] * 2
    assert res[0].report.mean_cosine == res[1].report.mean_cosine < 1.0
    assert res[0].report.recipe == parse_recipe("int8:act_bits=0").spec()
    assert math.isnan(res[0].report.size_mb) and math.isnan(res[0].report.latency_ms)
    assert res[0].row()["k"] == 2 and res[0].row()["recipe"] == "int8:act_bits=0"


def test_end_to_end_metrics_names():
    rows = [{"label": "x", "mean_cosine": 0.9, "min_cosine": 0.5, "recall_at_k": 0.7,
             "synonym_auc": float("nan")}]
    m = end_to_end_metrics(rows)
    assert sorted(m) == ["e2e_x_auc", "e2e_x_cosine", "e2e_x_min_cosine", "e2e_x_recall"]
    assert (m["e2e_x_cosine"], m["e2e_x_min_cosine"], m["e2e_x_recall"]) == (0.9, 0.5, 0.7)
    assert math.isnan(m["e2e_x_auc"])


@pytest.mark.real
def test_end_to_end_calibrates_recipes_that_need_it():
    """int-only needs calibration text: the comparison supplies WordNet glosses outside the
    evaluation texts (else quantize raises), collected once, and measures what quantizing on
    those texts directly gives."""
    rows = minilm_end_to_end({"int_only": "int-only"}, 8, 0, seed=0, calibration=8)
    assert rows[0]["recipe"] == "int-only" and 0.9 < rows[0]["mean_cosine"] <= 1.0
    calib = calibration_corpus(8, set(evaluation_corpus(8, 0)))
    direct = evaluate(quantize(load_minilm(), "int-only", calib), load_minilm(), n_texts=8, n_pairs=0, k=2,
                      measure_size=False, measure_latency=False)
    assert rows[0]["mean_cosine"] == pytest.approx(direct.mean_cosine, abs=1e-6)


@pytest.mark.real
def test_end_to_end_takes_a_callable_transform():
    def int8_query(model, include):
        return quantize(model, "int8", include=[include])

    rows = minilm_end_to_end({"t": int8_query, "r": "int8"}, 8, 0, seed=0, include=LAYER)
    assert [r["recipe"] for r in rows] == ["int8_query", "int8"]
    assert rows[0]["mean_cosine"] == rows[1]["mean_cosine"] < 1.0


@pytest.mark.parametrize("layers", [[99], [-1], []])
def test_minilm_linear_inputs_refuses_layers_minilm_lacks(layers):
    with pytest.raises(ConfigError, match=r"encoder layers 0\.\.5"):
        minilm_linear_inputs(2, 0, layers=layers)


@pytest.mark.real
def test_minilm_linear_inputs_replay_the_layer():
    ios = minilm_linear_inputs(3, 0, layers=[1])
    assert [io.name.split(".")[:2] for io in ios] == [["layer", "1"]] * 6  # q, k, v, out, up, down
    io = ios[0]
    assert io.x.ndim == 2 and io.x.shape[1] == io.weight.shape[1] and io.output().dtype == torch.float64


def test_rel_error_and_row_cosine_closed_forms():
    exact = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    assert rel_error(exact, exact) == 0.0
    assert rel_error(2 * exact, exact) == pytest.approx(1.0)
    assert row_cosine(2 * exact, exact) == pytest.approx(1.0)
    assert row_cosine(torch.tensor([[4.0, -3.0], [0.0, 1.0]]), exact) == pytest.approx(0.0)
    assert rel_error(torch.ones(2), torch.zeros(2)) > 1e100  # zero reference: huge, not a division error
