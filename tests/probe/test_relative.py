import pytest
import torch

from mantissa.errors import ShapeError
from mantissa.probe.relative import RelativeClassifier, latent_similarity, pick_anchors, relative_projection


def test_relative_projection_matches_float64_cosine():
    g = torch.Generator().manual_seed(0)
    x, a = torch.randn(5, 7, generator=g), torch.randn(3, 7, generator=g)
    xd, ad = x.double(), a.double()
    ref = (xd @ ad.T) / (xd.norm(dim=1, keepdim=True) * ad.norm(dim=1)[None])
    assert torch.allclose(relative_projection(x, a).double(), ref, atol=1e-6)


def test_invariant_to_isometry_and_scale():
    g = torch.Generator().manual_seed(1)
    x, a = torch.randn(20, 8, generator=g), torch.randn(6, 8, generator=g)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    r1 = relative_projection(x, a)
    r2 = relative_projection(3.0 * x @ q, 3.0 * a @ q)
    assert torch.allclose(r1, r2, atol=1e-5)
    assert latent_similarity(r1, r2) == pytest.approx(1.0, abs=1e-5)
    assert latent_similarity(x, x @ q) < 0.9  # absolute coordinates are not invariant


def test_stitching_identical_rotated_encoders_is_exact():
    torch.manual_seed(0)
    enc = torch.nn.Linear(4, 6)
    model_a = RelativeClassifier(enc, 6, 5, 3)
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    enc_b = torch.nn.Linear(4, 6)
    with torch.no_grad():
        enc_b.weight.copy_(q.T @ enc.weight)
        enc_b.bias.copy_(q.T @ enc.bias)
    model_b = RelativeClassifier(enc_b, 6, 5, 3)
    x, anchors = torch.randn(10, 4), torch.randn(5, 4)
    assert torch.allclose(model_b.stitch(model_a, x, anchors), model_a(x, anchors), atol=1e-5)


def test_bad_shapes():
    with pytest.raises(ShapeError):
        relative_projection(torch.zeros(3, 4), torch.zeros(2, 5))
    with pytest.raises(ShapeError):
        relative_projection(torch.zeros(3, 4), torch.zeros(0, 4))
    with pytest.raises(ShapeError):
        pick_anchors(5, 6)
