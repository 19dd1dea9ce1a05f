"""Compressed embedding tables: every lookup equals an independent dense
reconstruction (float64, written here from the method's equation), memory
counts match closed forms, budgets are met, gradients reach every parameter,
bad specs are reported."""

import math

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, DTypeError, ShapeError, SpecError, UnknownNameError
from mantissa.tables import TABLES, build_table, spec_for_budget, table_for_budget
from mantissa.tables.mixed_dim import block_sizes, mixed_dims
from mantissa.tables.multiplex import PRIME
from mantissa.tables.pruning import cubic_sparsity, sparse_bytes
from mantissa.tables.tt import split_dim, split_rows

N, D = 1000, 16
ALL = ("full", "hashing:buckets=100", "qr:collisions=7", "qr:collisions=5,op=add", "tt:rank=3",
       "mixed-dim:dims=16/8/4", "pruning:keep=0.3", "quant:bits=4", "quant:bits=3,per=tensor",
       "robe:size=777", "pq:m=4,bits=4", "qat:bits=3", "dhe:hidden=12,k=8")


def _all_ids(t):
    return t(torch.arange(t.n)).detach().double()


@pytest.mark.parametrize("spec", ALL)
def test_forward_shape_dense_and_grad(spec):
    t = build_table(spec, N, D, seed=1)
    ids = torch.randperm(N, generator=torch.Generator().manual_seed(0))[:35].view(5, 7)
    ids[0, :3] = torch.tensor([0, N // 2, N - 1])  # every frequency block of mixed-dim is hit
    out = t(ids)
    assert out.shape == (5, 7, D) and out.dtype == torch.float32
    torch.testing.assert_close(t.dense()[ids], out.detach(), rtol=0, atol=1e-6)  # batch-dependent sums
    out.square().sum().backward()
    for name, p in t.named_parameters():
        if p.numel():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert t.spec.split(":")[0] in TABLES
    assert str(TABLES.build(t.spec, n=N, dim=D).spec) == t.spec


def test_full_and_hashing_collisions_share_rows():
    t = build_table("hashing:buckets=50", N, D, seed=3)
    e = _all_ids(t).numpy()
    rows = [((t.a * (i % PRIME) + t.b) % PRIME) % 50 for i in range(N)]  # Python big integers
    w = t.weight.detach().double().numpy()
    np.testing.assert_array_equal(e, w[rows])
    groups = {}
    for i, r in enumerate(rows):
        groups.setdefault(r, []).append(i)
    shared = [g for g in groups.values() if len(g) > 1]
    assert shared and all((e[g] == e[g[0]]).all() for g in shared)
    assert t.memory_bytes() == 50 * D * 4
    assert build_table("full", N, D).memory_bytes() == N * D * 4


@pytest.mark.parametrize("op", ["mult", "add"])
def test_qr_is_product_or_sum_of_two_rows(op):
    c = 7
    t = build_table(f"qr:collisions={c},op={op}", N, D, seed=2)
    q, r = t.quotient.detach().double().numpy(), t.remainder.detach().double().numpy()
    want = np.stack([q[i // c] * r[i % c] if op == "mult" else q[i // c] + r[i % c] for i in range(N)])
    np.testing.assert_allclose(_all_ids(t).numpy(), want, rtol=1e-6, atol=1e-7)
    assert t.memory_bytes() == 4 * D * (math.ceil(N / c) + c)
    # complementary partitions: no two ids get the same pair of rows
    assert len({(i // c, i % c) for i in range(N)}) == N


def test_tt_equals_cores_contracted_in_float64():
    t = build_table("tt:rank=3", N, D, seed=4)
    (n1, n2, n3), (d1, d2, d3) = t.rows3, t.dims3
    assert n1 * n2 * n3 >= N and d1 * d2 * d3 == D
    g1, g2, g3 = (c.detach().double() for c in t.cores)
    full = torch.einsum("xpaq,yqbr,zrcs->zyxabc", g1, g2, g3)  # (n3, n2, n1, d1, d2, d3)
    full = full.reshape(n1 * n2 * n3, D)[:N]  # id = i1 + n1 (i2 + n2 i3): i1 fastest
    torch.testing.assert_close(_all_ids(t), full, rtol=1e-5, atol=1e-7)  # float32 lookup
    r = 3
    assert t.memory_bytes() == 4 * (n1 * d1 * r + n2 * r * d2 * r + n3 * r * d3)


def test_tt_factorisations():
    for n in (1, 2, 9, 1000, 1001, 30000):
        a, b, c = split_rows(n)
        assert a * b * c >= n and a * b * (c - 1) < n
    for d in (1, 12, 16, 64, 100):
        assert math.prod(split_dim(d)) == d
    assert split_dim(64) == (4, 4, 4)


def test_mixed_dim_blocks_widths_and_projection():
    counts = torch.rand(N) * 100
    t = build_table("mixed-dim:dims=16/8/4", N, D, counts=counts, seed=5)
    sizes = block_sizes(N, 3)
    assert sizes == t.sizes and sum(sizes) == N and sizes[0] < sizes[1] < sizes[2]
    order = sorted(range(N), key=lambda i: (-float(counts[i]), i))  # most frequent first
    e = _all_ids(t).numpy()
    start = 0
    for j, (nj, dj) in enumerate(zip(sizes, (16, 8, 4))):
        w = t.tables[j].detach().double().numpy()
        p = t.projections[j].detach().double().numpy() if dj < D else np.eye(D)
        for k in range(nj):
            np.testing.assert_allclose(e[order[start + k]], w[k] @ p, rtol=1e-5, atol=1e-7)
        start += nj
    want = 4 * (sizes[0] * 16 + sizes[1] * 8 + 8 * D + sizes[2] * 4 + 4 * D) + 4 * N  # + rank map
    assert t.memory_bytes() == want
    ranked = build_table("mixed-dim:dims=16/8/4", N, D)  # ids already in frequency order
    assert ranked.memory_bytes() == want - 4 * N


def test_mixed_dim_widths_follow_popularity_and_budget():
    dims = mixed_dims(N, D, 0.25 * N * D * 4)
    assert dims == sorted(dims, reverse=True) and dims[0] > dims[-1]
    t = table_for_budget("mixed-dim", N, D, 0.25)
    assert t.memory_bytes() <= 0.25 * N * D * 4
    assert mixed_dims(N, D, N * D * 4) == [D] * 4


def test_pruning_schedule_mask_and_memory():
    t = build_table("pruning:keep=0.25", N, D, seed=6)
    assert cubic_sparsity(0, 100, 0.75) == 0 and cubic_sparsity(60, 100, 0.75) == pytest.approx(0.75)
    densities = []
    for step in range(1, 101):
        t.on_step(step, 100)
        densities.append(t.density)
    assert densities == sorted(densities, reverse=True)
    assert densities[5] == 1.0 and densities[-1] == pytest.approx(0.25, abs=1 / (N * D))
    t.finalize()
    w = t.weight.detach()
    assert int(t.mask.sum()) == round(0.25 * N * D)
    assert torch.equal(_all_ids(t).float(), w * t.mask) and (w[~t.mask] == 0).all()
    nnz = int(t.mask.sum())
    csr, bitmap = nnz * 5 + 4 * (N + 1), math.ceil(N * D / 8) + 4 * nnz
    assert t.memory_bytes() == sparse_bytes(N, D, nnz) == min(csr, bitmap)


def test_pruning_keeps_largest_magnitudes():
    t = build_table("pruning:keep=0.1", N, D, seed=7)
    w0 = t.weight.detach().clone()
    t.finalize()
    thresh = w0.abs().flatten().kthvalue(N * D - round(0.1 * N * D)).values
    assert (w0.abs()[t.mask] >= thresh).all() and (w0.abs()[~t.mask] <= thresh).all()


@pytest.mark.parametrize("per", ["row", "tensor"])
def test_quant_post_training_codes_and_memory(per):
    bits = 3
    t = build_table(f"quant:bits={bits},per={per}", N, D, seed=8)
    w = t.weight.detach().double().clone()
    t.finalize()
    codes = t.codes()
    assert codes.min() >= 0 and codes.max() <= 2**bits - 1
    # independent affine reconstruction in float64 (range widened to contain 0, as mantissa.quant does)
    lo = (w.amin(1, keepdim=True) if per == "row" else w.min()).clamp(max=0)
    hi = (w.amax(1, keepdim=True) if per == "row" else w.max()).clamp(min=0)
    s = (hi - lo) / (2**bits - 1)
    z = torch.round(-lo / s)
    want = (torch.clamp(torch.round(w / s) + z, 0, 2**bits - 1) - z) * s
    torch.testing.assert_close(_all_ids(t), want, rtol=0, atol=1e-6)
    assert t.memory_bytes() == N * math.ceil(D * bits / 8) + 8 * (N if per == "row" else 1)
    assert (_all_ids(t) - w).abs().max() <= s.max() / 2 + 1e-6


def test_quant_load_weights():
    full = build_table("full", N, D, seed=9)
    q = build_table("quant:bits=16", N, D).load_weights(full.weight.detach())
    q.finalize()
    torch.testing.assert_close(q.dense(), full.dense(), atol=1e-5, rtol=0)
    with pytest.raises(ShapeError):
        q.load_weights(torch.zeros(3, 3))
    with pytest.raises(ConfigError, match="finalize"):
        build_table("quant:bits=4", N, D).codes()


def test_qat_is_learned_step_fake_quantization():
    t = build_table("qat:bits=3", N, D, seed=12)
    w = t.weight.detach().double()
    s = float(t.lsq.step.detach())
    assert s == pytest.approx(2 * float(w.abs().mean()) / math.sqrt(3), rel=1e-5)  # LSQ init, Qp = 3
    want = torch.clamp(torch.round(w / s), -4, 3) * s  # clamp then round: same for integer bounds
    torch.testing.assert_close(_all_ids(t), want, rtol=0, atol=1e-6)
    t(torch.arange(50)).sum().backward()
    assert t.lsq.step.grad is not None and t.lsq.step.grad.abs() > 0
    t.finalize()
    codes = t.codes()
    assert codes.min() >= -4 and codes.max() <= 3
    torch.testing.assert_close(_all_ids(t), codes.double() * s, rtol=0, atol=1e-6)
    assert t.memory_bytes() == N * math.ceil(D * 3 / 8) + 4


def test_dhe_is_hash_code_through_mlp():
    k, h = 8, 12
    t = build_table(f"dhe:hidden={h},k={k},layers=2", N, D, seed=13)
    ids = list(range(0, N, 7))
    code = torch.tensor([[((a * i + b) % PRIME) % 10**6 for a, b in t.hashes] for i in ids],
                        dtype=torch.float64) * (2 / (10**6 - 1)) - 1
    assert code.min() >= -1 and code.max() <= 1
    lin = [m for m in t.mlp if isinstance(m, torch.nn.Linear)]
    x = code
    for j, layer in enumerate(lin):
        x = x @ layer.weight.detach().double().T + layer.bias.detach().double()
        if j < len(lin) - 1:
            x = x * torch.tanh(torch.nn.functional.softplus(x))  # Mish
    torch.testing.assert_close(t(torch.tensor(ids)).detach().double(), x, rtol=1e-4, atol=1e-6)
    assert t.memory_bytes() == 4 * (k * h + h + h * h + h + h * D + D)


def test_pq_rows_are_centroid_concatenations():
    t = build_table("pq:m=4,bits=3", N, D, seed=11)
    w = t.weight.detach().double().clone()
    t.finalize()
    e, books, codes = _all_ids(t), t.codec.codebooks.double(), t._codes.long()
    assert books.shape == (4, 8, D // 4) and codes.shape == (N, 4) and codes.max() < 8
    want = torch.cat([books[j][codes[:, j]] for j in range(4)], 1)
    torch.testing.assert_close(e, want, rtol=0, atol=1e-6)
    # each sub-vector went to its nearest centroid (float64 brute force)
    for j in range(4):
        sub = w[:, j * 4:(j + 1) * 4]
        nearest = torch.cdist(sub, books[j]).argmin(1)
        d_got = (sub - books[j][codes[:, j]]).norm(dim=1)
        d_best = (sub - books[j][nearest]).norm(dim=1)
        assert (d_got <= d_best + 1e-5).all()
    assert t.memory_bytes() == N * 4 + 8 * D * 4
    assert not t(torch.arange(3)).requires_grad  # frozen after compression


def test_robe_windows_and_signs():
    m = 777
    t = build_table(f"robe:size={m}", N, D, seed=10)
    arr = t.array.detach().double().numpy()
    e = _all_ids(t).numpy()
    for i in range(0, N, 37):
        h = ((t.a * i + t.b) % PRIME) % m
        sign = np.array([((t.sa * (i * D + j) + t.sb) % PRIME) % 2 * 2 - 1 for j in range(D)])
        np.testing.assert_allclose(e[i], sign * arr[[(h + j) % m for j in range(D)]], rtol=1e-6)
    assert t.memory_bytes() == 4 * m


@pytest.mark.parametrize("method", ["hashing", "qr", "mixed-dim", "tt", "pruning", "quant", "robe", "pq",
                                    "qat", "dhe"])
@pytest.mark.parametrize("fraction", [0.5, 0.25, 0.1])
def test_budgets_are_met(method, fraction):
    t = table_for_budget(method, N, D, fraction)
    t.finalize()
    assert t.memory_bytes() <= fraction * N * D * 4
    assert t.memory_bytes() >= 0.4 * fraction * N * D * 4  # and not wasted


def test_spec_errors():
    with pytest.raises(UnknownNameError, match="valid names"):
        build_table("hash:buckets=3", N, D)
    for bad in ("hashing:buckets=0", "qr:collisions=x", "qr:collisions=2,op=div", "tt:rank=0",
                "pruning:keep=0", "pruning:keep=1.5", "quant:bits=0", "quant:bits=20",
                "quant:bits=4,per=col", "mixed-dim:dims=64/8", "pq:m=3", "pq:m=4,bits=9",
                "mixed-dim:dims=a/b", "robe:size=-1", "qat:bits=1", "qat:bits=17",
                "dhe:hidden=0", "dhe:hidden=8,layers=0",
                "hashing:wrong=3"):
        with pytest.raises(SpecError):
            build_table(bad, N, D)
    with pytest.raises(ConfigError):
        build_table("full", 0, D)
    with pytest.raises(ConfigError, match="raise the budget"):
        spec_for_budget("tt", N, D, 1e-6)
    with pytest.raises(ConfigError, match="fraction"):
        spec_for_budget("qr", N, D, 1.5)
    with pytest.raises(ShapeError):
        build_table("mixed-dim:dims=8/4", N, D, counts=torch.ones(3))


def test_bad_ids():
    t = build_table("full", N, D)
    with pytest.raises(ShapeError, match=r"\[0, 1000\)"):
        t(torch.tensor([0, N]))
    with pytest.raises(DTypeError):
        t(torch.tensor([0.5]))
