"""The ``int-only`` recipe: integer-only BERT encoder (mantissa.quant.int_only)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mantissa.arith.integer_guard import integer_only
from mantissa.errors import ConfigError, SpecError
from mantissa.quant.api import quantize
from mantissa.quant.int_only import IntBertEncoder
from mantissa.quant.recipes import parse_recipe

transformers = pytest.importorskip("transformers")


def tiny_bert(attn: str = "sdpa") -> nn.Module:
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=16,
                                  attn_implementation=attn)
    return transformers.BertModel(cfg).eval()


def batches(n: int = 4, t: int = 9, seed: int = 1) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [{"input_ids": torch.randint(0, 50, (3, t), generator=g),
             "attention_mask": torch.ones(3, t, dtype=torch.long)} for _ in range(n)]


@pytest.fixture(scope="module")
def pair():
    fp, m = tiny_bert(), tiny_bert()
    quantize(m, "int-only", calibration=batches())
    return fp, m


def test_encoder_swapped_and_forward_integer_only(pair):
    _, m = pair
    assert isinstance(m.encoder, IntBertEncoder)
    x = torch.randint(-3000, 3000, (2, 5, 32))
    with integer_only() as guard:
        y = m.encoder.forward_int(x)
    assert guard.ops > 50 and y.dtype == torch.int64 and y.shape == x.shape
    assert int(y.abs().max()) <= 2**15 - 1


@pytest.mark.parametrize("bits", [8, 10, 12])
def test_close_to_float_model(bits):
    """Wider activations must not overflow Shiftmax's / ShiftGELU's 2^31 reciprocal."""
    fp, m = tiny_bert(), tiny_bert()
    quantize(m, f"int-only:act_bits={bits},res_bits={max(16, bits + 8)}", calibration=batches())
    ids = batches(1, seed=7)[0]
    with torch.no_grad():
        ref, got = fp(**ids).last_hidden_state, m(**ids).last_hidden_state
    cos = nn.functional.cosine_similarity(ref.reshape(-1, 32), got.reshape(-1, 32), dim=-1)
    assert float(cos.mean()) > (0.97 if bits == 8 else 0.99) and float(cos.min()) > 0.9


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_padding_does_not_change_valid_tokens(attn):
    """Masked keys get exactly zero weight in Shiftmax: the integer outputs of the real
    tokens are bit-identical with and without padding (bool sdpa mask and additive eager mask)."""
    m = tiny_bert(attn)
    quantize(m, "int-only", calibration=batches())
    ids = torch.randint(1, 50, (1, 6))
    padded = {"input_ids": torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1),
              "attention_mask": torch.tensor([[1] * 6 + [0] * 3])}
    with torch.no_grad():
        short = m(input_ids=ids, attention_mask=torch.ones(1, 6, dtype=torch.long)).last_hidden_state
        long = m(**padded).last_hidden_state
    assert torch.equal(short, long[:, :6])


def test_qkv_share_one_input_scale(pair):
    _, m = pair
    for lay in m.encoder.layer:
        s = {float(getattr(lay.attention.self, n).act.scale) for n in ("query", "key", "value")}
        assert len(s) == 1


def test_rejects_models_that_are_not_bert_encoders():
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
    with pytest.raises(ConfigError, match="BERT-family"):
        quantize(model, "int-only", calibration=[torch.randn(4, 8)])


@pytest.mark.parametrize("spec", ["int-only:act_bits=2", "int-only:res_bits=8", "int-only:calib=bogus"])
def test_spec_validation(spec):
    with pytest.raises(SpecError, match="int-only"):
        parse_recipe(spec)


def test_needs_calibration():
    with pytest.raises(ConfigError, match="calibration"):
        quantize(tiny_bert(), "int-only")


@pytest.mark.parametrize("bits", [8, 12])
def test_shiftmax_rows_sum_to_one_in_the_pipeline(bits, monkeypatch):
    """The integer attention probabilities of every row add up to 1 (2^(bits-1) units, within
    the rounding of each entry): their 2^31 reciprocal never saturates, even at wide widths."""
    import mantissa.quant.int_only as io

    seen = []

    def spy(*args, **kwargs):
        p, scale = io_shiftmax(*args, **kwargs)
        seen.append((p, scale, kwargs.get("mask")))
        return p, scale

    io_shiftmax = io.shiftmax
    monkeypatch.setattr(io, "shiftmax", spy)
    m = tiny_bert()
    quantize(m, f"int-only:act_bits={bits},res_bits={bits + 8}", calibration=batches())
    with torch.no_grad():
        m(**batches(1, t=12, seed=3)[0])
    assert seen
    for p, scale, _ in seen:
        total = p.sum(-1).double() * scale
        assert float((total - 1).abs().max()) < 12 * 2.0 ** -(bits - 1) + 0.01
