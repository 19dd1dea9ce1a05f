"""Language-model loss beyond the training length: per position and per evaluation length.

The measurement of length-extrapolation studies such as CLEX (Chen et al. 2024, "CLEX:
Continuous Length Extrapolation for Large Language Models", Sec. 5: perplexity at 1x-8x the
training length) at character level: :func:`position_bits` is the mean next-token loss in bits
at every position of evaluation windows, so both the whole-window mean and where the loss
rises past the training length can be read off. :func:`plot_bits_vs_length` and
:func:`plot_bits_by_position` draw the two views, the training length marked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F


def position_bits(model: Callable[[torch.Tensor], torch.Tensor], windows: torch.Tensor, batch: int = 16
                  ) -> torch.Tensor:
    """Mean next-char loss (bits) at every position of ``windows (n, T+1)``: shape ``(T,)``."""
    total = torch.zeros(windows.shape[1] - 1)
    with torch.no_grad():
        for s in range(0, len(windows), batch):
            w = windows[s:s + batch]
            nll = F.cross_entropy(model(w[:, :-1]).transpose(1, 2), w[:, 1:], reduction="none")
            total += nll.sum(0)
    return total / len(windows) / math.log(2)


def plot_bits_vs_length(lengths: Sequence[int], bits: Mapping[str, Sequence[float]], train_len: int, *,
                        dashed: Sequence[str] = (), title: str = "") -> Any:
    """Whole-window bits per char against the evaluation length (log2 axis), one line per method
    (``dashed`` ones dashed: diagnostics), the training length as a dotted line."""
    from mantissa import plot

    fig, ax = plot.figure()
    for m, ys in bits.items():
        ax.plot(list(lengths), list(ys), "o--" if m in dashed else "o-", label=m)
    ax.axvline(train_len, color="grey", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel(f"evaluation length (training length L = {train_len})")
    ax.set_ylabel("bits per char (whole window)")
    ax.set_title(title)
    ax.legend()
    return fig


def plot_bits_by_position(curves: Mapping[str, torch.Tensor], train_len: int, *, dashed: Sequence[str] = (),
                          title: str = "", points: int = 64) -> Any:
    """Bits per char by position (:func:`position_bits` curves of one window length), each
    smoothed to about ``points`` block means; the training length as a dotted line."""
    from mantissa import plot

    fig, ax = plot.figure()
    window = 0
    for m, c in curves.items():
        window = len(c)
        k = max(1, len(c) // points)  # smooth: mean over blocks of k positions
        n = len(c) // k * k
        ax.plot(torch.arange(n).view(-1, k).float().mean(1), c[:n].view(-1, k).mean(1), label=m,
                ls="--" if m in dashed else "-")
    ax.axvline(train_len, color="grey", ls=":", lw=1)
    ax.set_xlabel(f"position in a {window}-char window")
    ax.set_ylabel("bits per char")
    ax.set_title(title)
    ax.legend()
    return fig


__all__ = ["plot_bits_by_position", "plot_bits_vs_length", "position_bits"]
