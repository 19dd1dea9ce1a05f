import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mantissa.errors import ConfigError, ShapeError
from mantissa.models import TinyViT, TinyViTConfig, Transformer, TransformerConfig
from mantissa.models.transformer import attention_kernel
from mantissa.nn import ATTENTION
from mantissa.nn.ecoformer import (
    EcoFormerAttention,
    KernelizedHash,
    attention_macs,
    binary_linear_attention,
    binary_sign,
    similarity_target,
)


def quadratic(hq, hk, v, offset, causal=False, key_padding_mask=None):
    """The attention matrix formed explicitly, entry by entry, in float64."""
    B, H, Tq, _ = hq.shape
    Tk = hk.shape[-2]
    out = torch.zeros(B, H, Tq, v.shape[-1], dtype=torch.float64)
    for b in range(B):
        for h in range(H):
            for i in range(Tq):
                w = torch.tensor([float(hq[b, h, i] @ hk[b, h, j]) + offset
                                  if (not causal or j <= i + Tk - Tq)
                                  and (key_padding_mask is None or key_padding_mask[b, j]) else 0.0
                                  for j in range(Tk)], dtype=torch.float64)
                if w.sum() > 0:
                    out[b, h, i] = (w[:, None] * v[b, h].double()).sum(0) / w.sum()
    return out


def codes(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, shape, generator=g).double() * 2 - 1


def test_registered_and_built_per_layer():
    assert ATTENTION.get("ecoformer") is EcoFormerAttention
    a, b = attention_kernel("ecoformer:bits=8"), attention_kernel("ecoformer:bits=8")
    assert isinstance(a, EcoFormerAttention) and a is not b and a.bits == 8
    vit = TinyViT(TinyViTConfig(attention="ecoformer:bits=8,anchors=6,iters=5"))
    assert vit.blocks[0].kernel is not vit.blocks[1].kernel
    assert vit(torch.rand(3, 8, 8)).shape == (3, 10)
    assert any(name.endswith("kernel.hash.A") for name, _ in vit.named_buffers())


@pytest.mark.parametrize("bits", [1, 8, 16])
def test_codes_are_exactly_pm1_with_requested_bits(bits):
    g = torch.Generator().manual_seed(bits)
    q, k = (torch.randn(2, 3, 11, 8, generator=g) for _ in range(2))
    h = KernelizedHash(bits, anchors=5, iters=3)
    h.fit(q, k, topk=2)
    for x in (q, k, torch.randn(4, 3, 7, 8, generator=g)):
        c = h(x)
        assert c.shape == (*x.shape[:3], bits)
        assert set(c.unique().tolist()) <= {-1.0, 1.0}
    assert h.A.shape == (3, bits, 5) and h.anchors.shape == (3, 5, 8)


def test_sign_is_pm1_at_zero_and_straight_through_clipped():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    y = binary_sign(x)
    assert y.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize("tq, tk", [(9, 9), (1, 9), (6, 6), (4, 9), (9, 6)])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("chunk, segment", [(64, 1024), (4, 1024), (1, 1), (2, 4), (3, 5)])
def test_linear_form_equals_quadratic_form(tq, tk, causal, chunk, segment):
    bits = 6
    hq, hk = codes(2, 2, tq, bits, seed=1), codes(2, 2, tk, bits, seed=2)
    v = torch.randn(2, 2, tk, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out = binary_linear_attention(hq, hk, v, offset=bits + 1, causal=causal, chunk=chunk,
                                  segment=segment)
    assert torch.allclose(out, quadratic(hq, hk, v, bits + 1, causal), atol=1e-12, rtol=0)


@pytest.mark.parametrize("causal", [False, True])
def test_key_padding_mask_matches_quadratic_form(causal):
    bits = 4
    hq, hk = codes(2, 1, 7, bits, seed=4), codes(2, 1, 7, bits, seed=5)
    v = torch.randn(2, 1, 7, 3, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    out = binary_linear_attention(hq, hk, v, offset=bits + 1, causal=causal, key_padding_mask=mask, chunk=2,
                                  segment=4)
    assert torch.allclose(out, quadratic(hq, hk, v, bits + 1, causal, mask), atol=1e-12, rtol=0)
    if causal:  # query 0 of the second row sees only a padded key: output 0
        assert torch.equal(out[1, 0, 0], torch.zeros(3, dtype=torch.float64))


def test_kernel_is_causal_end_to_end():
    torch.manual_seed(0)
    att = EcoFormerAttention(bits=8, anchors=6, iters=5)
    q, k, v = (torch.randn(1, 2, 10, 8, dtype=torch.float64) for _ in range(3))
    att.fit(q, k, causal=True)
    out = att(q, k, v, causal=True)
    k2, v2 = k.clone(), v.clone()
    k2[..., 6:, :] += 5
    v2[..., 6:, :] -= 5
    assert torch.equal(att(q, k2, v2, causal=True)[..., :6, :], out[..., :6, :])
    hq, hk = att.hash(q), att.hash(k)
    assert torch.allclose(out, quadratic(hq, hk, v, 9, True), atol=1e-12)


class _Shapes(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.shapes.append(tuple(t.shape))
        return out


@pytest.mark.parametrize("causal", [False, True])
def test_never_materialises_a_t_by_t_matrix(causal):
    t = 2048
    att = EcoFormerAttention(bits=8, anchors=8, iters=2)
    small = torch.randn(1, 2, 32, 16)
    att.fit(small, small)
    q, k, v = (torch.randn(1, 2, t, 16) for _ in range(3))
    with _Shapes() as rec:
        out = att(q, k, v, causal=causal)
    assert out.shape == (1, 2, t, 16)
    assert rec.shapes, "dispatch mode recorded nothing"
    largest = max(int(torch.tensor(s).prod()) if s else 1 for s in rec.shapes)
    assert all(sum(d >= t for d in s) <= 1 for s in rec.shapes), "an intermediate has two T-sized dims"
    assert largest <= 2 * 2 * t * 32  # linear in T: at most the (B, H, T/chunk, chunk, chunk) blocks
    # the softmax kernel does form T×T scores (the check above can fail)
    with _Shapes() as rec2:
        ATTENTION.get("power")(q, k, v, causal=causal)
    assert any(sum(d >= t for d in s) >= 2 for s in rec2.shapes)


def test_similarity_target_marks_topk_per_row():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 1, 5, 4, generator=g), torch.randn(1, 1, 8, 4, generator=g)
    s = similarity_target(q, k, 2)
    scores = (q @ k.transpose(-1, -2))[0, 0]
    for i in range(5):
        order = scores[i].argsort()
        assert set(torch.nonzero(s[0, 0, i] == 1).flatten().tolist()) == set(order[-2:].tolist())
        assert set(torch.nonzero(s[0, 0, i] == -1).flatten().tolist()) == set(order[:2].tolist())
    sc = similarity_target(q[..., :8, :], k, 2, causal=True)
    assert torch.equal(sc[0, 0].abs() > 0, (sc[0, 0].abs() > 0) & torch.ones(5, 8).tril(3).bool())


def test_learned_hash_preserves_attention_similarity_better_than_random():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    # clustered queries/keys: a structure a 8-bit hash can capture
    centres = torch.randn(4, 16, generator=g) * 3
    x = centres[torch.randint(0, 4, (6, 2, 24), generator=g)] + 0.3 * torch.randn(6, 2, 24, 16, generator=g)
    h = KernelizedHash(8, anchors=12, iters=25, lr=1.0)
    fit = h.fit(x, x, topk=4)
    assert fit.loss_learned < fit.loss_initial
    assert h.objective(x, x, similarity_target(x, x, 4)) == pytest.approx(fit.loss_learned)


def test_gradients_reach_queries_keys_and_values():
    att = EcoFormerAttention(bits=8, anchors=6, iters=2)
    q, k, v = (torch.randn(2, 2, 6, 8, requires_grad=True) for _ in range(3))
    att(q, k, v, causal=False).square().sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (q, k, v))


def test_refit_every_n_training_calls():
    att = EcoFormerAttention(bits=4, anchors=4, iters=1, refit=2).train()
    q = torch.randn(1, 1, 6, 4)
    seen = []
    for _ in range(5):
        att(q, q, q, causal=False)
        seen.append(att.hash.anchors.clone())
    same = [torch.equal(a, b) for a, b in zip(seen, seen[1:], strict=False)]
    assert same == [True, False, True, False]
    att.eval()
    att(torch.randn(1, 1, 6, 4), q, q)
    assert torch.equal(att.hash.anchors, seen[-1])


def test_in_transformer_decoder():
    cfg = TransformerConfig(vocab_size=12, n_layer=1, d_model=16, n_head=2, pe="rope",
                            attention="ecoformer:bits=8,anchors=4,iters=2")
    model = Transformer(cfg)
    assert model(torch.zeros(2, 5, dtype=torch.long)).shape == (2, 5, 12)


def test_macs_are_linear_vs_quadratic():
    a, b = attention_macs(1000, 16, bits=16, anchors=20), attention_macs(2000, 16, bits=16, anchors=20)
    assert b["softmax_mults"] == 4 * a["softmax_mults"] and b["ecoformer_mults"] == 2 * a["ecoformer_mults"]


@pytest.mark.parametrize("spec, match", [("ecoformer:bits=0", "bits"), ("ecoformer:bits=2.5", "bits"),
                                         ("ecoformer:anchors=0", "anchors"), ("ecoformer:lr=-1", "lr"),
                                         ("ecoformer:refit=-2", "refit"), ("ecoformer:bitz=4", "accepted"),
                                         ("ecoformer:4", "key=value")])
def test_bad_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        attention_kernel(spec)


def test_bad_inputs():
    att = EcoFormerAttention(bits=4, anchors=3, iters=1)
    q = torch.randn(1, 2, 5, 4)
    with pytest.raises(ConfigError, match="score bias"):
        att(q, q, q, bias=torch.zeros(1, 2, 5, 5))
    with pytest.raises(ShapeError):
        att(q, torch.randn(1, 2, 5, 3), q)
    att(q, q, q)
    with pytest.raises(ShapeError, match="fitted for 2 heads"):
        att(torch.randn(1, 3, 5, 4), torch.randn(1, 3, 5, 4), torch.randn(1, 3, 5, 4))
    with pytest.raises(ConfigError, match="before fit"):
        KernelizedHash(4)(q)


def test_multiply_counts_break_even():
    from mantissa.nn.ecoformer import mults_break_even_length, mults_summary

    m = mults_summary(1024, bits=16, anchors=20)
    # 2·T²·D = 2·T·m·(D+b) + T·D  ->  T = m(D+b)/D + 1/2 = 40.5 at D=16
    assert m["mults_break_even_length"] == 41 == mults_break_even_length(16, bits=16, anchors=20)
    assert m["mults_ratio_eco_over_softmax_at_16_tokens"] > 1 > m["mults_ratio_eco_over_softmax_at_max_len"]


def test_cost_rows_and_mean_hash_objectives():
    from types import SimpleNamespace

    from mantissa.nn.ecoformer import COST_HEADER, attention_macs, cost_rows, mean_hash_objectives

    rows = cost_rows([8, 16], {"softmax": [0.001, 0.004], "ecoformer": [0.002, 0.003]}, bits=4, anchors=2)
    assert len(rows[0]) == len(COST_HEADER) and rows[1][:3] == [16, 4.0, 3.0]
    assert rows[0][3] == 4 * attention_macs(8, 16, bits=4, anchors=2)["softmax_mults"]
    def fitted(a, b):
        return SimpleNamespace(hash=SimpleNamespace(last_fit=SimpleNamespace(loss_initial=a, loss_learned=b)))
    assert mean_hash_objectives([fitted(1.0, 0.5), fitted(3.0, 1.5)]) == (2.0, 1.0)
