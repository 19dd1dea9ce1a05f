"""EvoNorm (paper #13): the evolved batch-independent layer EvoNorm-S0 matches the
hand-designed BatchNorm-ReLU pair inside the same CNN.

Wires :mod:`mantissa.nn.evonorm` (``NormActCNN`` with the ``NORM`` slots
``bn-relu``, ``evonorm-s0``, ``evonorm-b0``, ``gn-relu``) into the generic
:class:`~mantissa.train.Trainer` on scikit-learn's 8x8 digits. Every layer sees the
same splits, initial seeds and schedule; accuracies are averaged over seeds. The
paper's evolutionary search over layer graphs is not run here (the layers it
found are).

Gate: the BatchNorm-ReLU baseline reached 95 % test accuracy. Claim: EvoNorm-S0
is within 1 point of BN-ReLU, judged on the seed-paired difference S0 − BN:
mean − 2·SE over the seeds must be above −1 point. EvoNorm-B0's difference is
reported beside it (``b0_minus_bn_*``), not judged.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import torch
import torch.nn.functional as F

from mantissa import plot
from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import atomic_write
from mantissa.nn.evonorm import NormActCNN
from mantissa.train import TensorBatches, TrainConfig, Trainer

LAYERS = ("bn-relu", "evonorm-s0", "evonorm-b0", "gn-relu")


Config = card_config(__name__)  # the card's [config]: evonorm.toml


def _ce(model, batch):
    logits = model(batch["x"])
    loss = F.cross_entropy(logits, batch["y"])
    return loss, {"acc": float((logits.argmax(-1) == batch["y"]).float().mean())}


@torch.no_grad()
def _accuracy(model, x, y) -> float:
    model.eval()
    acc = float((model(x).argmax(-1) == y).float().mean()) * 100
    model.train()
    return acc


def _train_one(layer: str, cfg: Config, data, seed: int) -> float:
    (xtr, ytr), (xte, yte) = data
    spec = f"{layer}:groups={cfg.groups}" if layer in ("evonorm-s0", "gn-relu") else layer
    torch.manual_seed(seed)
    model = NormActCNN(spec, width=cfg.width, depth=cfg.depth)
    tcfg = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.steps // 20,
                       weight_decay=1e-4, log_every=0, seed=seed)
    batches = TensorBatches({"x": xtr, "y": ytr}, cfg.batch_size, seed=seed, trim_key=None)
    Trainer(model, tcfg, batches, loss_fn=_ce, progress_desc=f"{layer} s{seed}").fit()
    return _accuracy(model, xte, yte)


def _split(seed: int, test_fraction: float):
    train, test = load_sklearn("digits").split(test_fraction, seed=seed)
    prep = lambda d: (d.X.view(-1, 1, 8, 8) / 16.0, d.y)  # noqa: E731
    return prep(train), prep(test)


@register
class EvoNorm(Experiment):
    id = "evonorm"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows = []
        for s in range(seed, seed + cfg.seeds):
            data = _split(s, cfg.test_fraction)
            rows.append({layer: _train_one(layer, cfg, data, s) for layer in LAYERS})
        mean = {layer: sum(r[layer] for r in rows) / len(rows) for layer in LAYERS}
        metrics = {f"acc_{k.replace('-', '_')}": v for k, v in mean.items()}
        metrics["gap_bn_minus_s0"] = mean["bn-relu"] - mean["evonorm-s0"]
        metrics["gap_bn_minus_b0"] = mean["bn-relu"] - mean["evonorm-b0"]
        metrics.update(seed_metrics("s0_minus_bn", [r["evonorm-s0"] - r["bn-relu"] for r in rows]))
        metrics.update(seed_metrics("b0_minus_bn", [r["evonorm-b0"] - r["bn-relu"] for r in rows]))
        return Result(metrics, self._artifacts(rows, mean, out_dir))

    def _artifacts(self, rows, mean, out_dir: Path) -> list[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["seed", *LAYERS])
        for i, r in enumerate(rows):
            w.writerow([i, *(f"{r[k]:.2f}" for k in LAYERS)])
        w.writerow(["mean", *(f"{mean[k]:.2f}" for k in LAYERS)])
        atomic_write(out_dir / "accuracy.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        for i, layer in enumerate(LAYERS):
            vals = [r[layer] for r in rows]
            ax.scatter([i] * len(vals), vals, alpha=0.6)
            ax.bar(i, mean[layer], alpha=0.3)
        ax.set_xticks(range(len(LAYERS)), LAYERS)
        lo = min(min(r.values()) for r in rows)
        ax.set_ylim(max(0.0, lo - 3), 100)
        ax.set_ylabel("test accuracy on digits (%)")
        ax.set_title("normalization-activation layers in the same CNN")
        plot.save(fig, out_dir / "accuracy.png")
        return ["accuracy.csv", "accuracy.png"]
