"""The report model: what every format shows, as plain data (no rendering here).

A :class:`Report` is built once from core results (:mod:`planner.reports.sizing`,
:mod:`planner.reports.serving`, :mod:`planner.reports.plan`,
:mod:`planner.reports.projection`, all through :class:`planner.reports.builder.ReportBuilder`)
and handed to the writers (HTML, XLSX, Markdown, JSON), so the four formats cannot disagree:
they render the same answer paragraph, headline quantities, tables, charts, assumptions and
provenance. Every column and headline number names a quantity of the output vocabulary
(:mod:`planner.quantities`, ``data/quantities.csv``), which gives its label, unit and format.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from planner import quantities

#: Sections of a report, in reading order, with their headings.
SECTIONS: dict[str, str] = {
    "results": "Results",
    "constraints": "Binding constraints and relaxations",
    "comparison": "Comparisons: alternatives and published figures",
    "sensitivity": "Sensitivity",
    "details": "Details",
}


def clean(value: Any) -> Any:
    """numpy -> Python, NaN/inf -> None, recursively (JSON-ready, ``allow_nan=False`` safe)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Column:
    """One column of a table, labelled by the output vocabulary (:mod:`planner.quantities`).

    A column shows the quantity ``name`` (default: ``key``, the field in the rows): its header,
    unit and number format are the vocabulary's, never this module's. ``qualifier`` adds
    context to the label (``P10``). ``per_row`` names the row field holding each cell's own
    quantity, for columns that mix units (a key/value table's ``value``, a published
    figure): each cell then takes that quantity's format.

    A column that is not an output (a factor, a note, a source, an assumption's value) is
    made with :meth:`plain`: its header is given and it has no unit.
    """

    key: str
    name: str = ""
    qualifier: str = ""
    per_row: str = ""
    text: str = ""
    plain_fmt: str = ""

    @classmethod
    def plain(cls, key: str, text: str, fmt: str = "", per_row: str = "") -> Column:
        """A column that is not an output quantity (factor, case, note, source)."""
        return cls(key, text=text, plain_fmt=fmt, per_row=per_row)

    @property
    def quantity(self) -> str | None:
        """The vocabulary entry shown, or None for a plain column."""
        return None if self.text else (self.name or self.key)

    @property
    def label(self) -> str:
        q = self.quantity
        if q is None:
            return self.text
        base = quantities.label(q, unit=False)
        return f"{base} {self.qualifier}" if self.qualifier else base

    @property
    def unit(self) -> str:
        q = self.quantity
        return "" if q is None else quantities.quantity(q).unit

    @property
    def fmt(self) -> str:
        q = self.quantity
        return self.plain_fmt if q is None else quantities.quantity(q).format

    @property
    def header(self) -> str:
        """How HTML, Markdown and XLSX headers show the column: the vocabulary's label."""
        q = self.quantity
        if q is None:
            return self.text
        header = quantities.label(q)
        if self.qualifier:
            base = quantities.label(q, unit=False)
            header = header.replace(base, f"{base} {self.qualifier}", 1)
        return header

    def cell_format(self, row: dict[str, Any]) -> str:
        """The format of this column's cell in ``row`` (the row's quantity for ``per_row``)."""
        if self.per_row:
            name = row.get(self.per_row)
            if isinstance(name, str) and name in quantities.all_quantities():
                return quantities.quantity(name).format
        return self.fmt

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "quantity": self.quantity,
            "label": self.label,
            "unit": self.unit,
            "format": self.fmt,
        }


def columns(*keys: str) -> tuple[Column, ...]:
    """Vocabulary columns named by ``keys``, in that order."""
    return tuple(Column(k) for k in keys)


@dataclass(frozen=True)
class Table:
    """A result table: rows of dicts keyed by ``columns[i].key``.

    ``name`` is a short identifier (also the XLSX sheet name, at most 31 characters);
    ``section`` one of :data:`SECTIONS`; ``collapsed`` tables are shown folded in HTML.
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    section: str = "results"
    note: str = ""
    collapsed: bool = False

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:  # pragma: no cover - programming error
            raise ValueError(f"unknown section {self.section!r}")
        if len(self.name) > 31:  # pragma: no cover - programming error
            raise ValueError(f"table name {self.name!r} is longer than an Excel sheet name")

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @staticmethod
    def cell_format(row: dict[str, Any], column: Column) -> str:
        """Display format of one cell (:meth:`Column.cell_format`)."""
        return column.cell_format(row)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "section": self.section,
            "note": self.note,
            "columns": [c.to_dict() for c in self.columns],
            "rows": [clean({c.key: row.get(c.key) for c in self.columns}) for row in self.rows],
        }


@dataclass(frozen=True)
class Quantity:
    """A headline number: ``key`` is its field in the data (``facility_power_mw``,
    ``total_twh_2030``); ``name`` its vocabulary entry (default ``key``), which gives the
    label, unit and format; ``qualifier`` adds context to the label (``(World, 2030)``)."""

    key: str
    value: Any
    name: str = ""
    qualifier: str = ""
    note: str = ""

    @property
    def quantity(self) -> str:
        return self.name or self.key

    @property
    def label(self) -> str:
        base = quantities.label(self.quantity, unit=False)
        return f"{base} {self.qualifier}" if self.qualifier else base

    @property
    def unit(self) -> str:
        unit = quantities.quantity(self.quantity).unit
        return "" if unit in {"fraction", "ratio"} else unit

    @property
    def fmt(self) -> str:
        return quantities.quantity(self.quantity).format

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "key": self.key,
                "quantity": self.quantity,
                "label": self.label,
                "value": self.value,
                "unit": self.unit,
                "format": self.fmt,
                "note": self.note,
            }
        )


@dataclass(frozen=True)
class Chart:
    """A chart drawn from one table: ``kind`` and an encoding of that table's column keys.

    Kinds (rendered by :mod:`planner.reports.charts`): ``tornado`` (x, y, color, facet),
    ``bar`` (x, y, optional color/highlight, facet), ``line`` (x, y, color), ``band``
    (x, low, mid, high, color), ``area`` (x, y stacked by color, optional total line),
    ``stacked`` (x, y stacked by color) and ``heat`` (x, y, color).
    """

    name: str
    title: str
    kind: str
    table: str
    encoding: dict[str, str]
    caption: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "table": self.table,
            "encoding": dict(self.encoding),
            "caption": self.caption,
        }


@dataclass(frozen=True)
class InputFile:
    """A file the numbers depend on, with its SHA-256 (or a canonical request, path empty)."""

    role: str
    path: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "path": self.path, "sha256": self.sha256}


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def sha256_json(payload: Any) -> str:
    """Hex SHA-256 of a canonical JSON encoding (sorted keys, no spaces)."""
    text = json.dumps(clean(payload), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def input_file(role: str, path: str | Path) -> InputFile:
    p = Path(path)
    return InputFile(role=role, path=str(p), sha256=sha256_file(p))


@dataclass(frozen=True)
class Provenance:
    """What reproduces the numbers: the planner version, the inputs and their hashes."""

    planner_version: str
    inputs: tuple[InputFile, ...]
    command: str = ""
    generated_utc: str = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0).isoformat()
    )

    @property
    def input_sha256(self) -> str:
        """SHA-256 of the primary input (the first listed: scenario file, presets or request)."""
        return self.inputs[0].sha256 if self.inputs else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "planner_version": self.planner_version,
            "input_sha256": self.input_sha256,
            "inputs": [i.to_dict() for i in self.inputs],
            "command": self.command,
            "generated_utc": self.generated_utc,
        }


#: Columns of the assumptions table, shared by every report kind.
ASSUMPTION_COLUMNS: tuple[Column, ...] = (
    Column.plain("name", "Assumption"),
    Column.plain("value", "Value", ".6g"),
    Column.plain("unit", "Unit"),
    Column.plain("source", "Source"),
)


@dataclass(frozen=True)
class Report:
    """Everything a report shows, format-independent.

    Attributes
    ----------
    kind : {"sizing", "serving", "plan", "projection", "buildout", "sweep"}
    title, subtitle : str
    summary : str
        The answer in one paragraph.
    headline : tuple of Quantity
        The headline numbers (keys are the core's field names).
    assumptions : tuple of dict
        Every value used: ``name, value, unit, source``.
    tables, charts : tuples of Table, Chart
    notes : tuple of str
        Caveats (what was clipped, what is unknown, which definition is used).
    provenance : Provenance
    data : dict
        The core's own result objects as data (``to_dict()`` output), so a script can read
        exactly what ``planner size/optimize/project --json`` prints.
    """

    kind: str
    title: str
    subtitle: str
    summary: str
    headline: tuple[Quantity, ...]
    assumptions: tuple[dict[str, Any], ...]
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...]
    notes: tuple[str, ...]
    provenance: Provenance
    data: dict[str, Any]

    def table(self, name: str) -> Table:
        """The table called ``name`` (KeyError if absent)."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def headline_value(self, key: str) -> Any:
        return next(q.value for q in self.headline if q.key == key)

    def assumptions_table(self) -> Table:
        columns = ASSUMPTION_COLUMNS
        if any("low" in a or "high" in a for a in self.assumptions):  # ranges (projections)
            columns = (
                *ASSUMPTION_COLUMNS[:2],
                Column.plain("low", "Low", ".6g"),
                Column.plain("high", "High", ".6g"),
                *ASSUMPTION_COLUMNS[2:],
            )
        return Table(
            name="Assumptions",
            title="Assumptions: every value used, with its unit and source",
            columns=columns,
            rows=self.assumptions,
            section="details",
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything the other formats show, as JSON-ready data."""
        return clean(
            {
                "report": {
                    "kind": self.kind,
                    "title": self.title,
                    "subtitle": self.subtitle,
                    "format_version": 1,
                },
                "summary": self.summary,
                "headline": [q.to_dict() for q in self.headline],
                "assumptions": [dict(a) for a in self.assumptions],
                "tables": {t.name: t.to_dict() for t in self.tables},
                "charts": [c.to_dict() for c in self.charts],
                "notes": list(self.notes),
                "provenance": self.provenance.to_dict(),
                "data": self.data,
            }
        )
