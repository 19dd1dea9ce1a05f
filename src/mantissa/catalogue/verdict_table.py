"""The run store's verdicts as one Markdown table: for each experiment, the latest run at one
scale with every gate and claim (our value, the bar it had to clear, the paper's number where
the check carries one, and mean ± SE where the check was judged over seeds). Where that run has
sibling runs of other seeds at the same commit and config (``mantissa run --seeds``), the row
is their multi-seed verdict instead (:mod:`mantissa.catalogue.aggregate`).

Everything in the table is read from the run records; nothing is typed in by hand. It is what
``mantissa report --markdown`` writes, and what ``docs/results.md`` quotes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mantissa.catalogue.aggregate import SeedGroup, latest_group, seeds_text
from mantissa.catalogue.discovery import load_all, pillar_of, pillar_rank
from mantissa.catalogue.protocol import EXPERIMENTS, seed_spread
from mantissa.catalogue.report import fmt_number, paper_value, run_label
from mantissa.catalogue.store import RunRecord, latest, list_runs, runs_root

VERDICT_ORDER = ("reproduced", "partial", "not reproduced", "inconclusive")
#: the table's first line: an existing --out file is replaced only when it starts so
MARKER = "<!-- mantissa verdict table: written by `mantissa report --markdown` -->\n"


def _md(text: object) -> str:
    """Text safe inside one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def check_line(check: dict, metrics: dict) -> str:
    """``pass``/``FAIL`` description: value op bar (paper: x; mean ± SE over n seeds)."""
    status = "pass" if check.get("passed") else "**FAIL**"
    paper = paper_value(check)
    extra = [f"paper: {fmt_number(paper)}"] if paper is not None else []
    spread = seeds_text(check) if "seeds" in check else seed_spread(str(check.get("metric") or ""), metrics)
    extra += [spread] if spread else []
    tail = f" ({'; '.join(extra)})" if extra else ""
    return (f"{status} {_md(check.get('description'))}: {fmt_number(check.get('value'))} "
            f"{_md(check.get('op'))} {fmt_number(check.get('threshold'))}{_md(tail)}")


def _cell(checks: list[dict], kind: str, metrics: dict) -> str:
    lines = [check_line(c, metrics) for c in checks if str(c.get("kind") or "claim") == kind]
    return "<br>".join(lines) or "—"


def row(exp_id: str, run: RunRecord | SeedGroup | None) -> str:
    """One experiment's table row (``not run`` when the store has no run at that scale): one
    run's, or a multi-seed group's (its verdict over the seeds, each check with its per-seed values)."""
    if run is None:
        return f"| `{exp_id}` | not run | — | — | — |"
    if isinstance(run, SeedGroup):
        verdict = f"{run.verdict or 'no verdict'} (seeds {', '.join(map(str, run.seeds))})"
        reason, checks, metrics = run.verdict_reason or run.error, run.checks, run.mean
    else:
        verdict = run_label(run)
        reason = run.verdict_reason if run.status == "ok" else ""
        checks, metrics = run.checks, run.metrics
    if reason:
        verdict += f" ({_md(reason)})"
    figure = getattr(EXPERIMENTS.get(exp_id), "paper_figure", "") if exp_id in EXPERIMENTS else ""
    return (f"| `{exp_id}` | {verdict} | {_cell(checks, 'gate', metrics)} | "
            f"{_cell(checks, 'claim', metrics)} | {_md(figure) or '—'} |")


def _label(run: RunRecord | SeedGroup | None) -> str:
    if run is None:
        return "not run"
    return (run.verdict or "no verdict") if isinstance(run, SeedGroup) else run_label(run)


def markdown(root: Path | str | None = None, scale: str = "quick") -> str:
    """The verdict table of every catalogue experiment at ``scale``, by pillar then id, under a
    line counting the verdicts."""
    load_all()
    store = runs_root(root)
    ids = sorted(EXPERIMENTS.list(), key=lambda i: (pillar_rank(pillar_of(i, EXPERIMENTS.get(i))), i))
    runs: dict[str, RunRecord | SeedGroup | None] = {}
    for i in ids:
        found = list_runs(store, i)
        runs[i] = latest_group(found, scale) or latest(found, scale)
    counts = Counter(_label(r) for r in runs.values())
    shown = [v for v in VERDICT_ORDER if counts[v]] + sorted(set(counts) - set(VERDICT_ORDER))
    summary = ", ".join(f"{counts[v]} {v}" for v in shown)
    head = ("| experiment | verdict | gates (the setup worked) | claims (the paper's) | paper's figure |\n"
            "|---|---|---|---|---|")
    body = "\n".join(row(i, runs[i]) for i in ids)
    return f"{MARKER}{len(ids)} experiments at `{scale}` scale: {summary}.\n\n{head}\n{body}\n"
