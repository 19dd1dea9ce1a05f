"""What counts as a diverged run (the fp8-stability experiment's rule, at its card's spike and fail)."""

import math

from mantissa.experiments.formats.fp8_stability import Config
from mantissa.train.divergence import curve_divergence


def judge_run(losses, cfg):
    return curve_divergence(losses, cfg.spike, cfg.fail)


def test_a_run_that_trains_does_not_diverge():
    losses = [4.2 - 0.015 * i for i in range(80)]
    assert judge_run(losses, Config()) == (False, sum(losses[-8:]) / 8)


def test_non_finite_loss_diverges():
    assert judge_run([4.2, 3.9, math.inf], Config()) == (True, math.inf)


def test_an_unrecovered_spike_diverges():
    losses = [4.2 - 0.02 * i for i in range(40)] + [6.0] * 40
    assert judge_run(losses, Config())[0]


def test_ending_above_the_first_loss_diverges_even_after_early_spikes():
    # early spikes (as at the edge of stability) inflate the mean of the first steps; the run
    # still ends above where it started, so it never trained
    losses = [4.2, 12.0, 18.0, 15.0, 11.0, 9.0, 8.0, 7.0] + [6.1] * 72
    diverged, final = judge_run(losses, Config())
    assert diverged and final > losses[0]
