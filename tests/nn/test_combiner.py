import math

import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.nn import ATTENTION
from mantissa.nn.combiner import combiner_attention


def reference(q, k, v, s):
    """p(j|i) built explicitly from the Combiner-Fixed factorization, position by position."""
    B, H, T, D = q.shape
    out = torch.zeros_like(q)
    for b in range(B):
        for h in range(H):
            for i in range(T):
                blk = i // s
                logits = [q[b, h, i] @ k[b, h, j] / math.sqrt(D) for j in range(blk * s, i + 1)]
                vals = [v[b, h, j] for j in range(blk * s, i + 1)]
                for r in range(blk):
                    idx = list(range(r * s, min((r + 1) * s, T)))
                    w = torch.softmax(torch.stack([q[b, h, idx].mean(0) @ k[b, h, j] / math.sqrt(D)
                                                   for j in idx]), 0)
                    logits.append(q[b, h, i] @ k[b, h, idx].mean(0) / math.sqrt(D) + math.log(len(idx)))
                    vals.append((w[:, None] * v[b, h, idx]).sum(0))
                p = torch.softmax(torch.stack(logits), 0)
                out[b, h, i] = (p[:, None] * torch.stack(vals)).sum(0)
    return out


@pytest.mark.parametrize("t, block", [(10, 0), (9, 3), (7, 2), (1, 0)])
def test_matches_explicit_factorization(t, block):
    g = torch.Generator().manual_seed(t)
    q, k, v = (torch.randn(2, 2, t, 4, generator=g, dtype=torch.float64) for _ in range(3))
    s = block or math.ceil(math.sqrt(t))
    assert torch.allclose(combiner_attention(q, k, v, block=block), reference(q, k, v, s), atol=1e-12)


def test_causal_and_one_block_is_full_attention():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 12, 8, generator=g, dtype=torch.float64) for _ in range(3))
    out = combiner_attention(q, k, v, block=4)
    k2, v2 = k.clone(), v.clone()
    k2[..., 8:, :] += 3
    v2[..., 8:, :] -= 3
    assert torch.equal(combiner_attention(q, k2, v2, block=4)[..., :8, :], out[..., :8, :])
    full = ATTENTION.get("softmax")(q, k, v)
    assert torch.allclose(combiner_attention(q, k, v, block=12), full, atol=1e-12)


def test_rejects_bias_and_padding():
    q = torch.randn(1, 1, 4, 2)
    with pytest.raises(ConfigError, match="rope/nope"):
        combiner_attention(q, q, q, bias=torch.zeros(1, 4, 4))
    with pytest.raises(ConfigError):
        combiner_attention(q, q, q, causal=False)
