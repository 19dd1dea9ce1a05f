import math

import torch

from mantissa.models.nerv import HNeRV
from mantissa.tasks.video import moving_digits_video
from mantissa.train.video import epochs_to_reach, fit_video, reconstruct


def test_fit_video_improves_psnr_and_curve_helpers():
    video = moving_digits_video(8, 32, 1, seed=0)
    torch.manual_seed(0)
    model = HNeRV((32, 32), (2, 2, 2, 2), 8, emb_dim=4)
    curve = fit_video(model, video, epochs=6, batch_size=4, lr=1e-2, eval_every=2, seed=0)
    assert [e for e, _ in curve] == [2, 4, 6]
    assert curve[-1][1] > curve[0][1]
    assert reconstruct(model, video).shape == video.shape
    assert epochs_to_reach(curve, curve[1][1]) <= 4
    assert epochs_to_reach(curve, 1e9) == math.inf
