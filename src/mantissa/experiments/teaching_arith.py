"""Teaching Arithmetic to Small Transformers (Lee et al., 2023), paper #7.

3-digit addition learned from a given number of distinct samples in the plain
format (``123+45=168``) and with the output reversed (``123+45=<861``),
optionally with a simple scratchpad: exact match on held-out problems across a
sample-count sweep. Parts: ``tasks.formats`` (plain, reverse, scratch_simple),
``train.pipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._arith_common import Knobs, lab, pct, single_thread, train
from mantissa.probe.length_gen import plot_curves, write_csv
from mantissa.train.pipeline import DataConfig


@dataclass
class Config(Knobs):
    counts: tuple[int, ...] = (500, 4000)
    steps: int = 3000
    n_layer: int = 3
    formats: tuple[str, ...] = ("plain", "reverse")
    scratch_count: int = 0   # > 0: also train scratch_simple with this many samples
    digits: int = 3


@register
class TeachingArith(Experiment):
    id = "teaching-arith"
    title = "Teaching Arithmetic to Small Transformers"
    paper = "#7"
    claim = ("Reversing the output makes addition far easier to learn than the plain format, with a sharp "
             "rise in accuracy as the number of training samples grows.")
    paper_figure = "reverse reaches ~100 % with far fewer samples than plain (NanoGPT, 3-digit addition)"
    thresholds = {"min_reverse_acc": 95.0, "min_gap": 10.0, "min_rise": 40.0}
    parts = ("tasks.formats:plain,reverse,scratch_simple", "nn.transformer", "train.Trainer")
    Config = Config
    scales = {
        "smoke": {"counts": (50, 100), "steps": 15, "d_model": 32, "n_layer": 1, "n_test": 10},
        "full": {"counts": (500, 1000, 2000, 5000, 10000), "steps": 5000, "batch_size": 64, "d_model": 128,
                 "n_layer": 4, "lr": 1e-3, "scratch_count": 2000, "n_test": 500},
    }

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        rows = []
        curves = {}
        d = str(cfg.digits)
        jobs = [(f, n) for f in cfg.formats for n in cfg.counts]
        if cfg.scratch_count:
            jobs.append(("scratch_simple", cfg.scratch_count))
        with single_thread():
            for fmt, n in jobs:
                data = DataConfig(task="add", format=fmt, train_lengths=d, test_lengths=d, n_train=n,
                                  n_test=cfg.n_test)
                run = train(lab(cfg, data), seed, f"{fmt} n={n}")
                correct, _ = run.exact(run.split.test)
                acc = sum(correct) / len(correct)
                metrics[f"acc_{fmt}_{n}"] = pct(acc)
                rows.append((fmt, n, pct(acc), run.trainer.final("loss")))
                curves.setdefault(fmt, ([], []))
                curves[fmt][0].append(n)
                curves[fmt][1].append(acc)
        top, low = max(cfg.counts), min(cfg.counts)
        if "reverse" in cfg.formats:
            metrics["reverse_acc"] = metrics[f"acc_reverse_{top}"]
            metrics["reverse_rise"] = metrics[f"acc_reverse_{top}"] - metrics[f"acc_reverse_{low}"]
            if "plain" in cfg.formats:
                metrics["reverse_minus_plain"] = metrics[f"acc_reverse_{top}"] - metrics[f"acc_plain_{top}"]
        write_csv(out_dir / "accuracy.csv", ["format", "samples", "exact_match_pct", "final_loss"], rows)
        plot_curves(curves, out_dir / "samples.png", xlabel="training samples",
                    title=f"{cfg.digits}-digit addition: exact match vs samples")
        return Result(metrics, ["samples.png", "accuracy.csv"])

    def checks(self, metrics):
        return [
            self.check("reversed output: exact match at the largest sample count (%)", metrics, "reverse_acc",
                       ">=", "min_reverse_acc"),
            self.check("reverse minus plain at the largest sample count (points)", metrics,
                       "reverse_minus_plain", ">=", "min_gap"),
            self.check("rise of reverse accuracy from the smallest to the largest count (points)", metrics,
                       "reverse_rise", ">=", "min_rise"),
        ]
