"""Starbucks (paper #17): the fixed (layer, dim) schedule trained every step vs 2DMSE's
random sampling, at the same number of steps on the same batches.

Data and evaluation as in ``2dmse``: WordNet noun+verb lemma → gloss pairs, nDCG@10 of
gloss retrieval on the held-out split, per (layer, dim) sub-model. The check runs on the
Starbucks schedule's own pairs, (1, 32), (2, 64), ..., (6, 384).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mantissa.embed.pairs import subsample
from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._embed_common import (
    eval_pairs,
    grid,
    grid_rows,
    heatmap,
    loss_curve,
    minilm,
    wordnet_splits,
    write_csv,
)
from mantissa.train.embed_trainer import fit_embedding
from mantissa.train.losses import MINILM_PAIRS, Starbucks, TwoDMSE

LAYERS = (1, 2, 3, 4, 5, 6)
DIMS = (32, 64, 96, 128, 256, 384)


@dataclass
class Config:
    steps: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    max_length: int = 32
    train_pairs: int = 20000
    eval_pairs: int = 800


@register
class StarbucksExperiment(Experiment):
    id = "starbucks"
    title = "Starbucks: Improved Training for 2D Matryoshka Embeddings"
    paper = "#17"
    claim = ("Training all (layer, dim) pairs of a fixed small-to-large schedule every step (Starbucks) "
             "gives sub-models at least as good as 2DMSE's random sampling, on most pairs, at equal steps.")
    paper_figure = ("STS average at 2 layers / 32 dims: Starbucks .736 vs 2DMSE .684; "
                    "on par with separately trained models")
    thresholds = {"min_fraction_geq": 0.5, "min_small_gain": 0.0}
    parts = ("train.losses:starbucks", "train.losses:2dmse", "probe.retrieval_metrics")
    Config = Config
    scales = {"smoke": {"steps": 2, "batch_size": 8, "train_pairs": 64, "eval_pairs": 48},
              "full": {"steps": 1500, "max_length": 64, "train_pairs": 100000, "eval_pairs": 3000}}

    def _tune(self, loss, cfg: Config, train, seed: int, data):
        model = minilm(max_length=cfg.max_length)
        torch.manual_seed(seed)
        trainer = fit_embedding(model, loss, train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                                seed=seed, desc=f"{loss.name} fine-tune")
        return grid(model, data, LAYERS, DIMS), trainer.history

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        splits = wordnet_splits("lemma-gloss", ("n", "v"))
        train = subsample(splits.train, cfg.train_pairs, seed)
        data = eval_pairs(splits.test, cfg.eval_pairs, seed)
        sb, sb_hist = self._tune(Starbucks(pairs=MINILM_PAIRS), cfg, train, seed, data)
        md, md_hist = self._tune(TwoDMSE(dims="32-64-96-128-256", seed=seed), cfg, train, seed, data)
        diff = sb - md
        cells = [(LAYERS.index(layer), DIMS.index(d)) for layer, d in MINILM_PAIRS]
        on_schedule = torch.tensor([float(diff[i, j]) for i, j in cells])
        arts = [heatmap(out_dir / "starbucks.png", sb, LAYERS, DIMS, "Starbucks fine-tune: nDCG@10"),
                heatmap(out_dir / "2dmse.png", md, LAYERS, DIMS, "2DMSE fine-tune: nDCG@10"),
                heatmap(out_dir / "diff.png", diff, LAYERS, DIMS, "Starbucks − 2DMSE (nDCG@10)",
                        diverging=True),
                loss_curve(out_dir / "loss.png", {"starbucks": sb_hist, "2dmse": md_hist}, "training loss"),
                write_csv(out_dir / "grid.csv", ["layer", "dim", "starbucks_ndcg10", "2dmse_ndcg10", "diff"],
                          grid_rows({"sb": sb, "2dmse": md, "diff": diff}, LAYERS, DIMS))]
        return Result({
            "fraction_geq_schedule": float((on_schedule >= 0).float().mean()),
            "fraction_geq_grid": float((diff >= 0).float().mean()),
            "mean_diff_schedule": float(on_schedule.mean()),
            "starbucks_l1_d32": float(sb[0, 0]), "2dmse_l1_d32": float(md[0, 0]),
            "small_gain_l1_d32": float(diff[0, 0]),
            "starbucks_full": float(sb[-1, -1]), "2dmse_full": float(md[-1, -1]),
            "n_queries": len(data[0]), "steps": cfg.steps,
        }, arts)

    def checks(self, metrics):
        return [
            self.check("fraction of schedule (layer, dim) pairs where Starbucks >= 2DMSE", metrics,
                       "fraction_geq_schedule", ">", "min_fraction_geq"),
            self.check("smallest sub-model (1 layer, 32 dims): Starbucks − 2DMSE nDCG@10", metrics,
                       "small_gain_l1_d32", ">=", "min_small_gain"),
        ]
