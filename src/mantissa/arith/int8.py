"""LLM.int8(): vector-wise int8 matmul with mixed-precision outlier decomposition.

Paper: Dettmers et al., "LLM.int8(): 8-bit Matrix Multiplication for
Transformers at Scale" (2022), Eq. 4-6 (vector-wise quantization) and Eq. 7
(decomposition)::

    X W ≈ X[:, O] W[O, :]  (high precision)
        + (c_x ⊗ c_w) · (Q(X[:, ~O]) Q(W[~O, :]))   (int8 × int8 -> int32)

where ``O`` is the set of feature columns with any ``|x| >= threshold``
(default 6.0), ``Q`` is absmax rounding to [-127, 127], ``c_x`` the per-row
scale of the activations and ``c_w`` the per-output-channel scale of the
weights, both computed after the outlier columns are set aside.

Weights follow ``torch.nn.functional.linear``: ``weight`` is
``(out_features, in_features)``; activations are ``(..., in_features)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mantissa.arith._check import float_tensor, int_tensor
from mantissa.errors import ConfigError, ShapeError

QMAX = 127


@dataclass
class Int8Stats:
    """What one decomposed matmul did."""

    outlier_columns: torch.Tensor  # indices of the feature columns computed in high precision
    in_features: int
    rows: int
    out_features: int

    @property
    def n_outliers(self) -> int:
        return int(self.outlier_columns.numel())

    @property
    def int8_fraction(self) -> float:
        """Fraction of the multiply-adds done in int8."""
        return 1.0 - self.n_outliers / max(1, self.in_features)

    @property
    def macs(self) -> int:
        return self.rows * self.in_features * self.out_features


def quantize_absmax(x: torch.Tensor, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric absmax int8 quantization along ``dim`` (scale per slice, keepdim).

    Returns ``(q, scale)`` with ``q`` int8 in [-127, 127] and ``x ≈ q * scale``;
    all-zero slices get scale 0 and codes 0.
    """
    x = float_tensor(x, "x")
    scale = x.abs().amax(dim=dim, keepdim=True).float() / QMAX
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(x.float() / safe).clamp(-QMAX, QMAX).to(torch.int8)
    return q, scale


def int8_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact int8 × int8 -> int32 matrix product of 2-D tensors (``torch._int_mm`` when it runs)."""
    a, b = int_tensor(a, "a"), int_tensor(b, "b")
    if a.dtype != torch.int8 or b.dtype != torch.int8:
        raise ConfigError(f"int8_matmul takes int8 tensors, got {a.dtype} and {b.dtype}")
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ShapeError(f"int8_matmul needs (M, K) @ (K, N), got {tuple(a.shape)} @ {tuple(b.shape)}")
    if a.shape[1] * QMAX * QMAX >= 2**31:
        raise ShapeError(f"inner size {a.shape[1]} could overflow the int32 accumulator")
    if a.shape[1] == 0:
        return torch.zeros(a.shape[0], b.shape[1], dtype=torch.int32)
    try:
        return torch._int_mm(a.contiguous(), b.contiguous())
    except (RuntimeError, NotImplementedError):  # pragma: no cover - backend without _int_mm
        return (a.to(torch.int64) @ b.to(torch.int64)).to(torch.int32)


def outlier_columns(x2d: torch.Tensor, threshold: float | None) -> torch.Tensor:
    """Indices of feature columns with any ``|x| >= threshold`` (none if threshold is None)."""
    if threshold is None:
        return torch.zeros(0, dtype=torch.long)
    if not threshold > 0:
        raise ConfigError(f"threshold must be a positive number or None, got {threshold!r}")
    return torch.nonzero((x2d.abs() >= threshold).any(dim=0)).flatten()


def int8_matmul_with_outliers(x: torch.Tensor, weight: torch.Tensor | None, threshold: float | None = 6.0,
                              bias: torch.Tensor | None = None, *,
                              outlier_dtype: torch.dtype | None = None,
                              weight_int8: tuple[torch.Tensor, torch.Tensor] | None = None,
                              ) -> tuple[torch.Tensor, Int8Stats]:
    """``F.linear(x, weight, bias)`` computed the LLM.int8() way; returns ``(y, stats)``.

    ``threshold=None`` gives plain vector-wise int8 (no decomposition).
    ``outlier_dtype`` is the precision of the outlier part (default: x's dtype;
    the paper uses float16). ``weight_int8=(codes, scales)``: a weight already
    quantized per output channel (int8 ``(out, in)``, float ``(out,)``; pass
    ``weight=None``), as bitsandbytes stores it — the int8 part then zeroes the
    outlier columns of ``x`` instead of re-quantizing the weight on every call, and
    the outlier part uses the dequantized columns.
    """
    x = float_tensor(x, "x")
    if weight_int8 is not None:
        codes, w_scale = weight_int8
        w_scale = w_scale.reshape(-1, 1)
        out_features, in_features = codes.shape
    else:
        weight = float_tensor(weight, "weight")
        if weight.dim() != 2:
            raise ShapeError(f"weight must be 2-D (out_features, in_features), got {tuple(weight.shape)}")
        out_features, in_features = weight.shape
    if x.shape[-1] != in_features:
        raise ShapeError(f"weight must be (out_features, in_features={x.shape[-1]}) for x "
                         f"{tuple(x.shape)}, got {(out_features, in_features)}")
    x2 = x.reshape(-1, x.shape[-1])
    cols = outlier_columns(x2, threshold)
    if weight_int8 is not None:
        xq, cx = quantize_absmax(x2.index_fill(1, cols, 0.0), dim=1)  # per row, outliers zeroed
        acc = int8_matmul(xq, codes.t())
        y = acc.float() * (cx * w_scale.t().float())
    else:
        keep = torch.ones(x2.shape[1], dtype=torch.bool)
        keep[cols] = False
        xq, cx = quantize_absmax(x2[:, keep], dim=1)  # per row of activations
        wq, cw = quantize_absmax(weight[:, keep], dim=1)  # per output channel
        y = int8_matmul(xq, wq.t()).float() * (cx * cw.t())
    if cols.numel():
        hp = outlier_dtype or x.dtype
        w_cols = weight[:, cols] if weight_int8 is None else codes[:, cols].to(hp) * w_scale.to(hp)
        y = y + (x2[:, cols].to(hp) @ w_cols.to(hp).t()).float()
    if bias is not None:
        y = y + bias.float()
    stats = Int8Stats(cols, x2.shape[1], x2.shape[0], out_features)
    return y.to(x.dtype).reshape(*x.shape[:-1], out_features), stats


def vectorwise_int8_linear(x: torch.Tensor, weight: torch.Tensor,
                           bias: torch.Tensor | None = None) -> torch.Tensor:
    """Plain vector-wise int8 ``F.linear`` (no outlier decomposition)."""
    return int8_matmul_with_outliers(x, weight, None, bias)[0]
