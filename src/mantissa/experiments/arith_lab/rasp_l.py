"""What Algorithms can Transformers Learn? A Study in Length Generalization
(Zhou et al., 2024; the RASP-L conjecture), paper #24.

Addition trained on ``1..train_max`` digits and tested on longer operands, with
index hints (every digit preceded by a letter naming its place value, letters
drawn from a random window, output reversed) versus the same reversed-output
format without hints. Parts: ``tasks.encodings:index_hints``, ``probe.length_gen``,
``train.curriculum``.

Gate: both formats learn the training lengths. Claim: index hints raise
exact match on longer operands by more than 10 points. Mixed lengths 1-5 with
learned absolute positions plateau at 2-3 digits when all lengths are mixed
from the start at lr 3e-3, so training phases the lengths in, shortest first
(``curriculum``), at lr 1e-3.

Quick: 2 formats × 8000 steps, about 4-5 minutes on 2 cores (CPU, one
thread). The curriculum lifts the hinted model's in-distribution accuracy
from 26 % to 58 % (no hints: 50-52 %; 72-78 % with N = 4), short of the gate,
so the quick verdict is ``inconclusive``. Full (``device=auto``: 1-10 → 15
digits, 100k samples, 2 × 10000 steps of a 6-layer d = 256 model) settles it:
about 14 ms a step on one H200, about 6 minutes in all.
"""

from __future__ import annotations

from dataclasses import dataclass

from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._arith_common import (
    Knobs,
    eval_by_length,
    id_mean,
    lab,
    ood_mean,
    pct,
    single_thread,
    train,
)
from mantissa.io import write_csv
from mantissa.probe.length_gen import plot_curves
from mantissa.train.pipeline import DataConfig


@dataclass
class Config(Knobs):
    train_max: int = 5
    test_max: int = 7
    n_train: int = 8000
    pe: str = "ape"
    steps: int = 8000
    curriculum: float = 0.5


@register
class RaspL(Experiment):
    id = "rasp-l"
    title = "What Algorithms can Transformers Learn? (RASP-L)"
    paper = "#24"
    claim = ("Index hints make addition expressible as a short RASP-L program and raise length "
             "generalization over the same format without hints.")
    paper_figure = ("with index hints, addition trained to 40 digits generalizes to ~50 digits; "
                    "without hints it does not")
    thresholds = {"min_id_acc": 90.0, "min_gain": 10.0}
    history = (
        ("2026-12-04", "in-distribution check is a gate; hints - no hints judged with a strict > 10 "
         "(was >= 10)",
         "protocol v2: the quick models never learned the training lengths (ID 22 % vs 26 %), so "
         "'not reproduced' said nothing about the paper; ties fail"),
        ("2026-12-04", "quick and full: length curriculum over the first half; quick: lr 3e-3 -> 1e-3, "
         "3000 -> 8000 steps",
         "mixed lengths 1-5 with learned absolute positions plateau at 2-3 digits at lr 3e-3. A probe "
         "(seed 0): ID hints 58 % / no hints 52 % (curriculum), 26 / 50 % (none), 78 / 72 % (N = 4): the "
         "gate is out of reach at quick scale, full settles it"),
    )
    parts = ("tasks.encodings:index_hints,reverse", "probe.length_gen")
    Config = Config
    scales = {
        "smoke": {"steps": 10, "d_model": 32, "n_layer": 1, "n_test": 5, "n_train": 200, "train_max": 2,
                  "test_max": 3},
        "full": {"train_max": 10, "test_max": 15, "steps": 10000, "d_model": 256, "n_layer": 6,
                 "batch_size": 64, "lr": 5e-4, "n_train": 100000, "n_test": 200, "device": "auto"},
    }

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        curves, rows = {}, []
        with single_thread():
            for label, fmt in (("hints", "index_hints"), ("no_hints", "reverse")):
                data = DataConfig(task="add", format=fmt, train_lengths=f"1-{cfg.train_max}",
                                  test_lengths=f"1-{cfg.test_max}", n_train=cfg.n_train, n_test=cfg.n_test)
                run = train(lab(cfg, data, pe=cfg.pe), seed, f"addition {label}")
                acc = eval_by_length(run)
                metrics[f"{label}_id"] = pct(id_mean(acc, cfg.train_max))
                metrics[f"{label}_ood"] = pct(ood_mean(acc, cfg.train_max))
                curves[label] = ([k[0] for k in acc], list(acc.values()))
                rows += [(label, k[0], pct(v)) for k, v in acc.items()]
        metrics["gain_ood"] = metrics["hints_ood"] - metrics["no_hints_ood"]
        metrics["min_id"] = min(metrics["hints_id"], metrics["no_hints_id"])
        plot_curves(curves, out_dir / "curves.png", train_max=cfg.train_max, xlabel="digits",
                    title=f"addition, trained on 1-{cfg.train_max} digits")
        write_csv(out_dir / "accuracy.csv", ["format", "digits", "exact_match_pct"], rows)
        return Result(metrics, ["curves.png", "accuracy.csv"])

    def checks(self, metrics):
        return [
            self.check("both formats learned the training lengths (ID exact match, %)", metrics, "min_id",
                       ">=", "min_id_acc", kind="gate"),
            self.check("index hints minus no hints, longer operands (points)", metrics, "gain_ood", ">",
                       "min_gain", paper_value="hints: 40 -> ~50 digits; none without"),
        ]
