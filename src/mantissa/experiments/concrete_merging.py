"""Concrete subspace merging (paper #56): a shared Concrete mask learned bi-level
reduces interference and beats task arithmetic on merged multi-task accuracy.

Wires :mod:`mantissa.embed.merge` (``concrete``, ``task-arithmetic``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.experiments._merge_suite`).
"""

from __future__ import annotations

from pathlib import Path

from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._merge_suite import (
    FULL,
    SMOKE,
    MergeConfig,
    gain,
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
    thresholds = {"min_gain_over_ta": 0.5}
    parts = ("embed.merge:concrete", "embed.merge:task-arithmetic", "data.wordnet", "data.minilm")
    Config = MergeConfig
    scales = {"smoke": SMOKE, "full": FULL}

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m["gain_concrete_ta_over_ta"], m["gain_concrete_ta_over_ta_min"] = gain(tables, "Concrete TA",
                                                                                "task arithmetic")
        m["gain_concrete_am_over_ta"], m["gain_concrete_am_over_ta_min"] = gain(tables, "Concrete AM",
                                                                                "task arithmetic")
        m["gain_concrete_ta_tuned_over_ta"], m["gain_concrete_ta_tuned_over_ta_min"] = gain(
            tables, "Concrete TA (λ on val)", "task arithmetic")
        m["gain_concrete_ta_over_ta_03"], m["gain_concrete_ta_over_ta_03_min"] = gain(
            tables, "Concrete TA", "task arithmetic (λ=0.3)")
        m["gain_concrete_tta_over_ta_03"], m["gain_concrete_tta_over_ta_03_min"] = gain(
            tables, "Concrete TA (TTA entropy)", "task arithmetic (λ=0.3)")
        return Result(m, write_table(tables, out_dir))

    def checks(self, metrics):
        return [
            self.check("Concrete TA minus task arithmetic, both at the paper's λ=0.3 (mean test accuracy, "
                       "points, mean of repetitions)", metrics, "gain_concrete_ta_over_ta_03", ">=",
                       "min_gain_over_ta"),
            self.check("Concrete TA minus task arithmetic, both with λ picked on val (points, mean of "
                       "repetitions)", metrics, "gain_concrete_ta_tuned_over_ta", ">=", "min_gain_over_ta"),
        ]
