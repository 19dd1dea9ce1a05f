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
from mantissa.io import write_csv
from mantissa.models.tiny_vit import TinyViT
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.nn import ATTENTION
from mantissa.nn.attention_cost import cpu_timed, log_log_slope
from mantissa.nn.ecoformer import EcoFormerAttention, attention_macs
from mantissa.progress import track
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, split_windows
from mantissa.train import TensorBatches, TrainConfig, Trainer, lm_loss
from mantissa.train.digits import accuracy, digits_split, train_digits_vit

ARMS = ("softmax", "ecoformer", "random_hash", "uniform")


Config = card_config(__name__)  # the card's [config]: ecoformer.toml


def _uniform(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **_) -> torch.Tensor:
    """Control: every query gets the mean value (attention without any similarity)."""
    return v.mean(-2, keepdim=True).expand(*q.shape[:-1], v.shape[-1])


def _uniform_causal(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **_) -> torch.Tensor:
    """Control: query i gets the mean of values 0..i."""
    return v.cumsum(-2) / torch.arange(1, v.shape[-2] + 1, dtype=v.dtype, device=v.device)[:, None]


def char_lm_accuracy(cfg: Config, seed: int) -> dict[str, float]:
    """Next-character validation accuracy (%) of small causal LMs trained from scratch with
    softmax, EcoFormer and uniform causal attention (same data, seed and schedule)."""
    tok = CharTokenizer()
    ids = char_corpus(tok, "wordnet", 300_000)
    train, val = split_windows(ids, max(cfg.lm_steps * 8, 32), 256, cfg.lm_seq_len, seed)
    out = {}
    for arm, spec in (("softmax", "softmax"), ("ecoformer", _eco_spec(cfg, cfg.hash_iters)),
                      ("uniform", "softmax")):
        torch.manual_seed(seed)
        model = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=2, n_head=4, d_model=64,
                                              max_len=cfg.lm_seq_len + 1, pe=cfg.lm_pe, attention=spec))
        if arm == "uniform":
            for blk in model.blocks:
                blk.attn.kernel = _uniform_causal
        mask = torch.ones_like(train, dtype=torch.bool)
        batches = TensorBatches({"idx": train, "mask": mask}, 32, seed=seed)
        Trainer(model, TrainConfig(steps=cfg.lm_steps, batch_size=32, lr=3e-3, warmup=20, seed=seed,
                                   log_every=0), batches, progress_desc=f"ecoformer: char LM {arm}").fit()
        model.eval()
        with torch.no_grad():
            _, logs = lm_loss(model, lm_batch(val))
        out[f"lm_acc_{arm}"] = 100 * logs["tok_acc"]
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
            blk.kernel = _uniform
    return train_digits_vit(data, seed + 1, steps=cfg.finetune_steps, lr=cfg.finetune_lr, model=model,
                            desc=f"ecoformer: fine-tune {arm} s{seed}")


def _hash_losses(model: TinyViT) -> tuple[float, float]:
    fits = [blk.kernel.hash.last_fit for blk in model.blocks]
    return (sum(f.loss_initial for f in fits) / len(fits), sum(f.loss_learned for f in fits) / len(fits))


def _cost(cfg: Config, seed: int) -> dict[str, list[float]]:
    torch.manual_seed(seed)
    eco = EcoFormerAttention(bits=cfg.bits, anchors=cfg.anchors, iters=min(cfg.hash_iters, 20)).eval()
    short = torch.randn(1, 4, 64, 16)
    eco.fit(short, short, causal=True)  # fitted on a short batch; the long calls only hash
    kernels = {"softmax": ATTENTION.get("softmax"), "ecoformer": eco}
    times: dict[str, list[float]] = {name: [] for name in kernels}
    with torch.no_grad():
        for t in track(cfg.time_lengths, "ecoformer: attention time vs length"):
            for name, kernel in kernels.items():
                times[name].append(cpu_timed(kernel, t))
    return times


def _mults(cfg: Config, head_dim: int = 16) -> dict[str, float]:
    """Counted multiplies, EcoFormer over softmax, at the ViT's 16 tokens and the longest timed
    length, and the shortest length where EcoFormer needs fewer (hashing costs ~ T·m·(D+b))."""
    def ratio(t: int) -> float:
        m = attention_macs(t, head_dim, bits=cfg.bits, anchors=cfg.anchors)
        return m["ecoformer_mults"] / m["softmax_mults"]
    even = next(t for t in range(1, 1 << 20) if ratio(t) < 1)
    return {"mults_ratio_eco_over_softmax_at_16_tokens": ratio(16),
            "mults_ratio_eco_over_softmax_at_max_len": ratio(cfg.time_lengths[-1]),
            "mults_break_even_length": float(even)}


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
            h0, h1 = _hash_losses(models["ecoformer"])
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
        metrics.update(_mults(cfg))
        if cfg.lm_steps:
            with runtime.threads(1):
                metrics.update(char_lm_accuracy(cfg, seed))
        header = ["seed", "acc_pretrained_softmax", *[f"acc_{a}" for a in ARMS],
                  "hash_objective_random", "hash_objective_learned"]
        arts = [write_csv(out_dir / "accuracy.csv", header, rows), *self._cost_artifacts(cfg, times, out_dir),
                self._plot(rows, cfg, times, out_dir)]
        return Result(metrics, arts)

    @staticmethod
    def _cost_artifacts(cfg: Config, times: dict[str, list[float]], out_dir: Path) -> list[str]:
        rows = []
        for i, t in enumerate(cfg.time_lengths):
            macs = attention_macs(t, 16, bits=cfg.bits, anchors=cfg.anchors)
            rows.append([t, 1000 * times["softmax"][i], 1000 * times["ecoformer"][i],
                         4 * macs["softmax_mults"], 4 * macs["ecoformer_mults"], 4 * macs["ecoformer_adds"]])
        return [write_csv(out_dir / "cost_vs_length.csv",
                          ["length", "softmax_cpu_ms", "ecoformer_cpu_ms", "softmax_mults", "ecoformer_mults",
                           "ecoformer_adds"], rows)]

    @staticmethod
    def _plot(rows, cfg: Config, times: dict[str, list[float]], out_dir: Path) -> str:
        fig, (ax, bx) = plot.figure(ncols=2, figsize=(11, 4))
        labels = ["softmax", f"EcoFormer\n({cfg.bits}-bit)", "random hash", "uniform\n(control)"]
        for i in range(len(ARMS)):
            vals = [r[2 + i] for r in rows]
            ax.bar(i, sum(vals) / len(vals), alpha=0.5)
            ax.scatter([i] * len(vals), vals, color="k", s=12)
        ax.set_xticks(range(len(ARMS)), labels)
        lo = min(min(r[2:6]) for r in rows)
        ax.set_ylim(max(0, lo - 5), 100)
        ax.set_ylabel("digits test accuracy (%)")
        ax.set_title("TinyViT fine-tuned with each attention")
        for name, ts in times.items():
            slope = log_log_slope(cfg.time_lengths, ts)
            bx.loglog(cfg.time_lengths, ts, "o-", label=f"{name} (slope {slope:.2f})")
        bx.set_xticks(cfg.time_lengths, [str(t) for t in cfg.time_lengths])
        bx.set_xticks([], minor=True)
        bx.set_xlabel("sequence length T")
        bx.set_ylabel("causal attention forward, thread CPU time (s)")
        bx.set_title("cost vs length (1×4 heads×16 dims, 1 thread)")
        bx.legend()
        plot.save(fig, out_dir / "ecoformer.png")
        return "ecoformer.png"
