"""Polynomial approximations of non-polynomial functions over a stated range.

For inference over homomorphic encryption only additions and multiplications
exist (Zimerman et al., "Power-Softmax", 2024, Sec. 4; also Lee et al. 2022),
so reciprocals, inverse square roots and activations are replaced by
polynomials valid on a known input range ``[lo, hi]``:

* a Chebyshev interpolant of degree ``degree`` (evaluated with the Clenshaw
  recurrence: adds and multiplies only), then
* optionally ``newton`` Newton steps, themselves polynomial:
  ``y <- y (2 - z y)`` for ``1/z`` and ``y <- y (3 - z y²) / 2`` for ``1/sqrt(z)``.
  A Chebyshev start can leave the basin of convergence on wide ranges; the
  constant start (``degree=0``: ``2/(lo+hi)``) never does for ``1/z`` on
  ``(0, lo+hi)``, and :func:`newton_steps` says how many steps reach a tolerance.

:meth:`PolyApprox.errors` measures the maximum absolute and relative error on a
dense float64 grid of the range; outside the range nothing is promised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from mantissa.arith._check import int_in_range
from mantissa.errors import ConfigError
from mantissa.registry import Registry

#: functions a polynomial may approximate: name -> (numpy function, Newton step or None)
TARGETS: Registry = Registry("polynomial target")


def _newton_recip(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return y * (2 - z * y)


def _newton_rsqrt(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return y * (3 - z * y * y) * 0.5


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


TARGETS.add("reciprocal", (lambda x: 1.0 / x, _newton_recip))
TARGETS.add("rsqrt", (lambda x: 1.0 / np.sqrt(x), _newton_rsqrt))
TARGETS.add("exp", (np.exp, None))
TARGETS.add("gelu", (_gelu, None))


@dataclass
class PolyApprox:
    """A polynomial stand-in for ``target`` on ``[lo, hi]`` (call it on tensors)."""

    target: str
    lo: float
    hi: float
    degree: int
    newton: int = 0
    coeffs: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        fn, step = TARGETS.get(self.target)
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ConfigError(f"need a finite range lo < hi, got [{self.lo}, {self.hi}]")
        if self.target in ("reciprocal", "rsqrt") and self.lo <= 0:
            raise ConfigError(f"{self.target} needs a positive range, got lo={self.lo}")
        int_in_range(self.degree, "degree", 0, 64)
        int_in_range(self.newton, "newton", 0, 64)
        if self.newton and step is None:
            raise ConfigError(f"Newton refinement exists for reciprocal and rsqrt, not {self.target!r}")
        nodes = np.cos(np.pi * (np.arange(self.degree + 1) + 0.5) / (self.degree + 1))
        xs = self._from_unit(nodes)
        self.coeffs = np.polynomial.chebyshev.chebfit(nodes, fn(xs), self.degree)
        self._fn, self._step = fn, step

    def _from_unit(self, t):
        return (t + 1) * (self.hi - self.lo) / 2 + self.lo

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        t = (z - self.lo) * (2.0 / (self.hi - self.lo)) - 1.0  # affine: polynomial
        b1, b2 = torch.zeros_like(t), torch.zeros_like(t)
        for c in self.coeffs[:0:-1]:  # Clenshaw
            b1, b2 = 2 * t * b1 - b2 + float(c), b1
        y = t * b1 - b2 + float(self.coeffs[0])
        for _ in range(self.newton):
            y = self._step(z, y)
        return y

    @property
    def multiplications(self) -> int:
        """Multiplications per evaluation (Clenshaw: one per degree; Newton: 2 or 3 per step)."""
        return self.degree + self.newton * (2 if self.target == "reciprocal" else 3)

    def errors(self, points: int = 20001) -> dict[str, float]:
        """Max absolute and relative error on a dense grid of ``[lo, hi]`` (float64)."""
        xs = np.linspace(self.lo, self.hi, points)
        if self.hi / max(self.lo, 1e-300) > 100 and self.lo > 0:
            xs = np.unique(np.concatenate([xs, np.geomspace(self.lo, self.hi, points)]))
        exact = self._fn(xs)
        approx = self(torch.from_numpy(xs)).numpy()
        err = np.abs(approx - exact)
        rel = err / np.maximum(np.abs(exact), 1e-300)
        big = np.abs(exact) > 1e-3 * np.abs(exact).max()  # relative error away from zeros
        return {"max_abs_error": float(err.max()), "max_rel_error": float(rel[big].max())}


def newton_steps(lo: float, hi: float, tol: float = 1e-4) -> int:
    """Newton steps that take the constant start ``2 / (lo + hi)`` (``degree=0``) for ``1/z``
    to relative error ``<= tol`` everywhere on ``[lo, hi]``: ``e_k = e_0^(2^k)`` with
    ``e_0 = (hi - lo) / (hi + lo)``."""
    if not 0 < lo < hi or not 0 < tol < 1:
        raise ConfigError(f"need 0 < lo < hi and 0 < tol < 1, got lo={lo}, hi={hi}, tol={tol}")
    e0 = (hi - lo) / (hi + lo)
    return max(0, math.ceil(math.log2(math.log(tol) / math.log(e0))))


def fit(target: str, lo: float, hi: float, degree: int, newton: int = 0) -> PolyApprox:
    """``fit("reciprocal", 1, 64, 8, newton=2)`` -> a :class:`PolyApprox`."""
    return PolyApprox(target, float(lo), float(hi), degree, newton)

