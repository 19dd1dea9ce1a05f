"""Sign binarization: one bit per dimension, packed into 64-bit words.

``encode`` keeps ``x_j > 0`` packed most significant bit first: byte for byte
sentence-transformers' ``quantize_embeddings(x, precision="ubinary")`` (and the
layout of FAISS's binary indexes), followed by zero bytes up to whole 64-bit
words (none when the dimension is a multiple of 64, e.g. 384 or 768) so the
popcount kernel can read it as ``uint64``.
Search is symmetric Hamming distance (similarity ``dim - 2·ham``, the inner
product of the ±1 vectors), by FAISS's Hamming kernel (``faiss.knn_hamming``,
what ``IndexBinaryFlat`` runs) unless ``kernel=matmul`` (±1 integer product)
or ``kernel=popcount`` (numpy) is asked; ``query=float`` scores float queries
against the ±1 documents instead (asymmetric). Hamming is the metric: ``l2``
is refused (on ±1 vectors it ranks as Hamming does).
"""

from __future__ import annotations

import torch

from mantissa.errors import SpecError
from mantissa.formats.bits import pack_signs, unpack_signs
from mantissa.index.compressors.base import COMPRESSORS, Compressor, words64
from mantissa.index.faiss_kernels import knn_hamming
from mantissa.index.search import hamming_matmul, hamming_popcount


@COMPRESSORS.register("binary")
class Binary(Compressor):
    """Sign bits, bit-packed; Hamming search by integer product or popcount."""

    name = "binary"
    metrics = ("ip",)

    def __init__(self, query: str = "binary", kernel: str = "faiss") -> None:
        super().__init__()
        if query not in ("binary", "float"):
            raise SpecError(f"binary: query={query!r}; accepted: query=binary | query=float")
        if kernel not in ("faiss", "matmul", "popcount"):
            raise SpecError(f"binary: kernel={kernel!r}; accepted: kernel=faiss | matmul | popcount")
        self.query, self.kernel = query, kernel

    @property
    def spec(self) -> str:
        opts = (["query=float"] if self.query == "float" else []) + (
            [f"kernel={self.kernel}"] if self.kernel != "faiss" else [])
        return self.name + (":" + ",".join(opts) if opts else "")

    @property
    def code_bytes(self) -> int:
        assert self.dim is not None, "fit first"
        return words64(self.dim)

    @property
    def ubinary_bytes(self) -> int:
        """Bytes of the unpadded (``ubinary``, FAISS binary) layout: ``ceil(dim / 8)``."""
        assert self.dim is not None, "fit first"
        return -(-self.dim // 8)

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

    def search(self, queries: torch.Tensor, codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` by Hamming distance (FAISS) as similarities ``dim - 2·ham``."""
        if self.query == "float" or self.kernel != "faiss":
            return super().search(queries, codes, k)
        assert self.dim is not None
        ham, ids = knn_hamming(self.encode(queries), self._check_codes(codes), k)
        return (self.dim - 2 * ham).float(), ids

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        assert self.dim is not None
        if self.query == "float":
            q = self.prepare_queries(queries)
            return q @ unpack_signs(self._check_codes(codes), self.dim).float().T
        return (self.dim - 2 * self.hamming(queries, codes)).float()
