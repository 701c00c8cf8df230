"""Markdown writer: the same sections as the HTML report, tables as pipe tables.

Charts are not embedded (Markdown viewers differ in what images they allow); every number a
chart draws is in the table next to it, and the HTML report carries the charts.
"""

from __future__ import annotations

from typing import Any

from planner.reports._format import fmt_value, is_number, money
from planner.reports.model import SECTIONS, Report, Table


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    """One table as a GitHub-flavoured pipe table (numbers right-aligned)."""
    head = "| " + " | ".join(_md(c.header) for c in table.columns) + " |"
    align = []
    for c in table.columns:
        numeric = any(is_number(r.get(c.key)) for r in table.rows)
        align.append("---:" if numeric else "---")
    lines = [head, "| " + " | ".join(align) + " |"]
    for row in table.rows:
        cells = [_md(fmt_value(row.get(c.key), table.cell_format(row, c))) for c in table.columns]
        lines.append("| " + " | ".join(cells) + " |")
    out = "\n".join(lines)
    if table.note:
        out += f"\n\n_{_md(table.note)}_"
    return out


def render_markdown(report: Report) -> bytes:
    """The report as Markdown (UTF-8 bytes)."""
    lines = [f"# {report.title}", "", f"_{report.kind} report. {report.subtitle}_", ""]
    lines += ["## The answer", "", report.summary, ""]
    lines += ["| Quantity | Value | Unit | Note |", "| --- | ---: | --- | --- |"]
    for q in report.headline:
        value = (
            money(q.value)
            if q.key.endswith("_usd") and is_number(q.value)
            else fmt_value(q.value, q.fmt)
        )
        lines.append(f"| {_md(q.label)} | {_md(value)} | {_md(q.unit)} | {_md(q.note)} |")
    lines.append("")
    for section, heading in SECTIONS.items():
        tables = [t for t in report.tables if t.section == section]
        if not tables:
            continue
        lines += [f"## {heading}", ""]
        names = {t.name for t in tables}
        for chart in report.charts:
            if chart.table in names:
                lines += [
                    f"_Chart (in the HTML report): {_md(chart.title)}; data in the table "
                    f"'{chart.table}'._",
                    "",
                ]
        for t in tables:
            lines += [f"### {t.title}", "", table_markdown(t), ""]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    lines += ["## Assumptions", "", table_markdown(report.assumptions_table()), ""]
    p = report.provenance
    lines += [
        "## Reproduce these numbers",
        "",
        f"- planner version: {p.planner_version}",
        f"- input SHA-256: `{p.input_sha256}`",
    ]
    if p.command:
        lines.append(f"- command: `{p.command}`")
    lines += [f"- generated (UTC): {p.generated_utc}", ""]
    lines += ["| Input | Path | SHA-256 |", "| --- | --- | --- |"]
    for i in p.inputs:
        lines.append(f"| {_md(i.role)} | {_md(i.path or '(not a file)')} | `{i.sha256}` |")
    lines.append("")
    return "\n".join(lines).encode("utf-8")
