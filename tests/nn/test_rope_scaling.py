import math

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, SpecError
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.nn.positional import RoPE
from mantissa.nn.rope_scaling import CLEX, RoPENTK, RoPEPI, ntk_base, rk4
from mantissa.nn.slots import POSITIONAL

D_MODEL, N_HEAD = 32, 2  # head_dim 16
HEAD_DIM = D_MODEL // N_HEAD
VARIANTS = ["rope", "rope-pi:factor=4", "rope-ntk:factor=4", "clex:max_factor=8,t=3"]


def _build(spec, **kw):
    return POSITIONAL.build(spec, d_model=D_MODEL, n_head=N_HEAD, max_len=16, **kw).eval()


def _theta64(base=10000.0):
    return base ** (-np.arange(0, HEAD_DIM, 2, dtype=np.float64) / HEAD_DIM)


def test_specs_build_through_the_registry():
    assert isinstance(_build("rope-pi:factor=4"), RoPEPI)
    assert isinstance(_build("rope-ntk:factor=4"), RoPENTK)
    clex = _build("clex:max_factor=8")
    assert isinstance(clex, CLEX) and clex.max_factor == 8 and clex.train_len == 16
    assert _build("rope-pi:4").factor == 4.0  # positional factor


def test_pi_at_factor_one_is_plain_rope_exactly():
    q, k = torch.randn(2, N_HEAD, 9, HEAD_DIM), torch.randn(2, N_HEAD, 9, HEAD_DIM)
    for a, b in zip(_build("rope").rotate(q, k), _build("rope-pi:factor=1").rotate(q, k)):
        assert torch.equal(a, b)


def test_pi_interpolates_positions():
    ang = _build("rope-pi:factor=4").angles(32, torch.device("cpu")).double().numpy()
    expected = np.arange(32)[:, None] / 4 * _theta64()[None, :]
    np.testing.assert_allclose(ang, expected, rtol=1e-6, atol=1e-6)


def test_ntk_frequencies_closed_form():
    s = 4.0
    ntk = _build(f"rope-ntk:factor={s}")
    expected = (10000.0 * s ** (HEAD_DIM / (HEAD_DIM - 2))) ** (-np.arange(0, HEAD_DIM, 2) / HEAD_DIM)
    np.testing.assert_allclose(ntk.inv_freq.double().numpy(), expected, rtol=1e-6)
    theta = _theta64()
    assert ntk.inv_freq[0].item() == pytest.approx(theta[0])  # highest frequency unchanged
    assert ntk.inv_freq[-1].item() == pytest.approx(theta[-1] / s, rel=1e-6)  # lowest interpolated by s
    assert ntk_base(10000.0, 1.0, HEAD_DIM) == 10000.0


def test_clex_at_t_one_is_plain_rope():
    clex, rope = _build("clex:max_factor=8"), _build("rope")
    assert torch.equal(clex.frequencies(1.0), rope.inv_freq)
    q, k = torch.randn(1, N_HEAD, 10, HEAD_DIM), torch.randn(1, N_HEAD, 10, HEAD_DIM)
    for a, b in zip(clex.rotate(q, k), rope.rotate(q, k)):  # length <= train_len -> t = 1
        assert torch.equal(a, b)


@pytest.mark.parametrize("t", [1.5, 2.0, 4.0, 7.25])
def test_clex_at_initialisation_is_ntk_with_factor_2t_minus_1(t):
    """W_down = 0 at init: the ODE integrates d/dt log θ_ntk(2t-1) (closed form in float64)."""
    clex = _build("clex:max_factor=8")
    alpha = 2 * t - 1
    expected = (10000.0 * alpha ** (HEAD_DIM / (HEAD_DIM - 2))) ** (-np.arange(0, HEAD_DIM, 2) / HEAD_DIM)
    got = clex.frequencies(t).detach().double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_clex_rk4_converges():
    torch.manual_seed(0)
    clex = _build("clex:max_factor=8")
    with torch.no_grad():
        clex.field.down.normal_(0, 0.5)
        z0 = torch.log(clex.inv_freq).double()
        field = clex.field.double()
        coarse, fine = rk4(field, z0, 1.0, 4.0, 0.1), rk4(field, z0, 1.0, 4.0, 0.001)
    assert not torch.allclose(coarse, torch.log(clex.inv_freq).double(), atol=1e-2)  # the field moved z
    assert torch.allclose(coarse, fine, atol=1e-5)


@pytest.mark.parametrize("spec", VARIANTS)
def test_rotation_preserves_norms(spec):
    pe = _build(spec)
    q, k = torch.randn(2, N_HEAD, 40, HEAD_DIM), torch.randn(2, N_HEAD, 40, HEAD_DIM)
    rq, rk = pe.rotate(q, k)
    assert torch.allclose(rq.norm(dim=-1), q.norm(dim=-1), atol=1e-5)
    assert torch.allclose(rk.norm(dim=-1), k.norm(dim=-1), atol=1e-5)


@pytest.mark.parametrize("spec", VARIANTS)
def test_scores_depend_only_on_relative_position(spec):
    pe = _build(spec)
    t = 40
    q = torch.randn(HEAD_DIM).expand(1, 1, t, HEAD_DIM).contiguous()
    k = torch.randn(HEAD_DIM).expand(1, 1, t, HEAD_DIM).contiguous()
    rq, rk = pe.rotate(q.double(), k.double())
    s = (rq @ rk.transpose(-1, -2))[0, 0]
    for off in range(-t + 1, t):  # every diagonal of the score matrix is constant (Toeplitz)
        diag = torch.diagonal(s, off)
        assert torch.allclose(diag, diag[0].expand_as(diag), atol=1e-4), off
    assert not torch.allclose(s[5, 0], s[5, 4])  # and it does depend on the distance


def test_clex_inference_factor():
    clex = _build("clex:max_factor=4")
    assert [clex.inference_factor(n) for n in (8, 16, 17, 32, 48, 64, 1000)] == [1, 1, 2, 2, 3, 4, 4]
    assert _build("clex:max_factor=4,t=2.5").inference_factor(10) == 2.5


def test_clex_training_positions():
    torch.manual_seed(0)
    clex = _build("clex:max_factor=8")
    for t in (2, 5, 8):
        pos = clex.sampled_positions(16, t, torch.device("cpu"))
        assert len(pos) == 16 and pos[0] == 0 and pos[-1] == 16 * t - 1
        assert (pos.diff() > 0).all() and pos.max() < 16 * t
    assert torch.equal(clex.sampled_positions(16, 1, torch.device("cpu")), torch.arange(16.0))


def test_clex_training_shares_positions_across_layers_and_learns():
    torch.manual_seed(0)
    cfg = TransformerConfig(vocab_size=20, n_layer=2, n_head=N_HEAD, d_model=D_MODEL, max_len=16,
                            pe="clex:max_factor=4")
    model = Transformer(cfg).train()
    idx = torch.randint(0, 20, (2, 16))
    model.pe.embed(idx, torch.zeros(1))
    first = model.pe.angles(16, idx.device)
    assert model.pe.angles(16, idx.device) is first  # every layer of one pass sees the same draw
    for _ in range(6):  # P(t = 1 in all six draws) = 4^-6
        model(idx).logsumexp(-1).mean().backward()
    assert model.pe.field.down.grad is not None and model.pe.field.down.grad.abs().sum() > 0


def test_clex_transformer_is_causal_at_long_lengths():
    torch.manual_seed(0)
    cfg = TransformerConfig(vocab_size=20, n_layer=2, n_head=N_HEAD, d_model=D_MODEL, max_len=8,
                            pe="clex:max_factor=4")
    model = Transformer(cfg).eval()
    x = torch.randint(0, 20, (2, 32))  # 4x the training length
    y = model(x)
    x2 = x.clone()
    x2[:, 20:] = (x2[:, 20:] + 1) % 20
    assert torch.isfinite(y).all() and torch.allclose(model(x2)[:, :20], y[:, :20], atol=1e-5)


@pytest.mark.parametrize("spec, error, words", [
    ("rope-pi:factor=0.5", ConfigError, "factor must be a number >= 1"),
    ("rope-ntk:factor=-2", ConfigError, "factor must be a number >= 1"),
    ("rope-pi:factr=4", SpecError, "unknown argument(s) factr; accepted: factor, base"),
    ("clex:max_factor=2.5", ConfigError, "max_factor must be an integer >= 1"),
    ("clex:max_factor=0", ConfigError, "max_factor must be an integer >= 1"),
    ("clex:act=relu", ConfigError, "act must be one of tanh, silu"),
    ("clex:time_dt=0", ConfigError, "time_dt must be in (0, 1]"),
    ("clex:t=0.5", ConfigError, "factor must be a number >= 1"),
    ("clex:max_factr=4", SpecError, "unknown argument(s) max_factr"),
])
def test_bad_specs_give_clear_errors(spec, error, words):
    with pytest.raises(error) as exc:
        _build(spec)
    assert words in str(exc.value)


def test_ntk_needs_a_wide_enough_head():
    with pytest.raises(ConfigError, match="head dimension > 2"):
        POSITIONAL.build("rope-ntk:factor=2", d_model=4, n_head=2)


def test_subclasses_share_the_rope_rotation():
    for cls in (RoPEPI, RoPENTK, CLEX):
        assert issubclass(cls, RoPE) and cls.rotate is RoPE.rotate
    assert math.isclose(_build("rope-pi:factor=2").factor, 2.0)


def test_rope_weights_load_into_clex_and_only_the_ode_is_new():
    from mantissa.nn.rope_scaling import rope_to_clex

    def lm(pe, n_layer=1):
        return Transformer(TransformerConfig(vocab_size=11, n_layer=n_layer, n_head=2, d_model=16, max_len=8,
                                             pe=pe))

    torch.manual_seed(0)
    rope, clex = lm("rope"), lm("clex:max_factor=4")
    assert rope_to_clex(clex, rope) is clex
    got = clex.state_dict()
    assert all(torch.equal(got[k], v) for k, v in rope.state_dict().items())
    with pytest.raises(RuntimeError, match="RoPE -> CLEX"):
        rope_to_clex(lm("clex:max_factor=4"), lm("rope", n_layer=2))
