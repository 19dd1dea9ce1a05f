"""To FP8 and Back Again (paper #38): training stability as the mantissa shrinks.

A small character-level transformer LM on real text (WordNet glosses) is trained
with every linear-layer GEMM — forward and backward — in a simulated float
format (:mod:`mantissa.quant.simulate`): BF16 (e8m7), then E8 formats with 3, 2
and 1 mantissa bits, and the FP8 formats E5M2 and E4M3 (with per-tensor
power-of-two scaling, as FP8 recipes do). Every format is run over several seeds
x learning rates. A run *diverges* if its loss becomes non-finite, ends more than
``spike`` nats above its own best (smoothed) loss, or ends within ``fail`` nats
of its first loss or above it (it never trained). The learning rates reach the
edge of stability (0.25, 0.35), where the lowest-precision runs really diverge.
A run is also counted *unstable* (reported, not judged) when it diverged or ends
more than ``margin`` nats above the run of the format with the most mantissa bits
at the same seed and learning rate. (With per-tensor scaling E5M2 behaves exactly
like E8M2 here, so the default sweep leaves it out.) For the runs that did not
diverge the loss-landscape sharpness is measured: the mean held-out loss increase
under random weight perturbations of relative size ``radius``.

Protocol v2. Gates: at least one run of the sweep diverges (else the sweep says
nothing about divergence: inconclusive), and no run of the format with the most
mantissa bits (e8m7, BF16-like) diverges. Claims: Spearman(mantissa bits,
divergence rate) < 0 and divergence rate at the fewest bits minus at the most > 0
(strict: a tie fails).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from mantissa import plot
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.formats import get as get_format
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.progress import track
from mantissa.quant.simulate import sharpness, simulate_precision
from mantissa.stats import rank_correlation
from mantissa.tasks.charlm import frequency_streams, window_batch
from mantissa.train.divergence import curve_divergence
from mantissa.train.lm import next_token_loss
from mantissa.train.steps import run_steps

Config = card_config(__name__)  # the card's [config]: fp8_stability.toml


def train_run(fmt: str, lr: float, seed: int, cfg: Config, data) -> dict[str, float]:
    train, held = data
    torch.manual_seed(seed)
    model = Transformer(TransformerConfig(vocab_size=cfg.vocab, n_layer=cfg.n_layer, d_model=cfg.d_model,
                                          n_head=cfg.n_head, max_len=cfg.seq_len, tie_weights=False))
    f = get_format(fmt)
    simulate_precision(model, f, scaled=f.exp_bits < 8)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    loss = lambda: next_token_loss(model, window_batch(train, cfg.batch_size, cfg.seq_len, g))  # noqa: E731
    losses = run_steps(opt, cfg.steps, loss, stop_on_nonfinite=True)
    return {"losses": losses, "model": model, "held": held}


@register
class FP8Stability(Experiment):
    id = "fp8-stability"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        data = frequency_streams(cfg.text_chars, cfg.vocab)
        fmts = [f.strip() for f in cfg.formats.split(",") if f.strip()]
        lrs = [float(v) for v in cfg.lrs.split(",")]
        rows, curves = [], {}
        grid = [(f, lr, s) for f in fmts for lr in lrs for s in range(seed, seed + cfg.seeds)]
        for fmt, lr, s in track(grid, "precision sweep"):
            run = train_run(fmt, lr, s, cfg, data)
            diverged, final = curve_divergence(run["losses"], cfg.spike, cfg.fail)
            sharp = math.nan
            if not diverged:
                g = torch.Generator().manual_seed(1234)
                held = window_batch(run["held"], cfg.batch_size, cfg.seq_len, g)
                sharp = sharpness(run["model"], lambda m, b=held: next_token_loss(m, b), cfg.radius,
                                  cfg.directions, s)
            rows.append({"format": fmt, "mantissa_bits": get_format(fmt).man_bits, "lr": lr, "seed": s,
                         "diverged": int(diverged), "final_loss": final, "sharpness": sharp})
            curves.setdefault((fmt, lr), run["losses"])
        ref = max(fmts, key=lambda f: get_format(f).man_bits)
        base = {(r["lr"], r["seed"]): r["final_loss"] for r in rows if r["format"] == ref}
        for r in rows:
            worse = r["final_loss"] > base[(r["lr"], r["seed"])] + cfg.margin
            r["unstable"] = int(bool(r["diverged"]) or worse)
        per = {}
        for fmt in fmts:
            rs = [r for r in rows if r["format"] == fmt]
            sh = [r["sharpness"] for r in rs if math.isfinite(r["sharpness"])]
            per[fmt] = {"bits": rs[0]["mantissa_bits"], "div": sum(r["diverged"] for r in rs) / len(rs),
                        "unstable": sum(r["unstable"] for r in rs) / len(rs),
                        "final_loss": sum(r["final_loss"] for r in rs) / len(rs),
                        "sharp": sum(sh) / len(sh) if sh else math.nan}
        m: dict[str, float] = {f"divergence_{_key(f)}": v["div"] for f, v in per.items()}
        m.update({f"sharpness_{_key(f)}": v["sharp"] for f, v in per.items()})
        m.update({f"unstable_{_key(f)}": v["unstable"] for f, v in per.items()})
        m.update({f"final_loss_{_key(f)}": v["final_loss"] for f, v in per.items()})
        bits = [v["bits"] for v in per.values()]
        m["bits_divergence_corr"] = rank_correlation(bits, [v["div"] for v in per.values()])
        m["bits_instability_corr"] = rank_correlation(bits, [v["unstable"] for v in per.values()])
        finite = [(v["bits"], v["sharp"]) for v in per.values() if math.isfinite(v["sharp"])]
        m["bits_sharpness_corr"] = rank_correlation([b for b, _ in finite], [s for _, s in finite])
        lo = min(per.values(), key=lambda v: v["bits"])
        hi = max(per.values(), key=lambda v: v["bits"])
        m["divergence_rise"] = lo["div"] - hi["div"]
        m["instability_rise"] = lo["unstable"] - hi["unstable"]
        m["any_divergence"] = sum(r["diverged"] for r in rows) / len(rows)
        m["divergence_most_bits"] = hi["div"]
        m["runs"] = len(rows)
        formats = [{"format": f, **v} for f, v in per.items()]
        return Result(m, tables={"runs.csv": rows, "formats.csv": formats}, figures=self._plot(per, curves))

    def _plot(self, per: dict, curves: dict) -> dict:
        fig, ax = plot.figure()
        names = list(per)
        pos = torch.arange(len(names)).float()
        ax.bar(pos - 0.2, [per[n]["div"] for n in names], 0.4, color="tab:red", alpha=0.7, label="diverged")
        ax.bar(pos + 0.2, [per[n]["unstable"] for n in names], 0.4, color="tab:orange", alpha=0.7,
               label="unstable (diverged or worse than most-bits run)")
        ax.set_xticks(range(len(names)), names, rotation=30, fontsize=8)
        ax.set(ylabel="rate over seeds x LRs", ylim=(0, 1.05))
        ax.legend(fontsize=7, loc="upper left")
        ax2 = ax.twinx()
        ax2.plot(range(len(names)), [per[n]["sharp"] for n in names], "ko-", label="sharpness")
        ax2.set(ylabel="sharpness (held-out loss rise)")
        fig2, ax = plot.figure()
        for (fmt, lr), losses in curves.items():
            ax.plot([v if math.isfinite(v) else float("nan") for v in losses], lw=0.8, label=f"{fmt} lr={lr}")
        ax.set(xlabel="step", ylabel="training loss (nats/char)")
        ax.legend(fontsize=6, ncol=2)
        return {"divergence.png": fig, "curves.png": fig2}


def _key(fmt: str) -> str:
    return fmt.replace("fp:", "").replace("float8_", "")
