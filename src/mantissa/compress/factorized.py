"""A fully factorized (independent-symbol) learned entropy model of binary data.

The classical baseline of learned lossless compression: every dimension ``i`` is an
independent Bernoulli with its own learned probability ``p_i`` (the "fully
factorized" model of Ballé et al., 2018, "Variational image compression with a
scale hyperprior", Sec. 2, for binary symbols), so
``p(x) = Π_i p_i^{x_i} (1 - p_i)^{1 - x_i}``. ``p_i`` is the add-``alpha``
(Krichevsky–Trofimov for ``alpha = 1/2``) estimate from the training rows:
``p_i = (Σ_n x_ni + alpha) / (N + 2 alpha)``. Rows are coded with the same
arithmetic coder as the probabilistic circuit (:mod:`mantissa.compress.arith_coding`);
the stream is a 4-byte big-endian row count followed by the code.
"""

from __future__ import annotations

import struct

import torch

from mantissa.compress.arith_coding import TOTAL, binary_freq, decode_binary, encode_binary
from mantissa.compress.circuit import _check_binary
from mantissa.errors import ConfigError, CorruptFileError


class FactorizedBernoulli:
    """Independent per-dimension Bernoulli model; ``p1[i]`` = probability of a 1."""

    def __init__(self, p1: torch.Tensor) -> None:
        if p1.ndim != 1 or not bool(((p1 > 0) & (p1 < 1)).all()):
            raise ConfigError("p1 must be a vector of probabilities strictly inside (0, 1)")
        self.p1 = p1.to(torch.float64)
        self.d = len(p1)

    @classmethod
    def fit(cls, x: torch.Tensor, alpha: float = 0.5) -> FactorizedBernoulli:
        """Add-``alpha`` estimate of each dimension's probability of a 1 from rows ``x``."""
        if alpha <= 0:
            raise ConfigError(f"alpha must be > 0, got {alpha}")
        x = _check_binary(x)
        return cls((x.sum(0) + alpha) / (len(x) + 2 * alpha))

    def bits_per_dim(self, x: torch.Tensor) -> float:
        """Mean ``-log2 p(x_i)`` over all entries of ``x`` (the ideal code length)."""
        x = _check_binary(x, self.d)
        p = torch.where(x > 0.5, self.p1, 1 - self.p1)
        return float(-torch.log2(p).sum() / x.numel())

    def compress(self, x: torch.Tensor) -> bytes:
        x = _check_binary(x, self.d)
        p = self.p1.tolist()
        bits = [int(b) for b in x.flatten().tolist()]
        return struct.pack(">I", len(x)) + encode_binary(bits, p * len(x))

    def decompress(self, data: bytes) -> torch.Tensor:
        if len(data) < 4:
            raise CorruptFileError("factorized stream shorter than its 4-byte header")
        (n,) = struct.unpack(">I", data[:4])
        p = self.p1.tolist()
        bits = decode_binary(data[4:], n * self.d, lambda k: p[k % self.d])
        return torch.tensor(bits, dtype=torch.float64).reshape(n, self.d)

    def quantised_bits(self, x: torch.Tensor) -> float:
        """``Σ -log2 p`` with the integer frequencies the coder uses (for tests)."""
        x = _check_binary(x, self.d)
        f1 = torch.tensor([binary_freq(p) for p in self.p1.tolist()], dtype=torch.float64) / TOTAL
        return float(-torch.log2(torch.where(x > 0.5, f1, 1 - f1)).sum())
