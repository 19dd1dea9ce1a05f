"""A Survey of Quantization Methods for Efficient Neural Network Inference (paper #10).

Three measurements with :mod:`mantissa.quant`'s quantizer zoo:

1. **granularity** — relative MSE of int4/int8 weight quantization of every linear
   layer of the real all-MiniLM-L6-v2, per-tensor vs per-channel (and group=64);
2. **calibration** — per-tensor activation quantization of MiniLM's hidden states
   (the residual stream, which has outlier channels) calibrated on WordNet glosses
   by min-max, percentile, MSE search and KL (entropy), judged on held-out glosses;
3. **QAT** — an MLP on scikit-learn digits: FP32, then ``qat_bits``-bit weights
   (per channel, MSE-searched clip) and activations by post-training quantization,
   then by quantization-aware training (FakeQuantize with straight-through
   gradients) and by LSQ. The width is 2 bits because at 4 bits (and 3)
   post-training quantization alone stays within 1 point of FP32, so QAT has
   nothing to recover; 4-bit PTQ is still reported.

Protocol v2. Gates: the FP32 MLP learned digits (>= 90 %), and PTQ at the QAT
width loses more than 2 points (else QAT cannot show a recovery). Claims:
per-channel < per-tensor int4 weight MSE; percentile/MSE calibration < min-max
on held-out activations; QAT (STE) and LSQ each end within 2 points of FP32
(strict).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from mantissa import plot
from mantissa.data import load_minilm, load_sklearn
from mantissa.data.texts import gloss_sample
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.quant import prepare_qat
from mantissa.quant.error_study import calibration_errors, token_states, weight_errors
from mantissa.train.steps import minibatches, run_steps

WEIGHT_SPECS = ("int4", "int4:channel", "int4:group=64", "int8", "int8:channel")
OBSERVERS = ("minmax", "percentile", "mse", "kl")


Config = card_config(__name__)  # the card's [config]: quant_survey.toml


def _mlp(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def _train(model: nn.Module, x, y, steps: int, batch: int, lr: float, seed: int, desc: str) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    run_steps(opt, steps, minibatches(model, x, y, batch, seed), sched=sched, desc=desc)


@torch.no_grad()
def _acc(model: nn.Module, x, y) -> float:
    model.eval()
    return float((model(x).argmax(-1) == y).float().mean()) * 100


def qat_study(cfg: Config, seed: int) -> dict[str, float]:
    train, test = load_sklearn("digits").split(0.25, seed=seed)
    xtr, ytr, xte, yte = train.X / 16, train.y, test.X / 16, test.y
    torch.manual_seed(seed)
    fp32 = _mlp(cfg.mlp_hidden)
    _train(fp32, xtr, ytr, cfg.fp32_steps, cfg.batch_size, cfg.lr, seed, "FP32 MLP")
    out = {"fp32_acc": _acc(fp32, xte, yte)}
    ptq4 = prepare_qat(copy.deepcopy(fp32), weight="int4:channel,observer=mse", act="int4:sym=false")
    ptq4.train()
    with torch.no_grad():
        ptq4(xtr)
    out["ptq4_acc"] = _acc(ptq4, xte, yte)
    b = cfg.qat_bits
    for kind, lsq in (("qat", False), ("lsq", True)):
        model = prepare_qat(copy.deepcopy(fp32), weight=f"int{b}:channel,observer=mse",
                            act=f"int{b}:sym=false", lsq=lsq)
        if not lsq:  # PTQ: calibrate the activation ranges on training data, no weight update
            model.train()
            with torch.no_grad():
                model(xtr)
            out["ptq_acc"] = _acc(model, xte, yte)
            model.train()
        else:
            with torch.no_grad():
                model(xtr[:256])  # LSQ initialises its activation steps on a first batch
        _train(model, xtr, ytr, cfg.qat_steps, cfg.batch_size, cfg.lr / 4, seed + 1, f"{b}-bit {kind}")
        out[f"{kind}_acc"] = _acc(model, xte, yte)
    return out


@register
class QuantSurvey(Experiment):
    id = "quant-survey"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        mini = load_minilm()
        wrows = weight_errors(mini.model, WEIGHT_SPECS, cfg.layers)
        acts = token_states(mini, gloss_sample(2 * cfg.texts, seed), cfg.max_length)
        split = [a.shape[0] // 2 for a in acts]
        calib = calibration_errors([a[:s] for a, s in zip(acts, split)], [a[s:] for a, s in zip(acts, split)],
                                   cfg.act_bits, cfg.pct, OBSERVERS)
        qat = qat_study(cfg, seed)
        m = {"layers": len(wrows)}
        for bits in (4, 8):
            ratios = torch.tensor([r[f"int{bits}:channel"] / r[f"int{bits}"] for r in wrows])
            m[f"int{bits}_channel_over_tensor"] = float(ratios.mean())
            m[f"int{bits}_channel_better_frac"] = float((ratios < 1).float().mean())
        group = torch.tensor([r["int4:group=64"] / r["int4"] for r in wrows])
        m["int4_group64_over_tensor"] = float(group.mean())
        for obs in OBSERVERS[1:]:
            m[f"{obs}_over_minmax"] = float(torch.tensor([r[obs] / r["minmax"] for r in calib]).mean())
        m["best_clip_over_minmax"] = min(m["percentile_over_minmax"], m["mse_over_minmax"])
        m["max_outlier_ratio"] = max(r["outlier_ratio"] for r in calib)
        m.update(qat)
        m["qat_drop"] = qat["fp32_acc"] - qat["qat_acc"]
        m["lsq_drop"] = qat["fp32_acc"] - qat["lsq_acc"]
        m["ptq_drop"] = qat["fp32_acc"] - qat["ptq_acc"]
        return Result(m, tables={"weights.csv": wrows, "calibration.csv": calib, "qat.csv": [qat]},
                      figures=self._plot(wrows, calib))

    def _plot(self, wrows: list[dict], calib: list[dict]) -> dict:
        fig, ax = plot.figure()
        for spec in WEIGHT_SPECS:
            ax.semilogy([r[spec] for r in wrows], marker="o", ms=3, label=spec)
        ax.set(xlabel="MiniLM linear layer", ylabel="relative weight MSE", title="Weight quantization error")
        ax.legend(fontsize=7)
        fig2, ax = plot.figure()
        for obs in OBSERVERS:
            ax.semilogy([r[obs] for r in calib], marker="o", label=obs)
        ax.set(xlabel="hidden state (0 = embeddings)", ylabel="held-out MSE",
               title="Per-tensor activation calibration on MiniLM")
        ax.legend()
        return {"weights.png": fig, "calibration.png": fig2}
