"""The L-Mul and Power-Softmax attention kernels in the ATTENTION slot."""

import torch

from mantissa.arith.poly import fit
from mantissa.nn import lmul_attention as _lmul  # noqa: F401  (registers "lmul")
from mantissa.nn import power_softmax as _power  # noqa: F401  (registers "power")
from mantissa.nn.power_softmax import power_attention_kernel
from mantissa.nn.slots import ATTENTION, softmax_attention


def _qkv(seed=0, t=6):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 3, t, 8, generator=g) for _ in range(3)]


def test_lmul_attention_close_to_softmax_and_exact_at_high_precision():
    q, k, v = _qkv()
    ref = softmax_attention(q, k, v, causal=True)
    kern = ATTENTION.get("lmul")
    out3 = kern(q, k, v, causal=True)
    out3_lit = kern(q, k, v, causal=True, carry="literal")
    assert out3.shape == ref.shape
    assert (out3 - ref).norm() / ref.norm() < 0.15  # ~5 % mean error per 3-bit L-Mul product
    assert not torch.equal(out3, out3_lit)
    # more mantissa bits -> closer (the L-Mul offset error shrinks until m = 5)
    err = [(kern(q, k, v, causal=False, mantissa_bits=m) - softmax_attention(q, k, v, causal=False)).norm()
           for m in (2, 5)]
    assert err[1] < err[0]


def test_lmul_attention_padding_and_grad():
    q, k, v = _qkv(1)
    q.requires_grad_(True)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    out = ATTENTION.get("lmul")(q, k, v, causal=False, key_padding_mask=mask)
    out.sum().backward()
    assert q.grad is not None and torch.isfinite(out).all()


def test_power_attention_weights_and_polynomial_kernel():
    q, k, v = _qkv(2)
    out = ATTENTION.get("power")(q, k, v, causal=True)
    s = q @ k.transpose(-2, -1) / 8**0.5
    w = (s**2).masked_fill(~torch.ones(6, 6, dtype=torch.bool).tril(), 0)
    assert torch.allclose(out, (w / (w.sum(-1, keepdim=True) + 1e-6)) @ v, atol=1e-5)
    full = ATTENTION.get("power")(q, k, v, causal=False)
    sums = (s**2).sum(-1)  # the range the reciprocal must cover (non-causal rows)
    recip = fit("reciprocal", float(sums.min()) * 0.8, float(sums.max()) * 1.25, 16, newton=3)
    poly = power_attention_kernel(reciprocal=recip)(q, k, v, causal=False)
    assert (poly - full).abs().max() < 1e-3


def test_kernels_plug_into_the_transformer_by_spec():
    from mantissa.models.transformer import Transformer, TransformerConfig

    torch.manual_seed(0)
    idx = torch.randint(0, 12, (2, 7))
    outs = {}
    for spec in ("softmax", "lmul:mantissa_bits=5", "power:p=4"):
        model = Transformer(TransformerConfig(vocab_size=12, n_layer=1, d_model=16, n_head=2,
                                              attention=spec))
        torch.manual_seed(1)
        model.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
        outs[spec] = model(idx)
        assert outs[spec].shape == (2, 7, 12) and torch.isfinite(outs[spec]).all()
    assert (outs["lmul:mantissa_bits=5"] - outs["softmax"]).abs().max() < 0.5
