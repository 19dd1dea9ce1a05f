"""Neural snowflakes: f is metric-preserving (f(0)=0, non-decreasing, concave) for any
parameters, so f(||x - y||) satisfies the metric axioms; checked in float64."""

import itertools

import pytest
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.nn.snowflake import MetricEmbedding, NeuralSnowflake, pairwise_euclidean, snowflake_activation


def _random_snowflake(seed: int) -> NeuralSnowflake:
    torch.manual_seed(seed)
    f = NeuralSnowflake((5, 3)).double()
    with torch.no_grad():
        for p in f.parameters():
            p.copy_(torch.randn_like(p) * 2)
    return f


@pytest.mark.parametrize("seed", range(4))
def test_metric_preserving_function(seed):
    f = _random_snowflake(seed)
    t = torch.linspace(0, 20, 2001, dtype=torch.float64)
    with torch.no_grad():
        y = f(t)
    assert y[0] == 0
    assert (y[1:] > 0).all()
    assert (torch.diff(y) >= -1e-12).all()  # non-decreasing
    assert (torch.diff(y, n=2) <= 1e-9).all()  # concave on a uniform grid


@pytest.mark.parametrize("seed", range(3))
def test_snowflake_distance_is_a_metric(seed):
    f = _random_snowflake(seed)
    z = torch.randn(12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 3
    with torch.no_grad():
        d = f(pairwise_euclidean(z))
    assert torch.equal(d, d.T) and (d.diagonal() == 0).all()
    for i, j, k in itertools.permutations(range(12), 3):
        assert d[i, k] <= d[i, j] + d[j, k] + 1e-12


def test_activation_closed_form():
    s = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    a, p = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64)
    got = snowflake_activation(s, a, p)
    eps = 1e-6
    want = 0.3 * (1 - torch.exp(-s)) + 0.7 * ((s + eps) ** 0.5 - eps ** 0.5)
    torch.testing.assert_close(got, want)
    assert got[0] == 0


def test_pair_distances_match_matrix():
    torch.manual_seed(0)
    for metric in ("euclidean", "snowflake"):
        m = MetricEmbedding(7, 3, hidden=16, metric=metric).double()
        x = torch.randn(7, 7, dtype=torch.float64)
        i, j = torch.triu_indices(7, 7, 1)
        torch.testing.assert_close(m.pair_distances(x, i, j), m.distances(x)[i, j])
        if metric == "euclidean":
            z = m.encoder(x)
            torch.testing.assert_close(m.distances(x), torch.cdist(z, z), atol=1e-5, rtol=1e-6)


def test_gradients_are_finite_on_the_diagonal():
    m = MetricEmbedding(4, 2, hidden=8)
    m.distances(torch.eye(4)).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_bad_input():
    with pytest.raises(ConfigError, match="unknown latent metric"):
        MetricEmbedding(3, 2, metric="hyperbolic")
    with pytest.raises(ConfigError, match="widths"):
        NeuralSnowflake(())
    with pytest.raises(ShapeError, match="negative"):
        NeuralSnowflake()(torch.tensor([-1.0]))
