"""2DMSE (paper #31): every (layer, dim) sub-model of MiniLM fine-tuned with 2DMSE
beats the same truncation of the base model.

Data: WordNet noun+verb ``lemma-gloss`` pairs (train split); evaluation: retrieval of
the gloss from the word on the held-out test split, nDCG@10, for every layer 1..6 and
dims 32..384 (a heatmap of the base, the fine-tune and their difference).
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
from mantissa.train.losses import TwoDMSE

LAYERS = (1, 2, 3, 4, 5, 6)


@dataclass
class Config:
    steps: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    max_length: int = 32
    train_pairs: int = 20000
    eval_pairs: int = 800
    dims: str = "32-64-128-256-384"
    train_dims: str = "32-64-128-256"


@register
class TwoDMSEExperiment(Experiment):
    id = "2dmse"
    title = "2D Matryoshka Sentence Embeddings"
    paper = "#31"
    claim = ("Fine-tuning with the 2DMSE loss (a random shallow layer and a random dim each step, plus KL "
             "alignment to the last layer) makes every (layer, dim) sub-model of MiniLM better than the same "
             "truncation of the base model.")
    paper_figure = "elastic layers and dims: shallow sub-models gain most (STS, BERT-base)"
    thresholds = {"min_fraction_better": 1.0, "min_mean_gain": 0.0}
    parts = ("train.losses:2dmse", "embed.encoder", "probe.retrieval_metrics")
    Config = Config
    scales = {"smoke": {"steps": 2, "batch_size": 8, "train_pairs": 64, "eval_pairs": 48},
              "full": {"steps": 1500, "max_length": 64, "train_pairs": 100000, "eval_pairs": 3000}}

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        splits = wordnet_splits("lemma-gloss", ("n", "v"))
        train = subsample(splits.train, cfg.train_pairs, seed)
        data = eval_pairs(splits.test, cfg.eval_pairs, seed)
        dims = [int(d) for d in cfg.dims.split("-")]
        model = minilm(max_length=cfg.max_length)
        base = grid(model, data, LAYERS, dims)
        torch.manual_seed(seed)
        trainer = fit_embedding(model, TwoDMSE(dims=cfg.train_dims, seed=seed), train, steps=cfg.steps,
                                batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, desc="2DMSE fine-tune")
        tuned = grid(model, data, LAYERS, dims)
        gain = tuned - base
        arts = [heatmap(out_dir / "base.png", base, LAYERS, dims, "base MiniLM: nDCG@10 per (layer, dim)"),
                heatmap(out_dir / "2dmse.png", tuned, LAYERS, dims, "2DMSE fine-tune: nDCG@10"),
                heatmap(out_dir / "gain.png", gain, LAYERS, dims, "2DMSE − base (nDCG@10)", diverging=True),
                loss_curve(out_dir / "loss.png", {"2dmse": trainer.history}, "2DMSE training loss"),
                write_csv(out_dir / "grid.csv", ["layer", "dim", "base_ndcg10", "2dmse_ndcg10", "gain"],
                          grid_rows({"base": base, "2dmse": tuned, "gain": gain}, LAYERS, dims))]
        return Result({
            "fraction_better": float((gain > 0).float().mean()),
            "mean_gain": float(gain.mean()),
            "min_gain": float(gain.min()),
            "base_full": float(base[-1, -1]), "tuned_full": float(tuned[-1, -1]),
            "base_l1_d32": float(base[0, 0]), "tuned_l1_d32": float(tuned[0, 0]),
            "n_cells": gain.numel(), "n_queries": len(data[0]), "steps": cfg.steps,
        }, arts)

    def checks(self, metrics):
        return [
            self.check("fraction of (layer, dim) sub-models better than the base truncation", metrics,
                       "fraction_better", ">=", "min_fraction_better"),
            self.check("mean nDCG@10 gain over the grid", metrics, "mean_gain", ">", "min_mean_gain"),
        ]
