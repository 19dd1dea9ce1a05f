"""Mixed bit allocation across layers under an average-bits budget (ShiftAddLLM, Sec. 3.3).

ShiftAddLLM measures each layer's sensitivity and gives more bits to the
layers whose error grows most when quantized harder, keeping the average bit
width fixed. Given per-layer errors at candidate widths, :func:`allocate_bits`
starts every layer at the lowest width and repeatedly upgrades the layer with
the largest error reduction per extra stored bit, while the parameter-weighted
average width stays within ``budget`` (a greedy knapsack: exact when the
error-vs-bits curves are convex).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mantissa.errors import ConfigError


def allocate_bits(errors: Mapping[str, Mapping[int, float]], sizes: Mapping[str, int],
                  budget: float) -> dict[str, int]:
    """``{layer: bits}`` minimising ``Σ errors[layer][bits]`` with ``Σ size·bits / Σ size <= budget``."""
    if not errors:
        raise ConfigError("allocate_bits needs at least one layer")
    widths = {name: sorted(e) for name, e in errors.items()}
    missing = [n for n in errors if n not in sizes]
    if missing:
        raise ConfigError(f"no size for layers {missing[:3]}")
    total = sum(sizes[n] for n in errors)
    choice = {n: w[0] for n, w in widths.items()}
    if sum(sizes[n] * b for n, b in choice.items()) / total > budget + 1e-12:
        raise ConfigError(f"budget {budget} is below the lowest width of every layer")
    used = sum(sizes[n] * b for n, b in choice.items())
    while True:
        best, best_gain = None, 0.0
        for n, ws in widths.items():
            i = ws.index(choice[n])
            if i + 1 == len(ws):
                continue
            nxt = ws[i + 1]
            cost = sizes[n] * (nxt - choice[n])
            if (used + cost) / total > budget + 1e-12:
                continue
            gain = (errors[n][choice[n]] - errors[n][nxt]) / cost
            if gain > best_gain:
                best, best_gain = n, gain
        if best is None:
            return choice
        nxt = widths[best][widths[best].index(choice[best]) + 1]
        used += sizes[best] * (nxt - choice[best])
        choice[best] = nxt


def mixed_allocation(errors: Mapping[tuple[str, int], float], sizes: Mapping[str, int],
                     widths: Sequence[int], budget: float) -> tuple[float, float]:
    """ShiftAddLLM's mixed widths (Sec. 3.3) from measured per-layer errors
    ``{(layer, bits): error}``: :func:`allocate_bits` on the squared errors under ``budget``;
    returns the parameter-weighted average width and the chosen layers' mean error."""
    sq = {name: {b: errors[(name, b)] ** 2 for b in widths} for name in sizes}
    choice = allocate_bits(sq, sizes, budget)
    total = sum(sizes.values())
    return (sum(sizes[n] * b for n, b in choice.items()) / total,
            sum(errors[(n, b)] for n, b in choice.items()) / len(choice))
