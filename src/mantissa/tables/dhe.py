"""Deep hash embedding (Kang et al. 2021, "Learning to Embed Categorical Features
without Embedding Tables for Recommendation", KDD, Sec. 3: DHE).

No table at all: id ``i`` is encoded by ``k`` universal hashes
``h_j(i) = ((a_j·i + b_j) mod p) mod m`` (``m = 10^6``) mapped to reals in
``[-1, 1]`` (the paper's uniform encoding, ``2 h_j/(m-1) - 1``), and an MLP with
``layers`` hidden layers of width ``hidden`` and Mish activations decodes that
dense, deterministic code into the embedding. The encoding is recomputed, not
stored; memory is the MLP's parameters, ``4·(k·h + h + (L-1)(h² + h) + h·dim + dim)``
bytes. The paper uses ``k = 1024`` and batch normalisation; here ``k = 64`` by
default and no normalisation, and :meth:`for_budget` stops at ``hidden = 256``
(DHE's lookup cost grows with ``h²``; above that it would dominate a CPU run),
so at large budgets DHE stores less than it may. ``dhe:hidden=128``.
"""

from __future__ import annotations

import torch
from torch import nn

from mantissa.tables.base import TABLES, EmbeddingTable, need_int, too_small
from mantissa.tables.multiplex import _hash_params, universal_hash

BUCKETS = 1_000_000
MAX_HIDDEN = 256


@TABLES.register("dhe")
class DHETable(EmbeddingTable):
    """``dhe:hidden=h[,k=64,layers=2]`` — hashed dense code -> MLP decoder."""

    name = "dhe"

    def __init__(self, n: int, dim: int, hidden: int = 128, k: int = 64, layers: int = 2,
                 seed: int = 0) -> None:
        super().__init__(n, dim)
        spec = f"dhe:hidden={hidden},k={k},layers={layers}"
        self.hidden, self.k = need_int(hidden, "hidden", spec), need_int(k, "k", spec)
        self.layers = need_int(layers, "layers", spec)
        self.hashes = _hash_params(self.k, seed)
        torch.manual_seed(seed)
        widths = [self.k] + [self.hidden] * self.layers
        blocks: list[nn.Module] = []
        for a, b in zip(widths, widths[1:]):
            blocks += [nn.Linear(a, b), nn.Mish()]
        self.mlp = nn.Sequential(*blocks, nn.Linear(self.hidden, self.dim))

    def encode(self, ids: torch.Tensor) -> torch.Tensor:
        """The ``(m, k)`` dense hash code in ``[-1, 1]``."""
        cols = [universal_hash(ids, a, b, BUCKETS) for a, b in self.hashes]
        return torch.stack(cols, 1).float() * (2 / (BUCKETS - 1)) - 1

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        uniq, inverse = torch.unique(ids, return_inverse=True)  # decode each distinct id once
        return self.mlp(self.encode(uniq))[inverse]

    def memory_bytes(self) -> int:
        return 4 * sum(p.numel() for p in self.mlp.parameters())

    @property
    def spec(self) -> str:
        extra = f",k={self.k}" if self.k != 64 else ""
        return f"dhe:hidden={self.hidden}" + extra + (f",layers={self.layers}" if self.layers != 2 else "")

    @staticmethod
    def bytes_for(dim: int, hidden: int, k: int = 64, layers: int = 2) -> int:
        return 4 * (k * hidden + hidden + (layers - 1) * (hidden * hidden + hidden) + hidden * dim + dim)

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        if cls.bytes_for(dim, 1) > budget_bytes:
            raise too_small("dhe", budget_bytes, cls.bytes_for(dim, 1))
        h = 1
        while h < MAX_HIDDEN and cls.bytes_for(dim, h + 1) <= budget_bytes:
            h += 1
        return f"dhe:hidden={h}"
