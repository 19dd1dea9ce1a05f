import pytest
import torch

from mantissa.embed.pooling import POOLING, build_pooling
from mantissa.errors import ConfigError, ShapeError, UnknownNameError


def _batch():
    torch.manual_seed(0)
    hidden = torch.randn(3, 5, 16)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    return hidden, mask


def test_mean_cls_last_match_direct_indexing():
    hidden, mask = _batch()
    mean = build_pooling("mean", 16)(hidden, mask)
    for i, n in enumerate(mask.sum(1).tolist()):
        torch.testing.assert_close(mean[i], hidden[i, :n].mean(0))
    torch.testing.assert_close(build_pooling("cls", 16)(hidden, mask), hidden[:, 0])
    last = build_pooling("last", 16)(hidden, mask)
    torch.testing.assert_close(last, torch.stack([hidden[0, 2], hidden[1, 4], hidden[2, 0]]))


def test_latent_attention_ignores_padding_and_trains():
    hidden, mask = _batch()
    pool = build_pooling("latent-attention:latents=8,heads=4", 16)
    out = pool(hidden, mask)
    assert out.shape == (3, 16)
    # changing padded positions does not change the pooled vector
    hidden2 = hidden.clone()
    hidden2[0, 3:] = 100.0
    torch.testing.assert_close(pool(hidden2, mask)[0], out[0])
    out.sum().backward()
    assert pool.latents.grad is not None and pool.latents.grad.abs().sum() > 0


def test_latent_attention_starts_near_mean_pooling():
    hidden, mask = _batch()
    lat = build_pooling("latent-attention", 16)(hidden, mask)
    mean = build_pooling("mean", 16)(hidden, mask)
    assert (lat - mean).norm() / mean.norm() < 0.05


def test_bad_pooling_input():
    with pytest.raises(UnknownNameError, match="valid names"):
        build_pooling("max-ish", 16)
    with pytest.raises(ConfigError, match="divisible"):
        build_pooling("latent-attention:heads=5", 16)
    with pytest.raises(ShapeError, match="batch, time"):
        POOLING.build("mean")(torch.zeros(2, 3), torch.ones(2, 3))
