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
    FULL,
    SMOKE,
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
    title = "Concrete Subspace Learning based Interference Elimination for Multi-task Model Fusion"
    paper = "#56"
    claim = ("Merging task vectors inside a shared Concrete (relaxed-Bernoulli) subspace mask, learned "
             "bi-level, beats task arithmetic on merged multi-task accuracy.")
    paper_figure = ("8 vision tasks (CLIP ViT) and GLUE (Flan-T5): Concrete TA/AM above task arithmetic "
                    "and AdaMerging; reduced interference")
    thresholds = {"min_gain_over_ta": 0.5, "min_individual_acc": 60.0, "min_finetune_gain": 5.0}
    history = (
        ("2026-12-04",
         "claims judged on mean - 2 SE of the per-repetition gains (3 repetitions) with a strict '>' "
         "0.5-point margin (was: mean gain >= 0.5); gates added: fine-tuned task models' mean accuracy "
         ">= 60 % and each repetition's fine-tune gain over the pre-trained body > 5 points",
         "protocol v2: strict margins beyond seed noise, gates apart from claims. The earlier quick run "
         "gave -1.0 (λ = 0.3) and -2.5 (λ on val) points: not reproduced"),
    )
    parts = ("embed.merge:concrete", "embed.merge:task-arithmetic", "data.wordnet", "data.minilm")
    Config = MergeConfig
    scales = {"smoke": SMOKE, "full": FULL}

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

    def checks(self, metrics):
        return [
            self.check("fine-tuned task models: mean test accuracy (%)", metrics, "acc_individual", ">=",
                       "min_individual_acc", kind="gate"),
            self.check("fine-tuning gain over the pre-trained body, smallest repetition (points)", metrics,
                       "finetune_gain_min", ">", "min_finetune_gain", kind="gate"),
            self.check("Concrete TA minus task arithmetic, both at the paper's λ=0.3 (mean test accuracy, "
                       "paired over repetitions: mean - 2 SE, points)", metrics,
                       "gain_concrete_ta_over_ta_03_lcb", ">", "min_gain_over_ta",
                       paper_value="Concrete TA above task arithmetic (8 ViT tasks, GLUE)"),
            self.check("Concrete TA minus task arithmetic, both with λ picked on val (paired over "
                       "repetitions: mean - 2 SE, points)", metrics, "gain_concrete_ta_tuned_over_ta_lcb",
                       ">", "min_gain_over_ta",
                       paper_value="Concrete TA above task arithmetic (8 ViT tasks, GLUE)"),
        ]
