"""The `mantissa quantize` report table shows every column in full at 80 columns and when piped."""

import io

import pytest
from rich.console import Console

from mantissa.cli._tables import print_table
from mantissa.cli.cmd_quantize import _COLUMNS, DEFAULT_COMPARE, _report_table


def row(recipe: str) -> dict:
    return {"recipe": recipe, "bits_per_weight": 4.25, "size_mb": 12.3, "mean_cosine": 0.98765,
            "min_cosine": 0.912, "recall_at_10": 0.873, "synonym_gap": 0.123, "synonym_gap_original": 0.145,
            "latency_ms": 1234.4, "n_texts": 400}


VALUES = ("4.25", "12.3", "0.9877", "0.912", "0.873", "0.123 / 0.145", "1234", "400")


def render(recipes: list[str], width: int) -> str:
    out = io.StringIO()
    print_table(_report_table([row(r) for r in recipes], "MiniLM: a title"), Console(file=out, width=width))
    return out.getvalue()


@pytest.mark.parametrize("recipes", [list(DEFAULT_COMPARE), ["w4a4-fp:group=128,act_bits=4", "int8"]])
@pytest.mark.parametrize("width", [80, 40])
def test_every_header_and_value_in_full(recipes, width):
    text = render(recipes, width)
    assert "…" not in text
    lines = text.splitlines()
    for header in _COLUMNS:
        for part in header.split("\n"):
            assert any(part in line for line in lines), part
    for recipe in recipes:
        (line,) = [ln for ln in lines if ln.startswith(recipe + " ")]
        assert all(v in line for v in VALUES), line


def test_default_recipes_fit_80_columns():
    text = render(list(DEFAULT_COMPARE), 80)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
