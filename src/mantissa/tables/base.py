"""The trainable compressed embedding table protocol and its registry.

Every table maps integer ids in ``[0, n)`` to ``dim``-vectors:

* ``forward(ids) -> (*ids.shape, dim)`` float32, differentiable in the table's
  parameters (so every method trains end to end in the same model);
* ``memory_bytes()`` — the honest storage a deployed table needs: every float
  parameter at 4 bytes, integer codes at their bit width, scales, masks and
  index arrays included; nothing that can be recomputed (hash seeds, shapes);
* ``dense()`` — the full ``(n, dim)`` matrix the table represents (tests, plots);
* ``on_step(step, total)`` — a hook the training loop calls after each optimizer
  step (gradual pruning uses it); ``finalize()`` — end of training
  (post-training quantization happens there).

``TABLES.build("qr:collisions=4", n=30000, dim=64)`` builds one; each method's
``for_budget(n, dim, budget_bytes, counts)`` returns the spec string that fits a
byte budget, so a benchmark can sweep memory budgets for every method alike
(Zhang et al. 2024, "Experimental Analysis of Large-scale Learnable Vector
Storage Compression", VLDB, the benchmark's protocol: each method is tuned to a
compression ratio of the full table's memory).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, DTypeError, ShapeError, SpecError
from mantissa.registry import Registry

FLOAT_BYTES = 4


class EmbeddingTable(nn.Module):
    """Base class: ``n`` ids, ``dim`` columns; subclasses set ``name``."""

    name: str = ""
    #: trained as a float table, compressed after training (can start from a trained ``full``)
    post_training: bool = False

    def __init__(self, n: int, dim: int) -> None:
        super().__init__()
        if int(n) < 1 or int(dim) < 1:
            raise ConfigError(f"{self.name}: an embedding table needs n >= 1 ids and dim >= 1, "
                              f"got {n}, {dim}")
        self.n, self.dim = int(n), int(dim)

    # -- protocol -----------------------------------------------------------
    def lookup(self, ids: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``(m,) int64 -> (m, dim)`` for validated flat ids."""
        raise NotImplementedError

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        flat = self.check_ids(ids).reshape(-1)
        return self.lookup(flat).reshape(*ids.shape, self.dim)

    def memory_bytes(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def spec(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def for_budget(cls, n: int, dim: int, budget_bytes: float,
                   counts: torch.Tensor | None = None) -> str:  # pragma: no cover - abstract
        """The spec of the largest table of this method within ``budget_bytes``."""
        raise NotImplementedError

    def dense(self) -> torch.Tensor:
        """The ``(n, dim)`` matrix this table represents."""
        with torch.no_grad():
            return torch.cat([self.lookup(torch.arange(i, min(i + 8192, self.n)))
                              for i in range(0, self.n, 8192)])

    def on_step(self, step: int, total: int) -> None:
        """Called after optimizer step ``step`` (1-based) of ``total``."""

    def finalize(self) -> None:
        """Called once after training."""

    def full_bytes(self) -> int:
        """Bytes of the uncompressed float32 ``(n, dim)`` table."""
        return self.n * self.dim * FLOAT_BYTES

    # -- helpers ------------------------------------------------------------
    def check_ids(self, ids: torch.Tensor) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.int64, torch.int32):
            raise DTypeError(f"{self.spec}: ids must be an int64 tensor, got "
                             f"{getattr(ids, 'dtype', type(ids).__name__)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.n):
            raise ShapeError(f"{self.spec}: ids must lie in [0, {self.n}), got range "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        return ids.long()

    def extra_repr(self) -> str:
        return f"{self.spec}, n={self.n}, dim={self.dim}, bytes={self.memory_bytes()}"


class PostTrainingTable(EmbeddingTable):
    """A float table that trains like ``full`` and is compressed once in :meth:`finalize`;
    :meth:`load_weights` starts it from an already trained full table instead."""

    post_training = True

    def __init__(self, n: int, dim: int, std: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, dim)
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(self.n, self.dim, generator=g) * std)
        self.compressed = False

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)

    def load_weights(self, weight: torch.Tensor) -> PostTrainingTable:
        if tuple(weight.shape) != (self.n, self.dim):
            raise ShapeError(f"{self.spec}: weights of shape {tuple(weight.shape)}, expected "
                             f"({self.n}, {self.dim})")
        with torch.no_grad():
            self.weight.copy_(weight)
        self.compressed = False
        return self

    def compress(self, weight: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The reconstruction ``Ŵ`` that the compressed storage serves."""
        raise NotImplementedError

    def finalize(self) -> None:
        if not self.compressed:
            with torch.no_grad():
                self.weight.copy_(self.compress(self.weight.detach()))
            self.weight.requires_grad_(False)
            self.compressed = True


def param_bytes(*tensors: torch.Tensor) -> int:
    """Float parameters at 4 bytes each."""
    return FLOAT_BYTES * sum(t.numel() for t in tensors)


def need_int(value: object, what: str, spec: str, low: int = 1) -> int:
    """``value`` as an int ``>= low`` or a :class:`SpecError` naming the spec."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SpecError(f"{spec}: {what} must be an integer >= {low}, got {value!r}")
    return value


def need_fraction(value: object, what: str, spec: str) -> float:
    """``value`` in ``(0, 1]`` or a :class:`SpecError`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < float(value) <= 1:
        raise SpecError(f"{spec}: {what} must be a number in (0, 1], got {value!r}")
    return float(value)


def too_small(name: str, budget_bytes: float, least: int) -> ConfigError:
    return ConfigError(f"{name}: a budget of {budget_bytes:.0f} bytes is below the smallest "
                       f"{name} table ({least} bytes); raise the budget")


TABLES: Registry[type[EmbeddingTable]] = Registry("embedding table")
