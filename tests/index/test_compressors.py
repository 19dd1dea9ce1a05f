"""Compressors: codes, decoding and scores against float64 / ml_dtypes / numpy references."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch

from mantissa.errors import DTypeError, ShapeError, SpecError, UnknownNameError
from mantissa.index.compressors import COMPRESSORS, check_vectors


def _data(n=400, d=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


def test_float16_codes_equal_ml_dtypes_rounding():
    x = _data()
    c = COMPRESSORS.build("float16").fit(x)
    ref = x.numpy().astype(ml_dtypes.float16 if hasattr(ml_dtypes, "float16") else np.float16)
    assert np.array_equal(c.decode(c.encode(x)).numpy(), ref.astype(np.float32))
    assert c.bytes_per_vector == 128 and c.aux_bytes == 0


def test_float32_scores_are_inner_products():
    x, q = _data(), _data(5, seed=1)
    c = COMPRESSORS.build("float32").fit(x)
    assert torch.allclose(c.score(q, c.encode(x)), q @ x.T, atol=1e-6)


@pytest.mark.parametrize("spec,levels", [("int8", 256), ("int4", 16)])
def test_scalar_quantizer_error_bound_and_calibration(spec, levels):
    x = _data()
    c = COMPRESSORS.build(spec).fit(x)
    lo, hi = x.min(0).values, x.max(0).values
    step = (hi - lo) / (levels - 1)
    err = (c.decode(c.encode(x)) - x).abs()
    assert bool((err <= step / 2 + 1e-6).all())  # rounded, within half a step
    out = c.decode(c.encode(x * 3))  # out of range -> clipped to the calibrated range
    assert bool((out <= hi + 1e-6).all() and (out >= lo - 1e-6).all())
    assert c.bytes_per_vector == (64 if spec == "int8" else 32)
    assert c.aux_bytes == 2 * 64 * 4


def test_int8_integer_scores_track_float64_products():
    x, q = _data(), _data(7, seed=2)
    c = COMPRESSORS.build("int8").fit(x)
    codes = c.encode(x)
    exact = q.double() @ c.decode(codes).double().T
    got = c.score(q, codes).double()
    # only the query's own int8 rounding differs: |Δ| <= α/2 · Σ|u - h|
    qs = (q * c.scale).double()
    alpha = qs.abs().amax(1, keepdim=True) / 127
    bound = alpha / 2 * (c.centred(codes).double().abs().sum(1)).unsqueeze(0)
    assert bool(((got - exact).abs() <= bound + 1e-5).all())
    cf = COMPRESSORS.build("int8:query=float").fit(x)
    assert torch.allclose(cf.score(q, codes).double(), exact, atol=1e-4)


def test_binary_scores_are_pm1_inner_products_for_both_kernels():
    x, q = _data(50, 100), _data(6, 100, seed=3)
    sx, sq = torch.where(x > 0, 1.0, -1.0), torch.where(q > 0, 1.0, -1.0)
    for spec in ("binary", "binary:kernel=popcount"):
        c = COMPRESSORS.build(spec).fit(x)
        assert c.bytes_per_vector == 16  # 100 bits -> two 64-bit words
        assert torch.equal(c.score(q, c.encode(x)), sq @ sx.T)
    cf = COMPRESSORS.build("binary:query=float").fit(x)
    assert torch.allclose(cf.score(q, cf.encode(x)), q @ sx.T, atol=1e-5)


def test_pq_reconstructs_and_adc_equals_decoded_products():
    x, q = _data(600, 16), _data(4, 16, seed=4)
    c = COMPRESSORS.build("pq:4x4").fit(x)
    codes = c.encode(x)
    assert codes.shape == (600, 4) and c.bytes_per_vector == 4
    assert torch.allclose(c.score(q, codes), q @ c.decode(codes).T, atol=1e-5)
    mse = ((c.decode(codes) - x) ** 2).sum(1).mean()
    assert mse < 0.5 * (x**2).sum(1).mean()  # 16 centroids per 4-dim block beat predicting 0
    assert c.aux_bytes == 4 * 16 * 4 * 4


def test_matryoshka_truncates_and_renormalises():
    x, q = _data(), _data(3, seed=5)
    c = COMPRESSORS.build("matryoshka:16").fit(x)
    t = torch.nn.functional.normalize(x[:, :16], dim=1)
    assert torch.allclose(c.decode(c.encode(x)), t)
    tq = torch.nn.functional.normalize(q[:, :16], dim=1)
    assert torch.allclose(c.score(q, c.encode(x)), tq @ t.T, atol=1e-6)
    assert c.bytes_per_vector == 64


def test_bebr_codes_bits_and_popcount_reference():
    x, q = _data(300, 64), _data(5, 64, seed=6)
    c = COMPRESSORS.build("bebr:2,steps=3,hidden=32,anchors=16,neighbours=3").fit(x)
    codes = c.encode(x)
    assert codes.shape == (300, 3 * 8) and c.bytes_per_vector == 24  # 3 bits per dimension
    lv = c.levels(codes)
    assert bool((lv.abs() <= 7).all() and (lv % 2 != 0).all())  # odd levels ±1..±7
    ints = c.levels(c.encode(q)).long() @ lv.long().T
    assert torch.equal(c.score_popcount(q, codes), ints)
    norms = lv.double().norm(dim=1)
    assert torch.allclose(c.score(q, codes).double(), ints.double() / norms, atol=1e-3)
    assert c.aux_bytes > 0 and len(c.loss_curve) == 3


def test_untrained_bebr_first_plane_is_sign_binarization():
    x = _data(100, 64)
    c = COMPRESSORS.build("bebr:0,steps=0").fit(x)
    assert torch.equal(c.encode(x), COMPRESSORS.build("binary").fit(x).encode(x))


def test_bad_inputs_raise_mantissa_errors():
    x = _data()
    bad = x.clone()
    bad[3, 1], bad[17, 0] = float("nan"), float("inf")
    with pytest.raises(ShapeError, match=r"2 row\(s\): 3, 17"):
        check_vectors(bad)
    with pytest.raises(ShapeError, match="empty"):
        check_vectors(torch.zeros(0, 5))
    with pytest.raises(DTypeError):
        check_vectors(["a", "b"])
    c = COMPRESSORS.build("int8").fit(x)
    with pytest.raises(ShapeError, match="dimension 32"):
        c.encode(_data(3, 32))
    with pytest.raises(DTypeError):
        c.decode(torch.zeros(2, 64, dtype=torch.int32))
    with pytest.raises(ShapeError):
        COMPRESSORS.build("int8").encode(x)  # not fitted
    for spec in ("pq:0x8", "pq:4x9", "pq:abc", "bebr:9", "matryoshka:0", "int8:clip=0.7"):
        with pytest.raises(SpecError):
            COMPRESSORS.build(spec)
    with pytest.raises(UnknownNameError, match="valid names"):
        COMPRESSORS.build("int3")
    with pytest.raises(ShapeError):
        COMPRESSORS.build("pq:5").fit(x)  # 5 does not divide 64


def test_bebr_prefix_keeps_leading_planes():
    x = _data(200, 64)
    c = COMPRESSORS.build("bebr:2,steps=2,hidden=16,anchors=16,neighbours=3").fit(x)
    full, one = c.encode(x), c.prefix(1).encode(x)
    assert one.shape == (200, 8) and torch.equal(full[:, :8], one)
    assert c.prefix(1).spec == "bebr:2,planes=1" and c.prefix(1).bytes_per_vector == 8
    with pytest.raises(SpecError):
        c.prefix(4)


def test_a_checked_tensor_written_in_place_is_checked_again():
    from mantissa.errors import ShapeError
    from mantissa.index.compressors.base import check_vectors

    x = torch.randn(5, 4)
    assert check_vectors(x) is x and check_vectors(x) is x
    x[3, 1] = float("nan")
    with pytest.raises(ShapeError, match="row"):
        check_vectors(x)


def test_untrained_bebr_from_the_itq_basis_is_the_itq_code_and_reloads(tmp_path):
    from mantissa.index.index_file import build_index, open_index

    g = torch.Generator().manual_seed(7)
    x = torch.nn.functional.normalize(torch.randn(400, 64, generator=g) + 0.5, dim=1)
    bebr = COMPRESSORS.build("bebr:0,steps=0,init=itq").fit(x)
    itq = COMPRESSORS.build("itq").fit(x)
    assert torch.equal(bebr.encode(x), itq.encode(x))
    built = build_index(tmp_path / "b", "bebr:1,steps=2,init=itq", [x])
    assert built.compressor.spec == "bebr:1,init=itq"
    assert torch.equal(open_index(tmp_path / "b").search(x[:5], 3)[1], built.search(x[:5], 3)[1])
    with pytest.raises(SpecError, match="init"):
        COMPRESSORS.build("bebr:0,init=pca")


def test_bebr_time_bound_cuts_steps_to_fit_and_zero_trains_every_step():
    from mantissa.index.compressors.bebr import fit_schedule

    assert fit_schedule(300, 5, 1.0, 30.0) == 150 and fit_schedule(300, 5, 0.01, 30.0) == 300
    assert fit_schedule(300, 5, 10.0, 1.0) == 5 and fit_schedule(300, 5, 1.0, 0.0) == 300
    x = torch.nn.functional.normalize(torch.randn(200, 16), dim=1)
    assert len(COMPRESSORS.build("bebr:0,steps=40,seconds=0").fit(x).loss_curve) == 40
    assert len(COMPRESSORS.build("bebr:0,steps=40,seconds=0.000001").fit(x).loss_curve) == 5
    with pytest.raises(SpecError, match="seconds"):
        COMPRESSORS.build("bebr:0,seconds=-1")
