"""print_table: every cell in full at any console width (index eval, run and demo summaries)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from mantissa.cli._tables import print_table


def test_wide_table_is_never_cut():
    table = Table(title="7000 documents")
    for col in ("spec", "recall@10", "queries/s", "B/vector", "B/vector disk", "aux B", "build s"):
        table.add_column(col)
    table.add_row("binary+rescore:4", "0.920", "14585", "48", "1584", "0", "0.0")
    table.add_row("matryoshka:128+float32+rescore:8", "0.990", "9000", "512", "1536", "0", "0.1")
    out = io.StringIO()
    print_table(table, Console(file=out, width=80))
    text = out.getvalue()
    assert "…" not in text
    assert "binary+rescore:4" in text and "matryoshka:128+float32+rescore:8" in text
