import itertools

import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.probe.collapse import class_means, collapse_metrics, simplex_etf


def _collapsed(n_classes=5, dim=8, per=20, noise=0.0, seed=0):
    etf = simplex_etf(n_classes, dim, scale=3.0, seed=seed).float()
    y = torch.arange(n_classes).repeat_interleave(per)
    g = torch.Generator().manual_seed(seed)
    h = etf[y] + noise * torch.randn(len(y), dim, generator=g)
    return h, y, etf


def test_perfect_collapse_is_zero():
    h, y, etf = _collapsed()
    m = collapse_metrics(h, y, weight=etf)
    assert m["nc1"] < 1e-8 and m["cdnv"] < 1e-8
    assert m["nc2_equinorm"] < 1e-6 and m["nc2_equiangle"] < 1e-6 and m["nc2_max_angle"] < 1e-6
    assert m["nc3_duality"] < 1e-6 and m["nc3_cos"] == pytest.approx(1.0)
    assert m["nc4_agreement"] == 1.0 and m["classifier_acc"] == 1.0


def test_noise_raises_nc1_monotonically():
    values = [collapse_metrics(*_collapsed(noise=s)[:2])["cdnv"] for s in (0.1, 0.5, 1.0)]
    assert values[0] < values[1] < values[2]


def test_cdnv_against_brute_force_float64():
    g = torch.Generator().manual_seed(3)
    h = torch.randn(60, 4, generator=g)
    y = torch.arange(3).repeat(20)
    mu = [h[y == c].double().mean(0) for c in range(3)]
    var = [((h[y == c].double() - mu[c]) ** 2).sum(1).mean() for c in range(3)]
    ref = sum((var[a] + var[b]) / (2 * (mu[a] - mu[b]).pow(2).sum())
              for a, b in itertools.combinations(range(3), 2)) / 3
    assert collapse_metrics(h, y)["cdnv"] == pytest.approx(float(ref), rel=1e-9)
    # NC1 by its definition tr(Sw Sb^+)/C
    mg = torch.stack(mu).mean(0)
    sw = sum(((h[y == c].double() - mu[c]).T @ (h[y == c].double() - mu[c])) for c in range(3)) / 60
    sb = sum(torch.outer(mu[c] - mg, mu[c] - mg) for c in range(3)) / 3
    assert collapse_metrics(h, y)["nc1"] == pytest.approx(float(torch.trace(sw @ torch.linalg.pinv(sb)) / 3))


def test_bad_input():
    h = torch.randn(10, 3)
    with pytest.raises(ShapeError, match="class 4 has 0 samples"):
        class_means(h, torch.zeros(10, dtype=torch.long), classes=[0, 4])
    with pytest.raises(ShapeError, match="at least 2 classes"):
        collapse_metrics(h, torch.zeros(10, dtype=torch.long))
    with pytest.raises(ShapeError):
        collapse_metrics(h, torch.zeros(9, dtype=torch.long))
    with pytest.raises(ShapeError, match="classifier weight"):
        collapse_metrics(h, torch.arange(2).repeat(5), weight=torch.randn(2, 4))
