"""Sign binarization: one bit per dimension, packed into 64-bit words.

``encode`` keeps ``x_j > 0`` (sentence-transformers' ``ubinary``); the code is
padded to whole 64-bit words so the popcount kernel can read it as ``uint64``.
Search is symmetric Hamming distance (similarity ``dim - 2·ham``, the inner
product of the ±1 vectors); ``query=float`` scores float queries against the
±1 documents instead (asymmetric).
"""

from __future__ import annotations

import torch

from mantissa.embed.compressors.base import COMPRESSORS, Compressor, pack_signs, unpack_signs, words64
from mantissa.embed.search import hamming_matmul, hamming_popcount
from mantissa.errors import SpecError


@COMPRESSORS.register("binary")
class Binary(Compressor):
    """Sign bits, bit-packed; Hamming search by integer product or popcount."""

    name = "binary"

    def __init__(self, query: str = "binary", kernel: str = "matmul") -> None:
        super().__init__()
        if query not in ("binary", "float"):
            raise SpecError(f"binary: query={query!r}; accepted: query=binary | query=float")
        if kernel not in ("matmul", "popcount"):
            raise SpecError(f"binary: kernel={kernel!r}; accepted: kernel=matmul | kernel=popcount")
        self.query, self.kernel = query, kernel

    @property
    def spec(self) -> str:
        opts = (["query=float"] if self.query == "float" else []) + (
            ["kernel=popcount"] if self.kernel == "popcount" else [])
        return self.name + (":" + ",".join(opts) if opts else "")

    @property
    def code_bytes(self) -> int:
        assert self.dim is not None, "fit first"
        return words64(self.dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return pack_signs(self._check_input(x, "vectors"), self.code_bytes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """±1 vectors scaled to unit length."""
        assert self.dim is not None
        return unpack_signs(self._check_codes(codes), self.dim).float() / self.dim**0.5

    def hamming(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        q = self.prepare_queries(queries)
        assert self.dim is not None
        if self.kernel == "popcount":
            return hamming_popcount(pack_signs(q, self.code_bytes), self._check_codes(codes))
        return hamming_matmul(torch.where(q > 0, 1, -1).to(torch.int8), self._check_codes(codes),
                              self.dim, unpack_signs)

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        assert self.dim is not None
        if self.query == "float":
            q = self.prepare_queries(queries)
            return q @ unpack_signs(self._check_codes(codes), self.dim).float().T
        return (self.dim - 2 * self.hamming(queries, codes)).float()
