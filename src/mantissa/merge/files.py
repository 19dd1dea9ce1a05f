"""State-dict files for merging: read ``.safetensors`` / ``.pt``, write the merge."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mantissa.errors import ConfigError, CorruptFileError, DTypeError
from mantissa.io import atomic_write, write_json

from .base import Objective

SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """A plain state dict from ``.safetensors`` or a torch file (``weights_only``);
    a torch file holding ``{"state_dict": ...}`` is unwrapped."""
    p = Path(path)
    if p.suffix not in SUFFIXES:
        raise ConfigError(f"{p}: unknown state-dict file type {p.suffix!r}; use one of {', '.join(SUFFIXES)}")
    if not p.is_file():
        raise CorruptFileError(f"{p}: file is missing")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd: Any = load_file(str(p))
        else:
            sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # safetensors / pickle errors vary by version
        raise CorruptFileError(f"{p}: not a readable state dict ({type(exc).__name__}: {exc})") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, Tensor) for v in sd.values()):
        raise DTypeError(f"{p}: expected a mapping of parameter name -> tensor")
    bad = [k for k, v in sd.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CorruptFileError(f"{p}: tensor(s) {', '.join(map(repr, bad[:5]))} hold NaN or infinite values; "
                               "a merge of them would be NaN")
    return sd


def save_merged(out_dir: str | os.PathLike[str], state: dict[str, Tensor], info: dict[str, Any]) -> Path:
    """``out_dir/merged.safetensors`` (plain safetensors) and ``out_dir/merge.json``."""
    from safetensors.torch import save

    out = Path(out_dir)
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    data = save(tensors, metadata={"mantissa.kind": "merge"})
    path = atomic_write(out / "merged.safetensors", data)
    write_json(out / "merge.json", info)
    return path


def probe_objective(model_ref: str, probe_path: str | os.PathLike[str],
                    state_keys: Iterable[str] | None = None) -> Objective:
    """Cross-entropy of ``module:factory()`` (an ``nn.Module``) on a probe file with
    tensors ``x`` and ``y``, evaluated with the candidate state dict.

    With ``state_keys`` (the names in the state dicts to merge), a model with a parameter
    those names lack is refused: the merge would not reach it and would learn nothing."""
    module_name, _, attr = model_ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"--model must be 'package.module:factory', got {model_ref!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load model factory {model_ref!r}: {exc}") from None
    model = factory() if callable(factory) else None
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"--model {model_ref!r} must name a function returning a torch.nn.Module")
    if state_keys is not None:
        names = set(state_keys)
        missing = [n for n, _ in model.named_parameters() if n not in names]
        if missing:
            raise ConfigError(f"--model {model_ref!r} has parameters the state dicts lack: "
                              f"{', '.join(missing[:5])}; they hold {', '.join(sorted(names)[:5])}")
    probe = load_state_dict(probe_path)
    if "x" not in probe or "y" not in probe:
        raise ConfigError(f"{probe_path}: a probe file needs tensors 'x' (inputs) and 'y' (class labels)")
    x, y = probe["x"], probe["y"].long()

    def objective(sd: dict[str, Tensor]) -> Tensor:
        logits = torch.func.functional_call(model, sd, (x,))
        return torch.nn.functional.cross_entropy(logits, y)

    return objective
