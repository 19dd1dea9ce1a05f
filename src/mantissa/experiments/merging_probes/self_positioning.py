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
class SelfPositioning(Experiment):
    id = "self-positioning"
    title = "Improving General Text Embedding Model through Model Merging (Self Positioning)"
    paper = "#55"
    claim = ("Searching the interpolation space of task vectors with SGD on a probe set (Self Positioning) "
             "beats uniform averaging and joint training with resampling on a multi-task mix.")
    paper_figure = ("MTEB average +0.7 points; beats uniform averaging and joint training "
                    "with resampling")
    thresholds = {"min_gain_over_average": 0.5, "min_gain_over_joint": 0.0, "min_individual_acc": 60.0,
                  "min_finetune_gain": 5.0}
    history = (
        ("2026-12-04",
         "claims judged on mean - 2 SE of the per-repetition gains (3 repetitions) with strict '>' "
         "(was: mean gain >= 0.5 over averaging, >= 0 over joint training, so a tie passed); gates added: "
         "fine-tuned task models' mean accuracy >= 60 % and each repetition's fine-tune gain over the "
         "pre-trained body > 5 points",
         "protocol v2: a tie must fail, margins beyond seed noise, gates apart from claims. The earlier "
         "quick run gave +5.2 over averaging (pass) and -9.0 over joint training (fail)"),
    )
    parts = ("embed.merge:self-positioning", "embed.merge:average", "data.wordnet", "data.minilm")
    Config = MergeConfig
    scales = {"smoke": SMOKE, "full": FULL}

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
        m = metrics_from(mean_table(tables))
        m.update(gate_metrics(tables))
        m.update(gain_metrics("gain_sp_over_average", tables, "Self Positioning", "average"))
        if "joint (resampled)" in tables[0]:
            m.update(gain_metrics("gain_sp_over_joint", tables, "Self Positioning", "joint (resampled)"))
        return Result(m, write_table(tables, out_dir))

    def checks(self, metrics):
        return [
            self.check("fine-tuned task models: mean test accuracy (%)", metrics, "acc_individual", ">=",
                       "min_individual_acc", kind="gate"),
            self.check("fine-tuning gain over the pre-trained body, smallest repetition (points)", metrics,
                       "finetune_gain_min", ">", "min_finetune_gain", kind="gate"),
            self.check("Self Positioning minus uniform averaging (mean test accuracy, paired over "
                       "repetitions: mean - 2 SE, points)", metrics, "gain_sp_over_average_lcb", ">",
                       "min_gain_over_average", paper_value="+0.7 MTEB average"),
            self.check("Self Positioning minus joint training with resampling (paired over repetitions: "
                       "mean - 2 SE, points)", metrics, "gain_sp_over_joint_lcb", ">", "min_gain_over_joint",
                       paper_value="outperforms resampling (MTEB)"),
        ]
