"""Equal-memory benchmark of embedding-table methods: the sweep, its summary, table and figure.

The protocol of Zhang et al. 2024 ("Experimental Analysis of Large-scale Learnable Vector
Storage Compression", VLDB): every method is configured to a fraction of the full float32
table's bytes (:func:`~mantissa.tables.spec_for_budget`) and scored by the same task
metric. :func:`sweep_budgets` measures each (method, budget) pair once per distinct spec;
a method with no configuration within a budget gets a row without a model (``spec = "-"``,
NaN accuracy and memory) rather than an error. :func:`budget_summary` names the winners per
budget, the gap to the full table, the coverage, and the paper's family comparison
(quantization at moderate compression against the other methods past its bit floor).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from mantissa.errors import ConfigError
from mantissa.tables import spec_for_budget

#: the quantization family of the paper's taxonomy (LSQ QAT, post-training scalar, product)
QUANTIZATION = ("qat", "quant", "pq")
#: the scalar quantizers, which cannot go below their bit floor
SCALAR_QUANTIZATION = ("qat", "quant")


def budget_key(fraction: float) -> str:
    """The metric-name tag of a budget: ``0.25 -> "b25"``, ``0.075 -> "b7p5"``."""
    return f"b{fraction * 100:g}".replace(".", "p")


def score(row: dict) -> float:
    """Accuracy for ranking; a method without a model at a budget ranks last."""
    return row["accuracy"] if math.isfinite(row["accuracy"]) else -math.inf


def sweep_budgets(methods: Sequence[str], budgets: Sequence[float], n: int, dim: int,
                  counts: torch.Tensor | None, measure: Callable[[str, str], dict]) -> list[dict]:
    """One row per (budget, method): ``measure(method, spec)`` returns ``{"method", "spec",
    "memory", "accuracy"}`` for the spec fitting the budget, measured once per distinct spec
    (a spec that fits several budgets is trained once); ``"budget"`` is added."""
    rows: list[dict] = []
    done: dict[str, dict] = {}
    for frac in budgets:
        for m in methods:
            try:
                spec = spec_for_budget(m, n, dim, frac, counts)
            except ConfigError:  # no configuration of this method fits: no model, no number
                rows.append({"method": m, "spec": "-", "memory": math.nan, "accuracy": math.nan,
                             "budget": frac})
                continue
            if spec not in done:
                done[spec] = measure(m, spec)
            rows.append({**done[spec], "budget": frac})
    return rows


def budget_summary(rows: list[dict], methods: list[str], budgets: list[float], acc_full: float
                   ) -> dict[str, float]:
    """Metrics of a sweep (rows as :func:`sweep_budgets`, plus a ``"full"`` row ignored here):
    ``coverage`` (pairs with a model within budget, of all pairs), ``coverage_feasible`` (of the
    pairs with a configuration), ``acc_``/``mem_<method>_<budget>``, ``best_acc_``/``gap_best_``/
    ``winner_<budget>_<method>``, ``gap_best_at_25pct``, ``distinct_winners``,
    ``quant_margin_moderate`` (best quantizer minus best other method at ~10 %) and
    ``other_margin_tight`` (best non-scalar method minus best scalar quantizer at the tightest
    budget; no scalar quantizer fitting counts as -inf)."""
    out: dict[str, float] = {}
    got = {(r["method"], r["budget"]): r for r in rows if r["method"] != "full"}
    ok = [k for k, r in got.items() if math.isfinite(r["accuracy"]) and r["memory"] <= k[1] + 1e-9]
    out["coverage"] = len(ok) / max(1, len(methods) * len(budgets))
    feasible = [k for k, r in got.items() if r.get("spec", "") != "-"]
    out["coverage_feasible"] = len(ok) / max(1, len(feasible))
    for (m, b), r in got.items():
        if math.isfinite(r["accuracy"]):  # a method that does not fit the budget has no number
            out[f"acc_{m.replace('-', '_')}_{budget_key(b)}"] = r["accuracy"]
            out[f"mem_{m.replace('-', '_')}_{budget_key(b)}"] = r["memory"]
    for b in budgets:
        best = max((got[m, b] for m in methods), key=score)
        out[f"best_acc_{budget_key(b)}"] = best["accuracy"]
        out[f"gap_best_{budget_key(b)}"] = acc_full - best["accuracy"]
        out[f"winner_{budget_key(b)}_{best['method'].replace('-', '_')}"] = 1.0
    quarter = min(budgets, key=lambda b: abs(b - 0.25))
    out["budget_near_25pct"] = quarter
    out["gap_best_at_25pct"] = out[f"gap_best_{budget_key(quarter)}"]
    winners = {max(methods, key=lambda m: score(got[m, b])) for b in budgets}
    out["distinct_winners"] = float(len(winners))
    # the paper's winners: quantization at moderate compression, other methods past its floor
    best = lambda ms, b: max((score(got[m, b]) for m in ms if (m, b) in got), default=-math.inf)  # noqa: E731
    quant = [m for m in methods if m in QUANTIZATION]
    other = [m for m in methods if m not in QUANTIZATION]
    moderate = min(budgets, key=lambda b: abs(b - 0.1))
    out["budget_moderate"] = moderate
    out["quant_margin_moderate"] = best(quant, moderate) - best(other, moderate)
    tight = min(budgets)
    out["budget_tight"] = tight
    scalar = [m for m in methods if m in SCALAR_QUANTIZATION]
    # no scalar quantizer fitting counts as -inf: any other method beats it
    out["other_margin_tight"] = best([m for m in methods if m not in SCALAR_QUANTIZATION], tight) - \
        best(scalar, tight)
    return out


def quality_table(rows: list[dict], budgets: Sequence[float], acc_full: float
                  ) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)`` of the sweep for :func:`mantissa.io.write_csv`: one line per row, with
    the gap to the full table and whether the method won its budget."""
    header = ["method", "budget_fraction", "spec", "memory_fraction", "test_accuracy", "gap_to_full",
              "winner_at_budget"]
    best = {b: max((r for r in rows if r["budget"] == b and r["method"] != "full"),
                   key=score)["method"] for b in budgets}
    lines = [[r["method"], f"{r['budget']:g}", r["spec"], f"{r['memory']:.4f}", f"{r['accuracy']:.2f}",
              f"{acc_full - r['accuracy']:.2f}", int(best.get(r["budget"]) == r["method"])] for r in rows]
    return header, lines


def plot_quality_vs_memory(rows: list[dict], methods: Sequence[str], acc_full: float) -> Any:
    """Test accuracy against memory (log scale), one line per method, the full table dashed."""
    from mantissa import plot

    fig, ax = plot.figure()
    ax.axhline(acc_full, color="k", ls="--", lw=1, label=f"full table ({acc_full:.1f} %)")
    for m in methods:
        pts = sorted((r["memory"], r["accuracy"]) for r in rows if r["method"] == m)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=m)
    ax.set_xscale("log")
    ax.set_xlabel("memory (fraction of the full float32 table)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7)
    return fig


__all__ = ["QUANTIZATION", "SCALAR_QUANTIZATION", "budget_key", "budget_summary", "plot_quality_vs_memory",
           "quality_table", "score", "sweep_budgets"]
