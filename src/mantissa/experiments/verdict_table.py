"""The run store's verdicts as one Markdown table: for each experiment, the latest run at one
scale with every gate and claim (our value, the bar it had to clear, the paper's number where
the check carries one, and mean ± SE where the check was judged over seeds).

Everything in the table is read from the run records; nothing is typed in by hand. It is what
``mantissa report --markdown`` writes, and what ``docs/results.md`` quotes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mantissa.experiments.base import EXPERIMENTS, seed_spread
from mantissa.experiments.catalogue import PILLARS, load_all, pillar_of
from mantissa.experiments.report import fmt_number, paper_value, run_label
from mantissa.experiments.store import RunRecord, latest, list_runs, runs_root

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
    spread = seed_spread(str(check.get("metric") or ""), metrics)
    extra += [spread] if spread else []
    tail = f" ({'; '.join(extra)})" if extra else ""
    return (f"{status} {_md(check.get('description'))}: {fmt_number(check.get('value'))} "
            f"{_md(check.get('op'))} {fmt_number(check.get('threshold'))}{_md(tail)}")


def _cell(checks: list[dict], kind: str, metrics: dict) -> str:
    lines = [check_line(c, metrics) for c in checks if str(c.get("kind") or "claim") == kind]
    return "<br>".join(lines) or "—"


def row(exp_id: str, run: RunRecord | None) -> str:
    """One experiment's table row (``not run`` when the store has no run at that scale)."""
    if run is None:
        return f"| `{exp_id}` | not run | — | — | — |"
    verdict = run_label(run)
    if run.verdict_reason and run.status == "ok":
        verdict += f" ({_md(run.verdict_reason)})"
    figure = getattr(EXPERIMENTS.get(exp_id), "paper_figure", "") if exp_id in EXPERIMENTS else ""
    return (f"| `{exp_id}` | {verdict} | {_cell(run.checks, 'gate', run.metrics)} | "
            f"{_cell(run.checks, 'claim', run.metrics)} | {_md(figure) or '—'} |")


def markdown(root: Path | str | None = None, scale: str = "quick") -> str:
    """The verdict table of every catalogue experiment at ``scale``, by pillar then id, under a
    line counting the verdicts."""
    load_all()
    store = runs_root(root)
    order = {slug: n for n, slug in enumerate(PILLARS)}
    ids = sorted(EXPERIMENTS.list(),
                 key=lambda i: (order.get(pillar_of(i, EXPERIMENTS.get(i)), len(order)), i))
    runs = {i: latest(list_runs(store, i), scale) for i in ids}
    counts = Counter(run_label(r) if r else "not run" for r in runs.values())
    shown = [v for v in VERDICT_ORDER if counts[v]] + sorted(set(counts) - set(VERDICT_ORDER))
    summary = ", ".join(f"{counts[v]} {v}" for v in shown)
    head = ("| experiment | verdict | gates (the setup worked) | claims (the paper's) | paper's figure |\n"
            "|---|---|---|---|---|")
    body = "\n".join(row(i, runs[i]) for i in ids)
    return f"{MARKER}{len(ids)} experiments at `{scale}` scale: {summary}.\n\n{head}\n{body}\n"
