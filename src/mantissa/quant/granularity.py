"""Quantization granularity: which elements share one scale (Gholami et al. 2021, §III-C).

A :class:`Granularity` maps a tensor to a 2-D *row view* ``(S, L)`` in which each
row shares one scale / zero point, and back:

* ``tensor``       — one row: the whole tensor;
* ``channel(axis)``— one row per index along ``axis`` (weights: output channels, axis 0);
* ``group(size)``  — contiguous groups of ``size`` along ``axis`` (default the last), per row;
* ``token``        — one row per vector along the last dimension (vector-wise / per-token).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mantissa.errors import ConfigError, ShapeError

KINDS = ("tensor", "channel", "group", "token")


@dataclass(frozen=True)
class Granularity:
    kind: str = "tensor"
    axis: int = 0
    size: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown granularity {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.kind == "group" and (not isinstance(self.size, int) or self.size < 1):
            raise ConfigError(f"group granularity needs a positive integer size, got {self.size!r}")

    @classmethod
    def tensor(cls) -> Granularity:
        return cls("tensor")

    @classmethod
    def channel(cls, axis: int = 0) -> Granularity:
        return cls("channel", axis)

    @classmethod
    def group(cls, size: int, axis: int = -1) -> Granularity:
        return cls("group", axis, size)

    @classmethod
    def token(cls) -> Granularity:
        return cls("token", -1)

    def __str__(self) -> str:
        if self.kind == "channel":
            return "channel" if self.axis == 0 else f"channel={self.axis}"
        if self.kind == "group":
            return f"group={self.size}" + ("" if self.axis == -1 else f",axis={self.axis}")
        return self.kind

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        """The ``(S, L)`` view of ``x`` (a copy only when a move of axes needs one)."""
        if x.dim() == 0:
            return x.reshape(1, 1)
        if self.kind == "tensor":
            return x.reshape(1, -1)
        if self.kind == "token":
            return x.reshape(-1, x.shape[-1])
        axis = self._axis(x)
        if self.kind == "channel":
            return x.movedim(axis, 0).reshape(x.shape[axis], -1)
        n = x.shape[axis]
        if n % self.size:
            raise ShapeError(f"group size {self.size} does not divide dimension {axis} of size {n} "
                             f"(shape {tuple(x.shape)}); pick a divisor of {n}")
        return x.movedim(axis, -1).reshape(-1, self.size)

    def unrows(self, rows: torch.Tensor, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
        """Inverse of :meth:`rows` for a tensor of ``shape``."""
        shape = tuple(shape)
        if len(shape) == 0:
            return rows.reshape(())
        if self.kind in ("tensor", "token"):
            return rows.reshape(shape)
        axis = self._axis_of(len(shape))
        moved = (shape[axis], *shape[:axis], *shape[axis + 1:]) if self.kind == "channel" else \
            (*shape[:axis], *shape[axis + 1:], shape[axis])
        out = rows.reshape(moved)
        return out.movedim(0, axis) if self.kind == "channel" else out.movedim(-1, axis)

    def scale_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the per-row parameters in the tensor's own layout."""
        shape = tuple(shape)
        if self.kind == "tensor" or not shape:
            return ()
        if self.kind == "token":
            return shape[:-1]
        axis = self._axis_of(len(shape))
        if self.kind == "channel":
            return (shape[axis],)
        return (*shape[:axis], *shape[axis + 1:], shape[axis] // self.size)

    def n_rows(self, shape: tuple[int, ...]) -> int:
        return max(1, math.prod(self.scale_shape(shape)))

    def _axis(self, x: torch.Tensor) -> int:
        return self._axis_of(x.dim())

    def _axis_of(self, ndim: int) -> int:
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"axis {self.axis} out of range for a {ndim}-D tensor")
        return self.axis % ndim
