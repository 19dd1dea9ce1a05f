"""``mantissa report``: every run in the store rendered as one static HTML page.

The page is self-contained (plots embedded as base64 ``<img>`` data, PNG or SVG,
never as markup; a few lines of inline script, no network). A sticky bar at the
top counts the experiments per verdict and per pillar and filters the summary
table and the sections below it. Per
experiment it shows the claim, the checks against the thresholds beside the
paper's figure, the metrics, plots, tables, config and environment; an
experiment without runs is one collapsed line. Checks are listed by kind (gates,
then claims), an inconclusive run says which gate failed, and an experiment's
history (thresholds and baselines changed after a result was seen) sits under
its claim. A smoke-scale run is labelled a pipeline check, never a verdict. A
broken or misshapen run directory appears as corrupt; it never stops the report.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from mantissa.catalogue.aggregate import SeedGroup, latest_group
from mantissa.catalogue.discovery import PILLARS, load_all, pillar_name, pillar_of, pillar_rank
from mantissa.catalogue.protocol import EXPERIMENTS, Experiment, seed_spread
from mantissa.catalogue.store import RunRecord, list_runs, runs_root
from mantissa.io import write_owned_text

_SCALE_ORDER = ("full", "quick", "smoke")
#: how every report page starts: an existing --out file is replaced only when it starts so
MARKER = "<!doctype html><html><head><meta charset=utf-8><title>mantissa report</title>"
_MAX_CSV_ROWS = 60

#: one experiment on the page: id, class (None when no longer registered), its runs
_Row = tuple[str, type[Experiment] | None, list[RunRecord]]

#: badge text where it differs from the status it stands for
_BADGE_TEXT = {"smoke": "smoke: pipeline check", "none": "not run"}
#: verdict filter buttons, in this order (only those present on the page)
_STATUS_ORDER = ("reproduced", "partial", "inconclusive", "not reproduced", "smoke", "failed",
                 "corrupt", "incomplete", "not run")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto 4rem;max-width:1100px;
color:#1d1d1f;padding:0 1rem}
h1{margin:1.5rem 0 .2rem} a{color:#0b57d0}
h2{margin:0 0 .4rem;font-size:1.25rem} h3{font-size:1rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f7} .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
[hidden]{display:none!important}
.v{font-weight:600;font-size:.8rem;padding:.1rem .45rem;border-radius:.3rem;white-space:nowrap;
display:inline-block}
.reproduced{background:#d7f5dd;color:#11612a}.partial{background:#fff6bf;color:#6b5900}
.inconclusive{background:#ffe0b0;color:#8a4700}.not-reproduced{background:#fde0e0;color:#8a1414}
.failed,.corrupt,.incomplete{background:#eee;color:#8a1414}.smoke{background:#e4e4e9;color:#555}
.none{background:#fff;color:#888;border:1px dashed #bbb}
#filters{position:sticky;top:0;z-index:5;background:#fffffff2;border-bottom:1px solid #ddd;
padding:.5rem 0;font-size:.85rem}
#filters div{margin:.15rem 0} #filters b{display:inline-block;width:4.5rem;color:#555}
#filters button{font:inherit;border:1px solid #ccc;background:#fff;border-radius:1rem;
padding:.1rem .6rem;margin:.1rem .1rem;cursor:pointer}
#filters button.on{background:#1d1d1f;color:#fff;border-color:#1d1d1f}
.exp{scroll-margin-top:6rem;border-top:1px solid #ddd;padding:1rem 0}
details.notrun{scroll-margin-top:6rem;border-top:1px solid #eee;padding:.3rem 0;font-size:.9rem}
details.notrun>summary{cursor:pointer}
.up{font-size:.8rem;font-weight:400;margin-left:.4rem;white-space:nowrap}
.pill{font-size:.75rem;font-weight:400;color:#555;background:#f0f0f4;border-radius:1rem;
padding:.05rem .5rem;margin-left:.4rem;white-space:nowrap}
.vs{display:flex;gap:1rem;align-items:flex-start;flex-wrap:wrap}.vs table{flex:0 1 auto}
.box{background:#fafafa;border:1px solid #e4e4e9;padding:.5rem .8rem;border-radius:.4rem;
margin:.6rem 0;font-size:.9rem} .paper{flex:1 1 16rem;max-width:26rem;border-left:3px solid #0b57d0}
.pass{color:#11612a}.fail{color:#8a1414;font-weight:600}
img{max-width:100%;border:1px solid #eee;margin:.4rem 0}
.scroll{overflow-x:auto;max-width:100%} table.csv{font-size:.8rem}
#summary td{padding:.15rem .5rem;white-space:nowrap}
#summary tr.group th{background:#fff;border:0;padding:.8rem 0 .2rem;font-size:.95rem}
#summary .t{max-width:30rem;overflow:hidden;
text-overflow:ellipsis} .nw{white-space:nowrap}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.8rem} .muted{color:#666;font-size:.85rem}
pre.err{white-space:pre-wrap;color:#8a1414}
.reason{background:#fff3e0;border-left:3px solid #8a4700;padding:.3rem .6rem;font-size:.9rem}
td.kind{color:#555;font-size:.8rem} details.history{font-size:.9rem;margin:.3rem 0}
"""

_JS = """
(function(){var sel={verdict:"",pillar:""};
document.querySelectorAll("#filters button").forEach(function(b){b.onclick=function(){
sel[b.dataset.k]=b.dataset.v;
document.querySelectorAll('#filters button[data-k="'+b.dataset.k+'"]').forEach(function(o){
o.classList.toggle("on",o===b);});
document.querySelectorAll("[data-verdict]").forEach(function(e){
e.hidden=!!((sel.verdict&&e.dataset.verdict!==sel.verdict)||(sel.pillar&&e.dataset.pillar!==sel.pillar));});
document.querySelectorAll("tr[data-group]").forEach(function(g){g.hidden=!document.querySelector(
'tr[data-pillar="'+g.dataset.group+'"]:not([hidden])');});
};});})();
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def fmt_number(value: object) -> str:
    """A number for reading: integers whole, other floats to ~4 significant digits,
    NaN and infinities by name; anything else as its string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if 1e4 <= abs(value) < 1e15:
        return str(round(value))
    return f"{value:.4g}"


def _fmt(value: object) -> str:
    return _e(fmt_number(value))


def _cell(text: str) -> str:
    """A CSV cell: numbers formatted and right-aligned, text as it is."""
    try:
        number = float(text)
    except ValueError:
        return f"<td>{_e(text)}</td>"
    shown = text if re.fullmatch(r"-?\d+", text.strip()) else fmt_number(number)
    return f'<td class="num">{_e(shown)}</td>'


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", label.lower().replace(" ", "-")) or "none"


def _badge(status: str | None) -> str:
    key = status or "none"
    return f'<span class="v {_slug(key)}">{_e(_BADGE_TEXT.get(key, key))}</span>'


def run_label(run: RunRecord) -> str:
    """What a run's badge says: its verdict, ``smoke`` for a smoke-scale run, or why it failed."""
    if run.status != "ok":
        return run.status
    if run.scale == "smoke" and run.status == "ok":
        return "smoke"
    return run.verdict or "no verdict"


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
    out = [f"<p class=muted>{_e(path.name)}</p><div class=scroll><table class=csv><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in head] + ["</tr>"]
    out += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in body]
    out.append("</table></div>")
    if more > 0:
        out.append(f"<p class=muted>... {more} more rows in {_e(path.name)}</p>")
    return "".join(out)


#: image artifacts and their media types; each is embedded as an ``<img>`` data URI, so an
#: SVG's markup (a ``<script>`` in it, say) never becomes part of the page
_IMAGES = {".png": "image/png", ".svg": "image/svg+xml"}


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{_e(path.name)}" src="data:{_IMAGES[path.suffix]};base64,{data}">'


def _artifacts(run: RunRecord) -> str:
    parts = []
    for path in run.artifacts:
        try:
            if path.suffix in _IMAGES:
                parts.append(_image(path))
            elif path.suffix == ".csv":
                parts.append(_csv_table(path))
        except OSError as exc:
            parts.append(f"<p class=muted>{_e(path.name)}: unreadable ({_e(exc)})</p>")
    return "".join(parts)


def paper_value(check: dict) -> object:
    """The paper's own number for a check, where the stored check carries one."""
    for key in ("paper", "paper_value"):
        if check.get(key) is not None:
            return check[key]
    return None


def _kind(check: dict) -> str:
    """A stored check's kind; checks stored before protocol v2 are claims."""
    return str(check.get("kind") or "claim")


def _spread(check: dict, metrics: dict) -> str:
    """Mean ± SE over seeds under a value judged on seed-paired differences."""
    spread = seed_spread(str(check.get("metric") or ""), metrics)
    return f"<br><small>{_e(spread)}</small>" if spread else ""


def _checks_table(run: RunRecord) -> str:
    """Gates first, then claims; a paper column when any check carries the paper's number."""
    checks = sorted(run.checks, key=lambda c: _kind(c) != "gate")
    with_paper = any(paper_value(c) is not None for c in checks)
    head = ("<th>kind</th><th>check</th>" + ("<th>paper</th>" if with_paper else "")
            + "<th>ours</th><th>bar</th><th></th>")
    rows = []
    for c in checks:
        paper = paper_value(c)
        verdict = '<td class=pass>pass</td>' if c.get("passed") else "<td class=fail>FAIL</td>"
        rows.append(
            f"<tr><td class=kind>{_e(_kind(c))}</td><td>{_e(c.get('description'))}</td>"
            + (f"<td class=num>{'' if paper is None else _fmt(paper)}</td>" if with_paper else "")
            + f"<td class=num>{_fmt(c.get('value'))}{_spread(c, run.metrics)}</td>"
            f"<td class=num>{_e(c.get('op'))} {_fmt(c.get('threshold'))}</td>{verdict}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _history(exp: type[Experiment] | None) -> str:
    """Thresholds, baselines, budgets or seeds changed after a result was seen, with why."""
    entries = getattr(exp, "history", ()) if exp else ()
    if not entries:
        return ""
    items = "".join(f"<li><b>{_e(d)}</b> {_e(c)} — {_e(r)}</li>" for d, c, r in entries)
    return ("<details class=history><summary>history: changed after a result was seen "
            f"({len(entries)})</summary><ul>{items}</ul></details>")


def _paper_box(exp: type[Experiment] | None) -> str:
    if exp is None:
        return ""
    return f"<div class='box paper'><b>Paper's figure</b> ({_e(exp.paper)})<br>{_e(exp.paper_figure)}</div>"


def _results(run: RunRecord, exp: type[Experiment] | None) -> str:
    """The run's checks (ours, with the paper's number where given) beside the paper's figure."""
    if not run.checks:
        return ""
    return f"<div class=vs>{_checks_table(run)}{_paper_box(exp)}</div>"


def _metrics(run: RunRecord) -> str:
    if not run.metrics:
        return ""
    rows = "".join(f"<tr><td>{_e(k)}</td><td class=num>{_fmt(v)}</td></tr>"
                   for k, v in run.metrics.items())
    return f"<details><summary>all metrics ({len(run.metrics)})</summary><table>{rows}</table></details>"


def _run_section(run: RunRecord, exp: type[Experiment] | None) -> str:
    head = (f"<h3>{_e(run.scale)} scale, seed {_e(run.seed)} {_badge(run_label(run))}"
            f" <span class=muted>{_e(run.started)} · {_fmt(run.wall_s or 0.0)} s · "
            f"{_e(run.path)}</span></h3>")
    body = [head]
    if run.scale == "smoke" and run.status == "ok":
        body.append("<p class=muted>Smoke scale proves the pipeline runs end to end; "
                    "its checks are shown but its verdict means nothing.</p>")
    if run.error:
        body.append(f"<pre class=err>{_e(run.error)}</pre>")
    if run.verdict_reason and run.status == "ok":
        body.append(f"<p class=reason><b>Inconclusive:</b> {_e(run.verdict_reason)}</p>")
    body += [_results(run, exp), _artifacts(run), _metrics(run)]
    for label, data in (("config", run.config), ("environment", run.env)):
        if data:
            dump = _e(json.dumps(data, indent=1))
            body.append(f"<details><summary>{label}</summary><pre>{dump}</pre></details>")
    return "".join(body)


def _shown_runs(runs: list[RunRecord]) -> list[RunRecord]:
    """The latest run of each scale, most important scale first."""
    latest: dict[str, RunRecord] = {}
    for run in runs:
        latest[run.scale] = run
    order = {s: i for i, s in enumerate(_SCALE_ORDER)}
    return sorted(latest.values(), key=lambda r: order.get(r.scale, len(order)))


def _label(run: RunRecord, runs: list[RunRecord]) -> str:
    """A run's badge text; for a run with sibling seeds, the verdict over all of them."""
    group = latest_group(runs, run.scale) if run.status == "ok" and run.scale != "smoke" else None
    return str(group.verdict or run_label(run)) if group is not None else run_label(run)


def headline(runs: list[RunRecord]) -> str:
    """The status an experiment is filtered by: its most important scale's latest run (over its
    seeds, where it has sibling runs of other seeds)."""
    shown = _shown_runs(runs)
    return _label(shown[0], runs) if shown else "not run"


def _latest_badges(runs: list[RunRecord]) -> str:
    shown = _shown_runs(runs)
    return " ".join(_badge("smoke") if run_label(r) == "smoke" else f"{_e(r.scale)} {_badge(_label(r, runs))}"
                    for r in shown) or _badge(None)


def _seed_section(group: SeedGroup, exp: type[Experiment] | None) -> str:
    """The verdict over several seeds: each check's judged value, mean ± SE and the value of every
    seed, then every metric's mean ± SE."""
    label = "smoke" if group.scale == "smoke" else (group.verdict or "no verdict")
    seeds = ", ".join(map(str, group.seeds))
    out = [f"<h3>{_e(group.scale)} scale over {len(group.runs)} seeds ({_e(seeds)}) {_badge(label)}"
           f" <span class=muted>commit {_e((group.commit or '?')[:10])}</span></h3>"]
    if group.error:
        out.append(f"<p class=muted>{_e(group.error)}</p>")
    if group.verdict_reason and group.scale != "smoke":
        out.append(f"<p class=reason><b>Inconclusive:</b> {_e(group.verdict_reason)}</p>")
    if group.checks:
        rows = []
        for c in sorted(group.checks, key=lambda c: _kind(c) != "gate"):
            paper = paper_value(c)
            per = ", ".join(f"{s}: {fmt_number(v)}" for s, v in c["seeds"].items())
            verdict = '<td class=pass>pass</td>' if c.get("passed") else "<td class=fail>FAIL</td>"
            rows.append(f"<tr><td class=kind>{_e(_kind(c))}</td><td>{_e(c.get('description'))}</td>"
                        f"<td class=num>{'' if paper is None else _fmt(paper)}</td>"
                        f"<td class=num>{_fmt(c.get('value'))}"
                        f"<br><small>{_e(c.get('judged_on'))}</small></td>"
                        f"<td class=num>{_fmt(c.get('mean'))} ± {_fmt(c.get('se'))}</td>"
                        f"<td class=num>{_e(per)}</td>"
                        f"<td class=num>{_e(c.get('op'))} {_fmt(c.get('threshold'))}</td>{verdict}</tr>")
        out.append("<div class=vs><table><tr><th>kind</th><th>check</th><th>paper</th><th>judged</th>"
                   "<th>mean ± SE</th><th>per seed</th><th>bar</th><th></th></tr>"
                   f"{''.join(rows)}</table>{_paper_box(exp)}</div>")
    if group.mean:
        rows_m = "".join(f"<tr><td>{_e(k)}</td><td class=num>{_fmt(m)} ± {_fmt(group.se[k])}</td></tr>"
                         for k, m in group.mean.items())
        out.append(f"<details><summary>all metrics, mean ± SE over {len(group.runs)} seeds "
                   f"({len(group.mean)})</summary><table>{rows_m}</table></details>")
    return "".join(out)


def _attrs(exp_id: str, exp: type[Experiment] | None, runs: list[RunRecord]) -> str:
    return f'data-verdict="{_e(headline(runs))}" data-pillar="{_e(pillar_of(exp_id, exp))}"'


def _not_run_line(exp_id: str, exp: type[Experiment]) -> str:
    """An experiment without runs: one line, its claim and figure folded inside."""
    return (f'<details class=notrun id="{_e(exp_id)}" {_attrs(exp_id, exp, [])}><summary>'
            f"<b>{_e(exp_id)}</b> — {_e(exp.title)} {_badge(None)}"
            f"<span class=pill>{_e(pillar_name(pillar_of(exp_id, exp)))}</span>"
            f'<a class=up href="#summary">↑ summary</a></summary>'
            f"<p>{_e(exp.claim)}</p>{_paper_box(exp)}{_history(exp)}</details>")


def _experiment_section(exp_id: str, exp: type[Experiment] | None, runs: list[RunRecord]) -> str:
    if exp is not None and not runs:
        return _not_run_line(exp_id, exp)
    title = exp.title if exp else "(experiment no longer in the catalogue)"
    out = [f'<section class=exp id="{_e(exp_id)}" {_attrs(exp_id, exp, runs)}>'
           f"<h2>{_e(exp_id)} — {_e(title)}"
           f"<span class=pill>{_e(pillar_name(pillar_of(exp_id, exp)))}</span>"
           f'<a class=up href="#summary">↑ summary</a></h2>']
    if exp:
        out.append(f"<p><b>Paper {_e(exp.paper)}.</b> {_e(exp.claim)}</p>{_history(exp)}")
    out.append(f"<p>Latest: {_latest_badges(runs)}</p>")
    shown = _shown_runs(runs)
    for run in shown:
        group = latest_group(runs, run.scale) if run.status == "ok" else None
        if group is not None:
            out.append(_seed_section(group, exp))
        out.append(_run_section(run, exp))
    if len(runs) > len(shown):
        out.append(f"<p class=muted>{len(runs) - len(shown)} older run(s) of this experiment "
                   "are in the run store.</p>")
    return "".join(out) + "</section>"


def _buttons(key: str, counts: Counter[str], labels: dict[str, str]) -> str:
    total = sum(counts.values())
    out = [f'<button class=on data-k="{key}" data-v="">all {total}</button>']
    out += [f'<button data-k="{key}" data-v="{_e(v)}">{_e(labels.get(v, v))} {counts[v]}</button>'
            for v in labels if counts[v]]
    return "".join(out)


def _filters(rows: list[_Row]) -> str:
    """The sticky bar: experiments counted per verdict and per pillar, as filter buttons."""
    verdicts = Counter(headline(runs) for _, _, runs in rows)
    pillars = Counter(pillar_of(i, exp) for i, exp, _ in rows)
    v_labels = {s: _BADGE_TEXT.get(s, s) for s in _STATUS_ORDER}
    v_labels |= {s: s for s in verdicts if s not in v_labels}
    p_labels = dict(PILLARS) | {s: s for s in pillars if s not in PILLARS}
    return (f'<nav id=filters><div><b>verdict</b>{_buttons("verdict", verdicts, v_labels)}</div>'
            f'<div><b>pillar</b>{_buttons("pillar", pillars, p_labels)}</div></nav>')


def _summary_row(exp_id: str, exp: type[Experiment] | None, runs: list[RunRecord]) -> str:
    return (f'<tr {_attrs(exp_id, exp, runs)}><td><a href="#{_e(exp_id)}">{_e(exp_id)}</a></td>'
            f"<td>{_e(exp.paper if exp else '')}</td>"
            f"<td><div class=t>{_e(exp.title if exp else '')}</div></td>"
            f"<td class=nw>{_latest_badges(runs)}</td></tr>")


def _summary(rows: list[_Row]) -> str:
    """Every experiment on one line, under a heading row per pillar."""
    body, group = [], None
    for exp_id, exp, runs in rows:
        pillar = pillar_of(exp_id, exp)
        if pillar != group:
            group = pillar
            body.append(f'<tr class=group data-group="{_e(pillar)}"><th colspan=4>'
                        f"{_e(pillar_name(pillar))}</th></tr>")
        body.append(_summary_row(exp_id, exp, runs))
    return ("<table id=summary><tr><th>experiment</th><th>paper</th><th>title</th>"
            f"<th>latest runs</th></tr>{''.join(body)}</table>")


def _ordered(by_exp: dict[str, list[RunRecord]]) -> list[_Row]:
    """Every catalogue experiment and every stored one, by pillar then id."""
    ids = set(EXPERIMENTS.list()) | set(by_exp)
    rows = [(i, EXPERIMENTS.get(i) if i in EXPERIMENTS else None, by_exp.get(i, [])) for i in ids]
    return sorted(rows, key=lambda r: (pillar_rank(pillar_of(r[0], r[1])), r[0]))


def render(root: Path | str | None = None, out: Path | str | None = None) -> Path:
    """Render the report of ``root`` (default ``runs/``) to ``out`` (default root/report.html)."""
    store = runs_root(root)
    target = Path(out) if out else store / "report.html"
    load_all()
    runs = list_runs(store)
    by_exp: dict[str, list[RunRecord]] = {}
    for run in runs:
        by_exp.setdefault(run.experiment, []).append(run)
    rows = _ordered(by_exp)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        MARKER + f"<style>{_CSS}</style></head><body><h1>mantissa report</h1>"
        f"<p class=muted>{len(runs)} runs of {len(by_exp)} experiments in {_e(store)}, rendered {now}. "
        "A verdict is computed from what the run measured against the thresholds stated beside it; "
        "<i>partial</i> and <i>not reproduced</i> are findings. A smoke-scale run only checks the "
        "pipeline; the buttons filter by the verdict of each experiment's most important scale.</p>"
        + _filters(rows) + _summary(rows)
        + "".join(_experiment_section(i, exp, r) for i, exp, r in rows)
        + f"<script>{_JS}</script></body></html>"
    )
    return write_owned_text(target, page, MARKER)
