import pytest
import torch
from tiny_models import tiny_bert

from mantissa.embed.cached import CachedTop
from mantissa.embed.encoder import Encoder, HashTokenizer
from mantissa.errors import ConfigError, ShapeError

TEXTS = ["a cat sat", "the dog ran far away today", "x", "a cat sat on the mat", "one two three four"]


@pytest.mark.parametrize("pooling", ["mean", "latent-attention:latents=8,heads=2"])
@pytest.mark.parametrize("start", [0, 1])
def test_cached_top_equals_the_full_forward_in_eval_mode(start, pooling):
    pytest.importorskip("transformers")
    torch.manual_seed(0)
    enc = Encoder.from_hf(tiny_bert(), HashTokenizer(50), pooling=pooling, max_length=12).eval()
    top = CachedTop(enc, start).eval()
    assert top.precompute(TEXTS[:3]) == 3 and top.precompute(TEXTS) == 2
    with torch.no_grad():
        torch.testing.assert_close(top(TEXTS), enc(TEXTS), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(top.encode(TEXTS), enc.encode(TEXTS), atol=1e-5, rtol=1e-4)


def test_cached_top_freezes_below_and_trains_above():
    pytest.importorskip("transformers")
    enc = Encoder.from_hf(tiny_bert(), HashTokenizer(50), max_length=12)
    top = CachedTop(enc, 1)
    layers = enc.backbone.encoder.layer
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for p in layers[1].parameters())
    top.precompute(TEXTS)
    top(TEXTS).pow(2).sum().backward()
    assert layers[1].output.dense.weight.grad is not None
    with pytest.raises(ShapeError, match="not precomputed"):
        top(["never seen"])
    with pytest.raises(ConfigError):
        CachedTop(enc, 2)


def test_cached_top_shares_its_states():
    pytest.importorskip("transformers")
    a = CachedTop(Encoder.from_hf(tiny_bert(), HashTokenizer(50), max_length=12), 1)
    a.precompute(TEXTS)
    b = CachedTop(Encoder.from_hf(tiny_bert(), HashTokenizer(50), max_length=12), 1, a.states)
    assert b.precompute(TEXTS) == 0 and b.states is a.states
