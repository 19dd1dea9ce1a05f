"""Combiner (#47): factorized full attention vs softmax attention, accuracy and cost.

Quality: the same char LM on WordNet glosses (RoPE, same data, seed and schedule) is
trained with softmax attention and with causal Combiner-Fixed attention
(:func:`mantissa.nn.combiner.combiner_attention`), once per seed; the claim is judged
on the seed-paired difference of next-character validation accuracy (Combiner minus
softmax): mean − 2·SE must stay above −1 point (the catalogue's "within 1 pt").

Cost: thread CPU time of one causal attention forward (1 batch × 4 heads × 16 dims,
one thread) against length, and the exponent of a log-log fit
(:mod:`mantissa.nn.attention_cost`). The gate: the timing sees softmax's quadratic
cost (its exponent above 1.5); the claim: Combiner's exponent is below 1.8 (its
O(L·√L) cost has exponent 1.5).
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from mantissa import plot
from mantissa.catalogue.protocol import Experiment, Result, register, seed_metrics
from mantissa.experiments import card_config
from mantissa.models import Transformer, TransformerConfig
from mantissa.nn import ATTENTION
from mantissa.nn.attention_cost import cpu_timed, log_log_slope
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, split_windows
from mantissa.train import TensorBatches, TrainConfig, Trainer, lm_loss

KERNELS = ("softmax", "combiner")


Config = card_config(__name__)  # the card's [config]: combiner.toml


@register
class Combiner(Experiment):
    id = "combiner"

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

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
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
