"""Post-training product quantization of an embedding table (Jégou, Douze & Schmid
2011, "Product Quantization for Nearest Neighbor Search", TPAMI, Sec. II; as an
embedding-table compressor it is the offline counterpart of the learned codes
of DPQ, Chen et al. 2020, "Differentiable Product Quantization for End-to-End
Embedding Compression", ICML).

The trained table's rows are split into ``M`` sub-vectors; each is replaced by the
id of its nearest of ``2^B`` k-means centroids learned on that sub-space. The
codec is the search index's :class:`mantissa.index.compressors.pq.ProductQuantizer`
(not a second copy). Memory ``n·M`` bytes of codes (one byte per sub-quantizer,
as that codec stores them) + ``2^B·dim·4`` bytes of codebooks.
``pq:m=16`` (``M`` divides ``dim``), ``pq:m=8,bits=6``.
"""

from __future__ import annotations

import torch

from mantissa.errors import SpecError
from mantissa.index.compressors import COMPRESSORS
from mantissa.tables.base import TABLES, PostTrainingTable, need_int, too_small


@TABLES.register("pq")
class PQTable(PostTrainingTable):
    """``pq:m=M[,bits=B]`` — float while training, ``M`` one-byte codes per row after ``finalize``."""

    name = "pq"

    def __init__(self, n: int, dim: int, m: int = 8, bits: int = 8, iters: int = 15, std: float = 0.1,
                 seed: int = 0) -> None:
        super().__init__(n, dim, std, seed)
        self.m = need_int(m, "m", f"pq:m={m}")
        self.bits = need_int(bits, "bits", f"pq:m={m},bits={bits}")
        if self.dim % self.m or self.bits > 8:
            raise SpecError(f"pq: m={m} must divide dim={self.dim} and bits={bits} be in 1..8")
        self.iters, self.seed = int(iters), int(seed)
        self.codec = COMPRESSORS.build(f"pq:{self.m}x{self.bits}", iters=self.iters, seed=self.seed)

    def compress(self, weight: torch.Tensor) -> torch.Tensor:
        self.codec.fit(weight)
        self._codes = self.codec.encode(weight)
        return self.codec.decode(self._codes)

    @staticmethod
    def bytes_for(n: int, dim: int, m: int, bits: int) -> int:
        return n * m + 2**bits * dim * 4

    def memory_bytes(self) -> int:
        return self.bytes_for(self.n, self.dim, self.m, self.bits)

    @property
    def spec(self) -> str:
        return f"pq:m={self.m}" + (f",bits={self.bits}" if self.bits != 8 else "")

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float, counts: torch.Tensor | None = None) -> str:
        """Most sub-quantizers (dividing ``dim``), then most bits, that fit."""
        fits = [(m, b) for m in range(1, dim + 1) if dim % m == 0 for b in range(1, 9)
                if cls.bytes_for(n, dim, m, b) <= budget_bytes]
        if not fits:
            raise too_small("pq", budget_bytes, cls.bytes_for(n, dim, 1, 1))
        m, b = max(fits)
        return f"pq:m={m}" + (f",bits={b}" if b != 8 else "")
