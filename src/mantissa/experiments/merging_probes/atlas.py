"""aTLAS (paper #20): learned anisotropic (per-block) task-vector coefficients
beat uniform task arithmetic when merging models fine-tuned on different tasks.

Wires :mod:`mantissa.embed.merge` (``atlas``, ``task-arithmetic``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.experiments._merge_suite`).

Gates: the fine-tuned task models learned their tasks. Claim: aTLAS minus task
arithmetic (its scale λ tuned on the same validation split), paired over the
repetitions, mean − 2·SE above a 0.5-point margin.
"""

from __future__ import annotations

from pathlib import Path

from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._merge_suite import (
    MergeConfig,
    gain_metrics,
    gate_metrics,
    mean_table,
    method_specs,
    metrics_from,
    run_suite,
    write_table,
)


@register
class Atlas(Experiment):
    id = "atlas"
    Config = MergeConfig

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m.update(gate_metrics(tables))
        m.update(gain_metrics("gain_atlas_over_ta", tables, "aTLAS", "task arithmetic"))
        m["normalized_atlas"] = 100 * mean_table(tables)["aTLAS"]["normalized"]
        return Result(m, write_table(tables, out_dir))
