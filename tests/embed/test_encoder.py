import pytest
import torch

from mantissa.data import minilm_available
from mantissa.embed.encoder import Encoder, HashTokenizer
from mantissa.errors import ShapeError


def test_tiny_encoder_exposes_every_layer_and_submodels():
    enc = Encoder.tiny(hidden=32, layers=3, heads=4)
    feats = enc.features(["a cat sat", "a dog", "the quick brown fox"])
    assert feats.n_layers == 3 and len(feats.hidden_states) == 4
    assert enc.pool(feats, 2, 8).shape == (3, 8)
    full = enc.pool(feats)
    torch.testing.assert_close(enc.pool(feats, 3, 16), full[:, :16])


def test_tokenization_is_cached_and_padded():
    enc = Encoder.tiny(hidden=16, layers=1, heads=2, max_length=6)
    batch = enc.tokenize(["one two three four five six seven", "one"])
    assert batch["input_ids"].shape == (2, 6)
    assert batch["attention_mask"].tolist()[1] == [1, 1, 0, 0, 0, 0]  # [CLS] one
    assert set(enc._token_cache) == {"one two three four five six seven", "one"}
    assert HashTokenizer(100)(["Cat"])["input_ids"] == HashTokenizer(100)(["cat"])["input_ids"]


def test_bad_submodel_and_empty_batch():
    enc = Encoder.tiny(hidden=16, layers=2, heads=2)
    feats = enc.features(["x"])
    with pytest.raises(ShapeError, match="layer 3 is beyond"):
        enc.pool(feats, 3, 8)
    with pytest.raises(ShapeError, match="dim 17 is beyond"):
        enc.pool(feats, 1, 17)
    with pytest.raises(ShapeError, match="empty batch"):
        enc.features([])


def test_bidirectional_drops_the_causal_mask():
    torch.manual_seed(0)
    dec = Encoder.tiny(hidden=16, layers=2, heads=2, causal=True, dropout=0.0).eval()
    a, b = "alpha beta gamma", "alpha beta delta"
    first = [dec.features([t]).hidden_states[-1][0, 1] for t in (a, b)]
    torch.testing.assert_close(first[0], first[1])  # causal: token 1 cannot see token 3
    dec.bidirectional = True
    first = [dec.features([t]).hidden_states[-1][0, 1] for t in (a, b)]
    assert (first[0] - first[1]).abs().max() > 1e-4


def test_bidirectional_on_a_hf_decoder():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=32)
    torch.manual_seed(0)
    model = transformers.LlamaModel(cfg).eval()
    enc = Encoder.from_hf(model, HashTokenizer(64), pooling="last")
    a, b = "alpha beta gamma", "alpha beta delta"
    causal = [enc.features([t]).hidden_states[-1][0, 1] for t in (a, b)]
    torch.testing.assert_close(causal[0], causal[1])
    enc.bidirectional = True
    full = [enc.features([t]).hidden_states[-1][0, 1] for t in (a, b)]
    assert (full[0] - full[1]).abs().max() > 1e-5


def test_freeze_below_counts_trainable_parameters():
    enc = Encoder.tiny(hidden=16, layers=3, heads=2)
    total = sum(p.numel() for p in enc.parameters())
    assert enc.freeze_below(3) < total
    assert not enc.backbone.layers[0].linear1.weight.requires_grad
    assert enc.backbone.layers[2].linear1.weight.requires_grad


@pytest.mark.real
@pytest.mark.skipif(not minilm_available(), reason="missing data: the packaged MiniLM ([real] extra)")
def test_minilm_encoder_matches_the_packaged_pipeline():
    from mantissa.data import load_minilm

    enc = Encoder.from_minilm(max_length=256)
    texts = ["a cat sat on the mat", "hi", "the quick brown fox jumps over the lazy dog"]
    torch.testing.assert_close(enc.encode(texts), load_minilm().encode(texts), atol=1e-5, rtol=0)
    layers = enc.encode(texts, layers=[1, 6])
    torch.testing.assert_close(layers[6], enc.encode(texts))
    assert enc.n_layers == 6 and enc.dim == 384


def test_two_tower_shapes_and_identity_text_head():
    from mantissa.embed.encoder import TwoTower

    model = TwoTower(64, 16, hidden=32)
    x, t = torch.randn(5, 64), torch.randn(5, 16)
    a, b = model(x, t)
    assert a.shape == b.shape == (5, 16)
    torch.testing.assert_close(b, t)
    with pytest.raises(ShapeError):
        model(x, t[:3])
