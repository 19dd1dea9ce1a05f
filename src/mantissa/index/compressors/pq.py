"""Product quantization (Jégou, Douze & Schmid, 2011): ``pq:M[xB]``.

The vector is split into ``M`` sub-vectors; each is replaced by the id of its
nearest of ``2^B`` centroids learned by k-means on that sub-space. Training,
encoding and search run on FAISS's kernels (``faiss.ProductQuantizer`` and
``IndexPQ``, :mod:`mantissa.index.faiss_kernels`). Codes are stored one byte per
sub-quantizer (``B <= 8``), so ``bytes_per_vector = M`` (FAISS packs ``B < 8``
tighter; the codes are packed to its layout for search and ``to_faiss``); the
codebooks (``M·2^B·dim/M`` floats, FAISS's centroid layout) are auxiliary memory.
Search uses asymmetric distance computation: the float query's inner product
(or squared distance, ``metric:l2``) with every centroid is tabulated once per
query, and a document's score is the sum of its ``M`` table entries.
:meth:`ProductQuantizer.score` keeps the torch table lookup as the reference.
"""

from __future__ import annotations

import torch

from mantissa.errors import ShapeError, SpecError
from mantissa.index.compressors.base import COMPRESSORS, Compressor, check_vectors
from mantissa.index.faiss_kernels import pq_encode, pq_index, pq_search, pq_train
from mantissa.index.search import pq_adc

GRAMMAR = "pq:M[xB] with M sub-quantizers dividing the dimension and 1 <= B <= 8 bits (e.g. pq:48x8)"


def parse_pq(arg: int | str) -> tuple[int, int]:
    text = str(arg).lower()
    m_text, _, b_text = text.partition("x")
    try:
        m, b = int(m_text), int(b_text or 8)
    except ValueError:
        raise SpecError(f"bad pq argument {arg!r}; expected {GRAMMAR}") from None
    if m < 1 or not 1 <= b <= 8:
        raise SpecError(f"bad pq argument {arg!r}; expected {GRAMMAR}")
    return m, b


@COMPRESSORS.register("pq")
class ProductQuantizer(Compressor):
    """``pq:M[xB]``: M sub-quantizers of 2^B centroids each, ADC search."""

    name = "pq"
    needs_fit = True

    def __init__(self, arg: int | str = 8, iters: int = 25, seed: int = 0) -> None:
        super().__init__()
        self.m, self.b = parse_pq(arg)
        self.iters, self.seed = int(iters), int(seed)
        if self.iters < 1:
            raise SpecError(f"pq: iters={self.iters} must be >= 1")
        self.codebooks = torch.empty(0)

    @property
    def spec(self) -> str:
        return f"pq:{self.m}x{self.b}"

    @property
    def code_bytes(self) -> int:
        return self.m

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], self.m, -1)

    def fit(self, sample: torch.Tensor) -> ProductQuantizer:
        super().fit(sample)
        x = check_vectors(sample, "fit sample")
        if x.shape[1] % self.m:
            raise ShapeError(f"pq: M={self.m} must divide the dimension {x.shape[1]}; {GRAMMAR}")
        if len(x) < 2**self.b:
            raise ShapeError(f"{self.spec} needs at least {2**self.b} fit vectors, got {len(x)}")
        self.codebooks = pq_train(x, self.m, self.b, self.iters, self.seed)
        self._prepared = {}
        return self

    def state(self) -> dict[str, torch.Tensor]:
        return {"codebooks": self.codebooks}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.codebooks = tensors["codebooks"].float()
        self._prepared = {}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return pq_encode(self.codebooks, self.b, self._check_input(x, "vectors"))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        c = self._check_codes(codes).long()
        parts = [self.codebooks[j][c[:, j]] for j in range(self.m)]
        return torch.cat(parts, 1)

    def tables(self, queries: torch.Tensor) -> torch.Tensor:
        """Inner products ``(q, M, 2^B)`` of each query sub-vector with each centroid."""
        q = self._split(self.prepare_queries(queries))
        return torch.einsum("qmd,mkd->qmk", q, self.codebooks)

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Inner products by table lookup in torch (the reference for :meth:`search`)."""
        return pq_adc(self.tables(queries), self._check_codes(codes))

    def search(self, queries: torch.Tensor, codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """ADC top-``k`` by FAISS's ``IndexPQ`` scan over these codes."""
        make = lambda c: pq_index(self.codebooks, self.b, c, self.metric)  # noqa: E731
        index = self.prepared(self._check_codes(codes), make)
        return pq_search(index, self.prepare_queries(queries), k, self.metric)
