"""Power (non-uniform) formats: a uniform integer grid seen through ``sign(x)|x|^a``.

NUPES (Yvinec et al. 2023, "NUPES: Non-Uniform Post-Training Quantization via
Power Exponent Search", §3): quantize ``t = sign(x)|x|^a`` on a uniform grid and
map back with the inverse power, so the grid values are

``v_k = sign(k) (|k| / qmax) ** (1 / a)``,  ``k = -qmax .. qmax``

on the normalised range ``[-1, 1]`` (multiply by a scale for real data). ``a = 1``
is the uniform symmetric grid; ``a < 1`` puts more levels near zero, where
bell-shaped weights live. The learnable version is :mod:`mantissa.quant.nupes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mantissa.errors import ConfigError
from mantissa.formats.base import FORMATS, Format, FormatInfo, check_float, check_rounding, code_dtype
from mantissa.formats.base import round_signed as _round


@dataclass(frozen=True)
class PowerFormat(Format):
    """``bits``-bit symmetric power grid with exponent ``a`` on ``[-1, 1]``."""

    bits: int = 4  # type: ignore[misc]
    a: float = 0.5

    def __post_init__(self) -> None:
        if not 2 <= int(self.bits) <= 16:
            raise ConfigError(f"power format needs 2..16 bits, got {self.bits}")
        if not 0 < float(self.a) <= 4:
            raise ConfigError(f"power exponent a must be in (0, 4], got {self.a}")

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1

    def __str__(self) -> str:
        return f"power:{self.bits},a={self.a!r}"

    @property
    def info(self) -> FormatInfo:
        small = (1 / self.qmax) ** (1 / self.a)
        eps = 1.0 - ((self.qmax - 1) / self.qmax) ** (1 / self.a)
        return FormatInfo(bits=self.bits, max=1.0, min=-1.0, smallest_normal=small, smallest_subnormal=small,
                          eps=eps, has_inf=False, has_nan=False)

    def to_index(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Integer grid index ``k`` (float tensor) of each element."""
        x = check_float(x)
        t = torch.sign(x) * x.abs().clamp(max=1.0).pow(self.a) * self.qmax
        return _round(t, check_rounding(rounding), generator).clamp(-self.qmax, self.qmax)

    def from_index(self, k: torch.Tensor) -> torch.Tensor:
        return torch.sign(k) * (k.abs() / self.qmax).pow(1.0 / self.a)

    def quantize(self, x: torch.Tensor, rounding: str = "nearest-even",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Nearest grid value in the power domain (not in the value domain), same dtype."""
        return self.from_index(self.to_index(x, rounding, generator)).to(x.dtype)

    def encode(self, x: torch.Tensor, rounding: str = "nearest-even",
               generator: torch.Generator | None = None) -> torch.Tensor:
        k = self.to_index(x.double(), rounding, generator).to(torch.int64)
        return (k & (2 ** self.bits - 1)).to(code_dtype(self.bits))

    def values(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        codes = torch.arange(2 ** self.bits, dtype=torch.int64)
        k = torch.where(codes >= 2 ** (self.bits - 1), codes - 2 ** self.bits, codes).clamp(min=-self.qmax)
        return self.from_index(k.double()).to(dtype)


def _power(bits: int = 4, a: float = 0.5) -> PowerFormat:
    return PowerFormat(int(bits), float(a))


FORMATS.add("power", _power)
