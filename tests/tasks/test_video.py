import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.tasks.video import _bounce, moving_digits_video


def test_bounce_matches_stepwise_reflection():
    p, v = np.array([0.1, -0.2]), np.array([0.07, -0.13])
    lo, hi = np.array([-0.5, -0.5]), np.array([0.5, 0.5])
    t = np.arange(60, dtype=float)[:, None]
    got = _bounce(p, v, t, lo, hi)
    pos, vel = p.copy(), v.copy()
    for i in range(60):
        assert np.allclose(got[i], pos)
        pos = pos + vel
        for d in range(2):  # reflect at the walls, possibly after overshoot
            if pos[d] > hi[d]:
                pos[d], vel[d] = 2 * hi[d] - pos[d], -vel[d]
            if pos[d] < lo[d]:
                pos[d], vel[d] = 2 * lo[d] - pos[d], -vel[d]


def test_video_shape_range_and_seeding():
    v = moving_digits_video(12, 32, 2, seed=3)
    assert v.shape == (12, 1, 32, 32) and v.dtype == torch.float32
    assert float(v.min()) >= 0 and float(v.max()) <= 1 and float(v.max()) > 0.5
    assert torch.equal(v, moving_digits_video(12, 32, 2, seed=3))
    assert not torch.equal(v, moving_digits_video(12, 32, 2, seed=4))
    assert float((v[1:] - v[:-1]).abs().mean()) > 0  # it moves
    with pytest.raises(ConfigError):
        moving_digits_video(4, 16, 1, zoom=(1.5, 2.5))
