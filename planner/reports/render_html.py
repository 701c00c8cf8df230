"""HTML writer: one self-contained file (inline CSS, charts as inline SVG, no external URL).

The page opens offline: there is no ``<script>``, no stylesheet or font link, no image
source; charts are SVG rendered by vl-convert (all of a report's charts in one batch, see
:func:`planner.reports.charts.to_svgs`) and inlined. Every text is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from planner.reports._format import fmt_value, is_number, money
from planner.reports.model import SECTIONS, Quantity, Report, Table

CSS = """
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dee5; --accent: #1f5fa8; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 32px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 20px; }
.kind { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--accent);
        margin: 0; font-weight: 600; }
h1 { font-size: 26px; margin: 4px 0 6px; line-height: 1.25; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.subtitle { color: var(--muted); margin: 0; font-size: 13px; }
.answer { background: var(--bg); border-left: 4px solid var(--accent); padding: 14px 18px;
          border-radius: 4px; }
.answer h2 { margin-top: 0; border: 0; }
.answer p { margin: 0 0 14px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.card .v { font-size: 21px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .u { color: var(--muted); font-size: 12px; }
.card .l { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .n { font-size: 11px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 6px 0 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { text-align: right; }
.scroll { overflow-x: auto; }
tr.hl td { background: #fff4e5; }
.note { color: var(--muted); font-size: 12px; margin: 2px 0 12px; }
figure { margin: 12px 0 18px; overflow-x: auto; }
figcaption { color: var(--muted); font-size: 12px; }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 13px; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }
code { font-family: Menlo, Consolas, monospace; font-size: 12px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media print { main { max-width: none; padding: 0; } details { display: block; } }
"""


def _cell(value: Any, fmt: str) -> str:
    cls = ' class="num"' if is_number(value) else ""
    return f"<td{cls}>{escape(fmt_value(value, fmt))}</td>"


def table_html(table: Table) -> str:
    """One table as HTML (numbers right-aligned; chosen/highlighted rows marked)."""
    head = "".join(
        f"<th{' class=num' if c.fmt and c.fmt[-1] in 'fge%' else ''}>{escape(c.header)}</th>"
        for c in table.columns
    )
    body = []
    for row in table.rows:
        cls = ' class="hl"' if row.get("chosen") is True else ""
        cells = "".join(_cell(row.get(c.key), table.cell_format(row, c)) for c in table.columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    html = (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    if table.note:
        html += f'<p class="note">{escape(table.note)}</p>'
    return html


def _card(q: Quantity) -> str:
    if q.key.endswith("_usd") and is_number(q.value):
        value, unit = money(q.value), "USD"
    else:
        value, unit = fmt_value(q.value, q.fmt), q.unit
    note = f'<div class="n">{escape(q.note)}</div>' if q.note else ""
    return (
        f'<div class="card"><div class="l">{escape(q.label)}</div>'
        f'<div class="v">{escape(value)}</div><div class="u">{escape(unit)}</div>{note}</div>'
    )


def render_html(report: Report) -> bytes:
    """The report as one self-contained HTML document (UTF-8 bytes)."""
    from planner.reports.charts import to_svgs

    shown = {t.name for t in report.tables}
    drawn = [c for c in report.charts if c.table in shown]
    svgs = dict(
        zip(map(id, drawn), to_svgs([(c, report.table(c.table)) for c in drawn]), strict=True)
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f'<meta name="generator" content="planner {escape(report.provenance.planner_version)}">',
        f"<style>{CSS}</style></head><body><main>",
        f'<header><p class="kind">{escape(report.kind)} report</p>',
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="subtitle">{escape(report.subtitle)}</p></header>',
        '<section class="answer"><h2>The answer</h2>',
        f"<p>{escape(report.summary)}</p>",
        '<div class="cards">' + "".join(_card(q) for q in report.headline) + "</div></section>",
    ]
    tables_by_section: dict[str, list[Table]] = {s: [] for s in SECTIONS}
    for t in report.tables:
        tables_by_section[t.section].append(t)
    for section, heading in SECTIONS.items():
        tables = tables_by_section[section]
        if not tables:
            continue
        parts.append(f'<section id="{escape(section)}"><h2>{escape(heading)}</h2>')
        names = {t.name for t in tables}
        for chart in report.charts:
            if chart.table in names:
                svg = svgs[id(chart)]
                caption = (
                    f"<figcaption>{escape(chart.caption)}</figcaption>" if chart.caption else ""
                )
                parts.append(f'<figure id="chart-{escape(chart.name)}">{svg}{caption}</figure>')
        for t in tables:
            if t.collapsed:
                parts.append(
                    f"<details><summary>{escape(t.title)}</summary>{table_html(t)}</details>"
                )
            else:
                parts.append(f"<h3>{escape(t.title)}</h3>{table_html(t)}")
        parts.append("</section>")
    if report.notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
        parts.append(f'<section id="notes"><h2>Notes</h2><ul>{items}</ul></section>')
    parts.append(
        '<section id="assumptions"><h2>Assumptions</h2>'
        + table_html(report.assumptions_table())
        + "</section>"
    )
    p = report.provenance
    inputs = "".join(
        f"<tr><td>{escape(i.role)}</td><td>{escape(i.path or '(not a file)')}</td>"
        f"<td><code>{escape(i.sha256)}</code></td></tr>"
        for i in p.inputs
    )
    parts.append(
        '<section id="provenance"><h2>Reproduce these numbers</h2><dl>'
        f"<dt>planner version</dt><dd>{escape(p.planner_version)}</dd>"
        f"<dt>input SHA-256</dt><dd><code>{escape(p.input_sha256)}</code></dd>"
        + (f"<dt>command</dt><dd><code>{escape(p.command)}</code></dd>" if p.command else "")
        + f"<dt>generated (UTC)</dt><dd>{escape(p.generated_utc)}</dd></dl>"
        "<table><thead><tr><th>Input</th><th>Path</th><th>SHA-256</th></tr></thead>"
        f"<tbody>{inputs}</tbody></table></section>"
    )
    parts.append(
        f"<footer>Generated by planner {escape(p.planner_version)}. The JSON format of this "
        "report carries every number shown here as data.</footer></main></body></html>"
    )
    return "\n".join(parts).encode("utf-8")
