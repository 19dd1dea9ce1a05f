"""Trainable compressed embedding tables, one method per module, chosen by spec
strings through :data:`TABLES` (``full``, ``hashing:buckets=1000``,
``qr:collisions=4``, ``mixed-dim:dims=64/32/16/8``, ``tt:rank=8``, ``robe:size=100000``,
``pruning:keep=0.25``, ``quant:bits=4``, ``qat:bits=4``, ``pq:m=16``, ``dhe:hidden=128``).
:func:`table_for_budget` builds any of them at a fraction of the full table's
memory (the protocol of Zhang et al. 2024, "Experimental Analysis of
Large-scale Learnable Vector Storage Compression").
"""

from __future__ import annotations

import torch

from mantissa.errors import ConfigError
from mantissa.tables import dhe, full, hashing, mixed_dim, pq, pruning, qat, qr, quant, robe, tt  # noqa: F401, E501
from mantissa.tables.base import TABLES, EmbeddingTable, PostTrainingTable


def build_table(spec: str, n: int, dim: int, counts: torch.Tensor | None = None, seed: int = 0
                ) -> EmbeddingTable:
    """``TABLES.build(spec, n=n, dim=dim, seed=seed)`` (+ ``counts`` for ``mixed-dim``)."""
    extra = {"counts": counts} if spec.split(":")[0] == "mixed-dim" else {}
    return TABLES.build(spec, n=n, dim=dim, seed=seed, **extra)


def spec_for_budget(method: str, n: int, dim: int, fraction: float,
                    counts: torch.Tensor | None = None) -> str:
    """The spec of ``method`` that fits ``fraction`` of the full float32 table's bytes."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"a memory budget is a fraction of the full table in (0, 1], got {fraction}")
    return TABLES.get(method).for_budget(n, dim, fraction * n * dim * 4, counts)


def table_for_budget(method: str, n: int, dim: int, fraction: float,
                     counts: torch.Tensor | None = None, seed: int = 0) -> EmbeddingTable:
    """Build ``method`` at ``fraction`` of the full table's memory."""
    return build_table(spec_for_budget(method, n, dim, fraction, counts), n, dim, counts, seed)


__all__ = ["TABLES", "EmbeddingTable", "PostTrainingTable", "build_table", "spec_for_budget",
           "table_for_budget"]
