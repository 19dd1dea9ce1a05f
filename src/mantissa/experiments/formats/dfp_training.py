"""Mixed precision training with integer operations (paper #30): dynamic fixed point.

A small CNN on scikit-learn's 8x8 digits is trained twice from the same
initialisation and batches: in FP32, and with every convolution and linear
matmul — forward, input-gradient and weight-gradient — computed as
DFP INT16 x INT16 -> INT32 integer matmuls (:mod:`mantissa.quant.dfp`), with int32
accumulator overflows detected, counted and handled by splitting the partial
sum. A third run lets overflows wrap around unhandled, to show what the handling
buys. Accuracy is averaged over seeds.

Protocol v2. Gate: the FP32 CNN learned digits (mean test accuracy >= 95 %).
Claim (non-inferiority, "matches FP32"): per seed, DFP16 minus FP32 test
accuracy from the same initialisation and batches; mean − 2·SE over the seeds
must stay above −1 point (``dfp_minus_fp32_lcb > -1``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from mantissa import plot
from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import write_records
from mantissa.quant.dfp import DFPConfig, OverflowCounter, convert_to_dfp
from mantissa.train.steps import minibatches, run_steps

VARIANTS = ("fp32", "dfp16", "dfp16_wrap")


Config = card_config(__name__)  # the card's [config]: dfp_training.toml


def cnn(width: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(2 * width * 4, 10))


def train(model: nn.Module, data, cfg: Config, seed: int, desc: str) -> tuple[float, list[float]]:
    (xtr, ytr), (xte, yte) = data
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    model.train()
    batches = minibatches(model, xtr, ytr, cfg.batch_size, seed)
    losses = run_steps(opt, cfg.steps, batches, sched=sched, desc=desc)
    model.eval()
    with torch.no_grad():
        acc = float((model(xte).argmax(-1) == yte).float().mean()) * 100
    return acc, losses


@register
class DFPTraining(Experiment):
    id = "dfp-training"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows, curves = [], {}
        for s in range(seed, seed + cfg.seeds):
            train_set, test_set = load_sklearn("digits").split(0.25, seed=s)
            data = ((train_set.X.view(-1, 1, 8, 8) / 16, train_set.y), (test_set.X.view(-1, 1, 8, 8) / 16,
                                                                        test_set.y))
            torch.manual_seed(s)
            base = cnn(cfg.width)
            row: dict[str, float] = {"seed": s}
            for variant in VARIANTS:
                model = copy.deepcopy(base)
                counter = OverflowCounter()
                if variant != "fp32":
                    mode = "wrap" if variant.endswith("wrap") else "split"
                    convert_to_dfp(model, DFPConfig(cfg.bits, cfg.chunk, mode), counter)
                acc, losses = train(model, data, cfg, s, f"{variant} seed {s}")
                row[f"acc_{variant}"] = acc
                row[f"overflows_{variant}"] = counter.overflows
                row[f"overflow_rate_{variant}"] = counter.rate
                curves.setdefault(variant, losses)
            rows.append(row)
        write_records(out_dir / "runs.csv", rows)
        fig, ax = plot.figure()
        for variant, losses in curves.items():
            ax.plot(losses, label=variant, lw=0.8)
        ax.set(xlabel="step", ylabel="training loss", yscale="log", title="Digits CNN: FP32 vs DFP16 integer")
        ax.legend()
        plot.save(fig, out_dir / "loss.png")
        mean = lambda k: float(torch.tensor([r[k] for r in rows], dtype=torch.float64).mean())  # noqa: E731
        m = {f"acc_{v}": mean(f"acc_{v}") for v in VARIANTS}
        m["acc_gap"] = abs(m["acc_fp32"] - m["acc_dfp16"])
        m["wrap_acc_gap"] = abs(m["acc_fp32"] - m["acc_dfp16_wrap"])
        m["overflows_dfp16"] = mean("overflows_dfp16")
        m["overflow_rate_dfp16"] = mean("overflow_rate_dfp16")
        m["overflows_wrap"] = mean("overflows_dfp16_wrap")
        m.update(seed_metrics("dfp_minus_fp32", [r["acc_dfp16"] - r["acc_fp32"] for r in rows]))
        return Result(m, ["loss.png", "runs.csv"])
