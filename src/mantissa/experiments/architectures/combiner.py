"""Combiner (#47): factorized full attention vs softmax attention, accuracy and cost.

Quality: the same char LM on WordNet glosses (RoPE, same data, seed and schedule) is
trained with softmax attention and with causal Combiner-Fixed attention
(:func:`mantissa.nn.combiner.combiner_attention`), once per seed; the claim is judged
on the seed-paired difference of next-character validation accuracy (Combiner minus
softmax): mean − 2·SE must stay above −1 point (the catalogue's "within 1 pt").

Cost: thread CPU time of one causal attention forward (1 batch × 4 heads × 16 dims,
one thread) against length, and the exponent of a log-log fit
(:mod:`mantissa.experiments._timing`). The gate: the timing sees softmax's quadratic
cost (its exponent above 1.5); the claim: Combiner's exponent is below 1.8 (its
O(L·√L) cost has exponent 1.5).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import torch

from mantissa import plot, runtime
from mantissa.catalogue.protocol import Check, Experiment, Result, register, seed_metrics
from mantissa.experiments._timing import cpu_timed, log_log_slope
from mantissa.nn import ATTENTION, Transformer, TransformerConfig
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, split_windows
from mantissa.train import TensorBatches, TrainConfig, Trainer, lm_loss

KERNELS = ("softmax", "combiner")


@dataclass
class Config:
    seeds: int = 3  # the accuracy difference is judged seed-paired (mean − 2·SE)
    steps: int = 600
    seq_len: int = 64
    d_model: int = 64
    n_layer: int = 2
    n_head: int = 4
    batch_size: int = 32
    n_chars: int = 300_000
    n_val: int = 256
    time_lengths: tuple[int, ...] = (256, 512, 1024, 2048, 4096)


@register
class Combiner(Experiment):
    id = "combiner"
    title = "Combiner: Full Attention Transformer with Sparse Computation Cost"
    paper = "#47"
    claim = ("Combiner's factorized attention keeps full-attention support at O(L·sqrt(L)) cost and "
             "matches full attention's quality.")
    paper_figure = "SOTA on image/text modelling; cost sub-quadratic in length"
    thresholds = {"min_softmax_acc": 35.0, "min_acc_diff_pts": -1.0, "max_time_exponent": 1.8,
                  "min_softmax_time_exponent": 1.5}
    history = (
        ("2026-12-04",
         "accuracy judged on the seed-paired Combiner − softmax difference over 3 seeds (mean − 2·SE "
         "> −1 pt; was: one seed, drop ≤ 1 pt); gates added (softmax LM reached 35 % next-char "
         "accuracy; softmax time exponent > 1.5); time measured as thread CPU time, best of 5 (was: "
         "wall time, best of 3); the time-exponent bar is now strict (< 1.8)",
         "protocol v2: margins beyond seed noise, gates apart from claims. The previous quick run "
         "(seed 0) had a 2.6 pt drop and exponents 1.67 (Combiner) / 2.20 (softmax) in wall time, "
         "which the shared machine makes noisy"),
    )
    parts = ("nn.combiner.combiner_attention", "nn.Transformer", "train.Trainer", "tasks.charlm")
    Config = Config
    scales = {
        "smoke": {"seeds": 2, "steps": 4, "seq_len": 16, "d_model": 16, "n_layer": 1, "n_chars": 20_000,
                  "n_val": 16, "time_lengths": (64, 128, 256)},
        "full": {"seeds": 5, "steps": 4000, "seq_len": 256, "d_model": 128, "n_layer": 4,
                 "n_chars": 2_000_000},
    }

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        with runtime.threads(1):  # tiny models: one thread is fastest and timings are steadier
            return self._run(cfg, seed, out_dir)

    @staticmethod
    def _val_acc(cfg: Config, tok: CharTokenizer, ids: torch.Tensor, kernel: str, seed: int) -> float:
        n_train = max(cfg.steps * cfg.batch_size // 4, cfg.batch_size)
        train, val = split_windows(ids, n_train, cfg.n_val, cfg.seq_len, seed)
        torch.manual_seed(seed)
        model = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=cfg.n_layer,
                                              n_head=cfg.n_head, d_model=cfg.d_model,
                                              max_len=cfg.seq_len + 1, pe="rope", attention=kernel))
        batches = TensorBatches(lm_batch(train), cfg.batch_size, seed=seed)
        Trainer(model, TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=3e-3, warmup=20,
                                   seed=seed), batches, progress_desc=f"combiner: {kernel} s{seed}").fit()
        model.eval()
        with torch.no_grad():
            _, logs = lm_loss(model, lm_batch(val))
        return 100 * logs["tok_acc"]

    def _run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        tok = CharTokenizer()
        ids = char_corpus(tok, "wordnet", cfg.n_chars)
        rows = []
        for s in range(seed, seed + cfg.seeds):
            acc = {k: self._val_acc(cfg, tok, ids, k, s) for k in KERNELS}
            rows.append([s, acc["softmax"], acc["combiner"], acc["combiner"] - acc["softmax"]])
        metrics: dict[str, float] = {
            "softmax_val_acc": sum(r[1] for r in rows) / len(rows),
            "combiner_val_acc": sum(r[2] for r in rows) / len(rows),
            **seed_metrics("acc_diff", [r[3] for r in rows])}
        times = {name: [cpu_timed(ATTENTION.get(name), t) for t in cfg.time_lengths] for name in KERNELS}
        for name, ts in times.items():
            metrics[f"{name}_time_exponent"] = log_log_slope(cfg.time_lengths, ts)
        metrics["time_ratio_softmax_over_combiner_at_max_len"] = times["softmax"][-1] / times["combiner"][-1]
        self._artifacts(cfg, rows, times, out_dir)
        return Result(metrics, ["time_vs_length.png", "time_vs_length.csv", "accuracy.csv"])

    @staticmethod
    def _artifacts(cfg: Config, rows: list[list[float]], times: dict[str, list[float]],
                   out_dir: Path) -> None:
        with open(out_dir / "accuracy.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["seed", "softmax_val_acc", "combiner_val_acc", "combiner_minus_softmax"])
            w.writerows([int(r[0]), *[f"{v:.3f}" for v in r[1:]]] for r in rows)
        with open(out_dir / "time_vs_length.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["length", *[f"{k}_cpu_ms" for k in times]])
            for i, t in enumerate(cfg.time_lengths):
                w.writerow([t, *[f"{1000 * v[i]:.3f}" for v in times.values()]])
        fig, ax = plot.figure()
        for name, ts in times.items():
            slope = log_log_slope(cfg.time_lengths, ts)
            ax.loglog(cfg.time_lengths, ts, "o-", label=f"{name} (slope {slope:.2f})")
        ax.set_xlabel("sequence length L")
        ax.set_ylabel("causal attention forward, thread CPU time (s)")
        ax.set_title("attention cost vs length (1×4 heads×16 dims, 1 CPU thread)")
        ax.legend()
        plot.save(fig, out_dir / "time_vs_length.png")

    def checks(self, m) -> list[Check]:
        return [
            self.check("softmax char LM learned (next-char validation accuracy, %, mean over seeds)", m,
                       "softmax_val_acc", ">", "min_softmax_acc", kind="gate"),
            self.check("the timing sees softmax's quadratic cost (log-log slope of softmax time vs length)",
                       m, "softmax_time_exponent", ">", "min_softmax_time_exponent", kind="gate"),
            self.check("Combiner minus softmax next-char accuracy, seed-paired mean − 2·SE (points)", m,
                       "acc_diff_lcb", ">", "min_acc_diff_pts",
                       paper_value="full-attention quality (SOTA on image/text modelling)"),
            self.check("log-log slope of Combiner attention time vs length", m, "combiner_time_exponent",
                       "<", "max_time_exponent", paper_value="O(L·√L): 1.5"),
        ]
