"""Typed configuration: dataclasses with checked ``key=value`` overrides.

``apply_overrides(cfg, ["model.n_layer=4", "lr=3e-4"])`` returns a new config;
an unknown key or a value of the wrong type raises :class:`ConfigError` naming
the valid keys and the expected type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from mantissa.errors import ConfigError

C = TypeVar("C")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def int_ranges(text: str) -> list[int]:
    """``"1-8,10"`` -> [1, ..., 8, 10]: comma-separated integers and inclusive ranges, in order.
    ``ValueError`` when a part is not an integer or a range runs backwards."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, dash, hi = part.partition("-")
        a = int(lo)
        b = int(hi) if dash else a
        if a > b:
            raise ValueError(f"the range {part} runs backwards")
        out.extend(range(a, b + 1))
    return out


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"expected a boolean (true/false), got {text!r}")


def parse_value(text: str, tp: Any) -> Any:
    """Convert command-line text to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return text
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() == "none" and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(text, arg)
            except (ValueError, TypeError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is typing.Literal:
        for arg in args:
            if str(arg) == text:
                return arg
        raise ValueError(f"expected one of {', '.join(map(str, args))}, got {text!r}")
    if origin in (tuple, list):
        items = [t for t in text.split(",") if t.strip()] if text.strip() else []
        item_tp = args[0] if args else str
        if origin is tuple and len(args) >= 2 and args[1] is not Ellipsis:
            if len(items) != len(args):
                raise ValueError(f"expected {len(args)} comma-separated values, got {text!r}")
            return tuple(parse_value(t, a) for t, a in zip(items, args))
        return origin(parse_value(t.strip(), item_tp) for t in items)
    if tp is bool:
        return _parse_bool(text)
    if tp is int:
        try:
            return int(text)
        except ValueError:
            value = float(text)  # accept 1e4 for an int when exact
            if not value.is_integer():
                raise ValueError(f"expected an integer, got {text!r}") from None
            return int(value)
    if tp is float:
        return float(text)
    if tp is str:
        return text
    raise TypeError(f"cannot set a field of type {tp!r} from the command line")


def guess_value(text: str) -> bool | int | float | str:
    """A value typed by its look, where no type is declared (the arguments of a spec string):
    ``true``/``false`` a bool, then an int, then a float, else the text itself."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def coerce(value: Any, tp: Any) -> Any:
    """``value`` as the declared type ``tp``: text is parsed (:func:`parse_value`), an int
    given for a float becomes a float, and a value of another type (a bool for an int
    included) is a ``TypeError``. Types other than ``bool``/``int``/``float``/``str`` pass
    values through."""
    if isinstance(value, str) and tp is not str:
        return parse_value(value, tp)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    scalar = tp in (bool, int, float, str)
    if scalar and (not isinstance(value, tp) or (tp is int and isinstance(value, bool))):
        raise TypeError(f"expected {tp.__name__}, got {value!r}")
    return value


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def config_keys(cfg: Any, prefix: str = "") -> list[str]:
    """All settable dotted keys of a dataclass instance."""
    keys = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            keys.extend(config_keys(value, f"{prefix}{f.name}."))
        else:
            keys.append(prefix + f.name)
    return keys


def config_fields(cfg: Any, prefix: str = "") -> list[tuple[str, str, Any]]:
    """``(dotted key, type name, current value)`` for every settable field of a dataclass instance."""
    rows: list[tuple[str, str, Any]] = []
    hints = _hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(config_fields(value, f"{prefix}{f.name}."))
        else:
            rows.append((prefix + f.name, _type_name(hints[f.name]), value))
    return rows


def _set(cfg: Any, path: list[str], text: Any, full_key: str, root: Any) -> Any:
    names = {f.name for f in dataclasses.fields(cfg)}
    head = path[0]
    if head not in names:
        raise ConfigError(
            f"unknown config key {full_key!r}; valid keys: {', '.join(config_keys(root))}"
        )
    current = getattr(cfg, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"config key {full_key!r}: {head!r} has no sub-keys")
        return dataclasses.replace(cfg, **{head: _set(current, path[1:], text, full_key, root)})
    if dataclasses.is_dataclass(current):
        raise ConfigError(f"config key {full_key!r} is a group; set one of its sub-keys")
    tp = _hints(type(cfg))[head]
    if isinstance(text, str):
        try:
            value = parse_value(text, tp)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"bad value for {full_key!r} (type {_type_name(tp)}): {exc}") from None
    else:
        value = text
    return dataclasses.replace(cfg, **{head: value})


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is None and hasattr(tp, "__name__"):
        return tp.__name__
    return str(tp).replace("typing.", "")


def apply_overrides(cfg: C, overrides: Iterable[str] | Mapping[str, Any]) -> C:
    """Return ``cfg`` with ``key=value`` overrides applied (dotted keys for nesting).

    Strings are parsed to the field's annotated type; a mapping's non-string
    values are taken as they are.
    """
    if not dataclasses.is_dataclass(cfg):
        raise TypeError(f"expected a dataclass config, got {type(cfg).__name__}")
    pairs: list[tuple[str, Any]] = []
    if isinstance(overrides, Mapping):
        pairs = list(overrides.items())
    else:
        for item in overrides:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"malformed override {item!r}; expected key=value")
            pairs.append((key.strip(), value))
    for key, value in pairs:
        cfg = _set(cfg, key.split("."), value, key, cfg)
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a dataclass config."""
    return dataclasses.asdict(cfg)
