"""The HCLT circuit: marginals equal brute-force sums over every latent and
observed assignment (float64), EM increases the likelihood, and the codec
round-trips exactly with a length close to the model's -log2 p."""

import itertools

import numpy as np
import pytest
import torch

from mantissa.compress.circuit import HCLT, HCLTConfig, chow_liu_tree, mutual_information, preorder
from mantissa.compress.pc_codec import compress, decompress
from mantissa.errors import ConfigError, CorruptFileError, ShapeError
from mantissa.runtime import threads

PARENT = [-1, 0, 0, 1, 3]


def _brute_joint(m: HCLT, x, mask):
    """Σ_z p(z) Π p(x_i|z_i) over observed i, by enumeration."""
    total = 0.0
    for z in itertools.product(range(m.k), repeat=m.d):
        p = float(m.prior[z[m.root]])
        for i, par in enumerate(m.parent):
            if par >= 0:
                p *= float(m.trans[i, z[par], z[i]])
            if mask[i]:
                p *= float(m.emit[i, z[i], int(x[i])])
        total += p
    return total


def test_marginals_match_brute_force():
    m = HCLT(PARENT, latent=3, seed=1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.integers(0, 2, (4, 5)), dtype=torch.float64)
    for mask_bits in ([1] * 5, [1, 0, 1, 0, 0], [0, 0, 0, 1, 1], [0] * 5):
        mask = torch.tensor(mask_bits, dtype=torch.bool)
        got = m.log_marginal(x, mask).exp()
        for r in range(4):
            assert float(got[r]) == pytest.approx(_brute_joint(m, x[r], mask_bits), rel=1e-12)


def test_joint_sums_to_one_and_conditionals_are_ratios():
    m = HCLT(PARENT, latent=2, seed=3)
    allx = torch.tensor(list(itertools.product((0, 1), repeat=5)), dtype=torch.float64)
    assert float(m.log_likelihood(allx).exp().sum()) == pytest.approx(1.0, abs=1e-12)
    cond = m.conditionals(allx)
    # chain rule: Π_t p(x_order[t] | prefix) = p(x)
    chosen = torch.where(allx[:, m.order] > 0.5, cond, 1 - cond)
    torch.testing.assert_close(chosen.log().sum(1), m.log_likelihood(allx))


def test_chow_liu_recovers_a_chain():
    rng = np.random.default_rng(0)
    n = 4000
    x0 = rng.integers(0, 2, n)
    cols = [x0]
    for _ in range(4):  # each column copies the previous one with 10% noise
        cols.append(np.where(rng.uniform(size=n) < 0.1, 1 - cols[-1], cols[-1]))
    x = torch.tensor(np.stack(cols, 1), dtype=torch.float64)
    assert chow_liu_tree(x, root=0) == [-1, 0, 1, 2, 3]
    mi = mutual_information(x)
    assert mi[0, 1] > mi[0, 2] > mi[0, 3] and np.allclose(mi, mi.T)


def test_em_increases_likelihood_and_codec_round_trips():
    with threads(1):
        _em_and_codec()


def _em_and_codec():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, (300, 1))
    x = torch.tensor(np.where(rng.uniform(size=(300, 8)) < 0.15, 1 - base, base), dtype=torch.float64)
    model = HCLT.fit(x[:200], HCLTConfig(latent=3, em_steps=15))
    hist = model.em(x[:200], 5)
    assert all(b >= a - 1e-9 for a, b in zip(hist, hist[1:]))
    data = compress(model, x[200:])
    assert torch.equal(decompress(model, data), x[200:])
    bits = -float(model.log_likelihood(x[200:]).sum()) / np.log(2)
    assert 8 * (len(data) - 4) <= bits * 1.01 + 16
    indep = HCLT.fit(x[:200], HCLTConfig(latent=1, em_steps=3))  # K = 1: independent bits
    assert indep.bits_per_dim(x[200:]) > 0.95  # the marginals are ~1/2
    assert model.bits_per_dim(x[200:]) < 0.85  # entropy is ~0.74 bits/dim


def test_bad_input():
    with pytest.raises(ShapeError, match="binary"):
        HCLT.fit(torch.tensor([[0.0, 2.0]]))
    with pytest.raises(ShapeError, match="shape"):
        HCLT(PARENT, 2).log_likelihood(torch.zeros(3, 4))
    with pytest.raises(ConfigError, match="latent"):
        HCLT(PARENT, 0)
    with pytest.raises(ShapeError, match="single tree"):
        preorder([-1, 2, 1])
    with pytest.raises(CorruptFileError, match="header"):
        decompress(HCLT(PARENT, 2), b"\x00")
