"""The shape of the JSON records in a run directory, checked on read.

A record that parses but has the wrong shape (``checks: [1]``, ``verdict: 5``, an
``env.json`` that is a list) raises :class:`~mantissa.errors.CorruptFileError`
naming the file and the field, so the run store shows that run as ``corrupt``
instead of letting ``report``, ``show`` or ``run --resume`` crash on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mantissa.errors import CorruptFileError

_NUMBER = (int, float)
#: keys every stored check has (Check.as_dict), read by ``show`` and the report
_CHECK_KEYS = ("description", "value", "op", "threshold")


def _fail(path: Path, what: str) -> CorruptFileError:
    return CorruptFileError(f"{path.name}: {what}")


def _is(value: Any, types: tuple[type, ...] | type, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in _tuple(types))


def _tuple(types: tuple[type, ...] | type) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _field(path: Path, record: dict[str, Any], key: str, types: tuple[type, ...] | type,
           optional: bool = True) -> None:
    if key in record and not _is(record[key], types, optional):
        raise _fail(path, f"{key} is {type(record[key]).__name__}, expected {_names(types)}")
    if key not in record and not optional:
        raise _fail(path, f"{key} is missing")


def _names(types: tuple[type, ...] | type) -> str:
    return " or ".join(t.__name__ for t in _tuple(types))


def _dict(path: Path, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _fail(path, f"holds a {type(record).__name__}, expected a JSON object")
    return record


def config_record(path: Path, record: Any) -> dict[str, Any]:
    """``config.json``: scale, seed, start time and the experiment's config."""
    rec = _dict(path, record)
    _field(path, rec, "scale", str)
    _field(path, rec, "seed", int)
    _field(path, rec, "started", str)
    _field(path, rec, "config", dict)
    return rec


def env_record(path: Path, record: Any) -> dict[str, Any]:
    """``env.json``: any JSON object."""
    return _dict(path, record)


def metrics_record(path: Path, record: Any) -> dict[str, Any]:
    """``metrics.json``: metrics, verdict (a string or null), its reason, checks, wall time."""
    rec = _dict(path, record)
    _field(path, rec, "metrics", dict, optional=False)
    _field(path, rec, "verdict", str)
    _field(path, rec, "verdict_reason", str)
    _field(path, rec, "wall_s", _NUMBER)
    _field(path, rec, "checks", list)
    for i, check in enumerate(rec.get("checks") or []):
        if not isinstance(check, dict):
            raise _fail(path, f"checks[{i}] is {type(check).__name__}, expected an object")
        missing = [k for k in _CHECK_KEYS if k not in check]
        if missing:
            raise _fail(path, f"checks[{i}] lacks {', '.join(missing)}")
        for key, types in (("kind", str), ("op", str), ("value", _NUMBER), ("threshold", _NUMBER)):
            _field(path, check, key, types)
    return rec


def error_record(path: Path, record: Any) -> dict[str, Any]:
    """``error.json``: the error message and wall time."""
    rec = _dict(path, record)
    _field(path, rec, "error", str)
    _field(path, rec, "wall_s", _NUMBER)
    return rec
