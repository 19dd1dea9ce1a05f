"""Teaching Arithmetic to Small Transformers (Lee et al., 2023), paper #7.

3-digit addition learned from a given number of distinct samples in the plain
format (``123+45=168``) and with the output reversed (``123+45=<861``),
optionally with a simple scratchpad: exact match on held-out problems across a
sample-count sweep. Parts: ``tasks.encodings`` (plain, reverse, scratch_simple),
``train.pipeline``.

Gate: the reversed format learns 3-digit addition at the largest sample count
(the setup can learn addition at all). Claims: reverse beats plain at equal
samples (mean over the sweep, by a margin), and the reversed format's accuracy
rises sharply with the sample count. The sweep starts at 100 samples so that
it brackets the transition (reverse is already at 100 % with 500).

Quick: 3 counts × 2 formats × 3000 steps, about 4-5 minutes on 2 cores (CPU,
one thread); a probe (seed 0) passed the gate and both claims (reverse 0 / 98 /
100 %, plain 3 / 36 / 94 % at 100 / 500 / 4000 samples). Full
(``device=auto``: 5 counts × 2 formats plus the scratchpad, 5000 steps each of
a 4-layer d = 128 model): about 9 ms a step on one H200, about 10 minutes.
"""

from __future__ import annotations

from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.probe.length_gen import plot_curves
from mantissa.train.knobs import lab, pct, train
from mantissa.train.pipeline import DataConfig

Config = card_config(__name__)  # the card's [config]: teaching_arith.toml


def summary(metrics: dict[str, float], cfg: Config) -> dict[str, float]:
    """The judged numbers: reverse at the largest count, its rise, and reverse - plain."""
    top, low = max(cfg.counts), min(cfg.counts)
    out: dict[str, float] = {}
    if "reverse" in cfg.formats:
        out["reverse_acc"] = metrics[f"acc_reverse_{top}"]
        out["reverse_rise"] = metrics[f"acc_reverse_{top}"] - metrics[f"acc_reverse_{low}"]
    if {"reverse", "plain"} <= set(cfg.formats):
        gaps = [metrics[f"acc_reverse_{n}"] - metrics[f"acc_plain_{n}"] for n in cfg.counts]
        out["reverse_minus_plain"] = gaps[cfg.counts.index(top)]
        out["reverse_minus_plain_mean"] = sum(gaps) / len(gaps)
    return out


@register
class TeachingArith(Experiment):
    id = "teaching-arith"

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        rows = []
        curves = {}
        d = str(cfg.digits)
        jobs = [(f, n) for f in cfg.formats for n in cfg.counts]
        if cfg.scratch_count:
            jobs.append(("scratch_simple", cfg.scratch_count))
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
        metrics.update(summary(metrics, cfg))
        write_csv(out_dir / "accuracy.csv", ["format", "samples", "exact_match_pct", "final_loss"], rows)
        plot_curves(curves, out_dir / "samples.png", xlabel="training samples",
                    title=f"{cfg.digits}-digit addition: exact match vs samples")
        return Result(metrics, ["samples.png", "accuracy.csv"])
