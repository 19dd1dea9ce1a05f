"""mantissa.quant.rtn_mse: MSE-clipped round-to-nearest, its end-to-end transform and the
BCQ-vs-RTN recipe set."""

import pytest
import torch

from mantissa.arith.rtn import rtn_quantize
from mantissa.data import load_minilm
from mantissa.quant.compare import minilm_end_to_end
from mantissa.quant.rtn_mse import bcq_rtn_recipes, rtn_mse, rtn_mse_channel, rtn_mse_transform

LAYER = "encoder.layer.0.attention.self.query"


def test_rtn_mse_clips_for_a_lower_weight_error_than_min_max():
    w = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
    w[0, 0] = 12.0  # an outlier min-max must cover
    q = rtn_mse(w, 3, 32)
    assert q.shape == w.shape and len(torch.unique(q[1, :32])) <= 8
    assert float((q - w).pow(2).sum()) < float((rtn_quantize(w, 3, 32) - w).pow(2).sum())
    lin = torch.nn.Linear(64, 8)
    assert len(torch.unique(rtn_mse_channel(lin, 2)[0])) <= 4


def test_bcq_rtn_recipes_names_each_width():
    rec = bcq_rtn_recipes([3, 2], 128)
    assert list(rec) == ["bcq3", "rtn3", "rtn3_mse", "rtn3_g32", "bcq2", "rtn2", "rtn2_mse", "rtn2_g32"]
    assert rec["bcq2"] == "bcq2:group=128,lut=false" and rec["rtn3_g32"] == "w4-int:bits=3,group=32"
    assert rec["rtn2_mse"].__name__.startswith("rtn-mse:bits=2,group=128")


@pytest.mark.real
def test_rtn_mse_transform_runs_end_to_end():
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
