"""Wiring shared by the embedding-training experiments: data, model, plots, tables.

Not an experiment (the leading underscore keeps discovery away).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mantissa import plot
from mantissa.embed.encoder import Encoder
from mantissa.embed.pairs import Pair, Splits, retrieval_set, split_pairs, subsample, wordnet_pairs
from mantissa.probe.retrieval_metrics import submodel_grid


@functools.cache
def wordnet_splits(kind: str, pos: tuple[str, ...], seed: int = 0) -> Splits:
    return split_pairs(wordnet_pairs(kind, pos), seed=seed)


def minilm(*, max_length: int, pooling: str = "mean", freeze_embeddings: bool = True) -> Encoder:
    """The packaged MiniLM; the token-embedding block frozen (saves most optimizer work)."""
    enc = Encoder.from_minilm(pooling=pooling, max_length=max_length)
    if freeze_embeddings:
        enc.freeze_below(1)
    return enc


def eval_pairs(test: Sequence[Pair], n: int, seed: int) -> tuple[list[str], list[str], list[list[int]]]:
    return retrieval_set(subsample(test, n, seed))


def grid(encoder: Encoder, data: tuple[list[str], list[str], list[list[int]]], layers: Sequence[int],
         dims: Sequence[int], metric: str = "ndcg@10") -> torch.Tensor:
    """``(len(layers), len(dims))`` tensor of ``metric`` for every sub-model."""
    res = submodel_grid(encoder, *data, layers=layers, dims=dims)
    return torch.tensor([[res[(layer, d)][metric] for d in dims] for layer in layers])


def heatmap(path: Path, values: torch.Tensor, layers: Sequence[int], dims: Sequence[int], title: str,
            *, diverging: bool = False, label: str = "nDCG@10") -> str:
    fig, ax = plot.figure(figsize=(6.4, 4.2))
    v = values.numpy()
    if diverging:
        lim = float(abs(v).max()) or 1.0
        im = ax.imshow(v, cmap="RdBu", vmin=-lim, vmax=lim, origin="lower", aspect="auto")
    else:
        im = ax.imshow(v, cmap="viridis", origin="lower", aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            ax.text(j, i, f"{v[i, j]:+.3f}" if diverging else f"{v[i, j]:.3f}", ha="center", va="center",
                    fontsize=7, color="black" if diverging else "white")
    ax.set_xticks(range(len(dims)), [str(d) for d in dims])
    ax.set_yticks(range(len(layers)), [str(layer) for layer in layers])
    ax.set_xlabel("embedding dims")
    ax.set_ylabel("layer")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label=label)
    plot.save(fig, path)
    return path.name


def grid_rows(named: dict[str, torch.Tensor], layers: Sequence[int], dims: Sequence[int]) -> list[list[Any]]:
    return [[layer, d, *(float(t[i, j]) for t in named.values())]
            for i, layer in enumerate(layers) for j, d in enumerate(dims)]


def loss_curve(path: Path, histories: dict[str, list[dict[str, float]]], title: str) -> str:
    fig, ax = plot.figure()
    for name, hist in histories.items():
        rows = [r for r in hist if "loss" in r]
        ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(title, fontsize=10)
    ax.legend()
    plot.save(fig, path)
    return path.name
