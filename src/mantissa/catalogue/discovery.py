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

#: The catalogue's pillars in page order: slug -> (label, experiment ids). An
#: experiment class may name its slug in a ``pillar`` attribute instead; anything
#: in neither place is listed under "other".
PILLARS: dict[str, tuple[str, tuple[str, ...]]] = {
    "formats": ("formats & arithmetic", (
        "bit-scaling", "dfp-training", "fp8-stability", "i-vit", "llm-fp4", "llm-int8", "lmul",
        "nupes", "power-softmax", "quant-survey", "shiftaddllm", "fp-diffusion")),
    "arith-lab": ("arithmetic lab", (
        "alchemy", "cot-theory", "dissect-mult", "grok-corrupted", "pe-length-gen",
        "positional-description", "rasp-l", "structural-recursion", "task-hinting",
        "teaching-arith")),
    "embeddings": ("embeddings", (
        "2dmse", "bebr", "esimcse", "geodesic-mixup", "gistembed", "nv-embed", "starbucks",
        "imaginator", "snip",
        "unified-embedding", "vector-compression", "vlm2vec", "word-vectors")),
    "merging-probes": ("merging & probes", (
        "atlas", "concrete-merging", "linguistic-collapse", "observatory", "relative-reps",
        "self-positioning", "successor-heads")),
    "architectures": ("efficient architectures & beyond text", (
        "circuit-diagrams", "clex", "combiner", "ecoformer", "evonorm", "hyperinterval",
        "imagebind-llm", "memoryformer", "neural-snowflakes", "open-eyes", "pc-compression", "rep4ex",
        "shiftaddvit", "hnerv")),
}
_OTHER = "other"
_PILLAR_OF = {exp_id: slug for slug, (_, ids) in PILLARS.items() for exp_id in ids}


def pillar_of(exp_id: str, exp: type[Experiment] | None) -> str:
    """The pillar slug of an experiment: its ``pillar`` attribute, else :data:`PILLARS`."""
    own = getattr(exp, "pillar", None)
    return own if isinstance(own, str) and own else _PILLAR_OF.get(exp_id, _OTHER)


def pillar_name(slug: str) -> str:
    """The label of a pillar slug (e.g. ``"formats & arithmetic"``); unknown slugs stand for themselves."""
    return PILLARS[slug][0] if slug in PILLARS else slug


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
            if not info.name.startswith("_"):  # _name: a shared helper module, not an experiment
                _import(f"mantissa.experiments.{info.name}")
        for name in filter(None, os.environ.get("MANTISSA_PLUGINS", "").split(",")):
            _import(name.strip())
    return EXPERIMENTS.list()


def get_experiment(name: str) -> Experiment:
    """An instance of the experiment registered as ``name``."""
    load_all()
    return EXPERIMENTS.get(name)()
