import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.models.bind import BindNetwork, GatedInjection, freeze
from mantissa.models.transformer import Transformer, TransformerConfig


def _setup(n_layer=3, d_model=16, d_in=8, seed=0):
    torch.manual_seed(seed)
    lm = Transformer(TransformerConfig(vocab_size=11, n_layer=n_layer, d_model=d_model, n_head=2, max_len=16))
    inj = GatedInjection(BindNetwork(d_in, d_model), n_layer=n_layer).attach(lm)
    idx = torch.randint(0, 11, (4, 9))
    feats = torch.randn(4, d_in) * 5
    return lm, inj, idx, feats


def test_gate_zero_leaves_lm_bit_identical():
    lm, inj, idx, feats = _setup()
    plain = lm(idx)
    assert torch.equal(inj(lm, idx, feats), plain)
    assert torch.equal(lm(idx), plain)  # outside the context the hooks do nothing


def test_nonzero_gate_changes_output_and_detach_restores():
    lm, inj, idx, feats = _setup()
    plain = lm(idx)
    with torch.no_grad():
        inj.gates[1] = 0.5
    cond = inj(lm, idx, feats)
    assert not torch.allclose(cond, plain)
    # different images -> different outputs
    assert not torch.allclose(inj(lm, idx, feats.flip(0)), cond)
    inj.detach()
    with pytest.raises(ConfigError, match="attach"):
        inj(lm, idx, feats)
    assert torch.equal(lm(idx), plain)


def test_injection_matches_manual_residual_addition():
    lm, inj, idx, feats = _setup(n_layer=2)
    with torch.no_grad():
        inj.gates.copy_(torch.tensor([0.3, -0.7]))
        got = inj(lm, idx, feats)
        v = inj.bind(feats)[:, None, :]
        x = lm.pe.embed(idx, lm.wte(idx))
        bias = lm.pe.attn_bias(idx.shape[1], idx.shape[1], idx.device)
        for g, block in zip((0.3, -0.7), lm.blocks):
            x = block.__class__.forward(block, x + g * v, lm.pe, bias, None)
        want = lm.head(lm.norm_f(x))
    torch.testing.assert_close(got, want)


def test_gradients_reach_only_bind_and_gates():
    lm, inj, idx, feats = _setup()
    freeze(lm)
    with torch.no_grad():
        inj.gates.fill_(0.1)
    inj(lm, idx, feats).logsumexp(-1).sum().backward()
    assert all(p.grad is None for p in lm.parameters())
    assert inj.gates.grad is not None and inj.gates.grad.abs().sum() > 0
    assert all(p.grad is not None for p in inj.bind.parameters())


def test_zero_gate_grad_flows_to_gates_first():
    lm, inj, idx, feats = _setup()
    freeze(lm)
    inj(lm, idx, feats).logsumexp(-1).sum().backward()
    assert inj.gates.grad.abs().sum() > 0  # gates move first; the bind net follows


@pytest.mark.parametrize("kwargs", [dict(d_in=0, d_model=4), dict(d_in=4, d_model=-1),
                                    dict(d_in=4, d_model=4, n_blocks=-1), dict(d_in=4.0, d_model=4)])
def test_bad_bind_args(kwargs):
    with pytest.raises(ConfigError):
        BindNetwork(**kwargs)


def test_bad_attach_and_inputs():
    lm, inj, idx, feats = _setup(n_layer=3)
    with pytest.raises(ConfigError, match="gates"):
        GatedInjection(BindNetwork(8, 16), n_layer=2).attach(lm)
    with pytest.raises(ConfigError, match="width"):
        GatedInjection(BindNetwork(8, 32), n_layer=3).attach(lm)
    with pytest.raises(ConfigError, match="n_layer"):
        GatedInjection(BindNetwork(8, 16), n_layer=0)
    with pytest.raises(ConfigError, match="shape"):
        inj(lm, idx, torch.randn(4, 7))
    with pytest.raises(ConfigError, match="rows"):
        inj(lm, idx, torch.randn(3, 8))


def test_visual_cache_matches_numpy_brute_force():
    import numpy as np

    from mantissa.models.bind import VisualCache

    g = torch.Generator().manual_seed(0)
    keys, q = torch.randn(50, 6, generator=g), torch.randn(7, 6, generator=g)
    got = VisualCache(keys, k=4, alpha=0.3, tau=5.0)(q).numpy()
    K, Q = keys.double().numpy(), q.double().numpy()
    sims = (Q / np.linalg.norm(Q, axis=1, keepdims=True)) @ (K / np.linalg.norm(K, axis=1, keepdims=True)).T
    want = np.empty_like(Q)
    for i in range(len(Q)):
        top = np.argsort(-sims[i])[:4]
        w = np.exp(5.0 * sims[i, top])
        w /= w.sum()
        want[i] = 0.3 * (w[:, None] * K[top]).sum(0) + 0.7 * Q[i]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_visual_cache_alpha_extremes_and_bad_args():
    from mantissa.models.bind import VisualCache

    keys = torch.randn(20, 4)
    q = torch.randn(3, 4)
    assert torch.equal(VisualCache(keys, k=3, alpha=0.0)(q), q)
    # alpha=1, k=1: the nearest key by cosine similarity, exactly
    near = VisualCache(keys, k=1, alpha=1.0)(keys[[5, 2]] * 3)
    assert torch.equal(near, keys[[5, 2]])
    for kw in (dict(k=0), dict(k=21), dict(alpha=1.5), dict(tau=0.0)):
        with pytest.raises(ConfigError):
            VisualCache(keys, **kw)
    with pytest.raises(ConfigError):
        VisualCache(torch.randn(0, 4))
    with pytest.raises(ConfigError, match="shape"):
        VisualCache(keys)(torch.randn(3, 5))
