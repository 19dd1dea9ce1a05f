"""bebr: 4 bits per dimension take 1/8 of float32's bytes (by construction, so a unit test and
not a check); the experiment's derived metrics."""

import pytest
import torch

from mantissa.experiments.embeddings.bebr import _synthetic
from mantissa.index.compressors import COMPRESSORS


def test_four_bit_codes_are_one_eighth_of_float32():
    docs, _ = _synthetic(200, 10, d=64)
    model = COMPRESSORS.build("bebr:3,steps=0,hidden=16").fit(docs)
    float_bytes = docs.shape[1] * 4
    assert model.prefix(4).bytes_per_vector == docs.shape[1] * 4 // 8
    assert float_bytes / model.prefix(4).bytes_per_vector == 8.0
    assert [model.prefix(p).bytes_per_vector for p in (1, 2, 3)] == [8, 16, 24]


def test_smoke_metrics_have_the_gate_and_claims(tmp_path):
    from mantissa.catalogue.runner import run_experiment

    rec = run_experiment("bebr", "smoke", seed=0, out=tmp_path)
    assert rec.status == "ok", rec.error
    m = rec.metrics
    assert m["memory_ratio"] == 8.0
    assert m["gain_4bit_over_untrained"] == pytest.approx(m["recall_bebr_4bit"] - m["recall_untrained_4bit"])
    assert torch.isfinite(torch.tensor(m["loss_ratio_last_over_first"]))
