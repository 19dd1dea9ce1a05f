"""``mantissa parts``: every registry and the names it holds."""

from __future__ import annotations

import importlib
import pkgutil

import click

from mantissa.errors import UnknownNameError
from mantissa.registry import REGISTRIES

_LAYERS = ("formats", "arith", "nn", "tasks", "quant", "train", "embed", "probe")


def _import_layers() -> None:
    for layer in _LAYERS:
        try:
            pkg = importlib.import_module(f"mantissa.{layer}")
        except ImportError:
            continue
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"mantissa.{layer}.{info.name}")


@click.command("parts")
@click.argument("family", required=False)
def command(family: str | None) -> None:
    """List the registered parts (formats, encodings, losses, ...) by family."""
    _import_layers()
    from mantissa.experiments import load_all

    load_all()
    kinds = [family] if family else sorted(REGISTRIES)
    for kind in kinds:
        reg = REGISTRIES.get(kind)
        if reg is None:
            raise UnknownNameError(f"unknown family {kind!r}; families: {', '.join(sorted(REGISTRIES))}")
        click.echo(f"{kind} ({len(reg)}): {', '.join(reg.list())}")
