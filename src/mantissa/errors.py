"""The exceptions mantissa raises on bad input.

Every error a user can cause is a :class:`MantissaError`; the CLI prints it as
one line and exits with code 2. Each also subclasses the builtin a Python user
would expect (``ValueError``, ``ImportError``...), so ``except ValueError``
keeps working.
"""

from __future__ import annotations


class MantissaError(Exception):
    """Base class of every error caused by input, configuration or files."""


class ConfigError(MantissaError, ValueError):
    """A configuration key or value is invalid (message names the valid keys)."""


class UnknownNameError(MantissaError, ValueError):
    """A name looked up in a registry does not exist (message lists close names)."""


class DuplicateNameError(MantissaError, ValueError):
    """A name was registered twice in the same registry."""


class SpecError(MantissaError, ValueError):
    """A spec string such as ``int4:group=64`` does not parse."""


class CorruptFileError(MantissaError, ValueError):
    """A file is truncated, foreign, of an unknown version or fails its checksum."""


class OverwriteRefusedError(MantissaError, FileExistsError):
    """An output path holds something mantissa did not write (or ``--force`` is missing);
    the message names the foreign files."""


class MissingDependencyError(MantissaError, ImportError):
    """An optional dependency is not installed (message names the extra)."""


class DataUnavailableError(MantissaError, FileNotFoundError):
    """Offline data is missing (message says how to install it)."""


class ShapeError(MantissaError, ValueError):
    """Tensor shapes or sizes do not fit together."""


class DTypeError(MantissaError, TypeError):
    """A tensor has a dtype the operation does not accept."""


def require(module: str, extra: str):
    """Import an optional dependency or raise :class:`MissingDependencyError`.

    >>> np = require("numpy", "core")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module!r} is not installed; install it with: pip install 'mantissa[{extra}]'"
        ) from exc
