"""``mantissa demo``: the curated tour a newcomer runs first (``make demo``), about 10 minutes on 2 cores.

The demo is :data:`DEMO`, declared here and nowhere else: experiments from each pillar at quick
scale, a short ``mantissa quantize --compare`` on the packaged MiniLM and one ``mantissa index eval``
on MiniLM embeddings of real WordNet definitions. Each step is an ordinary ``mantissa`` command
line, printed before it runs, so the demo also shows how to use the tool. A step that finished
is recorded in ``<store>/demo/done.json`` with the code's git commit, so an interrupted demo goes
on where it stopped. The full catalogue tour stays ``mantissa run --tour --resume``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from mantissa.catalogue.discovery import pillar_name, pillar_of
from mantissa.cli._tables import print_table
from mantissa.errors import CorruptFileError, MantissaError
from mantissa.io import atomic_write, check_seal, seal

#: WordNet definitions embedded for the index step (fewer when the corpus is smaller)
INDEX_TEXTS = 8000


def _write_definitions(demo: Path) -> None:
    """The index step's input: real definitions, one a line (WordNet, else stdlib docstrings)."""
    from mantissa.quant.evaluate import text_pool

    target = demo / "wordnet-definitions.txt"
    if target.is_file():
        return
    pool = text_pool()
    texts = random.Random(0).sample(pool, min(INDEX_TEXTS, len(pool)))
    atomic_write(target, "\n".join(t.replace("\n", " ") for t in texts) + "\n")


@dataclass(frozen=True)
class Step:
    """One demo step: its pillar and a ``mantissa`` command line (``{store}`` is the run store,
    ``{demo}`` the demo's folder in it); ``prepare`` writes the step's input first."""

    pillar: str
    args: tuple[str, ...]
    prepare: Callable[[Path], None] | None = None

    def argv(self, store: Path) -> list[str]:
        demo = store / "demo"
        return [a.format(store=store, demo=demo) for a in self.args]


def _exp(exp_id: str) -> Step:
    return Step(pillar_name(pillar_of(exp_id, None)),
                ("run", exp_id, "--scale", "quick", "--resume", "--out", "{store}"))


DEMO: tuple[Step, ...] = (
    _exp("llm-fp4"),
    _exp("dfp-training"),
    _exp("alchemy"),
    _exp("structural-recursion"),
    _exp("geodesic-mixup"),
    _exp("word-vectors"),
    _exp("atlas"),
    _exp("relative-reps"),
    _exp("hyperinterval"),
    _exp("imagebind-llm"),
    Step("quantization (formats & arithmetic)",
         ("quantize", "--compare", "int8", "int8-outlier", "fp8", "w4-int", "w4a4-int", "w4a4-fp",
          "--texts", "200", "--pairs", "200", "--out", "{demo}/quantize-compare")),
    Step("embedding index (embeddings)",
         ("index", "eval", "--input", "{demo}/wordnet-definitions.txt", "--spec", "int8", "--spec", "binary",
          "--spec", "binary+rescore:4", "--spec", "pq:48x8", "--out", "{demo}/index-eval"),
         prepare=_write_definitions),
)


def _state(demo: Path) -> dict:
    from mantissa.catalogue.runner import git_commit

    commit = git_commit()
    path = demo / "done.json"
    try:  # an edited or damaged record is ignored: the demo runs every step again
        state = check_seal(path, json.loads(path.read_text())) if path.is_file() else {}
    except (OSError, ValueError, CorruptFileError):
        state = {}
    if state.get("commit") != commit or not isinstance(state.get("done"), list):
        state = {"commit": commit, "done": []}
    return state


def _save_state(demo: Path, state: dict) -> None:
    atomic_write(demo / "done.json", json.dumps(seal(state), indent=1))


def _run_step(argv: list[str]) -> int:
    """Run one ``mantissa`` command line in this process; its exit code."""
    from mantissa.cli import cli

    try:
        cli.main(args=argv, prog_name="mantissa", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except (MantissaError, click.ClickException) as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    return 0


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run store (default: ./runs or $MANTISSA_RUNS); the demo's other outputs go to "
                   "<store>/demo.")
@click.option("--list", "list_steps", is_flag=True, help="Print the demo's command lines and exit.")
def command(out: str | None, list_steps: bool) -> None:
    """The curated demo (about 10 minutes on 2 cores): experiments from every pillar, a quantization
    comparison and an index evaluation, then the report. Resumes where an interrupted demo stopped."""
    from mantissa.catalogue.report import render
    from mantissa.catalogue.store import runs_root
    from mantissa.progress import progress

    store = runs_root(out)
    if list_steps:
        for step in DEMO:
            click.echo(f"[{step.pillar}] mantissa " + " ".join(step.argv(store)))
        return
    demo = store / "demo"
    demo.mkdir(parents=True, exist_ok=True)
    state = _state(demo)
    con = Console(stderr=True)
    rows: list[tuple[str, str, str]] = []
    with progress("demo", total=len(DEMO)) as bar:
        for i, step in enumerate(DEMO, 1):
            argv = step.argv(store)
            line = "mantissa " + " ".join(argv)
            con.print(f"[bold][demo {i}/{len(DEMO)}] {step.pillar}[/bold]: {line}")
            if line in state["done"]:
                rows.append((step.pillar, line, "done before"))
            else:
                t0 = time.perf_counter()
                if step.prepare:
                    step.prepare(demo)
                code = _run_step(argv)
                rows.append((step.pillar, line, f"{time.perf_counter() - t0:.0f} s" if code == 0
                             else f"failed (exit {code})"))
                if code == 0:
                    state["done"].append(line)
                    _save_state(demo, state)
            bar.advance(1)
    _summary(rows)
    report = render(store)
    click.echo(f"report: {report.resolve()}")
    click.echo(f"quantization: {(demo / 'quantize-compare').resolve()}")
    click.echo(f"index: {(demo / 'index-eval').resolve()}")
    if any(r[2].startswith("failed") for r in rows):
        sys.exit(1)


def _summary(rows: list[tuple[str, str, str]]) -> None:
    table = Table(title="demo")
    for col in ("pillar", "command", "time"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    print_table(table, Console(stderr=True))
