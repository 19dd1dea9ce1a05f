"""Concrete subspace merging (paper #56): a shared Concrete mask learned bi-level
reduces interference and beats task arithmetic on merged multi-task accuracy.

Wires :mod:`mantissa.embed.merge` (``concrete``, ``task-arithmetic``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.experiments._merge_suite`).

Gates: the fine-tuned task models learned their tasks. Claims: Concrete TA minus
task arithmetic, both at the paper's λ = 0.3 and both with λ picked on the
validation split, paired over the repetitions, mean − 2·SE above a 0.5-point
margin. Concrete AM and the test-time-adaptation variant are reported only.
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
class ConcreteMerging(Experiment):
    id = "concrete-merging"
    Config = MergeConfig

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m.update(gate_metrics(tables))
        for name, a, b in (("gain_concrete_ta_over_ta_03", "Concrete TA", "task arithmetic (λ=0.3)"),
                           ("gain_concrete_ta_tuned_over_ta", "Concrete TA (λ on val)", "task arithmetic"),
                           ("gain_concrete_ta_over_ta", "Concrete TA", "task arithmetic"),
                           ("gain_concrete_am_over_ta", "Concrete AM", "task arithmetic"),
                           ("gain_concrete_tta_over_ta_03", "Concrete TA (TTA entropy)",
                            "task arithmetic (λ=0.3)")):
            m.update(gain_metrics(name, tables, a, b))
        return Result(m, write_table(tables, out_dir))
