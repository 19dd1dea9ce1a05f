"""Improving Length-Generalization in Transformers via Task Hinting
(Awasthi & Gupta, 2023), paper #48.

Sorting trained on sequences of at most ``train_max`` letters and tested on
longer ones, plain versus multitask training with the *successor* hint task
(given the sequence and one element, output the next element of the sorted
order), half of the training examples each. Parts: ``tasks:sort:hint=true``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._arith_common import Knobs, eval_by_length, lab, pct, single_thread, train
from mantissa.probe.length_gen import mean_over, plot_curves, write_csv
from mantissa.tasks import Split, buckets, length_range, make_task
from mantissa.train.pipeline import DataConfig


@dataclass
class Config(Knobs):
    train_max: int = 12
    test_lengths: str = "4,8,12,16,20"
    n_train: int = 8000
    alphabet: int = 26
    hint_frac: float = 0.5
    steps: int = 3000


@register
class TaskHinting(Experiment):
    id = "task-hinting"
    title = "Improving Length-Generalization in Transformers via Task Hinting"
    paper = "#48"
    claim = ("Training sorting together with a simpler auxiliary hint task (successor) improves accuracy on "
             "sequences longer than those seen in training.")
    paper_figure = "trained on length ≤ 20, tested at length 100: < 1 % (plain) → 92 % (with hinting)"
    thresholds = {"min_id_acc": 90.0, "min_gain": 10.0}
    parts = ("tasks:sort (successor hint)", "train.Trainer (multitask)", "probe.length_gen")
    Config = Config
    scales = {
        "smoke": {"steps": 10, "d_model": 32, "n_layer": 1, "n_test": 5, "n_train": 200, "train_max": 4,
                  "test_lengths": "3,6"},
        "full": {"train_max": 20, "test_lengths": "10,20,30,40,60,80,100", "steps": 20000, "d_model": 256,
                 "n_layer": 4, "batch_size": 64, "lr": 5e-4, "n_train": 200000, "n_test": 200},
    }

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        curves, rows = {}, []
        test_lens = length_range(cfg.test_lengths)
        plain = make_task(f"sort:alphabet={cfg.alphabet}")
        test = plain.generate(cfg.n_test * len(test_lens), buckets(test_lens, 1), seed + 7919)
        with single_thread():
            for label, hint in (("plain", False), ("hinted", True)):
                task = make_task(f"sort:alphabet={cfg.alphabet},hint={hint},hint_frac={cfg.hint_frac}")
                trained = task.generate(cfg.n_train, buckets(range(2, cfg.train_max + 1), 1), seed)
                seen = {t.prompt for t in trained}
                split = Split(trained, [e for e in test if e.prompt not in seen])
                data = DataConfig(task="sort", train_lengths=f"2-{cfg.train_max}")
                run = train(lab(cfg, data), seed, f"sort {label}", split=split, task=task)
                acc = eval_by_length(run)
                ood = [k for k in acc if k[0] > cfg.train_max]
                metrics[f"{label}_id"] = pct(mean_over(acc, [k for k in acc if k[0] <= cfg.train_max]))
                metrics[f"{label}_ood"] = pct(mean_over(acc, ood))
                for k, v in acc.items():
                    metrics[f"{label}_len{k[0]}"] = pct(v)
                    rows.append((label, k[0], pct(v)))
                curves[label] = ([k[0] for k in acc], list(acc.values()))
        metrics["gain_ood"] = metrics["hinted_ood"] - metrics["plain_ood"]
        metrics["min_id"] = min(metrics["hinted_id"], metrics["plain_id"])
        plot_curves(curves, out_dir / "sorting.png", train_max=cfg.train_max, xlabel="sequence length",
                    title=f"sorting, trained on lengths ≤ {cfg.train_max}")
        write_csv(out_dir / "accuracy.csv", ["training", "length", "exact_match_pct"], rows)
        return Result(metrics, ["sorting.png", "accuracy.csv"])

    def checks(self, metrics):
        return [
            self.check("both models sort the training lengths (ID exact match, %)", metrics, "min_id", ">=",
                       "min_id_acc"),
            self.check("hinting minus plain on longer sequences (points)", metrics, "gain_ood", ">=",
                       "min_gain"),
        ]
