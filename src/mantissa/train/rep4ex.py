"""Rep4Ex: representations for intervention extrapolation (Saengkyongam, Rosenfeld,
Ravikumar, Pfister & Peters, 2024, "Identifying Representations for Intervention
Extrapolation", paper #40, Sec. 3-5).

Model: actions ``A`` act linearly on latents, ``Z = M A + V`` with ``V ⫫ A``;
we observe ``X = g(Z)`` through an unknown injective mixing ``g`` and an outcome
``Y = ℓ(Z) + U`` with ``U`` correlated with ``V`` (hidden confounding).

* **Stage 1** — an autoencoder ``φ: X -> R^d``, ``ψ: R^d -> X`` trained with the
  *linear invariance constraint*: the residual of ``φ(X)`` after its least-squares
  affine fit on ``A``, ``R = φ(X) - Ŵ [A, 1]``, must be independent of ``A``
  (Eq. 6, here an HSIC penalty with Gaussian kernels, Gretton et al., 2005). This
  identifies ``Z`` up to an affine map (Thm. 3); without it (``lam = 0``, the
  "vanilla" autoencoder) ``φ`` is any nonlinear re-parameterisation.
* **Stage 2** — control functions (Eq. 8): with ``V̂ = φ(X) - Ŵ [A, 1]`` fit
  ``Y ≈ ν(φ(X)) + κ(V̂)``, then

      E[Y | do(A = a)] ≈ mean_i ν(Ŵ [a, 1] + V̂_i) + mean_i κ(V̂_i).

:func:`simulate` draws the paper's kind of data with a closed-form
interventional mean, used as the ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.train.lm import TensorBatches
from mantissa.train.trainer import TrainConfig, Trainer


def _mlp(i: int, o: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                         nn.Linear(hidden, o))


def _gram(x: torch.Tensor) -> torch.Tensor:
    d2 = torch.cdist(x, x).pow(2)
    bw = d2.detach()[d2.detach() > 0].median() if (d2 > 0).any() else torch.tensor(1.0)
    return torch.exp(-d2 / bw)


def hsic(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Biased HSIC estimate ``tr(K H L H) / (n-1)^2`` with Gaussian kernels (median bandwidth)."""
    if x.dim() != 2 or y.dim() != 2 or len(x) != len(y) or len(x) < 2:
        raise ShapeError(f"hsic needs two (n, d) batches of equal n >= 2, got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}")
    n = len(x)
    h = torch.eye(n, dtype=x.dtype) - 1.0 / n
    k, l_ = _gram(x), _gram(y)
    return torch.trace(k @ h @ l_ @ h) / (n - 1) ** 2


def affine_fit(a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Least-squares ``W`` of shape ``(dim_a + 1, dim_z)`` with ``z ≈ [a, 1] @ W``."""
    design = torch.cat([a, torch.ones(len(a), 1, dtype=a.dtype)], 1)
    return torch.linalg.lstsq(design, z).solution


def residual(a: torch.Tensor, z: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    w = affine_fit(a, z) if w is None else w
    return z - torch.cat([a, torch.ones(len(a), 1, dtype=a.dtype)], 1) @ w


class AutoEncoder(nn.Module):
    def __init__(self, x_dim: int, z_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.enc, self.dec = _mlp(x_dim, z_dim, hidden), _mlp(z_dim, x_dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)


@dataclass
class Rep4ExConfig:
    z_dim: int = 2
    hidden: int = 64
    lam: float = 10.0  # weight of the linear invariance (HSIC) penalty; 0 = vanilla autoencoder
    ae_steps: int = 2000
    cf_steps: int = 1500
    batch_size: int = 256
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.lam < 0 or self.z_dim < 1:
            raise ConfigError(f"need lam >= 0 and z_dim >= 1, got {self.lam}, {self.z_dim}")


class Rep4Ex:
    """``fit(x, a, y)`` then ``interventional_mean(a_new)``; see the module docstring."""

    def __init__(self, cfg: Rep4ExConfig | None = None) -> None:
        self.cfg = cfg or Rep4ExConfig()

    def _train(self, model: nn.Module, data: dict, loss_fn, steps: int, desc: str) -> None:
        c = self.cfg
        tcfg = TrainConfig(steps=steps, batch_size=c.batch_size, lr=c.lr, warmup=steps // 20,
                           weight_decay=0.0, log_every=0, seed=c.seed)
        Trainer(model, tcfg, TensorBatches(data, c.batch_size, seed=c.seed, trim_key=None), loss_fn=loss_fn,
                progress_desc=desc).fit()

    def fit(self, x: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> Rep4Ex:
        c = self.cfg
        if not (x.dim() == a.dim() == 2 and y.dim() == 1 and len(x) == len(a) == len(y)):
            raise ShapeError(f"need x (n, D), a (n, k), y (n,), got {tuple(x.shape)}, {tuple(a.shape)}, "
                             f"{tuple(y.shape)}")
        torch.manual_seed(c.seed)
        self.ae = AutoEncoder(x.shape[1], c.z_dim, c.hidden)

        def ae_loss(model, batch):
            z = model.enc(batch["x"])
            rec = F.mse_loss(model.dec(z), batch["x"])
            pen = hsic(batch["a"], residual(batch["a"], z)) if c.lam > 0 else torch.zeros(())
            return rec + c.lam * pen, {"rec": float(rec.detach()), "hsic": float(pen.detach())}

        self._train(self.ae, {"x": x, "a": a}, ae_loss, c.ae_steps, f"rep4ex AE lam={c.lam}")
        with torch.no_grad():
            z = self.ae.enc(x)
            self.w = affine_fit(a, z)
            self.v = residual(a, z, self.w)
        self.nu, self.kappa = _mlp(c.z_dim, 1, c.hidden), _mlp(c.z_dim, 1, c.hidden)
        cf = nn.ModuleDict({"nu": self.nu, "kappa": self.kappa})

        def cf_loss(model, batch):
            pred = model["nu"](batch["z"]).squeeze(-1) + model["kappa"](batch["v"]).squeeze(-1)
            return F.mse_loss(pred, batch["y"]), {}

        self._train(cf, {"z": z, "v": self.v, "y": y}, cf_loss, c.cf_steps, "rep4ex control function")
        return self

    @torch.no_grad()
    def interventional_mean(self, a_new: torch.Tensor) -> torch.Tensor:
        """``E[Y | do(A = a)]`` for each row of ``a_new``."""
        shift = torch.cat([a_new, torch.ones(len(a_new), 1, dtype=a_new.dtype)], 1) @ self.w  # (m, d)
        base = float(self.kappa(self.v).mean())
        return torch.stack([self.nu(s + self.v).mean() for s in shift]) + base

    @torch.no_grad()
    def invariance(self, x: torch.Tensor, a: torch.Tensor, n: int = 1000) -> float:
        """HSIC between ``A`` and the residual of ``φ(X)`` on held-out data (lower = more linear)."""
        z = self.ae.enc(x[:n])
        return float(hsic(a[:n], residual(a[:n], z)))


@dataclass
class Simulation:
    x: torch.Tensor
    a: torch.Tensor
    y: torch.Tensor


SIGMA_V = 1.0


def simulate(n: int, seed: int = 0, a_range: float = 1.0, x_dim: int = 6) -> Simulation:
    """``A ~ U[-r, r]^2``, ``V ~ N(0, σ² I)``, ``Z = A + V``, ``X = B [h, tanh(h)]`` with
    ``h = Z + 0.2 Z³`` (injective), ``Y = 2 sin(Z_1) + Z_2 + U``, ``U = 0.8 (V_1 + V_2) + ε``."""
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n, 2, generator=g) * 2 - 1) * a_range
    v = torch.randn(n, 2, generator=g) * SIGMA_V
    z = a + v
    h = z + 0.2 * z**3
    mix = torch.randn(4, x_dim, generator=torch.Generator().manual_seed(12345)) / 2
    x = torch.cat([h, torch.tanh(h)], 1) @ mix
    u = 0.8 * (v[:, 0] + v[:, 1]) + 0.1 * torch.randn(n, generator=g)
    y = 2 * torch.sin(z[:, 0]) + z[:, 1] + u
    return Simulation(x, a, y)


def true_interventional_mean(a: torch.Tensor) -> torch.Tensor:
    """Closed form of ``E[Y | do(A = a)]`` for :func:`simulate`:
    ``2 sin(a_1) e^{-σ²/2} + a_2`` (``E sin(a + V) = sin(a) e^{-σ²/2}``, ``E U = 0``)."""
    return 2 * torch.sin(a[:, 0]) * math.exp(-SIGMA_V**2 / 2) + a[:, 1]
