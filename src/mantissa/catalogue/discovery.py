"""Discovery of experiment modules (the package :mod:`mantissa.experiments`, plus ``MANTISSA_PLUGINS``)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import traceback
import warnings

from mantissa.catalogue.protocol import EXPERIMENTS, Experiment

_loaded = False
#: modules that failed to import: name -> short traceback (tests assert it is empty)
LOAD_ERRORS: dict[str, str] = {}

#: The catalogue's pillars in page order: slug -> label. An experiment's pillar is the
#: sub-package it lives in (``mantissa/experiments/arith_lab/`` is ``arith-lab``); a
#: class may name another slug in a ``pillar`` attribute (plug-ins outside the package
#: do); anything else is listed under "other".
PILLARS: dict[str, str] = {
    "formats": "formats & arithmetic",
    "arith-lab": "arithmetic lab",
    "embeddings": "embeddings",
    "merging-probes": "merging & probes",
    "architectures": "efficient architectures & beyond text",
}
_OTHER = "other"
_PACKAGE = "mantissa.experiments"


def pillar_of(exp_id: str, exp: type[Experiment] | None) -> str:
    """The pillar slug of an experiment: its ``pillar`` attribute, else its sub-package."""
    own = getattr(exp, "pillar", None)
    if isinstance(own, str) and own:
        return own
    if exp is None and exp_id in load_all():
        exp = EXPERIMENTS.get(exp_id)
    parts = getattr(exp, "__module__", "").split(".")
    if len(parts) == 4 and ".".join(parts[:2]) == _PACKAGE:
        slug = parts[2].replace("_", "-")
        return slug if slug in PILLARS else _OTHER
    return _OTHER


def pillar_rank(slug: str) -> int:
    """A pillar's place in page order; unknown slugs come last."""
    return list(PILLARS).index(slug) if slug in PILLARS else len(PILLARS)


def pillar_name(slug: str) -> str:
    """The label of a pillar slug (e.g. ``"formats & arithmetic"``); unknown slugs stand for themselves."""
    return PILLARS.get(slug, slug)


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
        for slug in PILLARS:
            pillar = importlib.import_module(f"{_PACKAGE}.{slug.replace('-', '_')}")
            for info in sorted(pkgutil.iter_modules(pillar.__path__), key=lambda i: i.name):
                if not info.name.startswith("_"):  # _name: a helper module, not an experiment
                    _import(f"{pillar.__name__}.{info.name}")
        for name in filter(None, os.environ.get("MANTISSA_PLUGINS", "").split(",")):
            _import(name.strip())
    return EXPERIMENTS.list()


def get_experiment(name: str) -> Experiment:
    """An instance of the experiment registered as ``name``."""
    load_all()
    return EXPERIMENTS.get(name)()
