"""Devices, seeds and threads: the few process-wide facts, made explicit."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from mantissa.errors import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use auto or cpu")
    return dev


#: the largest seed every generator accepts (torch takes a signed 64-bit integer)
MAX_SEED = 2**63 - 1


def check_seed(seed: int, name: str = "seed") -> int:
    """``seed`` if it is an integer in 0..:data:`MAX_SEED`, else :class:`ConfigError`."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be an integer from 0 to 2**63-1, got {seed!r}")
    return seed


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same."""
    check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def describe() -> dict[str, object]:
    """Facts about the compute environment for ``env.json``."""
    info: dict[str, object] = {
        "device": "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    return info


@contextlib.contextmanager
def threads(n: int = 1) -> Iterator[None]:
    """Run a block with ``n`` torch threads, then restore the setting. Tiny models
    train fastest on one thread, and do not fight other processes for shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
