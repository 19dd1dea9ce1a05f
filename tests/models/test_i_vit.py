import pytest
import torch
import torch.nn.functional as F

from mantissa.arith.integer_guard import integer_only
from mantissa.errors import ConfigError, DTypeError, ShapeError
from mantissa.models.i_vit import IntViT, IntViTConfig
from mantissa.models.tiny_vit import TinyViT, TinyViTConfig, patchify
from mantissa.runtime import threads


def test_patchify_layout():
    img = torch.arange(16.0).reshape(1, 4, 4)
    p = patchify(img, 2)
    assert p.shape == (1, 4, 4)
    assert p[0, 1].tolist() == [2.0, 3.0, 6.0, 7.0]
    with pytest.raises(ShapeError, match="divisible"):
        patchify(torch.zeros(1, 5, 5), 2)
    with pytest.raises(ConfigError, match="divide"):
        TinyViTConfig(image_size=8, patch=3)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 17, (256, 8, 8), generator=g)
    y = (x[:, :4].sum((1, 2)) > x[:, 4:].sum((1, 2))).long()  # top half brighter?
    model = TinyViT(TinyViTConfig(n_classes=2))
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    with threads(1):
        for _ in range(160):
            loss = F.cross_entropy(model(x.float() / 16), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval(), x, y


def test_int_vit_is_integer_only_and_close_to_float(trained):
    model, x, _ = trained
    iv = IntViT(model, x.float() / 16, 1 / 16)
    with integer_only() as guard, torch.no_grad():
        logits = iv(x)
    assert logits.dtype == torch.int64 and logits.shape == (256, 2) and guard.ops > 100
    with torch.no_grad():
        ref = model(x.float() / 16)
    cos = F.cosine_similarity(logits.double() * iv.logit_scale, ref.double(), dim=-1)
    assert cos.mean() > 0.98
    margin_int = (logits[:, 1] - logits[:, 0]).double() * iv.logit_scale
    margin = (ref[:, 1] - ref[:, 0]).double()
    assert torch.corrcoef(torch.stack([margin_int, margin]))[0, 1] > 0.99
    assert (logits.argmax(-1) == ref.argmax(-1)).float().mean() > 0.95


def test_int_vit_narrow_residual_runs_and_rejects_floats(trained):
    model, x, _ = trained
    iv = IntViT(model, x.float() / 16, 1 / 16, IntViTConfig(res_bits=8))
    with integer_only():
        assert iv(x[:4]).shape == (4, 2)
    with pytest.raises(DTypeError, match="integer"):
        iv(x.float())


def test_lmul_attention_swaps_in(trained):
    model, x, _ = trained
    x = x[:32]
    with torch.no_grad():
        ref = model(x.float() / 16)
        model.set_attention("lmul:mantissa_bits=4")
        out = model(x.float() / 16)
        model.set_attention("softmax")
    assert not torch.equal(out, ref) and (out - ref).abs().max() < 0.5 * ref.abs().max()


def test_int8_matmul_fast_path_is_exact():
    from mantissa.models.i_vit import IntLinear

    torch.manual_seed(0)
    codes = torch.randint(-127, 128, (24, 40))
    lin = IntLinear.from_codes(codes, torch.rand(24) + 0.1, None, 0.05, 0.1, 16)
    q = torch.randint(-128, 128, (3, 5, 40))
    assert lin.weight8 is not None
    assert torch.equal(lin.matmul(q), q @ codes.t())
    wide = q * 300  # outside int8: the int64 path
    assert torch.equal(lin.matmul(wide), wide @ codes.t())
