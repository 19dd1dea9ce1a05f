"""Training checkpoints: model, optimizer, RNG state, step and metadata in one
verified safetensors file (:func:`mantissa.io.save_tensors`, written
atomically, SHA-256 checked on read).

:func:`load_checkpoint` refuses a corrupt or foreign file
(:class:`~mantissa.errors.CorruptFileError`) and a checkpoint whose model config
differs from the expected one (:class:`~mantissa.errors.ConfigError` naming
the mismatched keys).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from mantissa.errors import ConfigError, CorruptFileError
from mantissa.io import load_tensors, save_tensors

KIND = "mantissa.train.checkpoint"


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, state in sd["state"].items():
        for key, val in state.items():
            if isinstance(val, torch.Tensor):
                tensors[f"optim/{pid}/{key}"] = val.detach().clone()
            else:
                scalars[f"{pid}/{key}"] = val
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_checkpoint(path: str | os.PathLike[str], *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, step: int = 0,
                    meta: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (tied weights are stored once per name)."""
    tensors = {f"model/{k}": v.detach().clone() for k, v in model.state_dict().items()}
    info: dict[str, Any] = {"step": step, **(meta or {})}
    if optimizer is not None:
        opt_t, opt_meta = _flatten_optimizer(optimizer)
        tensors.update(opt_t)
        info["optimizer"] = opt_meta
    tensors["rng/torch"] = torch.get_rng_state().clone()
    return save_tensors(path, tensors, kind=KIND, meta=info)


def normalize(value: Any) -> Any:
    """A config value as JSON stores it: tuples become lists, at any depth."""
    return [normalize(v) for v in value] if isinstance(value, tuple | list) else value


def config_mismatch(saved: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Keys whose values differ (lists and tuples compare equal)."""
    keys = sorted(set(saved) | set(expected))
    return [k for k in keys if normalize(saved.get(k)) != normalize(expected.get(k))]


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata of a checkpoint, verified."""
    return load_tensors(path, kind=KIND)


def load_checkpoint(path: str | os.PathLike[str], *, model: torch.nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    expect_config: dict[str, Any] | None = None, restore_rng: bool = True) -> dict[str, Any]:
    """Restore ``model``/``optimizer``/RNG from ``path``; return the metadata."""
    tensors, meta = read_checkpoint(path)
    if expect_config is not None:
        saved = meta.get("model_config", {})
        bad = config_mismatch(saved, expect_config)
        if bad:
            detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs requested {expect_config.get(k)!r}"
                               for k in bad)
            raise ConfigError(f"checkpoint {path} was trained with a different model config ({detail})")
    if model is not None:
        sd = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
        try:
            model.load_state_dict(sd)
        except RuntimeError as exc:
            raise ConfigError(f"checkpoint {path} does not fit this model: {exc}") from None
    if optimizer is not None:
        _load_optimizer(path, optimizer, tensors, meta)
    if restore_rng and "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    return meta


def _load_optimizer(path: Any, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                    meta: dict[str, Any]) -> None:
    if "optimizer" not in meta:
        raise CorruptFileError(f"{path}: checkpoint has no optimizer state to resume from")
    state: dict[int, dict[str, Any]] = {}
    for key, val in tensors.items():
        if key.startswith("optim/"):
            _, pid, name = key.split("/", 2)
            state.setdefault(int(pid), {})[name] = val
    for key, val in meta["optimizer"]["scalars"].items():
        pid, name = key.split("/", 1)
        state.setdefault(int(pid), {})[name] = val
    optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer"]["param_groups"]})
