"""The ``mantissa`` command.

Sub-commands live in modules of this package named ``cmd_<name>.py``, each
exposing a click command called ``command``; they are found automatically.
A :class:`~mantissa.errors.MantissaError`, an ``OSError``, an ``EOFError`` or a usage
error prints as one ``error:`` line and exits with code 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from mantissa import __version__
from mantissa.cli._failure import USER_ERRORS, describe, fail, usage_message

__all__ = ["cli", "main"]


class _Group(click.Group):
    def _modules(self) -> dict[str, str]:
        pkg = importlib.import_module("mantissa.cli")
        return {
            m.name[4:].replace("_", "-"): f"mantissa.cli.{m.name}"
            for m in pkgutil.iter_modules(pkg.__path__)
            if m.name.startswith("cmd_")
        }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._modules())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = self._modules().get(name)
        return importlib.import_module(module).command if module else None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mantissa")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def cli(debug: bool) -> None:
    """mantissa: the numerics of neural networks, checked against their papers."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line ``argv``; every error the user caused ends as one ``error:`` line
    and exit code 2 (see :mod:`mantissa.cli._failure`), or a traceback with ``--debug``."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="mantissa", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        fail(usage_message(exc))
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, EOFError):  # click turns an EOFError into Abort
            if debug:
                raise cause from None
            fail(describe(cause))
        click.echo("interrupted", err=True)
        sys.exit(130)
    except USER_ERRORS as exc:
        if debug:
            raise
        fail(describe(exc))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
