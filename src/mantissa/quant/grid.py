"""The value grids quantized layers round to: the one adapter onto :mod:`mantissa.formats`.

:func:`get_grid` names a grid:

* an ml_dtypes float name (``float8_e4m3fn``, ``float4_e2m1fn``, ...) — that format;
* ``eXmY`` — the all-finite ExMy format with the IEEE bias and subnormals
  (``fp:eXmY,special=none``): LLM-FP4's E1M2 / E2M1 / E3M0 search space (a
  real-valued exponent bias is a scale on this grid, LLM-FP4 eq. 4);
* ``intN`` — the symmetric integer grid ``-(2**(N-1)-1) .. 2**(N-1)-1``
  (``int:N,narrow=true``).

A grid rounds to nearest-even and *saturates* at ±max (quantized layers clip,
they never produce inf/NaN); ``encode``/``decode`` give and read the format's
own bit patterns.
"""

from __future__ import annotations

import functools
import re

import torch

from mantissa import formats
from mantissa.errors import SpecError, UnknownNameError

_EXMY = re.compile(r"^e(\d+)m(\d+)$")
_INT = re.compile(r"^int(\d+)$")


def int_qmax(bits: int) -> int:
    """Largest code of a symmetric signed ``bits``-bit integer grid (127 for 8 bits)."""
    return (1 << (int(bits) - 1)) - 1


class Grid:
    """A format used as a saturating quantization grid. Build with :func:`get_grid`."""

    def __init__(self, name: str, fmt: formats.Format) -> None:
        self.name, self.fmt = name, fmt
        self.bits = int(fmt.bits)
        self.max = float(fmt.info.max)
        self._table: torch.Tensor | None = None
        self._vals: torch.Tensor | None = None
        self._mids: torch.Tensor | None = None

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` rounded to the grid (nearest-even), clipped to ±max; same dtype as ``x``."""
        return self.fmt.quantize(x.clamp(-self.max, self.max))

    def fast_quantize(self, x: torch.Tensor) -> torch.Tensor:
        """Like :meth:`quantize` for searches: a table look-up (nearest value; an exact tie
        goes to the lower value instead of the even code). float32 out."""
        if self._mids is None:
            vals = torch.unique(torch.nan_to_num(self.fmt.values(torch.float64), nan=0.0))
            vals = vals[vals.abs() <= self.max]
            self._vals, self._mids = vals.float(), ((vals[1:] + vals[:-1]) / 2).float()
        return self._vals[torch.bucketize(x.float(), self._mids)]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes (int64 bit patterns of the format) of ``x`` rounded and clipped."""
        return self.fmt.encode(x.clamp(-self.max, self.max)).to(torch.int64) & ((1 << self.bits) - 1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """float32 values of codes (a table look-up)."""
        if self._table is None:
            vals = self.fmt.values(torch.float64) if self.bits <= 16 else None
            if vals is None:  # pragma: no cover - quantized layers use <= 8 bits
                raise SpecError(f"grid {self.name!r} is too wide for a code table")
            self._table = torch.nan_to_num(vals, nan=0.0).float()
        return self._table[codes.long()]

    def __repr__(self) -> str:
        return f"Grid({self.name!r}, bits={self.bits}, max={self.max:g})"


@functools.cache
def get_grid(name: str) -> Grid:
    """The grid called ``name`` (see the module docstring); cached."""
    name = str(name)
    if m := _EXMY.match(name):
        return Grid(name, formats.get(f"fp:e{m[1]}m{m[2]},special=none"))
    if m := _INT.match(name):
        if not 2 <= int(m[1]) <= 16:
            raise SpecError(f"integer grid {name!r}: bits must be 2..16")
        return Grid(name, formats.get(f"int:{m[1]},narrow=true"))
    try:
        return Grid(name, formats.get(name))
    except (UnknownNameError, SpecError) as exc:
        raise SpecError(f"unknown grid {name!r}: use eXmY (e.g. e2m1), intN (e.g. int4) or a "
                        f"float format name ({exc})") from None
