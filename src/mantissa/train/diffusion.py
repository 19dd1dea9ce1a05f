"""DDPM training loss and ancestral sampler (Ho, Jain & Abbeel 2020).

* Forward process (Eq. 4): ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` with a linear
  ``beta`` schedule; ``beta`` from 1e-4 to 0.02 at T = 1000 and scaled by ``1000 / T`` for
  shorter chains (so that ``abar_T`` stays near 0).
* Loss (Eq. 14, "L_simple"): ``|| eps - eps_theta(x_t, t) ||^2`` with ``t`` uniform.
* Sampler (Algorithm 2): ``x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_theta) / sqrt(alpha_t)
  + sigma_t z`` with ``sigma_t^2 = beta_t``; no noise at the last step.

The model is any ``model(x_t, t) -> eps`` (e.g. :class:`mantissa.models.ddpm.MLPDenoiser`).
:func:`ddpm_sample` can also record the model inputs of every step, the
calibration data of post-training quantization for diffusion models (inputs from
all timesteps of the sampling trajectory; :func:`calibration_inputs`). :func:`fit_ddpm`
trains a denoiser with the generic :class:`~mantissa.train.Trainer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.train.lm import TensorBatches
from mantissa.train.trainer import TrainConfig, Trainer


@dataclass
class NoiseSchedule:
    """Linear-beta DDPM schedule with ``steps`` diffusion steps."""

    steps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02

    def __post_init__(self) -> None:
        if self.steps < 2:
            raise ConfigError(f"a diffusion schedule needs >= 2 steps, got {self.steps}")
        k = 1000.0 / self.steps
        self.betas = torch.linspace(self.beta_start * k, min(self.beta_end * k, 0.999), self.steps,
                                    dtype=torch.float64)
        self.alphas = 1.0 - self.betas
        self.abar = torch.cumprod(self.alphas, 0)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """``x_t`` of Eq. 4 for integer steps ``t`` (N,)."""
        a = self.abar[t].to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
        return a.sqrt() * x0 + (1 - a).sqrt() * eps


def ddpm_loss(schedule: NoiseSchedule, key: str = "x") -> Callable:
    """A ``loss_fn(model, batch) -> (loss, logs)`` for :class:`~mantissa.train.Trainer`: L_simple
    on ``batch[key]`` (clean images), ``t`` and ``eps`` from torch's global generator."""

    def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]):
        x0 = batch[key]
        t = torch.randint(0, schedule.steps, (x0.shape[0],))
        eps = torch.randn_like(x0)
        loss = ((model(schedule.q_sample(x0, t, eps), t) - eps) ** 2).mean()
        return loss, {}

    return loss_fn


@torch.no_grad()
def ddpm_sample(model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], schedule: NoiseSchedule,
                shape: tuple[int, ...], generator: torch.Generator,
                record: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
    """Algorithm 2 from ``x_T ~ N(0, I)``; the same generator state gives the same noise for any
    model (paired samples). With ``record``, every step's ``(x_t, t)`` is appended to it."""
    x = torch.randn(shape, generator=generator)
    for step in range(schedule.steps - 1, -1, -1):
        t = torch.full((shape[0],), step, dtype=torch.long)
        if record is not None:
            record.append((x.clone(), t))
        eps = model(x, t)
        beta, abar = float(schedule.betas[step]), float(schedule.abar[step])
        x = (x - beta / (1 - abar) ** 0.5 * eps) / (1 - beta) ** 0.5
        z = torch.randn(shape, generator=generator)
        if step > 0:
            x = x + beta ** 0.5 * z
    return x


def fit_ddpm(model: nn.Module, schedule: NoiseSchedule, x: torch.Tensor, steps: int, lr: float = 2e-3,
             batch_size: int = 128, seed: int = 0) -> nn.Module:
    """Train ``model`` with L_simple on clean images ``x`` (N, D) via the generic Trainer;
    returns it in eval mode."""
    torch.manual_seed(seed)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=steps // 20, weight_decay=0.0,
                      log_every=0, seed=seed)
    Trainer(model, cfg, TensorBatches({"x": x}, batch_size, seed=seed), loss_fn=ddpm_loss(schedule),
            progress_desc="train DDPM").fit()
    return model.eval()


def calibration_inputs(model: nn.Module, schedule: NoiseSchedule, n: int, dim: int, every: int = 1,
                       seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Model inputs ``(x_t, t)`` of ``n`` sampling chains of ``model``, every ``every``-th step
    (post-training quantization calibrates on all timesteps of the chain)."""
    record: list[tuple[torch.Tensor, torch.Tensor]] = []
    ddpm_sample(model, schedule, (n, dim), torch.Generator().manual_seed(seed), record)
    return record[::every]
