"""Which layers of a model a recipe quantizes, and which it leaves (each named in a warning).

Chosen by glob patterns on qualified layer names (``include`` / ``exclude``):

* ``nn.Linear`` and Hugging Face ``Conv1D`` layers (:func:`select_layers`);
* ``nn.Embedding`` tables (:func:`select_embeddings`), for the recipes that quantize them;
* a layer whose weight is shared with another (a language model's output head tied to its
  token embedding) is left as it is: quantizing one would untie the two.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from torch import nn

from mantissa.quant.conv1d import is_conv1d
from mantissa.quant.layers import QuantLinear

#: leaf module types with a matrix weight that the recipes do not handle (named in a warning)
MATMUL_LIKE = ("Conv1d", "Conv2d", "Conv3d", "EmbeddingBag", "Bilinear")


def matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def tied_weights(module: nn.Module) -> dict[int, list[str]]:
    """id of each parameter shared by several modules -> every name it has."""
    names: dict[int, list[str]] = {}
    for name, p in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(name)
    return {k: v for k, v in names.items() if len(v) > 1}


def _tied_note(name: str, mod: nn.Module, tied: dict[int, list[str]]) -> str | None:
    others = [n for n in tied.get(id(getattr(mod, "weight", None)), []) if n != f"{name}.weight"]
    return f"{name} ({type(mod).__name__}, weight tied to {', '.join(others)})" if others else None


def _candidates(module: nn.Module, include: Sequence[str], exclude: Sequence[str]):
    for name, mod in module.named_modules():
        chosen = name and matches(name, include) and not matches(name, exclude)
        if chosen and not isinstance(mod, QuantLinear):
            yield name, mod


def select_layers(module: nn.Module, include: Sequence[str] = ("*",),
                  exclude: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(names of the ``nn.Linear`` / ``Conv1D`` layers to quantize, descriptions of matching
    layers left as they are: tied weights, kinds no recipe handles). ``nn.Embedding`` tables
    are :func:`select_embeddings`' business."""
    chosen, skipped = [], []
    tied = tied_weights(module)
    for name, mod in _candidates(module, include, exclude):
        if type(mod) is nn.Linear or is_conv1d(mod):
            note = _tied_note(name, mod, tied)
            (skipped if note else chosen).append(note or name)
        elif type(mod).__name__ in MATMUL_LIKE:
            skipped.append(f"{name} ({type(mod).__name__})")
    return chosen, skipped


def select_embeddings(module: nn.Module, include: Sequence[str] = ("*",),
                      exclude: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(names of the ``nn.Embedding`` tables a recipe may quantize, descriptions of those left:
    tied to an output head, or with ``max_norm`` / sparse gradients, which rewrite the table)."""
    chosen, skipped = [], []
    tied = tied_weights(module)
    for name, mod in _candidates(module, include, exclude):
        if type(mod) is not nn.Embedding:
            continue
        note = _tied_note(name, mod, tied)
        if note is None and (mod.max_norm is not None or mod.sparse):
            note = f"{name} (Embedding with max_norm or sparse gradients)"
        (skipped if note else chosen).append(note or name)
    return chosen, skipped
