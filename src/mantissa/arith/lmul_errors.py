"""Per-product relative errors of L-Mul against fp8 multiplication (Luo & Sun, 2024,
"Addition is All You Need", Sec. 3.2 and Fig. 4): L-Mul at each mantissa width (with and
without the literal carry), float8_e4m3fn / float8_e5m2 products (:func:`format_mul`), and
the formats' precision alone (mantissa rounding without exponent-range limits), each against
the float64 product; plus the operand pairs they are measured on and a check of our fp8
products against ml_dtypes' float8 casts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ml_dtypes
import numpy as np
import torch

from mantissa import plot
from mantissa.arith.format_mul import format_mul
from mantissa.arith.lmul import lmul, round_to_mantissa

FP8 = ("float8_e4m3fn", "float8_e5m2")


def relative_error(approx: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Elementwise ``|approx - exact| / |exact|`` in float64."""
    return ((approx.double() - exact) / exact).abs()


def product_errors(a: torch.Tensor, b: torch.Tensor, widths: Sequence[int],
                   scale: bool) -> dict[str, torch.Tensor]:
    """Relative error of every product ``a·b`` per multiplier: ``lmul<m>``, ``lmul<m>_literal``
    (Eq. 3, the carry taken literally), the fp8 formats of :data:`FP8` (operands scaled per tensor
    when ``scale``) and ``mant3`` / ``mant2`` (e4m3 / e5m2 precision without range limits)."""
    exact = a.double() * b.double()
    out = {f"lmul{m}": relative_error(lmul(a, b, m), exact) for m in widths}
    for m in widths:
        out[f"lmul{m}_literal"] = relative_error(lmul(a, b, m, carry="literal"), exact)
    for name in FP8:
        out[name] = relative_error(format_mul(a, b, name, scale), exact)
    for name, m in (("mant3", 3), ("mant2", 2)):  # e4m3 / e5m2 precision without range limits
        prod = round_to_mantissa(round_to_mantissa(a, m).double() * round_to_mantissa(b, m).double(), m)
        out[name] = relative_error(prod, exact)
    return out


def fp8_reference_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max relative difference between our fp8 products (:func:`format_mul`, unscaled) and the
    same products with ml_dtypes' float8 casts (operands and product rounded), over both formats."""
    worst = 0.0
    for name in FP8:
        dt = getattr(ml_dtypes, name)
        qa = a.numpy().astype(dt).astype(np.float64)
        qb = b.numpy().astype(dt).astype(np.float64)
        ref = torch.from_numpy((qa * qb).astype(dt).astype(np.float64))
        ours = format_mul(a, b, name).double()
        worst = max(worst, float(((ours - ref).abs() / ref.abs().clamp_min(1e-300)).max()))
    return worst


def random_pairs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` float32 operand pairs, magnitudes log-uniform in ``[2⁻³, 2³)``, random signs."""
    g = torch.Generator().manual_seed(seed)

    def draw() -> torch.Tensor:
        mag = torch.exp2(torch.rand(n, generator=g, dtype=torch.float64) * 6 - 3)
        sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
        return (mag * sign).float()

    return draw(), draw()


def summarize_errors(label: str, errors: Mapping[str, torch.Tensor]
                     ) -> tuple[dict[str, float], list[list[Any]]]:
    """Metrics ``<label>_<multiplier>_mean`` / ``_max`` (``float8_`` dropped from the name) and
    table rows ``[label, multiplier, mean, median, max, pairs]`` of :func:`product_errors`."""
    metrics, rows = {}, []
    for name, e in errors.items():
        key = name.replace("float8_", "")
        metrics[f"{label}_{key}_mean"] = float(e.mean())
        metrics[f"{label}_{key}_max"] = float(e.max())
        rows.append([label, name, float(e.mean()), float(e.median()), float(e.max()), e.numel()])
    return metrics, rows


def fp8_ratios(label: str, metrics: Mapping[str, float]) -> dict[str, float]:
    """The paper's comparisons from :func:`summarize_errors`' means: L-Mul 4-bit / e4m3 and
    3-bit / e5m2 mean relative error, and the same against the formats' precision only
    (``mant3`` / ``mant2``, no exponent-range limits)."""
    keys = ("lmul3", "lmul4", "e4m3fn", "e5m2", "mant3", "mant2")
    mean = {k: metrics[f"{label}_{k}_mean"] for k in keys}
    return {f"{label}_ratio_lmul4_e4m3": mean["lmul4"] / mean["e4m3fn"],
            f"{label}_ratio_lmul3_e5m2": mean["lmul3"] / mean["e5m2"],
            f"{label}_ratio_lmul4_mant3": mean["lmul4"] / mean["mant3"],
            f"{label}_ratio_lmul3_mant2": mean["lmul3"] / mean["mant2"]}


def plot_precision(metrics: Mapping[str, float], widths: Sequence[int]) -> Any:
    """Mean relative error against L-Mul mantissa width (random ``rand_`` and MiniLM ``real_``
    operands), the fp8 formats as horizontal lines and the error model (``model_lmul<m>_mean``)
    as markers, as in the paper's Fig. 4; returns the figure."""
    fig, ax = plot.figure()
    for label, mk in (("rand", "o-"), ("real", "s--")):
        ax.plot(widths, [metrics[f"{label}_lmul{m}_mean"] for m in widths], mk,
                label=f"L-Mul ({'random' if label == 'rand' else 'MiniLM'} operands)")
        for name, c in (("e4m3fn", "C2"), ("e5m2", "C3")):
            ax.axhline(metrics[f"{label}_{name}_mean"], color=c, ls="-" if label == "rand" else ":",
                       label=f"float8_{name} ({'random' if label == 'rand' else 'MiniLM'})")
    ax.plot(widths, [metrics[f"model_lmul{m}_mean"] for m in widths], "k^",
            label="error model (L-Mul step)")
    ax.set_xlabel("L-Mul mantissa bits")
    ax.set_ylabel("mean relative error of a product")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return fig
