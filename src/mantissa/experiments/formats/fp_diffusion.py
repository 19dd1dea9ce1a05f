"""Low-bitwidth FP quantization for diffusion models (catalogue row #33) on a small DDPM.

An MLP denoiser (:mod:`mantissa.models.ddpm`, :mod:`mantissa.train.diffusion`) on 8x8 digits; each
quantized arm is :func:`mantissa.quant.learned_rounding.quantize_model` calibrated on inputs from
every 5th step of FP32 sampling chains; all arms sample from the same noise. Quality: Fréchet
distance on a digits classifier's features (:mod:`mantissa.probe.frechet`) to all digits and to the
FP32 samples (the paper's full-precision reference; "drift" = that / FP32's distance to digits).
Arms: W8A8 E4M3; W4A8 with E2M1 or INT4 weights (per-channel, searched clip), learned or nearest
rounding (INT4 nearest reported only); E4M3 activations throughout. Three DDPMs (seeds).
"""

from __future__ import annotations

from pathlib import Path

import torch

from mantissa import plot, runtime
from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, mean_se, register, seed_metrics
from mantissa.io import write_csv
from mantissa.models.ddpm import MLPDenoiser
from mantissa.probe.frechet import fit_classifier, frechet_features, sample_quality, shuffled_pixels_fd
from mantissa.quant.learned_rounding import PTQConfig, quantize_model
from mantissa.train.diffusion import NoiseSchedule, calibration_inputs, ddpm_sample, fit_ddpm

ARMS = {"w8a8-fp8": ("float8_e4m3fn", "learned"), "w4a8-fp4": ("e2m1", "learned"),
        "w4a8-fp4-nearest": ("e2m1", "nearest"), "w4a8-int4": ("int4", "learned"),
        "w4a8-int4-nearest": ("int4", "nearest")}


Config = card_config(__name__)  # the card's [config]: fp_diffusion.toml


@register
class FpDiffusion(Experiment):
    id = "fp-diffusion"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        data = load_sklearn("digits")
        x_all = data.X / 8.0 - 1.0
        train, test = data.split(0.25, seed=seed)
        with runtime.threads(1):
            clf = fit_classifier(train.X / 8.0 - 1.0, train.y, 10, steps=cfg.clf_steps, seed=seed)
            with torch.no_grad():
                clf_acc = 100.0 * float((clf(test.X / 8.0 - 1.0).argmax(-1) == test.y).float().mean())
                real = clf.features(x_all)
            fd_shuffled = shuffled_pixels_fd(clf, x_all, seed)
            rows = [self._one_seed(cfg, seed + 1000 * k, x_all, clf, real) for k in range(cfg.seeds)]
        m: dict[str, float] = {"clf_acc": clf_acc, "fd_shuffled_pixels": fd_shuffled}
        m.update({f"{k}_{a}": sum(r[f"{k}_{a}"] for r in rows) / len(rows)
                  for a in ("fp32", *ARMS) for k in ("fd", "conf", "fd_to_fp32")})
        m["fp32_fd_ratio_worst"] = max(r["fd_fp32"] for r in rows) / fd_shuffled
        drift = lambda r, a: r[f"fd_to_fp32_{a}"] / r["fd_fp32"]  # noqa: E731
        _ucb = lambda n, v: {f"{n}_mean": mean_se(v)[0], f"{n}_ucb": sum(mean_se(v)) + mean_se(v)[1]}  # noqa: E731
        cl = lambda r, a, b: 1 - r[f"fd_to_fp32_{b}"] / r[f"fd_to_fp32_{a}"]  # noqa: E731
        m.update(_ucb("w8a8_drift", [drift(r, "w8a8-fp8") for r in rows]))
        m.update(_ucb("w4a8_drift", [drift(r, "w4a8-fp4") for r in rows]))
        m.update(_ucb("w8a8_conf_drop", [r["conf_fp32"] - r["conf_w8a8-fp8"] for r in rows]))
        m.update(seed_metrics("fp4_over_int4", [cl(r, "w4a8-int4", "w4a8-fp4") for r in rows]))
        m.update(seed_metrics("learned_over_nearest", [cl(r, "w4a8-fp4-nearest", "w4a8-fp4") for r in rows]))
        return Result(m, self._artifacts(rows, out_dir))

    def _one_seed(self, cfg: Config, seed: int, x_all, clf, real) -> dict[str, float]:
        sched = NoiseSchedule(cfg.diffusion_steps)
        torch.manual_seed(seed)
        net = MLPDenoiser(64, cfg.hidden, cfg.depth)
        model = fit_ddpm(net, sched, x_all, cfg.train_steps, cfg.lr, seed=seed)
        calib = calibration_inputs(model, sched, cfg.calib_samples, 64, cfg.calib_every, seed=seed + 1)
        models = {"fp32": model, **{arm: quantize_model(
            model, lambda m: [m(x, t) for x, t in calib],
            PTQConfig(w_grid=w, a_grid="float8_e4m3fn", rounding=rnd, iters=cfg.ptq_iters), seed=seed)
            for arm, (w, rnd) in ARMS.items()}}
        out, feats = {}, {}
        for arm, net in models.items():
            s = ddpm_sample(net, sched, (cfg.n_samples, 64), torch.Generator().manual_seed(seed + 2))
            out[f"fd_{arm}"], out[f"conf_{arm}"], feats[arm] = sample_quality(s.clamp(-1, 1), clf, real)
        out.update({f"fd_to_fp32_{a}": frechet_features(f, feats["fp32"]) for a, f in feats.items()})
        return out

    def _artifacts(self, rows: list[dict[str, float]], out_dir: Path) -> list[str]:
        arms = ("fp32", *ARMS)
        table = [[k, arm, r[f"fd_{arm}"], r[f"conf_{arm}"], r[f"fd_to_fp32_{arm}"]]
                 for k, r in enumerate(rows) for arm in arms]
        write_csv(out_dir / "arms.csv", ["seed", "arm", "fd_to_digits", "confidence", "fd_to_fp32"], table)
        fig, ax = plot.figure()
        for k, r in enumerate(rows):
            ax.plot(range(len(arms)), [r[f"fd_{a}"] for a in arms], "o-", label=f"DDPM seed {k}")
        ax.set_xticks(range(len(arms)), arms, rotation=20)
        ax.set_ylabel("Fréchet distance to digits (classifier features)")
        ax.set_title("DDPM on digits: FP32 vs post-training quantized")
        ax.legend()
        return ["arms.csv", plot.save(fig, out_dir / "fd_by_arm.png").name]

    def checks(self, metrics):
        paper = "abstract (LDM, Stable Diffusion): "
        return [
            self.check("digits classifier test accuracy (%)", metrics, "clf_acc", ">=", "min_clf_acc",
                       kind="gate"),
            self.check("FP32 DDPM learned digits: FD / FD of pixel-shuffled digits, worst seed", metrics,
                       "fp32_fd_ratio_worst", "<", "max_fp32_fd_ratio", kind="gate"),
            self.check("W8A8 FP8 (E4M3) drift: FD(W8A8 samples, FP32 samples) / FD(FP32, digits), "
                       "mean + 2 SE", metrics, "w8a8_drift_ucb", "<", "max_w8a8_drift",
                       paper_value=paper + "no noticeable degradation at FP8 W8A8"),
            self.check("W8A8 FP8: classifier confidence drop vs FP32, mean + 2 SE", metrics,
                       "w8a8_conf_drop_ucb", "<", "max_w8a8_conf_drop", paper_value=paper + "≈ FP32"),
            self.check("W4A8, learned rounding: FP4 (E2M1) drift below INT4's (1 - FP4/INT4), mean - 2 SE",
                       metrics, "fp4_over_int4_lcb", ">", "min_fp4_over_int4",
                       paper_value=paper + "FP4 weights clearly better than INT4"),
            self.check("W4A8 FP4: learned rounding's drift below nearest's (1 - ratio), mean - 2 SE",
                       metrics, "learned_over_nearest_lcb", ">", "min_learned_over_nearest",
                       paper_value=paper + "rounding learning improves FP4"),
            self.check("W4A8 FP4 (learned) drift, as for W8A8, mean + 2 SE", metrics, "w4a8_drift_ucb", "<",
                       "max_w4a8_drift", paper_value=paper + "minimal degradation at W4A8"),
        ]
