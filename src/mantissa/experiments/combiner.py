"""Combiner (#47): factorized full attention vs softmax attention, accuracy and cost."""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mantissa import plot, runtime
from mantissa.experiments.base import Check, Experiment, Result, register
from mantissa.nn import ATTENTION, Transformer, TransformerConfig
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, split_windows
from mantissa.train import TensorBatches, TrainConfig, Trainer, lm_loss


@dataclass
class Config:
    steps: int = 600
    seq_len: int = 64
    d_model: int = 64
    n_layer: int = 2
    n_head: int = 4
    batch_size: int = 32
    n_chars: int = 300_000
    n_val: int = 256
    time_lengths: tuple[int, ...] = (256, 512, 1024, 2048, 4096)


def _timed(kernel, t: int, repeats: int = 3) -> float:
    q, k, v = (torch.randn(1, 4, t, 16) for _ in range(3))
    kernel(q, k, v)  # warm-up
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        kernel(q, k, v)
        best = min(best, time.perf_counter() - t0)
    return best


def _slope(lengths: tuple[int, ...], times: list[float]) -> float:
    return float(np.polyfit(np.log(lengths), np.log(times), 1)[0])


@register
class Combiner(Experiment):
    id = "combiner"
    title = "Combiner: Full Attention Transformer with Sparse Computation Cost"
    paper = "#47"
    claim = ("Combiner's factorized attention keeps full-attention support at O(L·sqrt(L)) cost and "
             "matches full attention's quality.")
    paper_figure = "SOTA on image/text modelling; cost sub-quadratic in length"
    thresholds = {"max_acc_drop_pts": 1.0, "max_time_exponent": 1.8}
    parts = ("nn.combiner.combiner_attention", "nn.Transformer", "train.Trainer", "tasks.charlm")
    Config = Config
    scales = {
        "smoke": {"steps": 4, "seq_len": 16, "d_model": 16, "n_layer": 1, "n_chars": 20_000, "n_val": 16,
                  "time_lengths": (64, 128, 256)},
        "full": {"steps": 4000, "seq_len": 256, "d_model": 128, "n_layer": 4, "n_chars": 2_000_000},
    }

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        with runtime.threads(1):  # tiny models: one thread is fastest and timings are steadier
            return self._run(cfg, seed, out_dir)

    def _run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        tok = CharTokenizer()
        ids = char_corpus(tok, "wordnet", cfg.n_chars)
        n_train = max(cfg.steps * cfg.batch_size // 4, cfg.batch_size)
        train, val = split_windows(ids, n_train, cfg.n_val, cfg.seq_len, seed)
        metrics: dict[str, float] = {}
        for kernel in ("softmax", "combiner"):
            torch.manual_seed(seed)
            model = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=cfg.n_layer,
                                                  n_head=cfg.n_head, d_model=cfg.d_model,
                                                  max_len=cfg.seq_len + 1, pe="rope", attention=kernel))
            batches = TensorBatches(lm_batch(train),
                                    cfg.batch_size, seed=seed)
            Trainer(model, TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=3e-3, warmup=20,
                                       seed=seed), batches, progress_desc=f"combiner: {kernel}").fit()
            model.eval()
            with torch.no_grad():
                loss, logs = lm_loss(model, lm_batch(val))
            metrics[f"{kernel}_val_acc"] = 100 * logs["tok_acc"]
            metrics[f"{kernel}_val_loss"] = float(loss)
        metrics["acc_drop_pts"] = metrics["softmax_val_acc"] - metrics["combiner_val_acc"]
        times = {name: [_timed(ATTENTION.get(name), t) for t in cfg.time_lengths]
                 for name in ("softmax", "combiner")}
        for name, ts in times.items():
            metrics[f"{name}_time_exponent"] = _slope(cfg.time_lengths, ts)
        self._artifacts(cfg, times, out_dir)
        return Result(metrics, ["time_vs_length.png", "time_vs_length.csv"])

    @staticmethod
    def _artifacts(cfg: Config, times: dict[str, list[float]], out_dir: Path) -> None:
        with open(out_dir / "time_vs_length.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["length", *[f"{k}_ms" for k in times]])
            for i, t in enumerate(cfg.time_lengths):
                w.writerow([t, *[f"{1000 * v[i]:.3f}" for v in times.values()]])
        fig, ax = plot.figure()
        for name, ts in times.items():
            ax.loglog(cfg.time_lengths, ts, "o-", label=name)
        ax.set_xlabel("sequence length L")
        ax.set_ylabel("attention forward time (s)")
        ax.set_title("attention cost vs length (1×4 heads×16 dims, 1 CPU thread)")
        ax.legend()
        plot.save(fig, out_dir / "time_vs_length.png")

    def checks(self, m: dict[str, float]) -> list[Check]:
        return [
            self.check("next-char accuracy drop vs softmax attention (points)", m, "acc_drop_pts", "<=",
                       "max_acc_drop_pts"),
            self.check("log-log slope of Combiner time vs length", m, "combiner_time_exponent", "<=",
                       "max_time_exponent"),
        ]
