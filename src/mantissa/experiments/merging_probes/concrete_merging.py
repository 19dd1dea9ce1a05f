"""Concrete subspace merging (paper #56): a shared Concrete mask learned bi-level
reduces interference and beats task arithmetic on merged multi-task accuracy.

Wires :mod:`mantissa.merge` (``concrete``, ``task-arithmetic``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.merge.suite`).

Gates: the fine-tuned task models learned their tasks. Claims: Concrete TA minus
task arithmetic, both at the paper's λ = 0.3 and both with λ picked on the
validation split, paired over the repetitions, mean − 2·SE above a 0.5-point
margin. Concrete AM and the test-time-adaptation variant are reported only.
"""

from __future__ import annotations

from pathlib import Path

from mantissa.experiments import Experiment, Result, register
from mantissa.merge.suite import MergeConfig, benchmark

GAINS = (("gain_concrete_ta_over_ta_03", "Concrete TA", "task arithmetic (λ=0.3)"),
         ("gain_concrete_ta_tuned_over_ta", "Concrete TA (λ on val)", "task arithmetic"),
         ("gain_concrete_ta_over_ta", "Concrete TA", "task arithmetic"),
         ("gain_concrete_am_over_ta", "Concrete AM", "task arithmetic"),
         ("gain_concrete_tta_over_ta_03", "Concrete TA (TTA entropy)", "task arithmetic (λ=0.3)"))


@register
class ConcreteMerging(Experiment):
    id = "concrete-merging"
    Config = MergeConfig

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        metrics, files, _ = benchmark(cfg, seed, out_dir, GAINS)
        return Result(metrics, files)
