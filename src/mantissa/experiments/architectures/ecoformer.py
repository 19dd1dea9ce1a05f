"""EcoFormer (#50): kernelized-hash binary codes make attention linear in length at
little accuracy cost.

Follows the paper's protocol (ziplab/EcoFormer README): a TinyViT with softmax
attention is trained on scikit-learn digits, then fine-tuned with its attention
swapped for :class:`mantissa.nn.ecoformer.EcoFormerAttention` (the hash is fitted
once on the first fine-tuning batch, then the network adapts through the
straight-through sign). The softmax model gets the same fine-tuning steps, so the
comparison is like for like. Two controls show what the numbers mean: the same
fine-tuning with a *random* (unlearned, ``iters=0``) hash, and with *uniform*
attention (every token gets the mean of the values: what attention-free mixing
reaches on this task).

Accuracy is judged seed-paired: per seed, EcoFormer minus softmax test accuracy;
the claim holds when mean − 2·SE over the seeds is above −2 points (the paper's
"within 2 pts of softmax attention"). The gate: the softmax model reached 90 %.

Cost: time of one causal attention forward (1 batch × 4 heads × 16 dims, one
thread) against sequence length; the exponent of a log-log fit
(:mod:`mantissa.nn.attention_cost`) should be ≈1 for EcoFormer (the claim: below
1.2) and ≈2 for softmax (a gate: above 1.5, i.e. the timing sees the quadratic
cost at all). The time is the thread's CPU time (``time.thread_time``, best of 5),
not wall time: on a shared machine wall time includes the waits while other
processes hold the core, which made single points jump several-fold.
Counted multiplies (:func:`mantissa.nn.ecoformer.attention_macs`) are tabulated
beside the times; the hashing itself costs ~T·m·(D+b) multiplies, so EcoFormer
needs fewer multiplies than softmax only beyond a break-even length (≈41 tokens
at m=20, b=16, D=16; the ViT here has 16), which is reported too. Energy is not
measured (no hardware model): the paper's 73 % figure is not tested.

Beyond the paper's claims (its tasks are non-causal), ``lm_steps > 0`` (``full``
scale) also trains a causal character LM (WordNet glosses, ``lm_pe`` positions)
with softmax, EcoFormer and uniform causal attention from scratch and reports
next-character accuracy (informative metrics ``lm_*``, no check).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from mantissa import plot, runtime
from mantissa.catalogue.protocol import Experiment, Result, register, seed_metrics
from mantissa.experiments import card_config
from mantissa.models.tiny_vit import TinyViT
from mantissa.nn import ATTENTION
from mantissa.nn import ecoformer as ecof
from mantissa.nn.attention_cost import attention_times, log_log_slope, plot_time_vs_length
from mantissa.nn.uniform_attention import uniform_attention, uniform_causal_attention
from mantissa.train.char_lm import char_lm_accuracy as train_char_lms
from mantissa.train.digits import accuracy, digits_split, train_digits_vit

ARMS = ("softmax", "ecoformer", "random_hash", "uniform")


Config = card_config(__name__)  # the card's [config]: ecoformer.toml


def char_lm_accuracy(cfg: Config, seed: int) -> dict[str, float]:
    """Next-character validation accuracy (%) of small causal LMs trained from scratch with
    softmax, EcoFormer and uniform causal attention (same data, seed and schedule)."""
    acc = train_char_lms({"softmax": "softmax", "ecoformer": _eco_spec(cfg, cfg.hash_iters),
                          "uniform": uniform_causal_attention}, steps=cfg.lm_steps, seq_len=cfg.lm_seq_len,
                         pe=cfg.lm_pe, seed=seed, desc="ecoformer: char LM")
    out = {f"lm_acc_{arm}": v for arm, v in acc.items()}
    out["lm_acc_drop_pts"] = out["lm_acc_softmax"] - out["lm_acc_ecoformer"]
    return out


def _eco_spec(cfg: Config, iters: int) -> str:
    return (f"ecoformer:bits={cfg.bits},anchors={cfg.anchors},topk={cfg.topk},iters={iters},"
            f"lr={cfg.hash_lr}")


def _finetune(base: TinyViT, arm: str, cfg: Config, data, seed: int) -> TinyViT:
    model = copy.deepcopy(base)
    if arm == "ecoformer":
        model.set_attention(_eco_spec(cfg, cfg.hash_iters))
    elif arm == "random_hash":
        model.set_attention(_eco_spec(cfg, 0))
    elif arm == "uniform":
        for blk in model.blocks:
            blk.kernel = uniform_attention
    return train_digits_vit(data, seed + 1, steps=cfg.finetune_steps, lr=cfg.finetune_lr, model=model,
                            desc=f"ecoformer: fine-tune {arm} s{seed}")


def _cost(cfg: Config, seed: int) -> dict[str, list[float]]:
    torch.manual_seed(seed)
    eco = ecof.EcoFormerAttention(bits=cfg.bits, anchors=cfg.anchors, iters=min(cfg.hash_iters, 20)).eval()
    short = torch.randn(1, 4, 64, 16)
    eco.fit(short, short, causal=True)  # fitted on a short batch; the long calls only hash
    kernels = {"softmax": ATTENTION.get("softmax"), "ecoformer": eco}
    return attention_times(kernels, cfg.time_lengths, "ecoformer: attention time vs length")


@register
class EcoFormer(Experiment):
    id = "ecoformer"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows = []
        for s in range(seed, seed + cfg.seeds):
            data = digits_split(s, cfg.test_fraction)
            base = train_digits_vit(data, s, steps=cfg.steps, desc=f"ecoformer: softmax s{s}")
            accs, models = {}, {}
            for arm in ARMS:
                models[arm] = _finetune(base, arm, cfg, data, s)
                accs[arm] = accuracy(models[arm], *data[1])
            h0, h1 = ecof.mean_hash_objectives([blk.kernel for blk in models["ecoformer"].blocks])
            rows.append([s, accuracy(base, *data[1]), *[accs[a] for a in ARMS], h0, h1])
        mean = [sum(r[i] for r in rows) / len(rows) for i in range(len(rows[0]))]
        metrics = {"acc_pretrained_softmax": mean[1],
                   **{f"acc_{a}": mean[2 + i] for i, a in enumerate(ARMS)},
                   "hash_objective_random": mean[6], "hash_objective_learned": mean[7]}
        metrics["acc_drop_pts"] = metrics["acc_softmax"] - metrics["acc_ecoformer"]
        metrics.update(seed_metrics("acc_diff", [r[3] - r[2] for r in rows]))  # EcoFormer − softmax
        metrics["acc_drop_random_hash_pts"] = metrics["acc_softmax"] - metrics["acc_random_hash"]
        metrics["acc_drop_uniform_pts"] = metrics["acc_softmax"] - metrics["acc_uniform"]
        with runtime.threads(1):
            times = _cost(cfg, seed)
        for name, ts in times.items():
            metrics[f"{name}_time_exponent"] = log_log_slope(cfg.time_lengths, ts)
        metrics["time_ratio_softmax_over_eco_at_max_len"] = times["softmax"][-1] / times["ecoformer"][-1]
        # counted multiplies, EcoFormer over softmax, at the ViT's 16 tokens and the longest timed length
        metrics.update(ecof.mults_summary(cfg.time_lengths[-1], bits=cfg.bits, anchors=cfg.anchors))
        if cfg.lm_steps:
            with runtime.threads(1):
                metrics.update(char_lm_accuracy(cfg, seed))
        header = ["seed", "acc_pretrained_softmax", *[f"acc_{a}" for a in ARMS],
                  "hash_objective_random", "hash_objective_learned"]
        cost = ecof.cost_rows(cfg.time_lengths, times, bits=cfg.bits, anchors=cfg.anchors)
        tables = {"accuracy.csv": (header, rows), "cost_vs_length.csv": (ecof.COST_HEADER, cost)}
        return Result(metrics, tables=tables,
                      figures={"ecoformer.png": self._plot(rows, cfg, times)})

    @staticmethod
    def _plot(rows, cfg: Config, times: dict[str, list[float]]):
        fig, (ax, bx) = plot.figure(ncols=2, figsize=(11, 4))
        labels = ["softmax", f"EcoFormer\n({cfg.bits}-bit)", "random hash", "uniform\n(control)"]
        plot.seed_bars(ax, [[r[2 + i] for r in rows] for i in range(len(ARMS))], labels,
                       ylabel="digits test accuracy (%)", title="TinyViT fine-tuned with each attention")
        plot_time_vs_length(bx, cfg.time_lengths, times)
        bx.set_title("cost vs length (1×4 heads×16 dims, 1 thread)")
        return fig
