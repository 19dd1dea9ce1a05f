"""Power-Softmax (paper #43): attention normalised by an even power instead of an
exponential trains as well as softmax, and its remaining non-polynomial part
(the reciprocal of the row sum) is replaced by a polynomial on the range it
takes, for HE-friendly inference.

Wires the decoder :class:`~mantissa.models.transformer.Transformer` trained by
:func:`mantissa.train.pipeline.fit_task` on an algorithmic task (sorting digit
strings) twice — ``attention="softmax"`` and ``attention="power:p=2"`` — with
the same data, seed and schedule, once per seed; compares exact-match test
accuracy. Then the
reciprocal inside the trained power model is replaced by a polynomial
(:func:`mantissa.arith.fit`: the constant start ``2/(lo+hi)`` refined by as many
Newton steps ``y(2 - zy)`` as reach ``tol`` — the row sums span five decades, where
a Chebyshev start leaves Newton's basin) on the range of row sums seen on the
training prompts (widened by a margin), and the model is re-evaluated.

Gate: the softmax model learned the task (≥ 90 % exact match). Claims, each judged
on seed-paired differences (mean − 2·SE over ``seeds`` seeds, since run-to-run noise
is about 1 point): power-softmax minus softmax above −1 point, and the polynomial
reciprocal minus the exact one above −1 point. The polynomial's error bound on its
range holds by construction (``arith.newton_steps``; unit-tested in
``tests/arith/test_power_softmax.py``); its measured maximum is reported.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mantissa import plot
from mantissa.arith.poly import fit, newton_steps
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import write_csv
from mantissa.models.transformer import TransformerConfig
from mantissa.nn import power_softmax as _power  # noqa: F401  (registers attention "power")
from mantissa.nn.power_softmax import power_attention_kernel
from mantissa.runtime import threads
from mantissa.train.pipeline import DataConfig, LabConfig, fit_task
from mantissa.train.trainer import TrainConfig

Config = card_config(__name__)  # the card's [config]: power_softmax.toml


class _Recorder:
    """A reciprocal that records the range of its inputs (exact 1/z)."""

    def __init__(self) -> None:
        self.lo, self.hi = float("inf"), 0.0

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        self.lo = min(self.lo, float(z.min()))
        self.hi = max(self.hi, float(z.max()))
        return 1.0 / z


def _set_kernel(model, kernel) -> None:
    for blk in model.blocks:
        blk.attn.kernel = kernel


def _accuracy(run) -> float:
    with threads(1):
        ok, _ = run.exact(run.split.test)
    return 100.0 * sum(ok) / max(1, len(ok))


@register
class PowerSoftmax(Experiment):
    id = "power-softmax"

    def _lab(self, cfg: Config, attention: str) -> LabConfig:
        return LabConfig(
            data=DataConfig(task=cfg.task, train_lengths=cfg.lengths, test_lengths=cfg.lengths,
                            n_train=cfg.n_train, n_test=cfg.n_test),
            model=TransformerConfig(d_model=cfg.d_model, n_layer=cfg.n_layer, n_head=cfg.n_head,
                                    attention=attention),
            train=TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                              warmup=max(1, cfg.steps // 20), log_every=0))

    def _one_seed(self, cfg: Config, seed: int) -> tuple[dict[str, float], object]:
        runs, acc = {}, {}
        for name, spec in (("softmax", "softmax"), ("power", f"power:p={cfg.p},eps={cfg.eps}")):
            with threads(1):
                runs[name] = fit_task(self._lab(cfg, spec), seed, desc=f"{name} s{seed}")
            acc[name] = _accuracy(runs[name])
        power = runs["power"]
        rec = _Recorder()  # the range of the row sums on the training prompts
        _set_kernel(power.model, power_attention_kernel(cfg.p, cfg.eps, rec))
        calib = power.split.train[: max(200, len(power.split.test))]
        with threads(1):
            power.exact(calib)
        lo, hi = rec.lo / cfg.margin, rec.hi * cfg.margin
        steps = newton_steps(lo, hi, cfg.tol) if cfg.newton < 0 else cfg.newton
        recip = fit("reciprocal", lo, hi, cfg.degree, steps)
        err = recip.errors()
        _set_kernel(power.model, power_attention_kernel(cfg.p, cfg.eps, recip))
        acc["power_poly"] = _accuracy(power)
        row = {"seed": float(seed), "acc_softmax": acc["softmax"], "acc_power": acc["power"],
               "acc_power_poly": acc["power_poly"], "poly_range_lo": lo, "poly_range_hi": hi,
               "poly_newton_steps": float(steps), "poly_multiplications": float(recip.multiplications),
               "poly_max_rel_error": err["max_rel_error"], "poly_max_abs_error": err["max_abs_error"]}
        return row, recip

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows, recip = [], None
        for s in range(seed, seed + cfg.seeds):
            row, fitted = self._one_seed(cfg, s)
            rows.append(row)
            recip = recip or fitted  # the first seed's polynomial is plotted
        mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
        metrics = {k: mean(k) for k in ("acc_softmax", "acc_power", "acc_power_poly")}
        metrics["acc_drop"] = metrics["acc_softmax"] - metrics["acc_power"]
        metrics["acc_drop_poly"] = metrics["acc_power"] - metrics["acc_power_poly"]
        metrics.update(seed_metrics("power_minus_softmax", [r["acc_power"] - r["acc_softmax"] for r in rows]))
        metrics.update(seed_metrics("poly_minus_exact", [r["acc_power_poly"] - r["acc_power"] for r in rows]))
        metrics.update({"poly_range_lo": min(r["poly_range_lo"] for r in rows),
                        "poly_range_hi": max(r["poly_range_hi"] for r in rows),
                        "poly_degree": float(cfg.degree),
                        **{k: max(r[k] for r in rows) for k in ("poly_newton_steps", "poly_multiplications",
                                                                "poly_max_rel_error", "poly_max_abs_error")}})
        arts = [write_csv(out_dir / "seeds.csv", list(rows[0]), [list(r.values()) for r in rows]),
                write_csv(out_dir / "summary.csv", ["metric", "value"], [[k, v] for k, v in metrics.items()]),
                self._plot(recip, out_dir)]
        return Result(metrics, arts)

    def _plot(self, recip, out_dir: Path) -> str:
        import numpy as np

        xs = np.geomspace(recip.lo, recip.hi, 2000)
        approx = recip(torch.from_numpy(xs)).numpy()
        fig, ax = plot.figure()
        ax.plot(xs, np.abs(approx * xs - 1), label=f"degree {recip.degree} + {recip.newton} Newton")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("row sum Σ x^p")
        ax.set_ylabel("relative error of the polynomial reciprocal")
        ax.legend()
        plot.save(fig, out_dir / "reciprocal_error.png")
        return "reciprocal_error.png"
