"""mantissa.nn.uniform_attention: the similarity-free attention controls."""

import torch

from mantissa.nn.uniform_attention import uniform_attention, uniform_causal_attention


def test_uniform_attention_gives_every_query_the_mean_value():
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 6)
    out = uniform_attention(q, k, v)
    assert out.shape == (2, 3, 5, 6) and torch.allclose(out[:, :, 2], v.mean(-2))
    causal = uniform_causal_attention(q, k, v, causal=True)
    assert torch.allclose(causal[:, :, 0], v[:, :, 0])
    assert torch.allclose(causal[:, :, 2], v[:, :, :3].mean(-2))
