"""mantissa: the numerics of neural networks under one roof.

Layers (imports only point downwards)::

    cli -> experiments -> quant/train/embed/probe -> nn/tasks -> arith -> formats

Each seed paper's method lives in one module of these packages; each paper's
claim is checked by one experiment in :mod:`mantissa.experiments`.

The public face, loaded on first use (``import mantissa`` itself stays light)::

    >>> import mantissa as mt
    >>> mt.formats.get("float8_e4m3fn").info.max
    448.0
    >>> model = mt.quantize(mt.load_minilm(), "int8")          # doctest: +SKIP
    >>> index = mt.Index.build("int8", vectors)                # doctest: +SKIP
    >>> record = mt.run_experiment("lmul", "smoke")            # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: name -> (module, attribute); the attribute ``None`` means the module itself
_FACE: dict[str, tuple[str, str | None]] = {
    "formats": ("mantissa.formats", None),
    "quantize": ("mantissa.quant.api", "quantize"),
    "Index": ("mantissa.index.index", "Index"),
    "run_experiment": ("mantissa.catalogue.runner", "run_experiment"),
    "load_minilm": ("mantissa.data.minilm", "load_minilm"),
}

__all__ = ["__version__", *_FACE]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module 'mantissa' has no attribute {name!r}")
    module, attr = _FACE[name]
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FACE})
