"""Uncompressed baselines: ``float32`` (exact search) and ``float16`` (half the bytes).

Search is FAISS's exact ``faiss.knn`` (inner product or L2) over the decoded floats."""

from __future__ import annotations

import torch

from mantissa.index.compressors.base import COMPRESSORS, Compressor
from mantissa.index.faiss_kernels import knn_float
from mantissa.index.search import float_scores


class _FloatCodes(Compressor):
    dtype: torch.dtype = torch.float32

    def fit(self, sample: torch.Tensor) -> _FloatCodes:
        return super().fit(sample)  # type: ignore[return-value]

    @property
    def code_bytes(self) -> int:
        assert self.dim is not None, "fit first"
        return self.dim * torch.finfo(self.dtype).bits // 8

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x, "vectors")
        return x.to(self.dtype).contiguous().view(torch.uint8)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self._check_codes(codes).contiguous().view(self.dtype).float()

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return float_scores(self.prepare_queries(queries), self.decode(codes))

    def search(self, queries: torch.Tensor, codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-``k`` through FAISS (``faiss.knn``: BLAS inner products or L2)."""
        return knn_float(self.prepare_queries(queries), self.decode(codes), k, self.metric)


@COMPRESSORS.register("float32")
class Float32(_FloatCodes):
    """Float32 vectors stored as they are (4 bytes per dimension)."""

    name = "float32"
    dtype = torch.float32


@COMPRESSORS.register("float16")
class Float16(_FloatCodes):
    """IEEE half precision (2 bytes per dimension), searched in float32."""

    name = "float16"
    dtype = torch.float16
