"""``mantissa report``: every run in the store rendered as one static HTML page.

The page is self-contained (plots embedded as base64 PNG). Per experiment it
shows the claim, the paper's figure beside our verdict, the checks against the
thresholds, the metrics, plots, tables, config and environment. A broken run
directory appears as failed; it never stops the report.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from datetime import UTC, datetime
from pathlib import Path

from mantissa.experiments.base import EXPERIMENTS, Experiment
from mantissa.experiments.catalogue import load_all
from mantissa.experiments.store import RunRecord, list_runs, runs_root
from mantissa.io import atomic_write

_SCALE_ORDER = ("full", "quick", "smoke")
_MAX_CSV_ROWS = 60

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d1d1f;padding:0 1rem}
h1{margin-bottom:.2rem} h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f7} .num{text-align:right;font-variant-numeric:tabular-nums}
.v{font-weight:600;padding:.1rem .45rem;border-radius:.3rem;white-space:nowrap}
.reproduced{background:#d7f5dd;color:#11612a}.partial{background:#fff1c7;color:#7a5600}
.not-reproduced{background:#fde0e0;color:#8a1414}.failed,.corrupt,.incomplete{background:#eee;color:#8a1414}
.none{background:#eee;color:#666}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.box{background:#fafafa;border:1px solid #eee;
padding:.6rem .8rem;border-radius:.4rem} img{max-width:100%;border:1px solid #eee;margin:.4rem 0}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.8rem} .muted{color:#666;font-size:.85rem}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return _e(value)


def _badge(status: str | None) -> str:
    label = status or "not run"
    return f'<span class="v {label.replace(" ", "-") if status else "none"}">{_e(label)}</span>'


def _run_label(run: RunRecord) -> str:
    return run.verdict if run.status == "ok" else run.status


def _csv_table(path: Path) -> str:
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        return f"<p class=muted>{_e(path.name)}: unreadable ({_e(exc)})</p>"
    if not rows:
        return ""
    head, body = rows[0], rows[1 : _MAX_CSV_ROWS + 1]
    more = len(rows) - 1 - len(body)
    out = [f"<p class=muted>{_e(path.name)}</p><table><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in head] + ["</tr>"]
    for row in body:
        out.append("<tr>" + "".join(f'<td class="num">{_e(c)}</td>' for c in row) + "</tr>")
    out.append("</table>")
    if more > 0:
        out.append(f"<p class=muted>... {more} more rows in {_e(path.name)}</p>")
    return "".join(out)


def _artifacts(run: RunRecord) -> str:
    parts = []
    for path in run.artifacts:
        try:
            if path.suffix == ".png":
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f'<img alt="{_e(path.name)}" src="data:image/png;base64,{data}">')
            elif path.suffix == ".csv":
                parts.append(_csv_table(path))
            elif path.suffix == ".svg":
                parts.append(path.read_text())
        except OSError as exc:
            parts.append(f"<p class=muted>{_e(path.name)}: unreadable ({_e(exc)})</p>")
    return "".join(parts)


def _checks(run: RunRecord) -> str:
    if not run.checks:
        return ""
    rows = "".join(
        f"<tr><td>{_e(c.get('description'))}</td><td class=num>{_fmt(c.get('value'))}</td>"
        f"<td>{_e(c.get('op'))} {_fmt(c.get('threshold'))}</td>"
        f"<td>{'pass' if c.get('passed') else 'FAIL'}</td></tr>"
        for c in run.checks
    )
    return f"<table><tr><th>check</th><th>measured</th><th>bar</th><th></th></tr>{rows}</table>"


def _metrics(run: RunRecord) -> str:
    if not run.metrics:
        return ""
    rows = "".join(f"<tr><td>{_e(k)}</td><td class=num>{_fmt(v)}</td></tr>"
                   for k, v in run.metrics.items())
    return f"<details><summary>all metrics ({len(run.metrics)})</summary><table>{rows}</table></details>"


def _run_section(run: RunRecord) -> str:
    head = (f"<h3>{_e(run.scale)} scale, seed {_e(run.seed)} {_badge(_run_label(run))}"
            f" <span class=muted>{_e(run.started)} · {_fmt(run.wall_s or 0.0)} s · "
            f"{_e(run.path)}</span></h3>")
    body = [head]
    if run.scale == "smoke":
        body.append("<p class=muted>Smoke scale proves the pipeline runs end to end; "
                    "its verdict means nothing.</p>")
    if run.error:
        body.append(f"<pre>{_e(run.error)}</pre>")
    body += [_checks(run), _artifacts(run), _metrics(run)]
    for label, data in (("config", run.config), ("environment", run.env)):
        if data:
            dump = _e(json.dumps(data, indent=1))
            body.append(f"<details><summary>{label}</summary><pre>{dump}</pre></details>")
    return "".join(body)


def _experiment_section(exp_id: str, exp: type[Experiment] | None, runs: list[RunRecord]) -> str:
    title = exp.title if exp else "(experiment no longer in the catalogue)"
    out = [f'<h2 id="{_e(exp_id)}">{_e(exp_id)} — {_e(title)}</h2>']
    if exp:
        ours = _shown_runs(runs)
        out.append(
            f'<div class=cols><div class=box><b>Paper</b> {_e(exp.paper)}<br>{_e(exp.claim)}'
            f"<br><i>Paper's figure:</i> {_e(exp.paper_figure)}</div>"
            f"<div class=box><b>Ours</b><br>"
            + ("<br>".join(f"{_e(r.scale)}: {_badge(_run_label(r))}" for r in ours) or _badge(None))
            + "</div></div>"
        )
    for run in _shown_runs(runs):
        out.append(_run_section(run))
    older = len(runs) - len(_shown_runs(runs))
    if older > 0:
        out.append(f"<p class=muted>{older} older run(s) of this experiment are in the run store.</p>")
    return "".join(out)


def _shown_runs(runs: list[RunRecord]) -> list[RunRecord]:
    """The latest run of each scale, most important scale first."""
    latest: dict[str, RunRecord] = {}
    for run in runs:
        latest[run.scale] = run
    order = {s: i for i, s in enumerate(_SCALE_ORDER)}
    return sorted(latest.values(), key=lambda r: order.get(r.scale, len(order)))


def render(root: Path | str | None = None, out: Path | str | None = None) -> Path:
    """Render the report of ``root`` (default ``runs/``) to ``out`` (default root/report.html)."""
    store = runs_root(root)
    target = Path(out) if out else store / "report.html"
    load_all()
    runs = list_runs(store)
    by_exp: dict[str, list[RunRecord]] = {}
    for run in runs:
        by_exp.setdefault(run.experiment, []).append(run)
    ids = sorted(set(EXPERIMENTS.list()) | set(by_exp))
    summary = []
    for exp_id in ids:
        exp = EXPERIMENTS.get(exp_id) if exp_id in EXPERIMENTS else None
        shown = _shown_runs(by_exp.get(exp_id, []))
        cells = " ".join(f"{_e(r.scale)} {_badge(_run_label(r))}" for r in shown) or _badge(None)
        summary.append(f'<tr><td><a href="#{_e(exp_id)}">{_e(exp_id)}</a></td>'
                       f"<td>{_e(exp.title if exp else '')}</td><td>{cells}</td></tr>")
    sections = [_experiment_section(i, EXPERIMENTS.get(i) if i in EXPERIMENTS else None,
                                    by_exp.get(i, [])) for i in ids]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>mantissa report</title>"
        f"<style>{_CSS}</style></head><body><h1>mantissa report</h1>"
        f"<p class=muted>{len(runs)} runs of {len(by_exp)} experiments in {_e(store)}, rendered {now}. "
        "A verdict is computed from what the run measured against the thresholds stated beside it; "
        "<i>partial</i> and <i>not reproduced</i> are findings.</p>"
        f"<table><tr><th>id</th><th>paper</th><th>latest verdicts</th></tr>{''.join(summary)}</table>"
        + "".join(sections) + "</body></html>"
    )
    atomic_write(target, page)
    return target
