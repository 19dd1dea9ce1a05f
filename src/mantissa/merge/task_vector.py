"""Task vectors: the weight change of fine-tuning, on plain state dicts.

Ilharco et al., "Editing Models with Task Arithmetic" (ICLR 2023), Eq. 1:
``tau_t = theta_t - theta_0``. A merged model is ``theta_0 + sum_t lambda_t tau_t``
where ``lambda_t`` may be one number per task or, per block of parameters, a
number per (task, block) (aTLAS). Only floating-point tensors are merged;
integer buffers (position ids, step counters) are copied from the base.

Everything here works on ``Mapping[str, Tensor]`` of any architecture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from mantissa.errors import ConfigError, DTypeError, ShapeError

StateDict = Mapping[str, Tensor]


def check_compatible(base: StateDict, others: Sequence[StateDict],
                     names: Sequence[str] | None = None) -> None:
    """Raise :class:`ShapeError` unless every state dict has the base's keys and shapes.

    The message names the first mismatched key and both shapes (or the missing key).
    """
    if not isinstance(base, Mapping) or not base:
        raise ShapeError("the base state dict is empty or not a mapping of name -> tensor")
    for i, sd in enumerate(others):
        label = names[i] if names else f"model {i + 1}"
        if not isinstance(sd, Mapping):
            raise ShapeError(f"{label} is a {type(sd).__name__}, expected a mapping of name -> tensor")
        missing = [k for k in base if k not in sd]
        extra = [k for k in sd if k not in base]
        if missing or extra:
            key = missing[0] if missing else extra[0]
            where = "missing from" if missing else "not in the base but in"
            raise ShapeError(
                f"different architectures: key {key!r} is {where} {label} "
                f"({len(missing)} missing, {len(extra)} extra keys); merging needs identical keys"
            )
        for key, ref in base.items():
            if tuple(sd[key].shape) != tuple(ref.shape):
                raise ShapeError(
                    f"different architectures: key {key!r} has shape {tuple(sd[key].shape)} in {label} "
                    f"but {tuple(ref.shape)} in the base"
                )


def mergeable_keys(base: StateDict) -> list[str]:
    """Keys of floating-point tensors (the ones task vectors change)."""
    return [k for k, v in base.items() if torch.is_floating_point(v)]


def task_vector(base: StateDict, finetuned: StateDict) -> dict[str, Tensor]:
    """``finetuned - base`` over the floating-point tensors (float32)."""
    check_compatible(base, [finetuned], ["the fine-tuned model"])
    return _difference(base, finetuned)


def _difference(base: StateDict, finetuned: StateDict) -> dict[str, Tensor]:
    return {k: finetuned[k].detach().float() - base[k].detach().float() for k in mergeable_keys(base)}


def task_vectors(base: StateDict, finetuned: Sequence[StateDict]) -> list[dict[str, Tensor]]:
    if not finetuned:
        raise ConfigError("merging needs at least one fine-tuned state dict")
    check_compatible(base, finetuned)
    return [_difference(base, ft) for ft in finetuned]


def combine(base: StateDict, vectors: Sequence[Mapping[str, Tensor]],
            coeffs: Sequence[float | Tensor] | Tensor) -> dict[str, Tensor]:
    """``base + sum_t coeffs[t] * vectors[t]``; keeps dtypes; differentiable in coeffs.

    ``coeffs[t]`` is a scalar, or a mapping key -> scalar tensor (one per block).
    Plain-number coefficients take an in-place path (no autograd graph).
    """
    if len(coeffs) != len(vectors):
        raise ShapeError(f"{len(coeffs)} coefficients for {len(vectors)} task vectors")
    out: dict[str, Tensor] = {}
    for key, ref in base.items():
        if key not in vectors[0]:
            out[key] = ref
            continue
        cs = [_coef(c, key) for c in coeffs]
        if any(_requires_grad(c) for c in cs):
            out[key] = ref.float() + sum(c * tv[key] for c, tv in zip(cs, vectors, strict=True))
            continue
        acc = ref.detach().float().clone()
        for c, tv in zip(cs, vectors, strict=True):
            acc.add_(tv[key], alpha=float(c))
        out[key] = acc.to(ref.dtype)
    return out


def _coef(c: float | Tensor | Mapping[str, Tensor], key: str) -> float | Tensor:
    return c[key] if isinstance(c, Mapping) else c


def _requires_grad(x: object) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def blocks(keys: Sequence[str], by: str = "tensor") -> dict[str, list[str]]:
    """Group parameter names into blocks: ``tensor`` (each its own), ``module``
    (weight and bias of one module together) or ``all`` (one block)."""
    if by == "tensor":
        return {k: [k] for k in keys}
    if by == "module":
        out: dict[str, list[str]] = {}
        for k in keys:
            out.setdefault(k.rsplit(".", 1)[0] if "." in k else k, []).append(k)
        return out
    if by == "all":
        return {"all": list(keys)}
    raise ConfigError(f"unknown block grouping {by!r}; use tensor, module or all")


def as_float_state(sd: StateDict) -> dict[str, Tensor]:
    """Detached copy, refusing tensors that are not tensors."""
    out = {}
    for k, v in sd.items():
        if not isinstance(v, Tensor):
            raise DTypeError(f"state dict entry {k!r} is a {type(v).__name__}, expected a torch.Tensor")
        out[k] = v.detach().clone()
    return out
