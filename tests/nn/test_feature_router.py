import torch
from torch import nn

from mantissa.models.tiny_vit import TinyViT, TinyViTConfig
from mantissa.nn.feature_router import FeatureRouter, QuestionHead, layer_features


def test_layer_features_match_the_vit_forward():
    torch.manual_seed(0)
    vit = TinyViT(TinyViTConfig(image_size=8, patch=2, d_model=16, n_head=2, n_layer=3)).eval()
    x = torch.rand(4, 8, 8)
    f = layer_features(vit, x)
    assert f.shape == (4, 3, 16, 16)
    assert torch.allclose(vit.head(vit.norm(f[:, -1]).mean(1)), vit(x), atol=1e-6)


def test_router_is_a_convex_mixture_of_normalised_levels():
    torch.manual_seed(1)
    r = FeatureRouter(3, 8)
    f = torch.randn(5, 3, 4, 8)
    out, w = r(f)
    assert torch.allclose(w.sum(-1), torch.ones(5))
    normed = torch.stack([n(f[:, i]) for i, n in enumerate(r.norms)], 1)
    assert torch.allclose(out, torch.einsum("bl,bltd->btd", w, normed), atol=1e-6)
    with torch.no_grad():  # force all weight on level 1
        r.mlp[-1].weight.zero_()
        r.mlp[-1].bias.copy_(torch.tensor([-1e4, 1e4, -1e4]))
    out, w = r(f)
    assert torch.allclose(out, r.norms[1](f[:, 1]), atol=1e-6)


def test_one_level_router_is_layernorm():
    r = FeatureRouter(1, 8, d_query=3)
    f = torch.randn(2, 1, 5, 8)
    out, w = r(f, torch.randn(2, 3))
    assert torch.allclose(w, torch.ones(2, 1))
    assert torch.allclose(out, nn.functional.layer_norm(f[:, 0], (8,)))


def test_question_head_shapes_and_last_level():
    torch.manual_seed(2)
    f = torch.randn(3, 2, 16, 8)
    q = torch.tensor([0, 1, 2])
    for levels in ("router", "last"):
        head = QuestionHead(2, 8, 3, 6, 16, levels=levels, n_head=2)
        assert head(f, q).shape == (3, 6)
    head = QuestionHead(2, 8, 3, 6, 16, levels="last", n_head=2)
    g = f.clone()
    g[:, 0] = 100.0  # earlier levels are ignored
    assert torch.allclose(head(f, q), head(g, q))
