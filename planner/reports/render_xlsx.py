"""Excel writer (openpyxl, imported lazily): one sheet per table.

Every sheet has one header row (frozen), units in the headers (``Peak facility power (MW)``)
or, for key/value sheets that mix units, in a ``Unit`` column; numbers are stored as numbers
with an Excel number format (never as formatted text). Sheets: Summary (headline numbers and
the answer), one per result table, Notes, Assumptions, Provenance.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from planner.errors import InputError
from planner.reports._format import fmt_value, is_number
from planner.reports.model import Column, Report

_FIXED = re.compile(r"^(,?)\.(\d+)f$")
_PCT = re.compile(r"^(\+?)\.(\d+)%$")
MAX_WIDTH = 70


@lru_cache(maxsize=64)
def excel_format(fmt: str) -> str:
    """Map a Python format spec to an Excel number format (``,.2f`` -> ``#,##0.00``)."""
    m = _FIXED.match(fmt)
    if m:
        digits = int(m.group(2))
        base = "#,##0" if m.group(1) else "0"
        return base + ("." + "0" * digits if digits else "")
    m = _PCT.match(fmt)
    if m:
        digits = int(m.group(2))
        pct = "0" + ("." + "0" * digits if digits else "") + "%"
        return f"+{pct};-{pct};{pct}" if m.group(1) else pct
    return "General"


@lru_cache(maxsize=1)
def _styles() -> tuple[Any, Any, Any]:
    """The header font and fill and the wrapped alignment: one object each, shared by every
    cell (openpyxl indexes styles by value; equal new objects cost a comparison each)."""
    from openpyxl.styles import Alignment, Font, PatternFill

    return (
        Font(bold=True),
        PatternFill("solid", fgColor="E8EDF3"),
        Alignment(wrap_text=True, vertical="top"),
    )


def _sheet(
    wb: Any,
    title: str,
    columns: tuple[Column, ...],
    rows: list[dict[str, Any]],
    wrap: tuple[str, ...] = (),
) -> Any:
    from openpyxl.utils import get_column_letter

    font, fill, wrapped = _styles()
    ws = wb.create_sheet(title=title[:31])
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = font
        cell.fill = fill
    widths = [len(c.header) for c in columns]
    for r, row in enumerate(rows, start=2):
        for j, col in enumerate(columns, start=1):
            value = row.get(col.key)
            if isinstance(value, float) and value != value:  # NaN -> empty cell
                value = None
            if value is not None and not isinstance(value, bool | int | float | str):
                value = str(value)
            cell = ws.cell(row=r, column=j, value=value)
            fmt = col.cell_format(row)
            if is_number(value):
                cell.number_format = excel_format(fmt)
            if col.key in wrap:
                cell.alignment = wrapped
            widths[j - 1] = max(widths[j - 1], len(fmt_value(value, fmt)))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, w + 2)
    ws.freeze_panes = "A2"
    return ws


def render_xlsx(report: Report) -> bytes:
    """The report as an .xlsx workbook (bytes)."""
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment
    except ImportError:
        raise InputError(
            "format",
            "xlsx",
            "html, md or json",
            detail="Excel output needs openpyxl: pip install 'planner[app]'",
        ) from None

    wb = Workbook()
    wb.remove(wb.active)
    summary_cols = (
        Column.plain("label", "Quantity"),
        Column.plain("key", "Key"),
        Column.plain("value", "Value", per_row="_quantity"),
        Column.plain("unit", "Unit"),
        Column.plain("note", "Note"),
    )
    rows = [
        {
            "label": q.label,
            "key": q.key,
            "value": q.value,
            "unit": q.unit,
            "note": q.note,
            "_quantity": q.quantity,
        }
        for q in report.headline
    ]
    ws = _sheet(wb, "Summary", summary_cols, rows)
    answer_row = len(rows) + 3
    ws.cell(row=answer_row, column=1, value="Answer")
    ws.cell(row=answer_row, column=2, value=report.summary)
    ws.merge_cells(start_row=answer_row, start_column=2, end_row=answer_row, end_column=5)
    ws.cell(row=answer_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[answer_row].height = 15 * max(3, len(report.summary) // 90 + 1)
    ws.cell(row=answer_row + 1, column=1, value="Report")
    ws.cell(
        row=answer_row + 1, column=2, value=f"{report.title} ({report.kind}); {report.subtitle}"
    )

    for t in report.tables:
        _sheet(wb, t.name, t.columns, list(t.rows), wrap=("note", "source"))
    if report.notes:
        _sheet(
            wb,
            "Notes",
            (Column.plain("note", "Note"),),
            [{"note": n} for n in report.notes],
            wrap=("note",),
        )
    a = report.assumptions_table()
    _sheet(wb, "Assumptions", a.columns, list(a.rows), wrap=("source",))
    p = report.provenance
    prov_rows = [
        {"item": "planner version", "path": "", "value": p.planner_version},
        {"item": "input SHA-256", "path": "", "value": p.input_sha256},
        {"item": "command", "path": "", "value": p.command},
        {"item": "generated (UTC)", "path": "", "value": p.generated_utc},
    ] + [{"item": f"input: {i.role}", "path": i.path, "value": i.sha256} for i in p.inputs]
    _sheet(
        wb,
        "Provenance",
        (
            Column.plain("item", "Item"),
            Column.plain("path", "Path"),
            Column.plain("value", "Value or SHA-256"),
        ),
        prov_rows,
    )
    return _save(wb)


def _save(wb: Any) -> bytes:
    """The workbook as bytes, every part written in memory.

    ``Workbook.save`` writes each sheet to a temporary file and deletes it, which costs more
    than the sheet on a slow disk; this writer gives openpyxl's own sheet writer a buffer
    instead. Should openpyxl change its writer, the ordinary save is used.
    """
    from zipfile import ZIP_DEFLATED, ZipFile

    try:
        from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
        from openpyxl.worksheet._writer import WorksheetWriter
        from openpyxl.writer.excel import ExcelWriter

        class InMemoryWriter(ExcelWriter):  # type: ignore[misc]
            def write_worksheet(self, ws: Any) -> None:
                ws._drawing = SpreadsheetDrawing()
                ws._drawing.charts = ws._charts
                ws._drawing.images = ws._images
                out = io.BytesIO()
                writer = WorksheetWriter(ws, out=out)
                writer.write()
                ws._rels = writer._rels
                self._archive.writestr(ws.path[1:], out.getvalue())
                self.manifest.append(ws)

        buf = io.BytesIO()
        wb.properties.modified = datetime.now(UTC).replace(tzinfo=None)
        with ZipFile(buf, "w", ZIP_DEFLATED, allowZip64=True) as archive:
            InMemoryWriter(wb, archive).write_data()
        return buf.getvalue()
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - another openpyxl
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
