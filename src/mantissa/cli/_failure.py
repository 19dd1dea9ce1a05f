"""How the ``mantissa`` command reports a failure the user caused: one ``error:`` line.

Input errors (:class:`~mantissa.errors.MantissaError`), file-system errors (``OSError``:
an output path whose parent is a file, a directory given as a file, a read-only folder)
and truncated files (``EOFError``) are all the user's to fix, so each prints as a single
line and exits with code 2; ``mantissa --debug ...`` re-raises instead, with the traceback.
"""

from __future__ import annotations

import click

from mantissa.errors import MantissaError

#: what the command reports as ``error: ...`` (anything else is a bug: a traceback)
USER_ERRORS: tuple[type[BaseException], ...] = (MantissaError, OSError, EOFError)

#: exit code of every refusal
EXIT_CODE = 2


def one_line(text: str) -> str:
    """``text`` on one line: its non-blank lines joined with ``"; "``."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def describe(exc: BaseException) -> str:
    """A one-line description of a user error (file names first for ``OSError``)."""
    if isinstance(exc, OSError) and not isinstance(exc, MantissaError) and exc.strerror:
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        reason = exc.strerror[0].lower() + exc.strerror[1:]
        return one_line(f"{' -> '.join(names)}: {reason}" if names else reason)
    if isinstance(exc, EOFError):
        return one_line(f"unexpected end of file ({exc})" if str(exc) else "unexpected end of file")
    text = one_line(str(exc))
    return text or type(exc).__name__


def fail(message: str, code: int = EXIT_CODE) -> None:
    """Print ``error: MESSAGE`` (one line) on stderr and exit with ``code``."""
    click.echo(f"error: {one_line(message)}", err=True)
    raise SystemExit(code)


def usage_message(exc: click.ClickException) -> str:
    """A click usage error as one line, naming the command it came from."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message = f"{message} (see `{ctx.command_path} --help`)"
    return message
