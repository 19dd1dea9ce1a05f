"""Relative representations (paper #39): zero-shot stitching of encoders trained
from different seeds works with relative representations and fails with absolute ones.

Wires :mod:`mantissa.probe.relative` on scikit-learn's digits (real 8x8 images).

Gates: both kinds of model learned the task end to end. Claims: stitched relative
models lose less than 5 points against end to end, and stitched absolute models
stay within 30 points of chance (strict comparisons; a tie fails).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
from torch import nn

from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import atomic_write
from mantissa.plot import figure, save
from mantissa.probe.relative import RelativeClassifier, latent_similarity, pick_anchors
from mantissa.train.steps import minibatches, run_steps

Config = card_config(__name__)  # the card's [config]: relative_reps.toml


def _encoder(dim: int, hidden: int, latent: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                         nn.Linear(hidden, latent))


def _train(model: RelativeClassifier, x, y, anchors, steps: int, lr: float, seed: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    run_steps(opt, steps, minibatches(model, x, y, 128, seed, lambda m, xb: m(xb, anchors)),
              desc=f"training {model.mode} model (seed {seed})")


def _acc(logits, y) -> float:
    return 100 * float((logits.argmax(-1) == y).float().mean())


@register
class RelativeReps(Experiment):
    id = "relative-reps"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        ds = load_sklearn(cfg.dataset)
        train, test = ds.split(0.3, seed)
        mu, sd = train.X.mean(0), train.X.std(0).clamp_min(1e-6)
        xtr, xte = (train.X - mu) / sd, (test.X - mu) / sd
        n_classes = int(ds.y.max()) + 1
        anchors = xtr[pick_anchors(len(xtr), cfg.n_anchors, torch.Generator().manual_seed(seed))]
        rows, metrics = [], {}
        models: dict[str, list[RelativeClassifier]] = {}
        for mode in ("relative", "absolute"):
            models[mode] = []
            for s in range(cfg.seeds):
                torch.manual_seed(seed * 1000 + s)
                m = RelativeClassifier(_encoder(xtr.shape[1], cfg.hidden, cfg.latent), cfg.latent,
                                       cfg.n_anchors, n_classes, mode)
                _train(m, xtr, train.y, anchors, cfg.steps, cfg.lr, seed * 1000 + s)
                models[mode].append(m.eval())
        with torch.no_grad():
            for mode, ms in models.items():
                e2e = [_acc(m(xte, anchors), test.y) for m in ms]
                stitched = [_acc(a.stitch(b, xte, anchors), test.y) for a, b in itertools.permutations(ms, 2)]
                sims = [latent_similarity(a.represent(xte, anchors), b.represent(xte, anchors))
                        for a, b in itertools.combinations(ms, 2)]
                metrics[f"{mode}_end_to_end"] = sum(e2e) / len(e2e)
                metrics[f"{mode}_stitched"] = sum(stitched) / len(stitched)
                metrics[f"{mode}_latent_cosine"] = sum(sims) / len(sims)
                rows.append((mode, metrics[f"{mode}_end_to_end"], metrics[f"{mode}_stitched"],
                             metrics[f"{mode}_latent_cosine"]))
        chance = 100.0 * float(torch.bincount(test.y).max()) / len(test.y)
        metrics["chance"] = chance
        metrics["relative_gap"] = metrics["relative_end_to_end"] - metrics["relative_stitched"]
        metrics["absolute_stitch_over_chance"] = metrics["absolute_stitched"] - chance
        return Result(metrics, self._artifacts(rows, chance, out_dir))

    @staticmethod
    def _artifacts(rows, chance: float, out_dir: Path) -> list[str]:
        lines = ["mode,end_to_end_acc,stitched_acc,cross_seed_latent_cosine"]
        lines += [f"{m},{a:.2f},{b:.2f},{c:.4f}" for m, a, b, c in rows]
        atomic_write(out_dir / "stitching.csv", "\n".join(lines) + "\n")
        fig, ax = figure()
        xs = range(len(rows))
        ax.bar([x - 0.2 for x in xs], [r[1] for r in rows], 0.4, label="end-to-end")
        ax.bar([x + 0.2 for x in xs], [r[2] for r in rows], 0.4, label="stitched across seeds")
        ax.axhline(chance, color="gray", ls="--", label="majority class")
        ax.set_xticks(list(xs), [r[0] for r in rows])
        ax.set_ylabel("test accuracy (%)")
        ax.legend()
        save(fig, out_dir / "stitching.png")
        return ["stitching.csv", "stitching.png"]
