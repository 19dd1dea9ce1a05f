"""2DMSE (paper #31): every (layer, dim) sub-model of MiniLM fine-tuned with 2DMSE
against the same sub-models of a plain fine-tune and of a 1-D Matryoshka fine-tune.

Data: WordNet noun+verb ``lemma-gloss`` pairs (train split); evaluation: retrieval of
the gloss from the word on the held-out test split, nDCG@10, for every layer 1..6 and
dims 32..384. Three arms fine-tune MiniLM from the same weights on the same batches,
steps, learning rate and seed, with in-batch contrastive loss (InfoNCE) as the base
loss: plain (last layer, full width), Matryoshka (last layer, nested dims
``train_dims`` + full) and 2DMSE (a random shallow layer and dim each step, plus KL
alignment to the last layer). Heatmaps of each arm and of the differences.

Gate: the plain fine-tune beats the untuned base on the full model (the baseline
trained). Claims: the mean nDCG@10 over the grid of 2DMSE minus plain, and minus
Matryoshka, each above a margin of 0.01 (one point).
"""

from __future__ import annotations

from pathlib import Path

import torch

from mantissa.embed import wordnet_bench as bench
from mantissa.embed.pairs import subsample
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.train.embed_trainer import fit_embedding
from mantissa.train.losses import InfoNCE, Matryoshka, TwoDMSE

LAYERS = (1, 2, 3, 4, 5, 6)
ARMS = ("plain", "matryoshka", "2dmse")


Config = card_config(__name__)  # the card's [config]: two_d_mse.toml


@register
class TwoDMSEExperiment(Experiment):
    id = "2dmse"

    def _loss(self, arm: str, cfg: Config, seed: int):
        if arm == "plain":
            return InfoNCE()
        if arm == "matryoshka":
            return Matryoshka(dims=f"{cfg.train_dims}-384")
        return TwoDMSE(dims=cfg.train_dims, seed=seed)

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        splits = bench.wordnet_splits("lemma-gloss", ("n", "v"))
        train = subsample(splits.train, cfg.train_pairs, seed)
        data = bench.eval_pairs(splits.test, cfg.eval_pairs, seed)
        dims = [int(d) for d in cfg.dims.split("-")]
        grids, hist = {}, {}
        for arm in ARMS:
            model = bench.minilm(max_length=cfg.max_length)
            if arm == ARMS[0]:
                grids["base"] = bench.grid(model, data, LAYERS, dims)
            torch.manual_seed(seed)
            tr = fit_embedding(model, self._loss(arm, cfg, seed), train, steps=cfg.steps,
                               batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, desc=f"{arm} fine-tune")
            grids[arm], hist[arm] = bench.grid(model, data, LAYERS, dims), tr.history
        gains = {b: grids["2dmse"] - grids[b] for b in ("base", "plain", "matryoshka")}
        arts = [bench.heatmap(out_dir / f"{k}.png", v, LAYERS, dims, f"{k}: nDCG@10 per (layer, dim)")
                for k, v in grids.items()]
        arts += [bench.heatmap(out_dir / f"gain_vs_{b}.png", g, LAYERS, dims, f"2DMSE − {b} (nDCG@10)",
                         diverging=True) for b, g in gains.items()]
        arts += [bench.loss_curve(out_dir / "loss.png", hist, "training loss"),
                 write_csv(out_dir / "grid.csv", ["layer", "dim", *(f"{k}_ndcg10" for k in grids)],
                           bench.grid_rows(grids, LAYERS, dims))]
        m: dict[str, float] = {f"{k}_mean": float(v.mean()) for k, v in grids.items()}
        m.update({f"{k}_full": float(v[-1, -1]) for k, v in grids.items()})
        m.update({f"{k}_l1_d32": float(v[0, 0]) for k, v in grids.items()})
        for b, g in gains.items():
            m[f"gain_vs_{b}"] = float(g.mean())
            m[f"fraction_better_vs_{b}"] = float((g > 0).float().mean())
            m[f"min_gain_vs_{b}"] = float(g.min())
        m.update(baseline_gain=m["plain_full"] - m["base_full"], n_cells=gains["plain"].numel(),
                 n_queries=len(data[0]), steps=cfg.steps)
        return Result(m, arts)
