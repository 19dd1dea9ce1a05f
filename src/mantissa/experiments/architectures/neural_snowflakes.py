"""Neural Snowflakes (paper #45): an MLP encoder followed by a trainable snowflake
metric embeds a tree metric with lower distortion than the same MLP with the
Euclidean metric.

The tree is WordNet's noun hierarchy (each synset under its first hypernym);
a random ancestor-closed subtree of ``n_nodes`` synsets gives the exact
shortest-path metric (:mod:`mantissa.probe.distortion`). Each node's input is its
one-hot vector; :class:`mantissa.nn.snowflake.MetricEmbedding` is trained with the
generic Trainer on the relative squared error ``(e/d - 1)^2`` of random pairs, for
each latent dimension in ``dims``; then average and worst-case distortion over
all pairs are measured. Without WordNet a seeded random tree stands in
(``metric wordnet = 0``).

Each of ``seeds`` seeds (seed, seed+1, ...) samples its own subtree and trains both
metrics on it; the claims are judged on the seed-paired relative reduction of the
distortion (1 − snowflake / Euclidean, mean over dims): mean − 2·SE above a margin.
Gate: the Euclidean baseline learned the metric (its average distortion, mean over
dims and seeds, below ``max_baseline_distortion``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch

from mantissa import plot, runtime
from mantissa.data import load_wordnet_glosses, wordnet_available
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import atomic_write
from mantissa.nn.snowflake import METRICS, MetricEmbedding
from mantissa.probe.distortion import (
    ancestor_closed_sample,
    distortion_report,
    hypernym_forest,
    induced_parent,
    tree_distances,
)
from mantissa.train import TrainConfig, Trainer

Config = card_config(__name__)  # the card's [config]: neural_snowflakes.toml


def _tree(cfg: Config, seed: int) -> tuple[np.ndarray, float]:
    if cfg.source == "wordnet" and wordnet_available():
        _, parent = hypernym_forest(load_wordnet_glosses("n"))
        real = 1.0
    else:
        rng = np.random.default_rng(seed)
        parent = [-1] + [int(rng.integers(max(0, i - 30), i)) for i in range(1, 20 * cfg.n_nodes)]
        real = 0.0
    nodes = ancestor_closed_sample(parent, cfg.n_nodes, seed=seed)
    return tree_distances(induced_parent(parent, nodes), range(cfg.n_nodes)), real


class _Model(torch.nn.Module):
    def __init__(self, n: int, dim: int, hidden: int, metric: str) -> None:
        super().__init__()
        self.net = MetricEmbedding(n, dim, hidden=hidden, metric=metric)
        self.register_buffer("x", torch.eye(n))

    def forward(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        return self.net.pair_distances(self.x, i, j)


def _fit(dist: torch.Tensor, dim: int, metric: str, cfg: Config, seed: int) -> dict[str, float]:
    n = len(dist)
    iu, ju = torch.triu_indices(n, n, 1)

    def batches(step: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        k = torch.randint(0, len(iu), (min(cfg.pairs_per_step, len(iu)),), generator=g)
        return {"i": iu[k], "j": ju[k], "d": dist[iu[k], ju[k]]}

    def loss_fn(model, batch):
        e = model(batch["i"], batch["j"])
        return ((e / batch["d"] - 1) ** 2).mean(), {}

    torch.manual_seed(seed)
    model = _Model(n, dim, cfg.hidden, metric)
    tcfg = TrainConfig(steps=cfg.steps, lr=cfg.lr, warmup=cfg.steps // 20, weight_decay=0.0, log_every=0,
                       seed=seed)
    Trainer(model, tcfg, batches, loss_fn=loss_fn, progress_desc=f"{metric} dim={dim}").fit()
    with torch.no_grad():
        emb = model.net.distances(model.x)
    return distortion_report(dist, emb)


@register
class NeuralSnowflakes(Experiment):
    id = "neural-snowflakes"
    # margins fixed before the seeded run: a relative reduction of 1 % of the average distortion (the
    # paper: lower distortion than Euclidean) and any reduction (> 0) of the worst-case distortion

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        dims = [int(d) for d in cfg.dims.split(",") if d.strip()]
        seeds = list(range(seed, seed + max(2, cfg.seeds)))
        metrics: dict[str, float] = {}
        avg_red, worst_red, base = [], [], []
        first = None
        for s in seeds:
            tree, real = _tree(cfg, s)
            dist = torch.tensor(tree, dtype=torch.float32)
            with runtime.threads(1):
                table = {(dim, m): _fit(dist, dim, m, cfg, s) for dim in dims for m in METRICS}
            first = first or table
            metrics.update({"wordnet": real, f"tree_diameter_s{s}": float(tree.max())})
            for dim in dims:
                for m in METRICS:
                    for k, v in table[dim, m].items():
                        metrics[f"{k}_{m}_d{dim}_s{s}"] = v
            mean = {(m, k): float(np.mean([table[d, m][k] for d in dims]))
                    for m in METRICS for k in ("avg_distortion", "worst_distortion")}
            snow = {k: mean["snowflake", k] for k in ("avg_distortion", "worst_distortion")}
            avg_red.append(1 - snow["avg_distortion"] / mean["euclidean", "avg_distortion"])
            worst_red.append(1 - snow["worst_distortion"] / mean["euclidean", "worst_distortion"])
            base.append(mean["euclidean", "avg_distortion"])
            metrics[f"dims_won_fraction_s{s}"] = float(np.mean(
                [table[d, "snowflake"]["avg_distortion"] < table[d, "euclidean"]["avg_distortion"]
                 for d in dims]))
        metrics.update(seed_metrics("avg_distortion_reduction", avg_red))
        metrics.update(seed_metrics("worst_distortion_reduction", worst_red))
        metrics["avg_distortion_euclidean"] = float(np.mean(base))
        metrics["distortion_ratio"] = 1 - metrics["avg_distortion_reduction_mean"]
        return Result(metrics, self._artifacts(first, dims, out_dir))

    def _artifacts(self, table, dims, out_dir: Path) -> list[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        keys = ("avg_distortion", "worst_distortion", "spearman")
        w.writerow(["dim", "metric", *keys])
        for (dim, m), rep in table.items():
            w.writerow([dim, m, *(f"{rep[k]:.4f}" for k in keys)])
        atomic_write(out_dir / "distortion.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        for m in METRICS:
            ax.plot(dims, [table[d, m]["avg_distortion"] for d in dims], "o-", label=m)
        ax.set_xlabel("latent dimension")
        ax.set_ylabel("average distortion (WordNet subtree)")
        ax.set_xscale("log", base=2)
        ax.legend()
        plot.save(fig, out_dir / "distortion.png")
        return ["distortion.csv", "distortion.png"]
