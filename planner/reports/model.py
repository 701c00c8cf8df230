"""The report model: what every format shows, as plain data (no rendering here).

A :class:`Report` is built once from core results (:mod:`planner.reports.sizing`,
:mod:`planner.reports.plan`, :mod:`planner.reports.projection`) and handed to the writers
(HTML, XLSX, Markdown, JSON), so the four formats cannot disagree: they render the same
answer paragraph, headline quantities, tables, charts, assumptions and provenance.
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
    """One column: the data key, a human label, its unit and a display format.

    ``fmt`` is a Python format spec (``",.0f"``, ``".1%"``, ``".3g"``) for the text formats;
    the XLSX writer maps it to an Excel number format and stores the raw number.
    """

    key: str
    label: str
    unit: str = ""
    fmt: str = ""

    @property
    def header(self) -> str:
        """``label (unit)``: how HTML, Markdown and XLSX headers show the column."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "unit": self.unit, "format": self.fmt}


#: The standard result columns, defined once so every table labels a quantity the same way.
STANDARD_COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("gpus", "GPUs", "GPUs", ",.0f"),
        Column("systems", "Systems", "systems", ",.0f"),
        Column("days", "Training time", "days", ",.1f"),
        Column("facility_power_mw", "Peak facility power (design-day PUE)", "MW", ",.2f"),
        Column("energy_mwh", "Energy", "MWh", ",.0f"),
        Column("cost_usd", "Cost", "USD", ",.0f"),
        Column("emissions_tco2", "Emissions", "tCO2", ",.0f"),
        Column("pricing", "Pricing"),
        Column("mfu", "MFU", "fraction", ".3g"),
        Column("pue", "Annual PUE", "ratio", ".3g"),
        Column("design_pue", "Design-day PUE", "ratio", ".3g"),
        Column("note", "Note"),
        Column("run", "Run"),
    )
}


def std(*keys: str) -> tuple[Column, ...]:
    """The standard columns named by ``keys``, in that order."""
    return tuple(STANDARD_COLUMNS[k] for k in keys)


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
        """Display format of one cell: a row's ``_fmt`` applies to its ``value`` column
        (key/value tables mix units), otherwise the column's."""
        if column.key == "value" and row.get("_fmt"):
            return str(row["_fmt"])
        return column.fmt

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
    """A headline number: ``key`` is the core result's field name (``facility_power_mw``)."""

    key: str
    label: str
    value: Any
    unit: str = ""
    fmt: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "key": self.key,
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
    (x, low, mid, high, color).
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
    Column("name", "Assumption"),
    Column("value", "Value", fmt=".6g"),
    Column("unit", "Unit"),
    Column("source", "Source"),
)


@dataclass(frozen=True)
class Report:
    """Everything a report shows, format-independent.

    Attributes
    ----------
    kind : {"sizing", "plan", "projection"}
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
                Column("low", "Low", fmt=".6g"),
                Column("high", "High", fmt=".6g"),
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
