"""Capacity reports: any sizing, serving, plan, projection, build-out or sweep as HTML, XLSX,
MD or JSON.

Build a :class:`Report` once from the core's result objects, then render it in any format;
the formats cannot disagree because they render the same object::

    from planner.reports import build_report, write_report
    report = build_report(preset="gtc2024-hopper")        # or build_report("site.toml")
    report = build_report(serve_preset="chatgpt-2023")    # an inference service
    report = build_report("data/buildout/campus-2026-2030.toml")  # a build-out (or a sweep file)
    report = build_report(sweep_dir="runs/gtc-grid")       # a sweep's results folder
    write_report(report, "gtc.html")                       # format from the suffix
    data = render_report(report, "json")                   # bytes, e.g. for a download

Contents: the answer in one paragraph; headline numbers; result tables; binding constraints
and relaxations (plans); comparison with published figures (presets) or studies
(projections); a +-20% sensitivity tornado (sizings); every assumption with value, unit and
source; the inputs' SHA-256 and the planner version.

Writes are atomic and safe as root (:func:`planner.reports._atomic.atomic_write`): the
report goes to a temp file beside the target, then is renamed over it; a symlink to a regular
file is followed (the target is replaced, the link kept); a directory, device (``/dev/null``),
FIFO, socket, dangling symlink or missing directory is refused; temp files of killed writers
are removed by the next write. The file name's suffix must agree with the format
(:data:`SUFFIXES`; a name without a suffix is allowed). An unknown format, a contradicting
suffix or an unwritable path raises :class:`planner.errors.InputError` (one line) naming
``format`` or ``out``.
vl-convert-python (HTML charts) and openpyxl (XLSX) are imported only when those formats are
rendered; resolving the html format for a file starts the chart engine in a helper process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import CatalogError, InputError

if TYPE_CHECKING:
    from planner.reports.model import (
        Chart,
        Column,
        InputFile,
        Provenance,
        Quantity,
        Report,
        Table,
    )
    from planner.reports.serving import build_serving_report
    from planner.reports.sizing import build_sizing_report

#: Names this package gives from a module imported on first use (PEP 562). Importing the
#: package costs no NumPy or pydantic: ``planner report`` resolves the format (and starts
#: the chart engine of an HTML report) before it imports the core; a plan or projection
#: report never imports the sizing and serving builders.
_LAZY = {
    **dict.fromkeys(
        ("Chart", "Column", "InputFile", "Provenance", "Quantity", "Report", "Table"),
        "planner.reports.model",
    ),
    "build_serving_report": "planner.reports.serving",
    "build_sizing_report": "planner.reports.sizing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


#: The file suffixes each format may be written to (compared case-insensitively); the first
#: is the usual one. A name without a suffix (``report``) is allowed with an explicit format;
#: any other suffix, including another format's (``--format xlsx --out x.md``), is refused.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "html": (".html", ".htm"),
    "xlsx": (".xlsx",),
    "md": (".md", ".markdown"),
    "json": (".json",),
}
#: Report formats and their usual file suffix.
FORMATS: dict[str, str] = {fmt: suffixes[0] for fmt, suffixes in SUFFIXES.items()}
#: Formats printed on stdout by the CLI when no ``--out`` is given (text, short enough).
STDOUT_FORMATS: tuple[str, ...] = ("md", "json")
_SUFFIXES = {suffix: fmt for fmt, suffixes in SUFFIXES.items() for suffix in suffixes}
#: What a scenario file can hold: the kind -> keys that identify it.
FILE_KINDS = {
    "plan": ("site", "runs"),
    "projection": ("pue", "regions", "electricity"),
    "buildout": ("sites",),
    "sweep": ("base", "inputs"),
}


def resolve_format(fmt: str | None, out: str | Path | None = None, *, field: str = "out") -> str:
    """The report format: ``fmt`` if given (case-insensitive), else from ``out``'s suffix.

    An html report with an ``out`` file (what ``planner report --format html --out X``
    resolves first) starts the chart engine in a helper process
    (:func:`planner.reports.charts.warm_up`): its one-off start-up of about half a second of
    CPU then runs beside the report's building instead of after it.

    Raises
    ------
    InputError
        Naming ``format`` and listing html, xlsx, md, json; or naming ``field`` (``out``)
        when the suffix of ``out`` contradicts ``fmt`` (:func:`check_suffix`).
    """
    allowed = "one of: " + ", ".join(FORMATS)
    if fmt is None or str(fmt).strip() == "":
        if out is not None and Path(out).suffix.lower() in _SUFFIXES:
            return _prepared(_SUFFIXES[Path(out).suffix.lower()], out)
        raise InputError(
            "format", fmt, allowed, detail="give --format or an --out with a known suffix"
        )
    key = str(fmt).strip().lower()
    if key not in FORMATS:
        raise InputError("format", fmt, allowed)
    if out is not None:
        check_suffix(key, out, field)
    return _prepared(key, out)


def _prepared(key: str, out: str | Path | None) -> str:
    """``key``; the chart engine starts in a helper process for an html file."""
    if key == "html" and out is not None:
        try:
            from planner.reports.charts import warm_up
        except ImportError:  # pragma: no cover - the renderer says what is missing
            return key
        warm_up()
    return key


def check_suffix(fmt: str, out: str | os.PathLike[str], field: str = "out") -> None:
    """Refuse a file name whose suffix contradicts the format (an xlsx workbook named .md).

    Allowed: one of ``SUFFIXES[fmt]`` (any case) or no suffix at all. An existing directory
    passes here: :func:`~planner.reports._atomic.check_writable_target` refuses it.

    Raises
    ------
    InputError
        One line naming ``field``, the value and the suffixes allowed for ``fmt``.
    """
    shown = os.fsdecode(os.fspath(out))
    suffix = Path(shown).suffix
    if suffix == "" or suffix.lower() in SUFFIXES[fmt]:
        return
    if os.path.isdir(os.path.expanduser(shown)):
        return  # check_writable_target says "it is a directory", clearer than the suffix
    other = _SUFFIXES.get(suffix.lower())
    raise InputError(
        field,
        shown,
        f"a name ending in {' or '.join(SUFFIXES[fmt])} (or no suffix) for format {fmt}",
        detail=f"{suffix} is the suffix of {other} reports"
        if other
        else f"{suffix} is not a report suffix",
    )


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


def write_report(
    report: Report, out: str | Path, fmt: str | None = None, *, field: str = "out"
) -> Path:
    """Render and write atomically to ``out`` (format from ``fmt`` or the suffix).

    The path is checked before rendering (:func:`~planner.reports._atomic.check_writable_target`:
    a regular file or a new name in an existing directory; symlinks resolved; devices,
    FIFOs, sockets, directories and dangling links refused) and both the given name and, for
    a symlink, its target must have a suffix of the format (:func:`check_suffix`). The whole
    report is rendered in memory, written to a temp file in the target's directory and
    renamed over it: a failure leaves the previous file as it was.

    ``field`` names the path in error messages (``out``; a face may pass ``--out``).

    Returns
    -------
    Path
        The real file written (absolute, symlinks resolved).

    Raises
    ------
    InputError
        Naming ``format`` or ``field``; nothing is written.
    """
    from planner.reports._atomic import atomic_write, check_writable_target

    key = resolve_format(fmt, out, field=field)
    real = check_writable_target(out, field)  # fail before the (slower) rendering
    check_suffix(key, real, field)
    data = _renderer(key)(report)
    return atomic_write(out, lambda f: f.write(data), field)


def file_kind(path: str | Path) -> str:
    """``plan`` (a site scenario for the optimiser), ``projection`` (a national scenario),
    ``buildout`` (sites over quarters) or ``sweep`` (a base and inputs to vary).

    Raises
    ------
    CatalogError
        The file is missing, is not TOML, or is neither kind.
    """
    from planner.data_errors import read_toml

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
        "neither a site scenario ([site] and [[runs]], see data/scenarios/), a projection "
        "([pue], [regions], [electricity], see data/projections/), a build-out ([[sites]], "
        "see data/buildout/) nor a sweep ([base] and [inputs], see data/sweeps/)",
    )


def build_report(
    path: str | Path | None = None,
    *,
    preset: str | None = None,
    serve_preset: str | None = None,
    sweep_dir: str | Path | None = None,
    command: str = "",
    **options: Any,
) -> Report:
    """Build the report for a scenario file (plan, projection, build-out or sweep), a preset
    (sizing) or a serving preset (an inference service).

    Parameters
    ----------
    path : str or Path, optional
        A site scenario (``data/scenarios/*.toml``: an optimised plan), a projection
        scenario (``data/projections/*.toml``), a build-out (``data/buildout/*.toml``:
        :func:`planner.reports.buildout.build_buildout_report`) or a sweep
        (``data/sweeps/*.toml``, run into a temporary folder:
        :func:`planner.reports.sweep.build_sweep_report`); the kind is read from the file's
        keys.
    preset : str, optional
        A sizing preset (``data/presets.toml``), e.g. ``gtc2024-hopper``.
    serve_preset : str, optional
        A serving preset (``data/serving_presets.toml``), e.g. ``chatgpt-2023``
        (:func:`planner.reports.serving.build_serving_report`; ``grid_mw`` may be passed).
    sweep_dir : str or Path, optional
        A folder ``planner sweep --out DIR`` wrote: its Parquet results are reported, nothing
        is run (:func:`planner.reports.sweep.build_sweep_report`).
    command : str
        The command line shown in the provenance.
    **options
        Passed to the builder (``swing`` for sizings).

    Raises
    ------
    InputError
        Not exactly one of ``path``, ``preset``, ``serve_preset`` and ``sweep_dir``.
    """
    given = sum(x is not None for x in (path, preset, serve_preset, sweep_dir))
    if given != 1:
        raise InputError(
            "scenario/--preset",
            "more than one" if given else "neither",
            "a scenario TOML file, --preset NAME, --serve-preset NAME or --from SWEEP_DIR "
            "(exactly one)",
        )
    if sweep_dir is not None:
        from planner.reports.sweep import build_sweep_report

        return build_sweep_report(from_dir=sweep_dir, command=command)
    if serve_preset is not None:
        from planner.reports.serving import build_serving_report
        from planner.serving_presets import build_service_request

        return build_serving_report(build_service_request(serve_preset), command=command, **options)
    if preset is not None:
        from planner.reports.sizing import build_sizing_report
        from planner.request import build_request

        return build_sizing_report(build_request(preset=preset), command=command, **options)
    kind = file_kind(path)  # type: ignore[arg-type]
    if kind == "buildout":
        from planner.reports.buildout import build_buildout_report

        return build_buildout_report(path, command=command, **options)  # type: ignore[arg-type]
    if kind == "sweep":
        from planner.reports.sweep import build_sweep_report

        return build_sweep_report(path, command=command, **options)
    if kind == "plan":
        from planner.reports.plan import build_plan_report

        return build_plan_report(path, command=command, **options)  # type: ignore[arg-type]
    from planner.reports.projection import build_projection_report

    return build_projection_report(path, command=command, **options)  # type: ignore[arg-type]


__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Chart",
    "Column",
    "InputFile",
    "Provenance",
    "Quantity",
    "Report",
    "Table",
    "build_report",
    "build_serving_report",
    "build_sizing_report",
    "check_suffix",
    "file_kind",
    "render_report",
    "resolve_format",
    "write_report",
]
