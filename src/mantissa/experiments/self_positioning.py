"""Self Positioning (paper #55): per-task merge coefficients found by SGD on a small
probe set beat uniform averaging of the fine-tuned models and the usual
multi-task alternative, joint training with resampling.

Wires :mod:`mantissa.embed.merge` (``self-positioning``, ``average``) into the
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
class SelfPositioning(Experiment):
    id = "self-positioning"
    title = "Improving General Text Embedding Model through Model Merging (Self Positioning)"
    paper = "#55"
    claim = ("Searching the interpolation space of task vectors with SGD on a probe set (Self Positioning) "
             "beats uniform averaging and joint training with resampling on a multi-task mix.")
    paper_figure = ("MTEB average +0.7 points; beats uniform averaging and joint training "
                    "with resampling")
    thresholds = {"min_gain_over_average": 0.5, "min_gain_over_joint": 0.0}
    parts = ("embed.merge:self-positioning", "embed.merge:average", "data.wordnet", "data.minilm")
    Config = MergeConfig
    scales = {"smoke": SMOKE, "full": FULL}

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m["gain_sp_over_average"], m["gain_sp_over_average_min"] = gain(tables, "Self Positioning", "average")
        if "joint (resampled)" in tables[0]:
            m["gain_sp_over_joint"], m["gain_sp_over_joint_min"] = gain(tables, "Self Positioning",
                                                                        "joint (resampled)")
        return Result(m, write_table(tables, out_dir))

    def checks(self, metrics):
        return [
            self.check("Self Positioning minus uniform averaging (mean test accuracy, points, "
                       "mean of repetitions)",
                       metrics, "gain_sp_over_average", ">=", "min_gain_over_average"),
            self.check("Self Positioning minus joint training with resampling (points, "
                       "mean of repetitions)",
                       metrics, "gain_sp_over_joint", ">=", "min_gain_over_joint"),
        ]
