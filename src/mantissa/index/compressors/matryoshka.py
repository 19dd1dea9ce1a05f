"""Matryoshka truncation (Kusupati et al., 2022): ``matryoshka:D``.

Keep the first ``D`` dimensions and re-normalise to unit length, then hand
the result to an inner compressor (``float32`` unless the spec composes
another: ``matryoshka:192+int8``). Queries are truncated the same way.
"""

from __future__ import annotations

import torch

from mantissa.errors import ShapeError, SpecError
from mantissa.index.compressors.base import COMPRESSORS, Compressor, check_vectors


@COMPRESSORS.register("matryoshka")
class Matryoshka(Compressor):
    """Truncate to ``D`` dims + renormalise, then compress with ``inner``."""

    name = "matryoshka"

    def __init__(self, d: int = 0, inner: Compressor | None = None) -> None:
        super().__init__()
        if not isinstance(d, int) or d < 1:
            raise SpecError(f"matryoshka:D needs a positive number of dimensions, got {d!r} "
                            "(e.g. matryoshka:192 or matryoshka:192+int8)")
        from mantissa.index.compressors.floats import Float32

        self.d = d
        self.inner = inner or Float32()
        self.needs_fit = self.inner.needs_fit

    @property
    def spec(self) -> str:
        return f"matryoshka:{self.d}+{self.inner.spec}"

    def truncate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(x[:, : self.d], dim=1)

    def fit(self, sample: torch.Tensor) -> Matryoshka:
        x = check_vectors(sample, "fit sample")
        if x.shape[1] < self.d:
            raise ShapeError(f"matryoshka:{self.d} cannot truncate {x.shape[1]}-dimensional vectors")
        self.dim = x.shape[1]
        self.inner.fit(self.truncate(x))
        return self

    @property
    def code_bytes(self) -> int:
        return self.inner.code_bytes

    def state(self) -> dict[str, torch.Tensor]:
        return self.inner.state()

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.inner.dim = self.d
        self.inner.load_state(tensors)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.encode(self.truncate(self._check_input(x, "vectors")))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Decoded truncated vectors (``D`` dims)."""
        return self.inner.decode(codes)

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.inner.score(self.truncate(self.prepare_queries(queries)), codes)

    def search(self, queries: torch.Tensor, codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner.search(self.truncate(self.prepare_queries(queries)), codes, k)

    def set_metric(self, metric: str) -> None:
        self.inner.set_metric(metric)
        self.metric = metric
