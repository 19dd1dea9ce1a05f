"""Experiment cards: the declarative half of an experiment, ``<module>.toml`` beside its module.

A card holds what is claimed and how it is judged: title, paper, claim, the paper's figure,
the parts used, the torch threads a run wants, the ``[config]`` defaults (the quick scale),
``[thresholds]``, ``[scales.<scale>]`` overrides, the ``[[checks]]`` (gates and claims as
``"metric op threshold"`` rules) and the ``[[history]]`` ledger of changes made after a
result was seen. :func:`mantissa.catalogue.protocol.register` reads it into the class.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mantissa.catalogue.checks import CLAIM, GATE, Claim, Gate, Rule

__all__ = ["CARD_KEYS", "CARD_SUFFIX", "card_config", "card_has_config", "read_card"]

#: an experiment's card is its module's file name with this suffix
CARD_SUFFIX = ".toml"


def read_card(cls: type) -> dict[str, Any]:
    """The class attributes that ``cls``'s card declares: ``<module>.toml`` beside its module.

    A card holds the declarative half of an experiment (its :data:`CARD_KEYS`): title, paper,
    claim, paper_figure, parts, ``threads``, ``[thresholds]``, ``[scales.<scale>]`` (arrays become tuples),
    ``[[checks]]`` (``kind``, ``description``, ``test``, optional ``paper``; they become
    :class:`Gate`/:class:`Claim` ``rules``) and the ``[[history]]`` ledger (``date``,
    ``change``, ``reason``). Its ``[config]`` table is the module's ``Config``
    (:func:`card_config`), not an attribute. No card, no attributes; a malformed one is a
    ``TypeError``."""
    path = _card_path(cls.__module__)
    if path is None:
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        if set(data) - CARD_KEYS:
            raise KeyError(f"unknown keys {sorted(set(data) - CARD_KEYS)}")
        return {k: _CARD_READERS.get(k, _same)(v) for k, v in data.items() if k != "config"}
    except (KeyError, TypeError, ValueError) as exc:
        raise TypeError(f"{path}: {exc}; a card holds {', '.join(sorted(CARD_KEYS))}") from exc


def card_config(module: str) -> type:
    """The ``Config`` dataclass that the ``[config]`` table of ``module``'s card declares: one
    field per key, in order, its default the card's value (the quick scale) and its type the
    value's: ``int``, ``float``, ``str``, ``bool``, or an array as ``tuple[T, ...]`` of its
    elements' type. An experiment module writes ``Config = card_config(__name__)``; the same
    card gives the same class."""
    path = _card_path(module)
    if path is None:
        raise TypeError(f"{module}: no card beside the module, so no [config] table")
    return _config_of(path, module)


@functools.cache
def _config_of(path: Path, module: str) -> type:
    table = tomllib.loads(path.read_text(encoding="utf-8")).get("config")
    if not isinstance(table, dict):
        raise TypeError(f"{path}: no [config] table in the card")
    try:
        fields = [(name, _field_type(value), dataclasses.field(default=_frozen(value)))
                  for name, value in table.items()]
    except TypeError as exc:
        raise TypeError(f"{path}: [config] {exc}") from exc
    config = dataclasses.make_dataclass("Config", fields)
    config.__module__ = module
    return config


def _field_type(value: Any) -> Any:
    if isinstance(value, list):
        kinds = {type(v) for v in value}
        if len(kinds) != 1 or not kinds <= {int, float, str, bool}:
            raise TypeError(f"an array needs elements of one type (int, float, str or bool), got {value!r}")
        return tuple[kinds.pop(), ...]
    if type(value) not in (int, float, str, bool):
        raise TypeError(f"a value must be an int, float, string, boolean or array, got {value!r}")
    return type(value)


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _card_path(module: str) -> Path | None:
    file = getattr(sys.modules.get(module), "__file__", None)
    path = Path(file).with_suffix(CARD_SUFFIX) if file else None
    return path if path is not None and path.is_file() else None


def card_has_config(cls: type) -> bool:
    """Whether ``cls``'s card has a ``[config]`` table."""
    path = _card_path(cls.__module__)
    return path is not None and "config" in tomllib.loads(path.read_text(encoding="utf-8"))


def _same(value: Any) -> Any:
    return value


def _fields(entry: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Any]:
    """The values of ``required`` then ``optional`` keys of a card's table entry (``None``
    for an optional key left out); a missing or unknown key is a ``KeyError``."""
    unknown = sorted(set(entry) - set(required) - set(optional))
    if unknown:
        raise KeyError(f"unknown keys {unknown} in {dict(entry)}")
    return [entry[k] for k in required] + [entry.get(k) for k in optional]


def _rule(entry: Mapping[str, Any]) -> Rule:
    kind, description, test, paper = _fields(entry, ("kind", "description", "test"), ("paper",))
    return {GATE: Gate, CLAIM: Claim}[kind](description, test, paper)


_CARD_READERS: dict[str, Callable[[Any], Any]] = {
    "parts": tuple,
    "scales": lambda v: {scale: {k: tuple(x) if isinstance(x, list) else x for k, x in over.items()}
                         for scale, over in v.items()},
    "checks": lambda v: tuple(_rule(e) for e in v),
    "history": lambda v: tuple(tuple(_fields(e, ("date", "change", "reason"))) for e in v),
}
#: the keys a card may hold (``checks`` fills the class's ``rules``)
CARD_KEYS = frozenset({"title", "paper", "claim", "paper_figure", "parts", "threads", "config", "thresholds",
                       "scales", "checks", "history"})
