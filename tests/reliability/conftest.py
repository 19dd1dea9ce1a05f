"""The reliability suite: never lose a user's file, refuse with one line, leave no leftovers.

``cli`` runs ``mantissa`` in this process and returns (exit code, stdout, stderr);
the helpers the tests share live in ``reliability_helpers.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mantissa.cli import main

sys.path.insert(0, str(Path(__file__).parent))

CliResult = tuple[int, str, str]


@pytest.fixture
def cli(capsys) -> Callable[..., CliResult]:
    """Run ``mantissa ARGS`` in this process; return (exit code, stdout, stderr)."""

    def run(*args: object) -> CliResult:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
