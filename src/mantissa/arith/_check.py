"""Input checks shared by the arithmetic modules (clear errors naming what is accepted)."""

from __future__ import annotations

import torch

from mantissa.errors import ConfigError, DTypeError, ShapeError

INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def tensor(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise DTypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def float_tensor(x: object, name: str) -> torch.Tensor:
    t = tensor(x, name)
    if not t.is_floating_point():
        raise DTypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
    return t


def int_tensor(x: object, name: str) -> torch.Tensor:
    t = tensor(x, name)
    if t.dtype not in INT_DTYPES:
        raise DTypeError(
            f"{name} must be an integer tensor (int8, int16, int32, int64 or uint8), got {t.dtype}; "
            "quantize it first (e.g. mantissa.arith.quantize_symmetric)"
        )
    return t


def int_in_range(value: object, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return str(value)


def matmul_shapes(a: torch.Tensor, b: torch.Tensor, a_name: str = "A", b_name: str = "B") -> None:
    if a.dim() < 2 or b.dim() < 2:
        raise ShapeError(f"{a_name} and {b_name} must have at least 2 dimensions, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(f"cannot multiply {a_name} {tuple(a.shape)} by {b_name} {tuple(b.shape)}: "
                         f"inner sizes {a.shape[-1]} and {b.shape[-2]} differ")
