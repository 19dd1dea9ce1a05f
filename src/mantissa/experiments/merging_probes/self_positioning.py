"""Self Positioning (paper #55): per-task merge coefficients found by SGD on a small
probe set beat uniform averaging of the fine-tuned models and the usual
multi-task alternative, joint training with resampling.

Wires :mod:`mantissa.embed.merge` (``self-positioning``, ``average``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.experiments._merge_suite`).

Gates: the fine-tuned task models learned their tasks. Claims, each on the gains
paired over the repetitions (mean − 2·SE): Self Positioning above uniform
averaging by more than 0.5 point (the paper's +0.7 MTEB) and above joint
training with resampling by more than 0 (a tie fails).
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
class SelfPositioning(Experiment):
    id = "self-positioning"
    Config = MergeConfig

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m.update(gate_metrics(tables))
        m.update(gain_metrics("gain_sp_over_average", tables, "Self Positioning", "average"))
        if "joint (resampled)" in tables[0]:
            m.update(gain_metrics("gain_sp_over_joint", tables, "Self Positioning", "joint (resampled)"))
        return Result(m, write_table(tables, out_dir))
