import math

import pytest
import torch

from mantissa.errors import ConfigError, UnknownNameError
from mantissa.models.transformer import Transformer, TransformerConfig, config_from_dict
from mantissa.nn.positional import alibi_slopes, digit_positions
from mantissa.nn.slots import POSITIONAL

PES = ["ape", "sinusoidal", "t5", "alibi", "rope", "nope", "abacus", "fire"]
DIGITS = tuple(range(3, 13))


def _model(pe, n_layer=2, **kw):
    torch.manual_seed(0)
    cfg = TransformerConfig(vocab_size=20, n_layer=n_layer, n_head=4, d_model=32, max_len=64, pe=pe,
                            digit_tokens=DIGITS, **kw)
    return Transformer(cfg).eval()


def test_every_pe_is_registered():
    assert set(PES) <= set(POSITIONAL.list())


@pytest.mark.parametrize("pe", PES)
def test_forward_shape_and_causality(pe):
    m = _model(pe)
    x = torch.randint(0, 20, (2, 12))
    y = m(x)
    assert y.shape == (2, 12, 20) and torch.isfinite(y).all()
    x2 = x.clone()
    x2[:, 8:] = (x2[:, 8:] + 1) % 20  # change the future
    assert torch.allclose(m(x2)[:, :8], y[:, :8], atol=1e-5)


@pytest.mark.parametrize("pe", ["ape", "rope", "abacus"])
def test_generate_matches_argmax_loop(pe):
    m = _model(pe)
    prompts = [[1, 3, 4, 5], [1, 6, 7, 8], [1, 9, 3]]
    out = m.generate(prompts, max_new=5)
    for p, o in zip(prompts, out):
        seq = list(p)
        for _ in range(5):
            seq.append(int(m(torch.tensor([seq]))[0, -1].argmax()))
        assert o == seq[len(p):]


def test_generate_stops_at_stop_token():
    m = _model("nope")
    first = m.generate([[1, 2, 3]], max_new=1)[0][0]
    assert m.generate([[1, 2, 3]], max_new=4, stop=first) == [[]]


def test_position_sensitivity():
    """One NoPE layer is permutation-invariant over the prefix seen by the last token; APE etc. are not."""
    x = torch.tensor([[1, 5, 6, 7]])
    xp = torch.tensor([[1, 6, 5, 7]])
    for pe, same in (("nope", True), ("ape", False), ("rope", False), ("alibi", False)):
        m = _model(pe, n_layer=1)
        eq = torch.allclose(m(x)[0, -1], m(xp)[0, -1], atol=1e-6)
        assert eq == same, pe


def test_rope_scores_depend_on_distance_only():
    pe = POSITIONAL.build("rope", d_model=32, n_head=4)
    q = torch.randn(1, 1, 1, 8).expand(1, 1, 10, 8)
    k = torch.randn(1, 1, 1, 8).expand(1, 1, 10, 8)
    qr, kr = pe.rotate(q, k)
    s = (qr @ kr.transpose(-1, -2))[0, 0]
    assert torch.allclose(s[5, 3], s[7, 5], atol=1e-5) and torch.allclose(s[9, 9], s[0, 0], atol=1e-5)


def test_alibi_slopes_match_paper():
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    assert len(alibi_slopes(6)) == 6


def test_abacus_positions_restart_per_number():
    mask = torch.zeros(20, dtype=torch.bool)
    mask[list(DIGITS)] = True
    idx = torch.tensor([[1, 3, 4, 5, 14, 6, 7, 15, 8]])
    assert digit_positions(idx, mask).tolist() == [[0, 1, 2, 3, 0, 1, 2, 0, 1]]


def test_abacus_needs_digit_tokens():
    with pytest.raises(ConfigError, match="digit"):
        Transformer(TransformerConfig(vocab_size=20, d_model=32, pe="abacus"))


def test_ape_beyond_max_len_is_a_clear_error():
    m = _model("ape")
    with pytest.raises(ValueError, match="max_len"):
        m(torch.zeros(1, 65, dtype=torch.long))


def test_unknown_names_list_valid_ones():
    with pytest.raises(UnknownNameError, match="alibi"):
        TransformerConfig(pe="alibo")
    with pytest.raises(UnknownNameError, match="valid names"):
        TransformerConfig(attention="nosuch")
    with pytest.raises(ConfigError):
        TransformerConfig(d_model=30, n_head=4)


def test_spec_arguments_and_slots():
    m = _model("abacus:max_offset=3", ffn="swiglu", norm="rmsnorm")
    assert m.pe.max_offset == 3
    assert torch.isfinite(m(torch.randint(0, 20, (2, 6)))).all()


def test_softmax_kernel_with_bias_matches_sdpa():
    from mantissa.nn.slots import softmax_attention
    q, k, v = (torch.randn(2, 4, 6, 8) for _ in range(3))
    ref = softmax_attention(q, k, v)
    out = softmax_attention(q, k, v, bias=torch.zeros(4, 6, 6))
    assert torch.allclose(ref, out, atol=1e-5)


def test_config_roundtrip_and_tied_weights():
    import dataclasses
    m = _model("t5")
    cfg2 = config_from_dict(dataclasses.asdict(m.cfg))
    assert cfg2 == m.cfg
    assert m.head.weight is m.wte.weight
    assert m.num_params() == sum(p.numel() for p in m.parameters())
    assert math.isfinite(float(m(torch.zeros(1, 3, dtype=torch.long)).sum().detach()))
