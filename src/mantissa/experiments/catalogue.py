"""Discovery of experiment modules (this package, plus ``MANTISSA_PLUGINS``)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import traceback
import warnings

from mantissa.experiments.base import EXPERIMENTS, Experiment

#: modules of this package that are infrastructure, not experiments
_INFRA = {"base", "catalogue", "runner", "report", "store"}
_loaded = False
#: modules that failed to import: name -> short traceback (tests assert it is empty)
LOAD_ERRORS: dict[str, str] = {}


def _import(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception as exc:  # one broken experiment must not hide the others
        LOAD_ERRORS[name] = "".join(traceback.format_exception_only(exc)).strip()
        warnings.warn(f"experiment module {name} failed to import: {LOAD_ERRORS[name]}", stacklevel=3)


def load_all() -> list[str]:
    """Import every experiment module once; return the registered ids."""
    global _loaded
    if not _loaded:
        _loaded = True
        package = importlib.import_module("mantissa.experiments")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name not in _INFRA and not info.name.startswith("_"):
                _import(f"mantissa.experiments.{info.name}")
        for name in filter(None, os.environ.get("MANTISSA_PLUGINS", "").split(",")):
            _import(name.strip())
    return EXPERIMENTS.list()


def get_experiment(name: str) -> Experiment:
    """An instance of the experiment registered as ``name``."""
    load_all()
    return EXPERIMENTS.get(name)()
