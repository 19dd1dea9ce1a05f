"""The Impact of Positional Encoding on Length Generalization in Transformers
(Kazemnejad et al., 2023), paper #36.

Decoder-only models with each positional encoding (NoPE, APE, T5 bias, ALiBi,
RoPE; Abacus beside them as the modern anchor) trained on lengths
``≤ train_max`` of two tasks — addition with least-significant-digit-first
operands and output, and sequence reversal — and tested on longer inputs.
One accuracy-vs-length curve per encoding and task.
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
from mantissa.probe.length_gen import plot_curves, write_csv
from mantissa.train.pipeline import DataConfig

TASKS = {"add": ("add", "reverse_all"), "reverse": ("reverse", "")}


@dataclass
class Config(Knobs):
    tasks: tuple[str, ...] = ("add", "reverse")
    pes: tuple[str, ...] = ("nope", "ape", "rope", "alibi", "abacus")
    train_max: int = 6
    test_max: int = 10
    n_train: int = 5000
    steps: int = 1500


@register
class PELengthGen(Experiment):
    id = "pe-length-gen"
    title = "The Impact of Positional Encoding on Length Generalization in Transformers"
    paper = "#36"
    claim = ("Without any positional encoding (NoPE) a decoder-only transformer generalizes to longer inputs "
             "at least as well as with explicit encodings such as learned absolute positions (APE).")
    paper_figure = "NoPE best overall on reasoning/arithmetic tasks; APE and T5/ALiBi/RoPE fall behind"
    thresholds = {"min_id_acc": 90.0, "min_nope_minus_ape": 0.0}
    parts = ("nn.positional:nope,ape,t5,alibi,rope,abacus", "tasks:add,reverse", "probe.length_gen")
    Config = Config
    scales = {
        "smoke": {"pes": ("nope", "ape"), "steps": 10, "d_model": 32, "n_layer": 1, "n_test": 5,
                  "n_train": 200, "train_max": 3, "test_max": 4},
        "full": {"pes": ("nope", "ape", "t5", "alibi", "rope", "abacus", "fire"), "train_max": 8,
                 "test_max": 16, "steps": 10000, "d_model": 256, "n_layer": 6, "batch_size": 64, "lr": 5e-4,
                 "n_train": 50000, "n_test": 200},
    }

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        rows = []
        with single_thread():
            for task in cfg.tasks:
                name, fmt = TASKS[task]
                curves = {}
                for pe in cfg.pes:
                    data = DataConfig(task=name, format=fmt, train_lengths=f"1-{cfg.train_max}",
                                      test_lengths=f"1-{cfg.test_max}", n_train=cfg.n_train,
                                      n_test=cfg.n_test)
                    run = train(lab(cfg, data, pe=pe), seed, f"{task} {pe}")
                    acc = eval_by_length(run)
                    metrics[f"{task}_{pe}_id"] = pct(id_mean(acc, cfg.train_max))
                    metrics[f"{task}_{pe}_ood"] = pct(ood_mean(acc, cfg.train_max))
                    lens = [k[0] for k in acc]
                    curves[pe] = (lens, list(acc.values()))
                    rows += [(task, pe, k[0], pct(v)) for k, v in acc.items()]
                plot_curves(curves, out_dir / f"{task}_curves.png", train_max=cfg.train_max,
                            title=f"{task}: trained on lengths 1-{cfg.train_max}")
                if {"nope", "ape"} <= set(cfg.pes):
                    m = metrics
                    m[f"{task}_nope_minus_ape_ood"] = m[f"{task}_nope_ood"] - m[f"{task}_ape_ood"]
                    m[f"{task}_min_id_nope_ape"] = min(m[f"{task}_nope_id"], m[f"{task}_ape_id"])
        write_csv(out_dir / "accuracy.csv", ["task", "pe", "length", "exact_match_pct"], rows)
        return Result(metrics, [f"{t}_curves.png" for t in cfg.tasks] + ["accuracy.csv"])

    def checks(self, metrics):
        out = []
        for task in TASKS:
            out.append(self.check(f"{task}: NoPE and APE both learned the training lengths (ID %)",
                                  metrics, f"{task}_min_id_nope_ape", ">=", "min_id_acc"))
            out.append(self.check(f"{task}: NoPE minus APE, out-of-distribution exact match (points)",
                                  metrics, f"{task}_nope_minus_ape_ood", ">=", "min_nope_minus_ape"))
        return out
