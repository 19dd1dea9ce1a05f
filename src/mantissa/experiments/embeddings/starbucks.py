"""Starbucks (paper #17): the fixed (layer, dim) schedule trained every step vs 2DMSE's
random sampling, at the same number of steps on the same batches, and vs a separately
trained model of the smallest size.

Data and evaluation as in ``2dmse``: WordNet noun+verb lemma → gloss pairs, nDCG@10 of
gloss retrieval on the held-out split, per (layer, dim) sub-model. Arms, each from the
packaged MiniLM with the same steps, batches and lr: the untuned base (evaluated only),
Starbucks, 2DMSE, and "separate": a model trained only on the smallest sub-model
(1 layer, 32 dims) — the paper's "separately trained" reference at that size (its loss
touches nothing above layer 1, so it equals fine-tuning a 1-layer, 32-dim model).

Gates: Starbucks and 2DMSE improve the full model over the base, and the separate model
improves (1, 32) over the base. Claims, on the schedule's own pairs (1, 32), (2, 64), ...,
(6, 384): Starbucks beats 2DMSE (strictly) on most of them; at (1, 32) by more than 0.01
nDCG@10; and at (1, 32) it is on par with the separately trained model (no more than 0.02
below it).
"""

from __future__ import annotations

from pathlib import Path

import torch

from mantissa.embed import wordnet_bench as bench
from mantissa.embed.pairs import subsample
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.train.embed_trainer import fit_embedding
from mantissa.train.losses import MINILM_PAIRS, Starbucks, TwoDMSE

LAYERS = (1, 2, 3, 4, 5, 6)
DIMS = (32, 64, 96, 128, 256, 384)


Config = card_config(__name__)  # the card's [config]: starbucks.toml


@register
class StarbucksExperiment(Experiment):
    id = "starbucks"

    def _tune(self, loss, cfg: Config, train, seed: int, data):
        model = bench.minilm(max_length=cfg.max_length)
        torch.manual_seed(seed)
        trainer = fit_embedding(model, loss, train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                                seed=seed, desc=f"{loss.name} fine-tune")
        return bench.grid(model, data, LAYERS, DIMS), trainer.history

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        splits = bench.wordnet_splits("lemma-gloss", ("n", "v"))
        train = subsample(splits.train, cfg.train_pairs, seed)
        data = bench.eval_pairs(splits.test, cfg.eval_pairs, seed)
        base = bench.grid(bench.minilm(max_length=cfg.max_length), data, LAYERS, DIMS)
        sb, sb_hist = self._tune(Starbucks(pairs=MINILM_PAIRS), cfg, train, seed, data)
        md, md_hist = self._tune(TwoDMSE(dims="32-64-96-128-256", seed=seed), cfg, train, seed, data)
        small = MINILM_PAIRS[0]
        sep, sep_hist = self._tune(Starbucks(pairs=(small,), kl_weight=0.0), cfg, train, seed, data)
        diff = sb - md
        cells = [(LAYERS.index(layer), DIMS.index(d)) for layer, d in MINILM_PAIRS]
        on_schedule = torch.tensor([float(diff[i, j]) for i, j in cells])
        i0, j0 = cells[0]
        arts = [bench.heatmap(out_dir / "starbucks.png", sb, LAYERS, DIMS, "Starbucks fine-tune: nDCG@10"),
                bench.heatmap(out_dir / "2dmse.png", md, LAYERS, DIMS, "2DMSE fine-tune: nDCG@10"),
                bench.heatmap(out_dir / "diff.png", diff, LAYERS, DIMS, "Starbucks − 2DMSE (nDCG@10)",
                        diverging=True),
                bench.loss_curve(out_dir / "loss.png", {"starbucks": sb_hist, "2dmse": md_hist,
                                                  "separate (1, 32)": sep_hist}, "training loss"),
                write_csv(out_dir / "grid.csv", ["layer", "dim", "base_ndcg10", "starbucks_ndcg10",
                                                 "2dmse_ndcg10", "separate_l1_d32_ndcg10", "diff"],
                          bench.grid_rows({"base": base, "sb": sb, "2dmse": md, "sep": sep, "diff": diff},
                                    LAYERS, DIMS))]
        return Result({
            "fraction_gt_schedule": float((on_schedule > 0).float().mean()),
            "fraction_gt_grid": float((diff > 0).float().mean()),
            "mean_diff_schedule": float(on_schedule.mean()),
            "base_l1_d32": float(base[i0, j0]), "starbucks_l1_d32": float(sb[i0, j0]),
            "2dmse_l1_d32": float(md[i0, j0]), "separate_l1_d32": float(sep[i0, j0]),
            "small_gain_l1_d32": float(diff[i0, j0]),
            "starbucks_minus_separate_l1_d32": float(sb[i0, j0] - sep[i0, j0]),
            "separate_minus_base_l1_d32": float(sep[i0, j0] - base[i0, j0]),
            "base_full": float(base[-1, -1]), "starbucks_full": float(sb[-1, -1]),
            "2dmse_full": float(md[-1, -1]),
            "starbucks_minus_base_full": float(sb[-1, -1] - base[-1, -1]),
            "2dmse_minus_base_full": float(md[-1, -1] - base[-1, -1]),
            "n_queries": len(data[0]), "steps": cfg.steps,
        }, arts)
