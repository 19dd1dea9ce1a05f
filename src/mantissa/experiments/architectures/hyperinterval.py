"""HyperInterval (seed paper #3): interval embeddings + hypernetwork for continual learning.

Split digits (scikit-learn, 5 tasks of 2 classes, a shared 2-way head). Each task t
gets an embedding box ``[e_t ± eps]``; a :class:`~mantissa.nn.interval.HyperNet`
maps it, by interval arithmetic, to interval weights of a ReLU MLP, whose logit
bounds give a worst-case cross-entropy. Training task t adds the paper's
regulariser: the hypernetwork's output bounds for earlier boxes stay where they
were. Each new box is kept overlapping the running intersection of the earlier
ones (its centre is clamped to within ``eps`` of it), so the intersection is never
empty; its centre is the universal embedding (that the guarantee holds — the
boxes intersect and the universal weights lie in every certified box — is by
construction and is a unit test, not a check).

Baselines: the same MLP fine-tuned task after task, and the same MLP trained with
elastic weight consolidation (:mod:`mantissa.train.ewc`, Kirkpatrick et al. 2017;
true Fisher on ``fisher_examples`` training examples per task) at each λ of
``ewc_lambdas``, the best λ kept per seed (the strongest EWC). Every arm runs for
``seeds`` seeds (seed, seed+1, ...); gains are seed-paired, judged on mean − 2·SE.
Gates: each arm learns each task when it is trained (mean accuracy right after
training the task).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import torch

from mantissa import plot
from mantissa.catalogue.protocol import Experiment, Result, register, seed_metrics
from mantissa.data import load_sklearn
from mantissa.experiments import card_config
from mantissa.io import atomic_write
from mantissa.progress import track
from mantissa.train.continual import finetune_tasks
from mantissa.train.hyperinterval import HyperInterval

Config = card_config(__name__)  # the card's [config]: hyperinterval.toml


def _tasks(cfg: Config, seed: int):
    ds = load_sklearn("digits")
    train, test = ds.split(cfg.test_fraction, seed=seed)
    out = []
    for t in range(cfg.n_tasks):
        pair = []
        for part in (train, test):
            m = (part.y == 2 * t) | (part.y == 2 * t + 1)
            pair.append((part.X[m] / 16.0, part.y[m] - 2 * t))
        out.append(pair)
    return out


@register
class HyperIntervalExperiment(Experiment):
    id = "hyperinterval"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        per_seed = [self._one_seed(cfg, s) for s in range(seed, seed + max(1, cfg.seeds))]
        m: dict[str, float] = {}
        keys = [k for k in per_seed[0][0] if isinstance(per_seed[0][0][k], float)]
        for k in keys:
            vals = [r[0][k] for r in per_seed]
            m[k] = sum(vals) / len(vals)  # mean over seeds
            for s_i, v in enumerate(vals):
                m[f"{k}_s{seed + s_i}"] = v
        if len(per_seed) >= 2:
            for name, a, b in (("gain_over_ft", "hi_avg_acc", "ft_avg_acc"),
                               ("gain_over_ewc", "hi_avg_acc", "ewc_avg_acc"),
                               ("universal_gain_over_ft", "universal_avg_acc", "ft_avg_acc")):
                m.update(seed_metrics(name, [r[0][a] - r[0][b] for r in per_seed]))
            fg = seed_metrics("hi_forgetting", [r[0]["hi_forgetting"] for r in per_seed])
            m["hi_forgetting_se"] = fg["hi_forgetting_se"]
            m["hi_forgetting_ucb"] = fg["hi_forgetting_mean"] + 2 * fg["hi_forgetting_se"]
        else:  # one seed: the point values (no spread)
            r = per_seed[0][0]
            m["gain_over_ft_lcb"] = r["hi_avg_acc"] - r["ft_avg_acc"]
            m["gain_over_ewc_lcb"] = r["hi_avg_acc"] - r["ewc_avg_acc"]
            m["universal_gain_over_ft_lcb"] = r["universal_avg_acc"] - r["ft_avg_acc"]
            m["hi_forgetting_ucb"] = r["hi_forgetting"]
        m["seeds"] = float(len(per_seed))
        return Result(m, self._artifacts(out_dir, *per_seed[0][1]))

    def _one_seed(self, cfg: Config, seed: int):
        torch.manual_seed(seed)
        tasks = _tasks(cfg, seed)
        n_out = 2 * cfg.n_tasks if cfg.multi_head else 2
        shapes = [(cfg.hidden, 64), (cfg.hidden,), (n_out, cfg.hidden), (n_out,)]
        torch.manual_seed(seed)
        kw = {"steps": cfg.steps, "lr": cfg.lr, "multi_head": cfg.multi_head}
        ft = finetune_tasks(tasks, shapes, **kw)
        ewc_runs = {}
        for lam in (float(v) for v in cfg.ewc_lambdas.split(",") if v.strip()):
            torch.manual_seed(seed)
            ewc_runs[lam] = finetune_tasks(tasks, shapes, **kw, ewc_lambda=lam,
                                           fisher_examples=cfg.fisher_examples, seed=seed)
        best_lam = max(ewc_runs, key=lambda lam: float(ewc_runs[lam][-1].mean()))
        ewc = ewc_runs[best_lam]
        torch.manual_seed(seed)
        hi = HyperInterval(shapes, **kw, embed_dim=cfg.embed_dim, hyper_hidden=cfg.hyper_hidden, eps=cfg.eps,
                           kappa=cfg.kappa, beta=cfg.beta)
        after = torch.zeros(cfg.n_tasks)
        desc = f"hyperinterval tasks (seed {seed})"
        for i, ((x, y), (xt, yt)) in enumerate(track(tasks, description=desc)):
            hi.train_task(x, y, i)
            after[i] = hi.evaluate(xt, yt, i)[0]
        final = torch.tensor([hi.evaluate(xt, yt, j) for j, (_, (xt, yt)) in enumerate(tasks)])
        uni = hi.universal_accuracy(tasks)
        cert = final[:, 1]
        m = {
            "ft_avg_acc": ft[-1].mean().item(),
            "ft_forgetting": (ft.diagonal() - ft[-1]).mean().item(),
            "ft_learned_acc": ft.diagonal().mean().item(),
            "ewc_avg_acc": ewc[-1].mean().item(),
            "ewc_forgetting": (ewc.diagonal() - ewc[-1]).mean().item(),
            "ewc_learned_acc": ewc.diagonal().mean().item(),
            "ewc_best_lambda": best_lam,
            "hi_avg_acc": final[:, 0].mean().item(),
            "hi_learned_acc": after.mean().item(),
            "hi_forgetting": (after - final[:, 0]).mean().item(),
            "hi_certified_avg_acc": cert.mean().item(),
            "universal_avg_acc": uni.mean().item(),
            "intersection_min_width": (hi.hi - hi.lo).min().item(),
        }
        m["learned_acc_min_arm"] = min(m["ft_learned_acc"], m["ewc_learned_acc"], m["hi_learned_acc"])
        return m, (ft[-1], ewc[-1], final, uni)

    def _artifacts(self, out_dir: Path, ft, ewc, final, uni) -> list[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["task", "finetune_acc", "ewc_acc", "hyperinterval_acc", "certified_acc", "universal_acc"])
        for j in range(len(ft)):
            w.writerow([j, f"{ft[j]:.2f}", f"{ewc[j]:.2f}", f"{final[j, 0]:.2f}", f"{final[j, 1]:.2f}",
                        f"{uni[j]:.2f}"])
        atomic_write(out_dir / "accuracy.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        xs = torch.arange(len(ft)).float()
        for k, (vals, name) in enumerate([(ft, "fine-tuning"), (ewc, "EWC (best λ)"),
                                          (final[:, 0], "HyperInterval (task box)"),
                                          (final[:, 1], "certified (whole box)"), (uni, "universal")]):
            ax.bar(xs + 0.16 * k - 0.32, vals, width=0.16, label=name)
        ax.set_xlabel("task (digit pair)")
        ax.set_ylabel("final test accuracy (%)")
        ax.legend(fontsize=7)
        plot.save(fig, out_dir / "accuracy.png")
        return ["accuracy.csv", "accuracy.png"]
