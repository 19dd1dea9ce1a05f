"""Per-dimension calibrated scalar quantization: ``int8`` and ``int4``.

``fit`` records each dimension's range ``[lo_j, hi_j]`` on a calibration sample
(min/max, as sentence-transformers' ``quantize_embeddings`` does, computed by
FAISS's ``QT_8bit`` range training; or a percentile range with ``clip=<q>``); ``encode`` maps
``u_j = clip(round((x_j - lo_j) / s_j), 0, L-1)`` with ``s_j = (hi_j - lo_j)/(L-1)``.
Search is an exact integer product: the query is folded with the scales
(``q'_j = q_j s_j``), quantized to int8 with one scale per query, and
``q·x̂ = α·<q'_int, u - h> + q·(lo + h·s)`` with ``h = L/2``; the second term is
one number per query, so rankings come from the integer product alone.
``query=float`` keeps the query in float (asymmetric, slightly more exact).

The scalar quantizer lives only here; when ``mantissa.quant`` grows a shared
per-dimension calibrator this module is the one place to switch.
"""

from __future__ import annotations

import math

import torch

from mantissa.errors import SpecError
from mantissa.index.compressors.base import COMPRESSORS, Compressor, check_vectors
from mantissa.index.faiss_kernels import sq8_encode, sq8_ranges
from mantissa.index.search import int_matmul


class ScalarQuantizer(Compressor):
    needs_fit = True
    bits = 8

    def __init__(self, clip: float = 0.0, query: str = "int8") -> None:
        super().__init__()
        if not 0.0 <= float(clip) < 0.5:
            raise SpecError(f"{self.name}: clip={clip} must be a tail fraction in [0, 0.5), e.g. clip=0.001")
        if query not in ("int8", "float"):
            raise SpecError(f"{self.name}: query={query!r}; accepted: query=int8 | query=float")
        self.clip, self.query = float(clip), query
        self.lo = torch.empty(0)
        self.scale = torch.empty(0)

    @property
    def levels(self) -> int:
        return 2**self.bits

    @property
    def spec(self) -> str:
        opts = [f"clip={self.clip:g}"] if self.clip else []
        opts += ["query=float"] if self.query == "float" else []
        return self.name + (":" + ",".join(opts) if opts else "")

    def fit(self, sample: torch.Tensor) -> ScalarQuantizer:
        super().fit(sample)
        x = check_vectors(sample, "fit sample")
        if self.clip:
            lo, hi = torch.quantile(x, self.clip, dim=0), torch.quantile(x, 1 - self.clip, dim=0)
            span = hi - lo
        else:  # min/max by FAISS's QT_8bit training: the same numbers as torch.aminmax, faster
            lo, span = sq8_ranges(x)
        self.lo = lo
        self.scale = (span / (self.levels - 1)).clamp_min(1e-12)
        return self

    def state(self) -> dict[str, torch.Tensor]:
        return {"lo": self.lo, "scale": self.scale}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.lo, self.scale = tensors["lo"].float(), tensors["scale"].float()

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """Levels ``(n, dim)`` in ``[0, L-1]`` as int16."""
        u = torch.round((x - self.lo) / self.scale).clamp_(0, self.levels - 1)
        return u.to(torch.int16)

    def centred(self, codes: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        c = self.centred(self._check_codes(codes)).float() + self.levels // 2
        return self.lo + c * self.scale

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        q = self.prepare_queries(queries)
        folded = q * self.scale
        offset = q @ (self.lo + (self.levels // 2) * self.scale)
        c = self.centred(self._check_codes(codes))
        if self.query == "float":
            return folded @ c.float().T + offset.unsqueeze(1)
        alpha = folded.abs().amax(1, keepdim=True).clamp_min(1e-30) / 127
        qi = torch.round(folded / alpha).to(torch.int8)
        return alpha * int_matmul(qi, c).float() + offset.unsqueeze(1)


@COMPRESSORS.register("int8")
class Int8(ScalarQuantizer):
    """8-bit per-dimension scalar quantization (1 byte per dimension)."""

    name = "int8"
    bits = 8

    @property
    def code_bytes(self) -> int:
        assert self.dim is not None, "fit first"
        return self.dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``round((x - lo) / scale)`` clipped to [0, 255], computed by FAISS's ``QT_8bit`` encoder."""
        return sq8_encode(self.lo, self.scale, self._check_input(x, "vectors"))

    def centred(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes.to(torch.int16) - 128).to(torch.int8)


@COMPRESSORS.register("int4")
class Int4(ScalarQuantizer):
    """4-bit per-dimension scalar quantization, two dimensions per byte."""

    name = "int4"
    bits = 4

    @property
    def code_bytes(self) -> int:
        assert self.dim is not None, "fit first"
        return math.ceil(self.dim / 2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        u = self.quantize(self._check_input(x, "vectors")).to(torch.uint8)
        if u.shape[1] % 2:
            u = torch.cat([u, u.new_zeros(u.shape[0], 1)], 1)
        return (u[:, 0::2] << 4) | u[:, 1::2]

    def centred(self, codes: torch.Tensor) -> torch.Tensor:
        hi, lo = (codes >> 4).to(torch.int8), (codes & 15).to(torch.int8)
        both = torch.stack([hi, lo], 2).view(codes.shape[0], -1)[:, : self.dim]
        return both - 8
