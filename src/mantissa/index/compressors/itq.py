"""Iterative quantization (Gong & Lazebnik, CVPR 2011): ``itq[:iters=50,seed=0,max_fit=10000]``.

The classic learned 1-bit baseline. ``fit`` centres the sample, rotates it onto its
principal axes (PCA, keeping every dimension: one bit per dimension, as ``binary``),
then alternates ``B = sign(V R)`` and the orthogonal Procrustes step
``R = U Wᵀ`` with ``Vᵀ B = U Σ Wᵀ`` for ``iters`` rounds, which minimises the
quantization loss ``‖B − V R‖²``. A vector's code is ``sign((x − μ) P)`` with
``P = W_pca R``, packed exactly as ``binary`` packs signs, and search is the same
Hamming search (FAISS's kernel); queries go through the same ``μ`` and ``P``
(``query=float`` scores the rotated float query against the ±1 codes). The
rotation is learned on at most ``max_fit`` rows (products in float32, the SVD in
float64), which bounds the build time.

``centre=no`` fits the basis to the raw vectors instead (``μ = 0``: principal axes of
``XᵀX``, then the same ITQ iterations): the codes then estimate angles between the
vectors themselves, which is what inner-product ground truth ranks by. For 1-bit
codes it is no better than centring (WordNet/MiniLM benchmark, 20k docs, 1k queries,
recall@10: 0.640 symmetric against 0.645, 0.748 with a float query against 0.748;
sign 0.623 / 0.733); it matters as the basis of ``bebr:U,quant=grid,init=itq``,
whose multi-bit codes are compared by cosine of the uncentred vectors.
"""

from __future__ import annotations

import torch

from mantissa.errors import SpecError
from mantissa.formats.bits import pack_signs
from mantissa.index.compressors.base import COMPRESSORS, check_vectors
from mantissa.index.compressors.binary import Binary
from mantissa.runtime import threads


def itq_rotation(v: torch.Tensor, iters: int, seed: int) -> torch.Tensor:
    """The ITQ rotation ``R (c, c)`` of centred, PCA-projected data ``v (n, c)``."""
    gen = torch.Generator().manual_seed(seed)
    r, _ = torch.linalg.qr(torch.randn(v.shape[1], v.shape[1], generator=gen, dtype=torch.float64))
    v32 = v.float()
    for _ in range(iters):
        b = torch.where(v32 @ r.float() >= 0, 1.0, -1.0)
        with threads(1):  # small SVDs: 2 s on 2 busy threads, 0.05 s on one
            u, _, wt = torch.linalg.svd((v32.T @ b).double())
        r = u @ wt
    return r


def itq_basis(x: torch.Tensor, *, centre: bool = True, dims: int = 0, iters: int = 50,
              seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """ITQ's ``(μ, P)`` fitted on ``x (n, d)``: the mean (zero unless ``centre``) and
    ``P = W_pca R (d, c)``, the top ``c = dims`` principal axes (all ``d`` when ``dims`` is 0;
    the paper's c-bit codes project to ``c`` axes) followed by the learned rotation."""
    x = x.double()
    mean = x.mean(0) if centre else torch.zeros(x.shape[1], dtype=x.dtype)
    centred = x - mean
    with threads(1):
        _, vecs = torch.linalg.eigh(centred.T @ centred)
    pca = vecs.flip(1)[:, : dims or x.shape[1]]  # principal axes, largest variance first
    rot = itq_rotation(centred @ pca, iters, seed)
    return mean.float(), (pca @ rot).float()


@COMPRESSORS.register("itq")
class ITQ(Binary):
    """``itq``: a learned rotation, then sign bits (``binary``'s layout and Hamming search)."""

    name = "itq"
    needs_fit = True

    def __init__(self, iters: int = 50, seed: int = 0, max_fit: int = 10_000, query: str = "binary",
                 kernel: str = "faiss", centre: str = "yes") -> None:
        super().__init__(query=query, kernel=kernel)
        self.iters, self.seed, self.max_fit = int(iters), int(seed), int(max_fit)
        if self.iters < 0 or self.max_fit < 2:
            raise SpecError(f"itq: iters={iters} must be >= 0 and max_fit={max_fit} >= 2")
        if centre not in ("yes", "no"):
            raise SpecError(f"itq: centre={centre!r}; accepted: centre=yes | centre=no")
        self.centre = centre
        self.mean = torch.empty(0)
        self.projection = torch.empty(0)

    @property
    def spec(self) -> str:
        opts = ([] if self.iters == 50 else [f"iters={self.iters}"]) + (
            ["centre=no"] if self.centre == "no" else []) + (
            ["query=float"] if self.query == "float" else []) + (
            [f"kernel={self.kernel}"] if self.kernel != "faiss" else [])
        return "itq" + (":" + ",".join(opts) if opts else "")

    def fit(self, sample: torch.Tensor) -> ITQ:
        x = check_vectors(sample, "fit sample")
        self.dim = x.shape[1]
        if len(x) > self.max_fit:
            x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(self.seed))[: self.max_fit]]
        self.mean, self.projection = itq_basis(x, centre=self.centre == "yes", iters=self.iters,
                                               seed=self.seed)
        return self

    def state(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean, "projection": self.projection}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.mean, self.projection = tensors["mean"].float(), tensors["projection"].float()

    def rotate(self, x: torch.Tensor) -> torch.Tensor:
        """``(x − μ) P``: the vectors in the learned basis whose signs are the code."""
        return (x - self.mean) @ self.projection

    def prepare_queries(self, queries: torch.Tensor) -> torch.Tensor:
        return self.rotate(self._check_input(queries, "queries"))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return pack_signs(self.rotate(self._check_input(x, "vectors")), self.code_bytes)
