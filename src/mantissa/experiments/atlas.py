"""aTLAS (paper #20): learned anisotropic (per-block) task-vector coefficients
beat uniform task arithmetic when merging models fine-tuned on different tasks.

Wires :mod:`mantissa.embed.merge` (``atlas``, ``task-arithmetic``) into the
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
class Atlas(Experiment):
    id = "atlas"
    title = "Knowledge Composition using Task Vectors with Learned Anisotropic Scaling (aTLAS)"
    paper = "#20"
    claim = ("Learning one coefficient per task and per parameter block (anisotropic scaling) "
             "composes task vectors better than task arithmetic with one tuned scale.")
    paper_figure = ("task addition over 8 vision tasks (CLIP ViT): aTLAS well above task arithmetic; "
                    "better composition, less interference")
    thresholds = {"min_gain_over_ta": 0.5}
    parts = ("embed.merge:atlas", "embed.merge:task-arithmetic", "data.wordnet", "data.minilm")
    Config = MergeConfig
    scales = {"smoke": SMOKE, "full": FULL}

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m["gain_atlas_over_ta"], m["gain_atlas_over_ta_min"] = gain(tables, "aTLAS", "task arithmetic")
        m["normalized_atlas"] = 100 * mean_table(tables)["aTLAS"]["normalized"]
        return Result(m, write_table(tables, out_dir))

    def checks(self, metrics):
        return [self.check("aTLAS minus task arithmetic (λ tuned on val) (mean test accuracy, points, "
                           "mean of repetitions)",
                           metrics, "gain_atlas_over_ta", ">=", "min_gain_over_ta")]
