"""Self Positioning (paper #55): per-task merge coefficients found by SGD on a small
probe set beat uniform averaging of the fine-tuned models and the usual
multi-task alternative, joint training with resampling.

Wires :mod:`mantissa.merge` (``self-positioning``, ``average``) into the
shared WordNet-gloss merging benchmark (:mod:`mantissa.merge.suite`).

Gates: the fine-tuned task models learned their tasks. Claims, each on the gains
paired over the repetitions (mean − 2·SE): Self Positioning above uniform
averaging by more than 0.5 point (the paper's +0.7 MTEB) and above joint
training with resampling by more than 0 (a tie fails).
"""

from __future__ import annotations

from pathlib import Path

from mantissa.experiments import Experiment, Result, register
from mantissa.merge.suite import MergeConfig, benchmark

#: the joint-training comparison only where the suite ran it ("joint (resampled)")
GAINS = (("gain_sp_over_average", "Self Positioning", "average"),
         ("gain_sp_over_joint", "Self Positioning", "joint (resampled)"))


@register
class SelfPositioning(Experiment):
    id = "self-positioning"
    Config = MergeConfig

    def run(self, cfg: MergeConfig, seed: int, out_dir: Path) -> Result:
        metrics, files, _ = benchmark(cfg, seed, out_dir, GAINS)
        return Result(metrics, files)
