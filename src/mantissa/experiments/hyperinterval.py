"""HyperInterval (seed paper #3): interval embeddings + hypernetwork for continual learning.

Split digits (scikit-learn, 5 tasks of 2 classes, a shared 2-way head). Each task t
gets an embedding box ``[e_t ± eps]``; a :class:`~mantissa.nn.interval.HyperNet`
maps it, by interval arithmetic, to interval weights of a ReLU MLP, whose logit
bounds give a worst-case cross-entropy. Training task t adds the paper's
regulariser: the hypernetwork's output bounds for earlier boxes stay where they
were. Each new box is kept overlapping the running intersection of the earlier
ones (its centre is clamped to within ``eps`` of it), so the intersection is never
empty; its centre is the universal embedding. Baseline: the same MLP fine-tuned
task after task.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from mantissa import plot
from mantissa.data import load_sklearn
from mantissa.experiments.base import Experiment, Result, register
from mantissa.io import atomic_write
from mantissa.nn.interval import HyperNet, interval_mlp, mlp_forward, worst_case_logits
from mantissa.progress import track
from mantissa.runtime import threads


@dataclass
class Config:
    n_tasks: int = 5
    hidden: int = 32          # target MLP hidden width
    hyper_hidden: int = 64
    embed_dim: int = 8
    eps: float = 0.02         # embedding box radius (per dimension)
    steps: int = 1500         # optimisation steps per task
    lr: float = 3e-3
    beta: float = 500.0        # weight of the no-change regulariser for earlier boxes
    kappa: float = 0.5        # loss = kappa*CE(centre) + (1-kappa)*CE(worst case)
    test_fraction: float = 0.3
    # False: one shared 2-way head (even/odd digit of the pair; fine-tuning forgets here).
    # True: task-incremental heads (task j reads logits 2j, 2j+1; fine-tuning barely forgets).
    multi_head: bool = False


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


def _head(logits: torch.Tensor, j: int, multi: bool) -> torch.Tensor:
    return logits[..., 2 * j:2 * j + 2] if multi else logits


def _acc(logits: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * (logits.argmax(-1) == y).float().mean().item()


def _finetune(cfg: Config, tasks, shapes) -> torch.Tensor:
    """acc[i, j]: accuracy on task j after training tasks 0..i (one MLP, fine-tuned)."""
    params = []
    for s in shapes:
        p = torch.empty(s)
        if len(s) == 2:
            torch.nn.init.kaiming_uniform_(p, a=5 ** 0.5)
        else:
            p.zero_()
        params.append(p.requires_grad_())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    acc = torch.zeros(cfg.n_tasks, cfg.n_tasks)
    for i, ((x, y), _) in enumerate(tasks):
        for _ in range(cfg.steps):
            opt.zero_grad()
            F.cross_entropy(_head(mlp_forward(x, params), i, cfg.multi_head), y).backward()
            opt.step()
        with torch.no_grad():
            for j, (_, (xt, yt)) in enumerate(tasks):
                acc[i, j] = _acc(_head(mlp_forward(xt, params), j, cfg.multi_head), yt)
    return acc


class _HyperInterval:
    def __init__(self, cfg: Config, shapes) -> None:
        self.cfg = cfg
        self.hnet = HyperNet(cfg.embed_dim, shapes, hidden=(cfg.hyper_hidden,))
        self.eps = torch.full((cfg.embed_dim,), cfg.eps)
        self.centers: list[torch.Tensor] = []
        self.saved: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.lo = self.hi = None  # running intersection of the boxes

    def _center(self, raw: torch.Tensor) -> torch.Tensor:
        if self.lo is None:
            return raw
        margin = 0.05 * self.eps  # keep a non-degenerate overlap
        return torch.maximum(torch.minimum(raw, self.hi + self.eps - margin), self.lo - self.eps + margin)

    def _reg(self) -> torch.Tensor:
        total = torch.zeros(())
        for e, (p0, c0, r0) in zip(self.centers, self.saved, strict=True):
            c, r = self.hnet.flat_bounds(e, self.eps)
            p = self.hnet.flat(e)
            total = total + ((p - p0) ** 2).mean() + ((c - c0) ** 2).mean() + ((r - r0) ** 2).mean()
        return total / max(len(self.centers), 1)

    def train_task(self, x: torch.Tensor, y: torch.Tensor, t: int) -> None:
        cfg = self.cfg
        start = torch.randn(cfg.embed_dim) * 0.1 if self.lo is None else (self.lo + self.hi) / 2
        raw = start.clone().requires_grad_()
        opt = torch.optim.Adam([*self.hnet.parameters(), raw], lr=cfg.lr)
        for step in range(cfg.steps):
            ramp = min(1.0, 2.0 * (step + 1) / cfg.steps)  # radius ramps up over the first half
            opt.zero_grad()
            c = self._center(raw)
            bounds = interval_mlp(x, self.hnet.bounds(c, self.eps * ramp))
            lc, lr = (_head(v, t, cfg.multi_head) for v in bounds)
            loss = cfg.kappa * F.cross_entropy(lc, y) + (1 - cfg.kappa) * F.cross_entropy(
                worst_case_logits(lc, lr, y), y)
            if self.centers:
                loss = loss + cfg.beta * self._reg()
            loss.backward()
            opt.step()
        with torch.no_grad():
            e = self._center(raw).detach()
            self.centers.append(e)
            self.saved.append((self.hnet.flat(e), *self.hnet.flat_bounds(e, self.eps)))
            lo, hi = e - self.eps, e + self.eps
            self.lo = lo if self.lo is None else torch.maximum(self.lo, lo)
            self.hi = hi if self.hi is None else torch.minimum(self.hi, hi)

    @torch.no_grad()
    def evaluate(self, x, y, j: int) -> tuple[float, float]:
        """(accuracy at the task's centre, certified accuracy over its whole box)."""
        e = self.centers[j]
        lc, lr = (_head(v, j, self.cfg.multi_head) for v in interval_mlp(x, self.hnet.bounds(e, self.eps)))
        point = _head(mlp_forward(x, self.hnet(e)), j, self.cfg.multi_head)
        return _acc(point, y), _acc(worst_case_logits(lc, lr, y), y)

    @torch.no_grad()
    def universal(self) -> torch.Tensor:
        return (self.lo + self.hi) / 2

    @torch.no_grad()
    def in_box(self, u: torch.Tensor, j: int) -> bool:
        """Are the universal embedding's weights inside task j's certified weight box?"""
        w = self.hnet.flat(u)
        c, r = self.hnet.flat_bounds(self.centers[j], self.eps)
        return bool(((w - c).abs() <= r + 1e-6).all())


@register
class HyperIntervalExperiment(Experiment):
    id = "hyperinterval"
    title = "HyperInterval: hypernetwork approach to training weight interval regions in CL"
    paper = "#3"
    claim = ("Interval embeddings mapped by a hypernetwork give continual learning without "
             "forgetting and one universal embedding for all tasks; SOTA on CL benchmarks.")
    paper_figure = "SOTA task-incremental accuracy on Permuted/Split MNIST, Split CIFAR-100, TinyImageNet"
    thresholds = {"min_gain_over_ft": 5.0, "max_forgetting": 2.0, "guarantee": 1.0,
                  "min_universal_gain_over_ft": 0.0}
    parts = ("nn.interval",)
    Config = Config
    scales = {"smoke": {"steps": 15, "hyper_hidden": 16, "hidden": 8},
              "full": {"steps": 2000, "hyper_hidden": 128, "hidden": 64}}

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        with threads(1):
            torch.manual_seed(seed)
            tasks = _tasks(cfg, seed)
            n_out = 2 * cfg.n_tasks if cfg.multi_head else 2
            shapes = [(cfg.hidden, 64), (cfg.hidden,), (n_out, cfg.hidden), (n_out,)]
            ft = _finetune(cfg, tasks, shapes)
            hi = _HyperInterval(cfg, shapes)
            after = torch.zeros(cfg.n_tasks)
            for i, ((x, y), (xt, yt)) in enumerate(track(tasks, description="hyperinterval tasks")):
                hi.train_task(x, y, i)
                after[i] = hi.evaluate(xt, yt, i)[0]
            final = torch.tensor([hi.evaluate(xt, yt, j) for j, (_, (xt, yt)) in enumerate(tasks)])
            u = hi.universal()
            with torch.no_grad():
                w_u = hi.hnet(u)
                uni = torch.tensor([_acc(_head(mlp_forward(xt, w_u), j, cfg.multi_head), yt)
                                    for j, (_, (xt, yt)) in enumerate(tasks)])
            in_boxes = all(hi.in_box(u, j) for j in range(cfg.n_tasks))
        width = (hi.hi - hi.lo).min().item()
        cert = final[:, 1]
        guarantee = float(width > 0 and in_boxes and bool((uni >= cert - 1e-9).all()))
        m = {
            "ft_avg_acc": ft[-1].mean().item(),
            "ft_forgetting": (ft.diagonal() - ft[-1]).mean().item(),
            "hi_avg_acc": final[:, 0].mean().item(),
            "hi_forgetting": (after - final[:, 0]).mean().item(),
            "hi_certified_avg_acc": cert.mean().item(),
            "universal_avg_acc": uni.mean().item(),
            "intersection_min_width": width,
            "universal_in_all_boxes": float(in_boxes),
            "guarantee_holds": guarantee,
        }
        m["gain_over_ft"] = m["hi_avg_acc"] - m["ft_avg_acc"]
        m["universal_gain_over_ft"] = m["universal_avg_acc"] - m["ft_avg_acc"]
        return Result(m, self._artifacts(out_dir, ft[-1], final, uni))

    def _artifacts(self, out_dir: Path, ft, final, uni) -> list[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["task", "finetune_acc", "hyperinterval_acc", "certified_acc", "universal_acc"])
        for j in range(len(ft)):
            w.writerow([j, f"{ft[j]:.2f}", f"{final[j, 0]:.2f}", f"{final[j, 1]:.2f}", f"{uni[j]:.2f}"])
        atomic_write(out_dir / "accuracy.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        xs = torch.arange(len(ft)).float()
        for k, (vals, name) in enumerate([(ft, "fine-tuning"), (final[:, 0], "HyperInterval (task box)"),
                                          (final[:, 1], "certified (whole box)"), (uni, "universal")]):
            ax.bar(xs + 0.2 * k - 0.3, vals, width=0.2, label=name)
        ax.set_xlabel("task (digit pair)")
        ax.set_ylabel("final test accuracy (%)")
        ax.legend(fontsize=7)
        plot.save(fig, out_dir / "accuracy.png")
        return ["accuracy.csv", "accuracy.png"]

    def checks(self, metrics):
        return [
            self.check("HyperInterval avg accuracy minus fine-tuning (points)", metrics,
                       "gain_over_ft", ">=", "min_gain_over_ft"),
            self.check("HyperInterval forgetting (points)", metrics, "hi_forgetting", "<=",
                       "max_forgetting"),
            self.check("no-forgetting guarantee: boxes intersect, universal weights in every "
                       "certified box, universal acc >= certified acc", metrics,
                       "guarantee_holds", ">=", "guarantee"),
            self.check("universal embedding avg accuracy minus fine-tuning (points)", metrics,
                       "universal_gain_over_ft", ">=", "min_universal_gain_over_ft"),
        ]
