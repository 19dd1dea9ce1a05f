import math

import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.models.ddpm import MLPDenoiser, timestep_embedding
from mantissa.train.diffusion import NoiseSchedule, ddpm_loss, ddpm_sample


def test_schedule_matches_float64_formulas():
    s = NoiseSchedule(steps=1000)
    assert float(s.betas[0]) == pytest.approx(1e-4) and float(s.betas[-1]) == pytest.approx(0.02)
    assert float(s.abar[9]) == pytest.approx(math.prod(1 - float(b) for b in s.betas[:10]), rel=1e-12)
    assert float(NoiseSchedule(steps=100).abar[-1]) < 1e-3  # scaled betas still end near pure noise
    with pytest.raises(ConfigError):
        NoiseSchedule(steps=1)


def test_q_sample():
    s = NoiseSchedule(steps=50)
    x0, eps = torch.ones(3, 4), torch.full((3, 4), 2.0)
    t = torch.tensor([0, 10, 49])
    got = s.q_sample(x0, t, eps)
    for i, ti in enumerate(t.tolist()):
        a = float(s.abar[ti])
        assert torch.allclose(got[i], torch.full((4,), math.sqrt(a) + 2 * math.sqrt(1 - a)))


def test_sampler_with_oracle_denoiser_recovers_point_mass():
    # data = a point mass at c: the optimal eps given x_t is (x_t - sqrt(abar) c) / sqrt(1 - abar)
    s = NoiseSchedule(steps=100)
    c = torch.tensor([0.5, -1.0, 2.0])

    def oracle(x, t):
        a = s.abar[t].float()[:, None]
        return (x - a.sqrt() * c) / (1 - a).sqrt()

    rec: list = []
    out = ddpm_sample(oracle, s, (5, 3), torch.Generator().manual_seed(0), record=rec)
    assert torch.allclose(out, c.expand(5, 3), atol=1e-4)
    assert len(rec) == 100 and int(rec[0][1][0]) == 99 and int(rec[-1][1][0]) == 0
    again = ddpm_sample(oracle, s, (5, 3), torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_timestep_embedding_and_denoiser_shapes():
    e = timestep_embedding(torch.tensor([0, 3]), 6)
    freqs = [10_000 ** (-i / 3) for i in range(3)]
    want = torch.tensor([math.cos(3 * f) for f in freqs] + [math.sin(3 * f) for f in freqs])
    assert torch.allclose(e[1], want, atol=1e-6)
    net = MLPDenoiser(dim=64, hidden=32, depth=2)
    x, t = torch.randn(4, 64), torch.tensor([0, 1, 2, 3])
    assert net(x, t).shape == (4, 64)
    loss, logs = ddpm_loss(NoiseSchedule(steps=10))(net, {"x": x})
    assert loss.dim() == 0 and loss.requires_grad and logs == {}
