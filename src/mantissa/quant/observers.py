"""Calibration observers: choose the clipping range of a quantizer from data.

Gholami et al. 2021 (survey), §III-B/§IV: the range ``[lo, hi]`` may be the
min/max of the data or be clipped — a percentile of |x|, the clip that
minimises the mean squared quantization error, or the threshold that minimises
the KL divergence between the data's histogram and its quantized histogram
(TensorRT "entropy" calibration, Migacz 2017). Observers see data in the
``(S, L)`` row view of :mod:`mantissa.quant.granularity` and return one range per
row. They accumulate over calibration batches (``update``), keeping a bounded
random sample of columns for the data-dependent methods.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.formats import Format, IntFormat
from mantissa.quant.uniform import fake_quantize_rows, qparams
from mantissa.registry import Registry

OBSERVERS: Registry = Registry("observer")


class Observer:
    """Running min/max plus a bounded sample of the observed rows."""

    name = "observer"

    def __init__(self, max_samples: int = 1 << 20, seed: int = 0) -> None:
        self.max_samples = int(max_samples)
        self._gen = torch.Generator().manual_seed(seed)
        self.lo: torch.Tensor | None = None
        self.hi: torch.Tensor | None = None
        self._chunks: list[torch.Tensor] = []

    def update(self, rows: torch.Tensor) -> None:
        rows = rows.detach().float()
        if self.lo is not None and rows.shape[0] != self.lo.shape[0]:
            raise ShapeError(f"observer saw {self.lo.shape[0]} rows before, now {rows.shape[0]}; "
                             "calibrate per-token quantizers dynamically instead")
        lo, hi = rows.amin(1, keepdim=True), rows.amax(1, keepdim=True)
        self.lo = lo if self.lo is None else torch.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else torch.maximum(self.hi, hi)
        if self.keeps_samples:
            self._chunks.append(rows.cpu())
            self._shrink()

    keeps_samples = False

    def _shrink(self) -> None:
        data = torch.cat(self._chunks, 1)
        cap = max(1, self.max_samples // data.shape[0])
        if data.shape[1] > cap:
            idx = torch.randperm(data.shape[1], generator=self._gen)[:cap]
            data = data[:, idx]
        self._chunks = [data]

    @property
    def samples(self) -> torch.Tensor:
        if not self._chunks:
            raise ConfigError(f"{self.name} observer has seen no data; call update() first")
        return self._chunks[0]

    def range(self, fmt: Format, symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row ``(lo, hi)``, each ``(S, 1)``."""
        if self.lo is None or self.hi is None:
            raise ConfigError(f"{self.name} observer has seen no data; call update() first")
        return self.lo, self.hi


@OBSERVERS.register("minmax")
class MinMax(Observer):
    """The full range of the data."""

    name = "minmax"


@OBSERVERS.register("percentile")
class Percentile(Observer):
    """Clip at the ``pct`` percentile of |x| (symmetric) or of x at both ends (affine)."""

    name = "percentile"
    keeps_samples = True

    def __init__(self, pct: float = 99.99, **kw) -> None:
        super().__init__(**kw)
        if not 0 < pct <= 100:
            raise ConfigError(f"percentile must be in (0, 100], got {pct}")
        self.pct = float(pct)

    def range(self, fmt: Format, symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.samples
        n = x.shape[1]
        k = min(n, max(1, math.ceil(self.pct / 100 * n)))
        if symmetric:
            amax = x.abs().kthvalue(k, 1, keepdim=True).values
            return -amax, amax
        hi = x.kthvalue(k, 1, keepdim=True).values
        lo = x.kthvalue(max(1, n + 1 - k), 1, keepdim=True).values
        return lo, hi


@OBSERVERS.register("mse")
class MSE(Observer):
    """Grid search of the clipping ratio that minimises the mean squared error per row."""

    name = "mse"
    keeps_samples = True

    def __init__(self, steps: int = 100, lowest: float = 0.05, **kw) -> None:
        super().__init__(**kw)
        self.ratios = torch.linspace(lowest, 1.0, int(steps))

    def range(self, fmt: Format, symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        lo0, hi0 = super().range(fmt, symmetric)
        x = self.samples
        best = torch.full_like(lo0, math.inf)
        best_lo, best_hi = lo0.clone(), hi0.clone()
        for r in self.ratios.tolist():
            lo, hi = lo0 * r, hi0 * r
            fq = fake_quantize_rows(x, qparams(lo, hi, fmt, symmetric), fmt)
            err = (fq - x).pow(2).sum(1, keepdim=True)
            better = err < best
            best = torch.where(better, err, best)
            best_lo, best_hi = torch.where(better, lo, best_lo), torch.where(better, hi, best_hi)
        return best_lo, best_hi


@OBSERVERS.register("kl")
class KL(Observer):
    """TensorRT entropy calibration: the |x| threshold minimising KL(P || Q) of histograms.

    ``candidates`` thresholds (evenly spaced bins) are tried rather than every bin.
    """

    name = "kl"
    keeps_samples = True

    def __init__(self, bins: int = 2048, candidates: int = 160, **kw) -> None:
        super().__init__(**kw)
        self.bins = int(bins)
        self.candidates = int(candidates)

    def range(self, fmt: Format, symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        if not (isinstance(fmt, IntFormat) and fmt.signed and symmetric):
            raise ConfigError("the KL observer calibrates symmetric signed integer formats; "
                              f"got {fmt} (sym={symmetric}); use minmax, percentile or mse")
        x = self.samples.abs().numpy()
        levels = fmt.qmax + 1
        bins = self.bins if x.shape[0] <= 8 else min(self.bins, 512)
        amax = [kl_threshold(row, levels, bins, self.candidates) for row in x]
        amax = torch.tensor(amax, dtype=torch.float32)[:, None]
        return -amax, amax


def kl_threshold(abs_values: np.ndarray, levels: int, bins: int = 2048,
                 candidates: int | None = None) -> float:
    """Threshold of |x| that minimises KL(P || Q) (Migacz 2017, 8-bit inference with TensorRT).

    Tries every bin edge from ``levels`` to ``bins`` (or ``candidates`` evenly spaced ones).
    """
    top = float(abs_values.max()) if abs_values.size else 0.0
    if top == 0.0:
        return 0.0
    hist, edges = np.histogram(abs_values, bins=bins, range=(0.0, top))
    hist = hist.astype(np.float64)
    best, best_i = math.inf, bins
    step = 1 if not candidates else max(1, (bins - levels) // candidates)
    for i in [*range(levels, bins, step), bins]:
        p = hist[:i].copy()
        p[-1] += hist[i:].sum()
        starts = (np.arange(levels) * i) // levels
        ref = hist[:i]
        nz = ref > 0
        total = np.add.reduceat(ref, starts)
        count = np.add.reduceat(nz.astype(np.float64), starts)
        per = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        q = np.repeat(per, np.diff(np.append(starts, i))) * nz
        kl = _kl(p, q)
        if kl < best:
            best, best_i = kl, i
    return float(edges[best_i])


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    ps, qs = p.sum(), q.sum()
    if ps == 0 or qs == 0:
        return math.inf
    p, q = p / ps, q / qs
    mask = p > 0
    q = np.where(q > 0, q, 1e-10)
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def build_observer(name: str, **kw) -> Observer:
    """An observer by name (``minmax``, ``percentile``, ``mse``, ``kl``) with its options."""
    return OBSERVERS.build(name, **kw)
