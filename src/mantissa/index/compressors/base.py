"""The compressor protocol and its registry.

A compressor turns float vectors ``(n, dim)`` into fixed-width byte codes
``(n, code_bytes)`` of dtype ``uint8`` (what an index stores on disk), and back:

* ``fit(sample)`` learns what it needs (ranges, codebooks, a network);
* ``encode(x) -> codes`` and ``decode(codes) -> x̂``;
* ``score(queries, codes) -> (q, n)`` similarities, larger is closer, computed
  with the kernel that fits the code (see :mod:`mantissa.index.search`);
* ``search(queries, codes, k) -> (scores, ids)``: the top ``k`` of one block of
  codes under ``metric`` (``"ip"``, or ``"l2"`` with scores ``-d²``), through a
  FAISS kernel where the code has one (:mod:`mantissa.index.faiss_kernels`);
* ``bytes_per_vector`` (the code width) and ``aux_bytes`` (codebooks, scales,
  model weights: memory paid once per index), both honest;
* ``state()`` / ``load_state(tensors)`` for the index file.

Spec strings (``int8``, ``pq:48x8``, ``matryoshka:192``, ``bebr:3``) build
them through :data:`COMPRESSORS`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mantissa.errors import DTypeError, ShapeError, SpecError
from mantissa.registry import Registry


class Compressor:
    """Base class; subclasses set ``name`` and implement the codec."""

    name: str = ""
    #: whether ``fit`` must see data before ``encode`` works
    needs_fit: bool = False
    #: the metrics ``search`` supports (cosine is ``ip`` on unit vectors, done by the index)
    metrics: tuple[str, ...] = ("ip", "l2")

    def __init__(self) -> None:
        self.dim: int | None = None
        self.metric = "ip"
        self._prepared: dict[tuple[int, str], tuple[weakref.ref, Any]] = {}

    # -- protocol -----------------------------------------------------------
    def fit(self, sample: torch.Tensor) -> Compressor:
        self.dim = check_vectors(sample, "fit sample").shape[1]
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, codes: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, queries: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Default: inner products of the queries with the decoded codes."""
        return self.prepare_queries(queries) @ self.decode(codes).T

    def search(self, queries: torch.Tensor, codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` (scores, row ids) of one block of codes, best first.

        Default: ``score`` (inner products) and ``torch.topk``; for ``l2`` the
        codes are decoded and searched exactly with FAISS."""
        k = min(k, codes.shape[0])
        if self.metric == "l2":
            from mantissa.index.faiss_kernels import knn_float

            return knn_float(self.prepare_queries(queries), self.decode(codes), k, "l2")
        return torch.topk(self.score(queries, codes).float(), k, dim=1)

    def prepared(self, codes: torch.Tensor, make: Callable[[torch.Tensor], Any]) -> Any:
        """``make(codes)`` (e.g. a FAISS index over them), made once and kept while this very
        ``codes`` tensor lives (index segments and inverted lists are never written in place)."""
        key = (id(codes), self.metric)
        hit = self._prepared.get(key)
        if hit is not None and hit[0]() is codes:
            return hit[1]
        self._prepared = {k: v for k, v in self._prepared.items() if v[0]() is not None}
        made = make(codes)
        self._prepared[key] = (weakref.ref(codes), made)
        return made

    def set_metric(self, metric: str) -> None:
        """Search by ``metric`` (``ip`` or ``l2``); a code that cannot is refused."""
        if metric not in self.metrics:
            raise SpecError(f"{self.spec} codes support metric {' or '.join(self.metrics)}, not {metric!r} "
                            "(cos is ip on unit-length vectors)")
        self.metric = metric

    def prepare_queries(self, queries: torch.Tensor) -> torch.Tensor:
        return self._check_input(queries, "queries")

    @property
    def code_bytes(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def bytes_per_vector(self) -> float:
        return float(self.code_bytes)

    @property
    def aux_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.state().values())

    def state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what ``state`` returned (``dim`` is set by the caller)."""

    @property
    def spec(self) -> str:
        return self.name

    # -- helpers ------------------------------------------------------------
    def _check_input(self, x: torch.Tensor, what: str) -> torch.Tensor:
        x = check_vectors(x, what)
        if self.dim is None:
            raise ShapeError(f"{self.spec}: call fit(sample) before {what}")
        if x.shape[1] != self.dim:
            raise ShapeError(f"{what} have dimension {x.shape[1]}, the {self.spec} index holds {self.dim}")
        return x

    def _check_codes(self, codes: torch.Tensor) -> torch.Tensor:
        if not isinstance(codes, torch.Tensor) or codes.dtype != torch.uint8:
            raise DTypeError(f"{self.spec} codes must be a uint8 tensor, got "
                             f"{getattr(codes, 'dtype', type(codes).__name__)}")
        if codes.ndim != 2 or codes.shape[1] != self.code_bytes:
            raise ShapeError(f"{self.spec} codes must be (n, {self.code_bytes}), got {tuple(codes.shape)}")
        return codes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec} dim={self.dim}>"


_FINITE: dict[int, tuple[weakref.ref, int]] = {}  # id -> (the tensor, its version when found finite)


def _remember_finite(x: torch.Tensor) -> None:
    if len(_FINITE) > 64:
        for key in [k for k, (ref, _) in _FINITE.items() if ref() is None]:
            del _FINITE[key]
    _FINITE[id(x)] = (weakref.ref(x), x._version)


def check_vectors(x: Any, what: str = "vectors", first_row: int = 0) -> torch.Tensor:
    """A finite float32 ``(n, dim)`` tensor, or a mantissa error naming the bad rows
    (numbered from ``first_row``, for chunks of a larger input).

    A tensor found finite is remembered with its version counter and not scanned again
    (fit, encode and the graph each check the same vectors) until torch writes to it;
    a write through a NumPy array sharing its memory is not seen."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise DTypeError(f"{what} must be a numeric array, got {type(x).__name__}") from exc
    if not (x.is_floating_point() or x.dtype in (torch.int8, torch.int16, torch.int32, torch.int64)):
        raise DTypeError(f"{what} must be floating point, got {x.dtype}")
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2:
        raise ShapeError(f"{what} must be a (n, dim) matrix, got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ShapeError(f"{what} are empty (shape {tuple(x.shape)}); give at least one vector")
    x = x.float().contiguous()
    seen = _FINITE.get(id(x))
    if seen is not None and seen[0]() is x and seen[1] == x._version:  # checked, not written since
        return x
    # fast path: a NaN or inf makes its row sum non-finite (NumPy: no OpenMP pool woken up to
    # spin against FAISS's on a small query batch)
    if bool(np.isfinite(x.numpy().sum(1)).all()):
        _remember_finite(x)
        return x
    bad = (~torch.isfinite(x)).any(1)  # (or finite values overflowed the sum: then nothing is bad)
    if bool(bad.any()):
        rows = (bad.nonzero().flatten() + first_row).tolist()
        shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
        raise ShapeError(f"{what} contain NaN or infinite values in {len(rows)} row(s): {shown}")
    return x


def words64(dim: int) -> int:
    """Bytes for ``dim`` bits rounded up to whole 64-bit words (popcount kernels)."""
    return 8 * math.ceil(dim / 64)


COMPRESSORS: Registry[type[Compressor]] = Registry("compressor")
