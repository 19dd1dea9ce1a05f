"""Discovery of experiment modules (this package, plus ``MANTISSA_PLUGINS``)."""

from __future__ import annotations

import importlib
import os
import pkgutil

from mantissa.experiments.base import EXPERIMENTS, Experiment

#: modules of this package that are infrastructure, not experiments
_INFRA = {"base", "catalogue", "runner", "report", "store"}
_loaded = False


def load_all() -> list[str]:
    """Import every experiment module once; return the registered ids."""
    global _loaded
    if not _loaded:
        _loaded = True
        package = importlib.import_module("mantissa.experiments")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name not in _INFRA and not info.name.startswith("_"):
                importlib.import_module(f"mantissa.experiments.{info.name}")
        for name in filter(None, os.environ.get("MANTISSA_PLUGINS", "").split(",")):
            importlib.import_module(name.strip())
    return EXPERIMENTS.list()


def get_experiment(name: str) -> Experiment:
    """An instance of the experiment registered as ``name``."""
    load_all()
    return EXPERIMENTS.get(name)()
