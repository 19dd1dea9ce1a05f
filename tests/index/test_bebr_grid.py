"""bebr quant=grid, query=float and the uncentred ITQ basis, against NumPy references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mantissa.errors import SpecError
from mantissa.index.compressors import COMPRESSORS
from mantissa.index.compressors.bebr import grid_code, value_planes


def _data(n=300, d=64, seed=0, shift=0.3):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g) + shift, dim=1)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def _numpy_grid(z: np.ndarray, u: int, candidates: int = 43) -> np.ndarray:
    """The documented rule, written independently: nearest odd integer by rounding."""
    top = 2 ** (u + 1) - 1
    unit = z / (np.linalg.norm(z, axis=1, keepdims=True) / np.sqrt(z.shape[1]))
    best, best_cos = np.zeros_like(z), np.full(len(z), -2.0)
    for t in np.linspace(1 / 15, 1, candidates):
        y = unit * t * top
        v = np.clip(2 * np.round((y - 1) / 2) + 1, -top, top)
        c = _cos(z, v)
        best = np.where((c > best_cos)[:, None], v, best)
        best_cos = np.maximum(c, best_cos)
    return best


@pytest.mark.parametrize("u", [1, 2, 3])
def test_grid_code_equals_the_numpy_rule_and_its_planes_sum_back(u):
    z = _data(200, 48, seed=u).double()
    v = grid_code(z.float(), u)
    ref = _numpy_grid(z.numpy(), u)
    top = 2 ** (u + 1) - 1
    assert bool(((v.abs() <= top) & (v % 2 != 0)).all())
    # same code up to rounding ties (none expected on random data) and float32 vs float64
    assert np.allclose(_cos(z.numpy(), v.double().numpy()), _cos(z.numpy(), ref), atol=1e-5)
    assert (v.numpy() == ref).mean() > 0.999
    planes = value_planes(v, u)
    assert len(planes) == u + 1 and all(bool((p.abs() == 1).all()) for p in planes)
    assert torch.equal(sum(2.0 ** (u - i) * p for i, p in enumerate(planes)), v)


def test_grid_code_is_near_the_best_lattice_point_by_brute_force():
    """dim 3, 2 bits: all 4^3 codes enumerated; the scale grid loses almost nothing."""
    z = _data(300, 3, seed=5, shift=0.0).double().numpy()
    lattice = np.array(list(itertools.product([-3, -1, 1, 3], repeat=3)), dtype=float)
    best = (z @ lattice.T / np.linalg.norm(lattice, axis=1)).max(1)  # z is unit length
    got = _cos(z, grid_code(torch.from_numpy(z).float(), 1).double().numpy())
    assert np.all(got <= best + 1e-6) and np.all(got >= best - 1e-3)


def test_grid_codes_are_closer_than_the_untrained_recurrence_and_score_as_numpy():
    x, q = _data(), _data(7, seed=1)
    grid = COMPRESSORS.build("bebr:3,quant=grid").fit(x)
    rec = COMPRESSORS.build("bebr:3,steps=0").fit(x)
    codes = grid.encode(x)
    lv = grid.levels(codes).double().numpy()
    assert codes.shape == (300, 4 * 8) and grid.aux_bytes == 0 and grid.loss_curve == []
    assert np.array_equal(lv, grid_code(x, 3).double().numpy())
    xn = x.double().numpy()
    assert _cos(xn, lv).mean() > _cos(xn, rec.levels(rec.encode(x)).double().numpy()).mean() + 0.002
    # SDC: integer products over the document norms; ADC: float query against unit codes
    lq = grid.levels(grid.encode(q)).double().numpy()
    sdc = lq @ lv.T / np.linalg.norm(lv, axis=1)
    assert np.allclose(grid.score(q, codes).double().numpy(), sdc, rtol=1e-5)
    adc = COMPRESSORS.build("bebr:3,quant=grid,query=float").fit(x)
    ref = q.double().numpy() @ (lv / np.linalg.norm(lv, axis=1, keepdims=True)).T
    assert np.allclose(adc.score(q, adc.encode(x)).double().numpy(), ref, atol=1e-5)


def test_uncentred_itq_basis_has_no_mean_and_grid_index_reloads(tmp_path):
    from mantissa.index.index_file import build_index, open_index

    x = _data(400, 64, seed=3)
    itq = COMPRESSORS.build("itq:centre=no,iters=5").fit(x)
    assert torch.equal(itq.mean, torch.zeros(64)) and itq.spec == "itq:iters=5,centre=no"
    bits = np.packbits(x.numpy() @ itq.projection.numpy() > 0, axis=1)
    assert np.array_equal(itq.encode(x).numpy(), bits)
    p = itq.projection.double()
    assert torch.allclose(p.T @ p, torch.eye(64, dtype=torch.float64), atol=1e-5)  # orthogonal
    spec = "bebr:2,init=itq,centre=no,quant=grid,query=float"
    built = build_index(tmp_path / "g", spec, [x])
    assert built.compressor.spec == spec and built.compressor.basis is not None
    assert torch.equal(built.compressor.basis[0], torch.zeros(64))
    assert torch.equal(open_index(tmp_path / "g").search(x[:5], 3)[1], built.search(x[:5], 3)[1])


@pytest.mark.parametrize("spec", ["bebr:3,quant=pq", "bebr:3,query=int", "bebr:3,centre=maybe",
                                  "itq:centre=0"])
def test_bad_choices_raise_spec_errors(spec):
    with pytest.raises(SpecError, match=r"accepted"):
        COMPRESSORS.build(spec)


def test_dims_keeps_the_top_principal_axes_and_scores_as_numpy(tmp_path):
    """dims=K: the basis is K orthonormal columns spanning the top-K principal axes of the
    uncentred sample (checked against NumPy's SVD); 2 planes of K bits; SDC, popcount and
    a reloaded index agree."""
    from mantissa.index.index_file import build_index, open_index

    x, q = _data(400, 64, seed=4), _data(9, 64, seed=6)
    spec = "bebr:1,init=itq,dims=32,centre=no,quant=grid"
    comp = COMPRESSORS.build(spec).fit(x)
    assert comp.spec == spec and comp.code_dim == 32 and comp.code_bytes == 2 * 8
    p = comp.basis[1].double().numpy()
    assert p.shape == (64, 32) and np.allclose(p.T @ p, np.eye(32), atol=1e-5)
    top = np.linalg.svd(x.double().numpy(), full_matrices=False)[2][:32].T  # top right singular vectors
    assert np.allclose(top @ (top.T @ p), p, atol=1e-4)  # same subspace
    codes = comp.encode(x)
    z = torch.nn.functional.normalize(x @ comp.basis[1], dim=1)
    lv = comp.levels(codes).double().numpy()
    assert codes.shape == (400, 16) and np.array_equal(lv, grid_code(z, 1).double().numpy())
    lq = comp.levels(comp.encode(q)).double().numpy()
    assert np.allclose(comp.score(q, codes).double().numpy(), lq @ lv.T / np.linalg.norm(lv, axis=1),
                       rtol=1e-5)
    pop = comp.score_popcount(q, codes)
    assert torch.equal(pop, torch.from_numpy(lq @ lv.T).to(pop.dtype))
    built = build_index(tmp_path / "d", spec, [x])
    assert torch.equal(open_index(tmp_path / "d").search(q, 5)[1], built.search(q, 5)[1])


@pytest.mark.parametrize("spec,match", [("bebr:1,quant=grid,dims=32", "needs init=itq"),
                                        ("bebr:1,init=itq,dims=-1", "needs init=itq"),
                                        ("bebr:1,quant=grid,init=itq,dims=65", "exceeds")])
def test_bad_dims_raise_spec_errors(spec, match):
    with pytest.raises(SpecError, match=match):
        COMPRESSORS.build(spec).fit(_data(100, 64))


def test_with_query_scores_as_the_compressor_built_with_that_query():
    x, q = _data(), _data(7, seed=1)
    sdc = COMPRESSORS.build("bebr:2,quant=grid,init=itq").fit(x)
    adc = COMPRESSORS.build("bebr:2,quant=grid,init=itq,query=float").fit(x)
    codes = sdc.encode(x)
    assert torch.equal(codes, adc.encode(x)) and sdc.with_query("float").spec == adc.spec
    assert torch.equal(sdc.with_query("float").score(q, codes), adc.score(q, codes))
    assert torch.equal(adc.with_query("binary").score(q, codes), sdc.score(q, codes))
    assert sdc.query == "binary"  # the original is unchanged
    with pytest.raises(SpecError, match="accepted"):
        sdc.with_query("int")
