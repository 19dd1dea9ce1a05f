"""A tiny experiment registered only in the tests (loaded via MANTISSA_PLUGINS)."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import torch

from mantissa import plot
from mantissa.experiments import Experiment, Result, register


@dataclass
class TinyConfig:
    n: int = 1000
    noise: float = 0.1
    fail: bool = False


@register
class Tiny(Experiment):
    id = "tiny-test"
    title = "A tiny experiment for the tests"
    paper = "#0"
    claim = "The mean of n standard normal samples is within 0.2 of zero."
    paper_figure = "|mean| < 0.2"
    thresholds = {"max_abs_mean": 0.2}
    Config = TinyConfig
    scales = {"smoke": {"n": 100}}

    def run(self, cfg, seed, out_dir):
        if cfg.fail:
            raise RuntimeError("asked to fail")
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(cfg.n, generator=g) * (1 + cfg.noise)
        fig, ax = plot.figure()
        ax.hist(x.numpy(), bins=20)
        plot.save(fig, out_dir / "hist.png")
        with open(out_dir / "samples.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["i", "x"])
            w.writerows([i, float(v)] for i, v in enumerate(x[:5]))
        return Result({"abs_mean": x.mean().abs().item(), "n": cfg.n}, ["hist.png", "samples.csv"])

    def checks(self, metrics):
        return [self.check("|mean| below bar", metrics, "abs_mean", "<", "max_abs_mean")]
