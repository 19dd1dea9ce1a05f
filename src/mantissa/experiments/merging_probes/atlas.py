"""aTLAS (paper #20): learned anisotropic (per-block) task-vector coefficients
beat uniform task arithmetic when merging models fine-tuned on different tasks.

Wires :mod:`mantissa.merge` (``atlas``, ``task-arithmetic``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.merge.suite`).

Gates: the fine-tuned task models learned their tasks. Claim: aTLAS minus task
arithmetic (its scale λ tuned on the same validation split), paired over the
repetitions, mean − 2·SE above a 0.5-point margin.
"""

from __future__ import annotations

from pathlib import Path

from mantissa.experiments import Experiment, Result, register
from mantissa.merge.suite import MergeConfig, benchmark, mean_table

GAINS = (("gain_atlas_over_ta", "aTLAS", "task arithmetic"),)


@register
class Atlas(Experiment):
    id = "atlas"
    Config = MergeConfig

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        metrics, files, tables = benchmark(cfg, seed, out_dir, GAINS)
        metrics["normalized_atlas"] = 100 * mean_table(tables)["aTLAS"]["normalized"]
        return Result(metrics, files)
