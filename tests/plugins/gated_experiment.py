"""A tiny protocol-v2 experiment for the tests: one gate, two claims, a paper value, a history.

Its config says what the "measurements" come out as, so a test can make the gate or a claim fail.
"""

from __future__ import annotations

from dataclasses import dataclass

from mantissa.experiments import Experiment, Result, register, seed_metrics


@dataclass
class GatedConfig:
    learned: float = 0.99  # in-distribution accuracy of the "model" (the gate)
    gain: float = 2.0  # ours minus baseline, per seed (a claim)
    seeds: int = 3


@register
class Gated(Experiment):
    id = "gated-test"
    title = "A gated experiment for the tests"
    paper = "#0"
    claim = "Ours beats the baseline by more than a point once the model has learned its task."
    paper_figure = "gain 2.5 points"
    thresholds = {"min_learned": 0.9, "margin": 1.0}
    Config = GatedConfig
    history = (("2026-01-02", "min_learned 0.95 -> 0.9", "the quick scale trains for fewer steps"),)

    def run(self, cfg, seed, out_dir):
        diffs = [cfg.gain + 0.1 * (i - 1) for i in range(cfg.seeds)]
        return Result({"learned": cfg.learned, "gain": cfg.gain, **seed_metrics("paired_gain", diffs)})

    def checks(self, metrics):
        return [
            self.check("model learned its task (ID accuracy)", metrics, "learned", ">=", "min_learned",
                       kind="gate"),
            self.check("ours minus baseline (points)", metrics, "gain", ">", "margin", paper_value=2.5),
            self.check("ours minus baseline, paired over seeds (points)", metrics, "paired_gain_lcb",
                       ">", "margin"),
        ]
