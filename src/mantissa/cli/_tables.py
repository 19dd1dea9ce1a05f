"""Printing rich tables in full, whatever the console's width."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table


def print_table(table: Table, console: Console | None = None) -> None:
    """Print ``table`` on ``console`` (default: stdout) with every cell in full.

    Rich fits a table to the console's width (80 columns when output is not a
    terminal) by cutting cells with "…"; when the table's natural width is larger,
    the console is widened to it instead, and a narrow terminal wraps the lines.
    """
    console = console or Console()
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    console.width = max(console.width, natural)
    console.print(table)
