"""Capacity reports: any sizing, optimised plan or projection as HTML, XLSX, Markdown or JSON.

Build a :class:`Report` once from the core's result objects, then render it in any format;
the formats cannot disagree because they render the same object::

    from planner.reports import build_report, write_report
    report = build_report(preset="gtc2024-hopper")        # or build_report("site.toml")
    write_report(report, "gtc.html")                       # format from the suffix
    data = render_report(report, "json")                   # bytes, e.g. for a download

Contents: the answer in one paragraph; headline numbers; result tables; binding constraints
and relaxations (plans); comparison with published figures (presets) or studies
(projections); a +-20% sensitivity tornado (sizings); every assumption with value, unit and
source; the inputs' SHA-256 and the planner version.

Writes are atomic (:func:`planner.reports._atomic.atomic_write`). An unknown format or an
unwritable path raises :class:`planner.errors.InputError` naming ``format`` or ``out``.
Altair, vl-convert-python (HTML charts) and openpyxl (XLSX) are imported only when those
formats are rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner.data_errors import read_toml
from planner.errors import CatalogError, InputError
from planner.reports._atomic import atomic_write, check_writable_target
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Provenance,
    Quantity,
    Report,
    Table,
)
from planner.reports.sizing import build_sizing_report

#: Report formats and their file suffixes.
FORMATS: dict[str, str] = {"html": ".html", "xlsx": ".xlsx", "md": ".md", "json": ".json"}
#: Formats printed on stdout by the CLI when no ``--out`` is given (text, short enough).
STDOUT_FORMATS: tuple[str, ...] = ("md", "json")
_SUFFIXES = {
    ".html": "html",
    ".htm": "html",
    ".xlsx": "xlsx",
    ".md": "md",
    ".markdown": "md",
    ".json": "json",
}
#: What a scenario file can hold: the kind -> keys that identify it.
FILE_KINDS = {"plan": ("site", "runs"), "projection": ("pue", "regions", "electricity")}


def resolve_format(fmt: str | None, out: str | Path | None = None) -> str:
    """The report format: ``fmt`` if given (case-insensitive), else from ``out``'s suffix.

    Raises
    ------
    InputError
        Naming ``format`` and listing html, xlsx, md, json.
    """
    allowed = "one of: " + ", ".join(FORMATS)
    if fmt is None or str(fmt).strip() == "":
        if out is not None and Path(out).suffix.lower() in _SUFFIXES:
            return _SUFFIXES[Path(out).suffix.lower()]
        raise InputError(
            "format", fmt, allowed, detail="give --format or an --out with a known suffix"
        )
    key = str(fmt).strip().lower()
    if key not in FORMATS:
        raise InputError("format", fmt, allowed)
    return key


def _renderer(fmt: str) -> Callable[[Report], bytes]:
    if fmt == "html":
        from planner.reports.render_html import render_html

        return render_html
    if fmt == "xlsx":
        from planner.reports.render_xlsx import render_xlsx

        return render_xlsx
    if fmt == "md":
        from planner.reports.render_markdown import render_markdown

        return render_markdown
    from planner.reports.render_json import render_json

    return render_json


def render_report(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (html, xlsx, md, json) as bytes; nothing is written."""
    return _renderer(resolve_format(fmt))(report)


def write_report(report: Report, out: str | Path, fmt: str | None = None) -> Path:
    """Render and write atomically to ``out`` (format from ``fmt`` or the suffix).

    The whole report is rendered in memory first, then written to a temp file in the target
    directory and renamed over ``out``: a failure leaves the previous file as it was.
    """
    key = resolve_format(fmt, out)
    check_writable_target(out)  # fail before the (slower) rendering
    data = _renderer(key)(report)
    return atomic_write(out, lambda f: f.write(data))


def file_kind(path: str | Path) -> str:
    """``plan`` (a site scenario for the optimiser) or ``projection`` (a national scenario).

    Raises
    ------
    CatalogError
        The file is missing, is not TOML, or is neither kind.
    """
    p = Path(path)
    raw = read_toml(p)
    for kind, keys in FILE_KINDS.items():
        if all(k in raw for k in keys):
            return kind
    if "variants" in raw and all(k in raw for k in ("pue", "regions")):
        return "projection"  # pragma: no cover - electricity may sit in the variants only
    raise CatalogError(
        str(p),
        None,
        None,
        "neither a site scenario ([site] and [[runs]], see data/scenarios/) nor a projection "
        "([pue], [regions], [electricity], see data/projections/)",
    )


def build_report(
    path: str | Path | None = None,
    *,
    preset: str | None = None,
    command: str = "",
    **options: Any,
) -> Report:
    """Build the report for a scenario file (plan or projection) or a preset (sizing).

    Parameters
    ----------
    path : str or Path, optional
        A site scenario (``data/scenarios/*.toml``: an optimised plan) or a projection
        scenario (``data/projections/*.toml``); the kind is read from the file's keys.
    preset : str, optional
        A sizing preset (``data/presets.toml``), e.g. ``gtc2024-hopper``.
    command : str
        The command line shown in the provenance.
    **options
        Passed to the builder (``swing`` for sizings).

    Raises
    ------
    InputError
        Neither or both of ``path`` and ``preset``.
    """
    if (path is None) == (preset is None):
        raise InputError(
            "scenario/--preset",
            "both" if path is not None else "neither",
            "a scenario TOML file or --preset NAME (exactly one)",
        )
    if preset is not None:
        from planner.request import build_request

        return build_sizing_report(build_request(preset=preset), command=command, **options)
    kind = file_kind(path)  # type: ignore[arg-type]
    if kind == "plan":
        from planner.reports.plan import build_plan_report

        return build_plan_report(path, command=command, **options)  # type: ignore[arg-type]
    from planner.reports.projection import build_projection_report

    return build_projection_report(path, command=command, **options)  # type: ignore[arg-type]


__all__ = [
    "FORMATS",
    "Chart",
    "Column",
    "InputFile",
    "Provenance",
    "Quantity",
    "Report",
    "Table",
    "build_report",
    "build_sizing_report",
    "file_kind",
    "render_report",
    "resolve_format",
    "write_report",
]
