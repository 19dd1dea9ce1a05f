"""Improving Length-Generalization in Transformers via Task Hinting
(Awasthi & Gupta, 2023), paper #48.

Sorting trained on sequences of at most ``train_max`` letters and tested on
longer ones, plain versus multitask training with the *successor* hint task
(given the sequence and one element, output the next element of the sorted
order), half of the training examples each. Parts: ``tasks:sort:hint=true``.

Gate: both models sort the training lengths. Claim: hinting raises exact match
on longer sequences by more than 10 points. ``pe`` sets the positional
encoding; the default is NoPE: learned absolute positions (``ape``) have no
embedding for the positions of the longer test sequences, so both models
score 0 % there whatever the training. The test reaches 3× the training
length (the paper: 5×), where the plain model starts to fail.

Quick: 2 models × 9000 steps, about 5-6 minutes on 2 cores (CPU, one thread);
both pass the gate (plain 100 %, hinted 98.7 % in distribution). Full
(``device=auto``: lengths ≤ 20 → 100, 200k samples, 2 × 20000 steps of a
4-layer d = 256 model): about 8 ms a step on one H200, about 8 minutes in
all (decoding 100-element sorts without a KV cache included).
"""

from __future__ import annotations

from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.probe.length_gen import mean_over, plot_curves
from mantissa.tasks import Split, buckets, length_range, make_task
from mantissa.train.knobs import eval_by_length, lab, pct, train
from mantissa.train.pipeline import DataConfig

Config = card_config(__name__)  # the card's [config]: task_hinting.toml


@register
class TaskHinting(Experiment):
    id = "task-hinting"

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        curves, rows = {}, []
        test_lens = length_range(cfg.test_lengths)
        plain = make_task(f"sort:alphabet={cfg.alphabet}")
        test = plain.generate(cfg.n_test * len(test_lens), buckets(test_lens, 1), seed + 7919)
        for label, hint in (("plain", False), ("hinted", True)):
            task = make_task(f"sort:alphabet={cfg.alphabet},hint={hint},hint_frac={cfg.hint_frac}")
            trained = task.generate(cfg.n_train, buckets(range(2, cfg.train_max + 1), 1), seed)
            seen = {t.prompt for t in trained}
            split = Split(trained, [e for e in test if e.prompt not in seen])
            data = DataConfig(task="sort", train_lengths=f"2-{cfg.train_max}")
            run = train(lab(cfg, data, pe=cfg.pe), seed, f"sort {label}", split=split, task=task)
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
        return Result(metrics, ["sorting.png"],
                      tables={"accuracy.csv": (["training", "length", "exact_match_pct"], rows)})
