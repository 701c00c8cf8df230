"""Charts of a report: Vega-Lite specifications from :class:`Chart` + :class:`Table`, and SVG.

The specification is written as plain data (a dict in Vega-Lite's JSON schema), so a report
needs neither Altair nor its schema validation; ``vl-convert-python`` (the ``app`` extra,
imported lazily) renders it to SVG locally with its bundled Vega (no network). The namespace
attributes are stripped because inline SVG in HTML5 needs none, which keeps the HTML report
free of any ``http`` string in markup.

The chart engine (a JavaScript runtime inside vl-convert) takes about half a second of CPU to
start, once per process, and holds the interpreter's lock all that time, so a thread cannot
overlap it with other Python work. :func:`warm_up` therefore starts it in a helper process
(:mod:`planner.reports._chart_engine`): a face that knows early that it will draw charts
(``resolve_format`` of an HTML file) gets the engine started beside the report's building,
and :func:`to_svgs` hands the helper the report's charts, and every later batch of the
process, until it ends (at exit). Without a helper, or when it fails, charts are drawn
in-process.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import InputError

if TYPE_CHECKING:  # the model (and NumPy) is imported by the charts, not by warm_up
    from planner.reports.model import Chart, Table

FONT = "Helvetica, Arial, sans-serif"
LOW_COLOR = "#4c78a8"
HIGH_COLOR = "#f58518"
HIGHLIGHT_COLOR = "#d62728"
OTHER_COLOR = "#9ecae1"
_XMLNS = re.compile(r'\s+xmlns(?::[A-Za-z]+)?="[^"]*"')
CONFIG: dict[str, Any] = {
    "font": FONT,
    "axis": {"labelFontSize": 11, "titleFontSize": 11},
    "title": {"fontSize": 13, "anchor": "start"},
    "view": {"stroke": None},
}
#: The helper process that runs the engine beside this one (run isolated, ``-I -S``: no
#: site packages are processed, vl-convert is imported from the folder it is passed).
_HELPER = Path(__file__).with_name("_chart_engine.py")

#: Held while the helper is started, stopped or asked for charts (one request at a time).
_engine_lock = threading.Lock()
_engine: subprocess.Popen[bytes] | None = None
#: The process that started the helper: a forked child (a worker pool) inherits the handle
#: but never uses or stops it.
_engine_pid = 0
#: True once this process has started a helper or drawn a chart itself: later warm-ups do
#: nothing (the engine already started is the faster one).
_engine_started = False


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            "format",
            "html",
            "md, json or xlsx",
            detail=f"HTML charts need {module}: pip install 'planner[app]'",
        ) from None


def _search_path(module: str) -> str | None:
    """The folder to put on ``sys.path`` to import ``module``, without importing it."""
    from importlib.util import find_spec

    try:
        spec = find_spec(module)
    except (ImportError, ValueError):  # pragma: no cover - a broken install
        return None
    if spec is None or not spec.origin:
        return None
    origin = Path(spec.origin)
    return str(origin.parent.parent if spec.submodule_search_locations else origin.parent)


def warm_up() -> None:
    """Start the chart engine in a helper process (once per process; returns at once).

    Nothing happens when the engine was started before (here or in a helper), or when
    vl-convert is not installed (:func:`to_svgs` then says what is missing). The helper
    draws every later batch of charts of this process and is stopped at exit.
    """
    global _engine, _engine_pid, _engine_started
    with _engine_lock:
        if _engine_started:
            return
        _engine_started = True
        path = _search_path("vl_convert")
        if path is None or not sys.executable:
            return
        try:
            _engine = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_HELPER), path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:  # pragma: no cover - no interpreter to start: draw in-process
            return
        _engine_pid = os.getpid()
        atexit.register(stop_engine)


def stop_engine() -> None:
    """Stop the helper process, if one runs (later charts are drawn in-process). Run at
    exit; a face may call it earlier to free the helper's memory."""
    global _engine
    with _engine_lock:
        if _engine_pid != os.getpid():
            return
        proc, _engine = _engine, None
        if proc is not None:
            _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def _from_helper(specs: list[dict[str, Any]]) -> list[str] | None:
    """The helper's SVGs for ``specs``, or None (no helper, or it failed: the caller draws
    them in-process, which reports the error). A helper that failed is stopped; one that
    could not draw a chart (it answers ``null``) stays for the next batch."""
    global _engine
    with _engine_lock:
        proc = _engine
        if proc is None or _engine_pid != os.getpid():
            return None
        assert proc.stdin is not None and proc.stdout is not None
        try:  # one request per line: JSON escapes every newline inside a string
            proc.stdin.write(json.dumps(specs).encode("utf-8") + b"\n")
            proc.stdin.flush()
            answer = proc.stdout.readline()
            svgs = json.loads(answer) if answer else None
        except (OSError, ValueError):
            svgs = None
            answer = b""
        if not answer:  # the helper ended (no vl-convert there, killed, crashed)
            _engine = None
            _end(proc)
            return None
    if not isinstance(svgs, list) or len(svgs) != len(specs):
        return None
    return [str(svg) for svg in svgs]


def _header(table: Table, key: str) -> str:
    try:
        return table.column(key).header
    except StopIteration:
        return key


def _is_percent(table: Table, key: str) -> bool:
    try:
        return table.column(key).fmt.endswith("%")
    except StopIteration:
        return False


def _field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"field": name, "type": kind, **extra}


def _unique(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return list(dict.fromkeys(r.get(key) for r in rows))


def vegalite_spec(chart: Chart, table: Table) -> dict[str, Any]:
    """The Vega-Lite specification (a JSON-ready dict) of ``chart`` drawn from ``table``."""
    from planner.reports.model import clean

    rows = [clean(dict(r)) for r in table.rows]
    enc = chart.encoding
    if "omit" in enc:  # "field=value": rows left out of the chart (e.g. the scope's total)
        field, _, value = enc["omit"].partition("=")
        rows = [r for r in rows if str(r.get(field)) != value]
    builders = {
        "tornado": _tornado,
        "bar": _bar,
        "line": _line,
        "band": _band,
        "area": _area,
        "stacked": _stacked,
        "heat": _heat,
    }
    if chart.kind not in builders:  # pragma: no cover - programming error
        raise ValueError(f"unknown chart kind {chart.kind!r}")
    spec = builders[chart.kind](rows, table, enc)
    return {**spec, "title": chart.title, "config": CONFIG}


def _tornado(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    x, y, color, facet = enc["x"], enc["y"], enc["color"], enc.get("facet")
    rows = [r for r in rows if r.get(x) is not None]
    order = _unique(rows, y)
    bars = {
        "mark": {"type": "bar", "height": {"band": 0.45}},
        "encoding": {
            "x": _field(x, "quantitative", title="change from base", axis={"format": "+%"}),
            "y": _field(y, "nominal", title=None, sort=order),
            "yOffset": _field(color, "nominal", sort=["low", "high"]),
            "color": _field(
                color,
                "nominal",
                title="factor moved",
                scale={"domain": ["low", "high"], "range": [LOW_COLOR, HIGH_COLOR]},
                legend={"orient": "top", "labelExpr": "datum.label == 'low' ? 'down' : 'up'"},
            ),
            "tooltip": [
                _field(y, "nominal"),
                _field(color, "nominal"),
                _field(x, "quantitative", format="+.1%"),
            ],
        },
    }
    zero = {"mark": {"type": "rule", "color": "#333"}, "encoding": {"x": {"datum": 0}}}
    layer = {"layer": [bars, zero], "width": 260, "height": 24 * len(order) + 10}
    data = {"values": rows}
    if facet and enc.get("row"):  # several subjects (plan runs): one row of panels each
        return {
            "data": data,
            "facet": {
                "row": _field(enc["row"], "nominal", title=None, sort=_unique(rows, enc["row"])),
                "column": _field(facet, "nominal", title=None, sort=_unique(rows, facet)),
            },
            "spec": {**layer, "width": 150},
            "resolve": {"scale": {"x": "independent"}},
        }
    if facet:
        return {
            "data": data,
            "facet": _field(facet, "nominal", title=None, sort=_unique(rows, facet)),
            "columns": 3,
            "spec": layer,
            "resolve": {"scale": {"x": "independent"}},
        }
    return {"data": data, **layer}


def _bar(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    x, y = enc["x"], enc["y"]
    rows = [r for r in rows if r.get(x) is not None]
    order = _unique(rows, y)
    encoding: dict[str, Any] = {
        "x": _field(
            x,
            "quantitative",
            title=_header(table, x),
            **({"axis": {"format": ".0%"}} if _is_percent(table, x) else {}),
        ),
        "y": _field(y, "nominal", title=enc.get("y_title", _header(table, y)), sort=order),
        "tooltip": [_field(y, "nominal"), _field(x, "quantitative", format=",.4g")],
    }
    if "highlight" in enc:
        encoding["color"] = {
            "condition": {"test": f"datum.{enc['highlight']}", "value": HIGHLIGHT_COLOR},
            "value": OTHER_COLOR,
        }
    elif "color" in enc:
        col = enc["color"]
        encoding["color"] = _field(
            col, "nominal", title=_header(table, col), legend={"orient": "top"}
        )
        encoding["yOffset"] = _field(col, "nominal")
    n = len(order) * (2 if "color" in enc else 1)
    if "facet" in enc:  # one panel per value (own x scale: the panels' units differ)
        facet = enc["facet"]
        return {
            "data": {"values": rows},
            "facet": _field(facet, "nominal", title=None, sort=_unique(rows, facet)),
            "columns": 3,
            "spec": {
                "mark": {"type": "bar"},
                "encoding": encoding,
                "width": 200,
                "height": 18 * n + 10,
            },
            "resolve": {"scale": {"x": "independent", "y": "independent"}},
        }
    return {
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": encoding,
        "width": 620,
        "height": 18 * n + 10,
    }


def _line(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    x, y = enc["x"], enc["y"]
    rows = [r for r in rows if r.get(y) is not None]
    ordinal = enc.get("x_type") == "O"
    encoding: dict[str, Any] = {
        "x": _field(x, "ordinal", title=_header(table, x))
        if ordinal
        else _field(x, "quantitative", title=_header(table, x), axis={"format": "d"}),
        "y": _field(y, "quantitative", title=_header(table, y)),
        "tooltip": [
            _field(x, "ordinal" if ordinal else "quantitative"),
            _field(y, "quantitative", format=",.4g"),
        ],
    }
    if "color" in enc:
        encoding["color"] = _field(
            enc["color"], "nominal", title=_header(table, enc["color"]), legend={"orient": "top"}
        )
    return {
        "data": {"values": rows},
        "mark": {"type": "line", "point": True},
        "encoding": encoding,
        "width": 620,
        "height": 280,
    }


def _band(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    x, lo, mid, hi = enc["x"], enc["low"], enc["mid"], enc["high"]
    rows = [r for r in rows if r.get(mid) is not None]
    color: dict[str, Any] = {}
    if enc.get("color"):
        color["color"] = _field(
            enc["color"], "nominal", title=_header(table, enc["color"]), legend={"orient": "top"}
        )
    xq = _field(x, "quantitative", title=_header(table, x), axis={"format": "d"})
    area = {
        "mark": {"type": "area", "opacity": 0.25},
        "encoding": {
            "x": xq,
            "y": _field(lo, "quantitative", title=_header(table, mid)),
            "y2": {"field": hi},
            **color,
        },
    }
    line = {
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": xq,
            "y": _field(mid, "quantitative"),
            "tooltip": [
                _field(x, "quantitative"),
                *(_field(k, "quantitative", format=",.4g") for k in (lo, mid, hi)),
            ],
            **color,
        },
    }
    return {"data": {"values": rows}, "layer": [area, line], "width": 620, "height": 280}


def _ordinal_x(rows: list[dict[str, Any]], table: Table, x: str) -> dict[str, Any]:
    return _field(x, "ordinal", title=_header(table, x), sort=sorted(_unique(rows, x), key=str))


def _area(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    """Stacked areas of ``y`` by ``color`` over an ordinal ``x`` (quarters); with ``total``,
    a line of that field summed over the ``color`` groups at each ``x`` (the power
    available against the MW drawn)."""
    x, y, color = enc["x"], enc["y"], enc["color"]
    rows = [r for r in rows if r.get(y) is not None]
    xo = _ordinal_x(rows, table, x)
    area = {
        "mark": {"type": "area", "opacity": 0.8},
        "encoding": {
            "x": xo,
            "y": _field(y, "quantitative", title=_header(table, y), aggregate="sum", stack=True),
            "color": _field(
                color, "nominal", title=_header(table, color), legend={"orient": "top"}
            ),
            "tooltip": [
                _field(x, "ordinal"),
                _field(color, "nominal"),
                _field(y, "quantitative", aggregate="sum", format=",.4g"),
            ],
        },
    }
    layers: list[dict[str, Any]] = [area]
    if enc.get("total"):
        total = enc["total"]
        layers.append(
            {
                "mark": {
                    "type": "line",
                    "color": "#333",
                    "strokeDash": [6, 3],
                    "point": {"color": "#333"},
                },
                "encoding": {
                    "x": xo,
                    "y": _field(total, "quantitative", aggregate="sum"),
                    "tooltip": [
                        _field(x, "ordinal"),
                        _field(total, "quantitative", aggregate="sum", format=",.4g"),
                    ],
                },
            }
        )
    return {"data": {"values": rows}, "layer": layers, "width": 620, "height": 280}


def _stacked(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    """Bars of ``y`` over an ordinal ``x``, stacked by ``color`` (summed within a group)."""
    x, y, color = enc["x"], enc["y"], enc["color"]
    rows = [r for r in rows if r.get(y) is not None]
    return {
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "x": _ordinal_x(rows, table, x),
            "y": _field(y, "quantitative", title=_header(table, y), aggregate="sum"),
            "color": _field(
                color, "nominal", title=_header(table, color), legend={"orient": "top"}
            ),
            "tooltip": [
                _field(x, "ordinal"),
                _field(color, "nominal"),
                _field(y, "quantitative", aggregate="sum", format=",.4g"),
            ],
        },
        "width": 620,
        "height": 280,
    }


def _heat(rows: list[dict[str, Any]], table: Table, enc: dict[str, str]) -> dict[str, Any]:
    """A grid of ``x`` (ordinal) by ``y`` (nominal) cells shaded by ``color`` summed within
    a cell: a schedule (runs by quarter, shaded by the share of their work)."""
    x, y, color = enc["x"], enc["y"], enc["color"]
    rows = [r for r in rows if r.get(color) is not None]
    order = _unique(rows, y)
    pct = _is_percent(table, color)
    return {
        "data": {"values": rows},
        "mark": {"type": "rect"},
        "encoding": {
            "x": _ordinal_x(rows, table, x),
            "y": _field(y, "nominal", title=_header(table, y), sort=order),
            "color": _field(
                color,
                "quantitative",
                title=_header(table, color),
                aggregate="sum",
                scale={"scheme": "blues"},
                legend={"orient": "top", **({"format": ".0%"} if pct else {})},
            ),
            "tooltip": [
                _field(y, "nominal"),
                _field(x, "ordinal"),
                _field(color, "quantitative", aggregate="sum", format=".1%" if pct else ",.4g"),
            ],
        },
        "width": 620,
        "height": 28 * len(order) + 10,
    }


def _inline(svg: str) -> str:
    """``svg`` without XML namespace attributes (inline SVG in HTML5 needs none)."""
    head, sep, rest = svg.partition(">")
    return _XMLNS.sub("", head) + sep + rest


def to_svgs(charts: Sequence[tuple[Chart, Table]]) -> list[str]:
    """Each ``(chart, table)`` as an inline SVG string (no XML namespace attributes, no
    external refs), in order: drawn by the helper process that :func:`warm_up` started,
    or in-process."""
    global _engine_started
    specs = [vegalite_spec(chart, table) for chart, table in charts]
    if not specs:
        return []
    svgs = _from_helper(specs)
    if svgs is None:
        vlc = _require("vl_convert")
        _engine_started = True
        svgs = [vlc.vegalite_to_svg(spec) for spec in specs]
    return [_inline(svg) for svg in svgs]


def to_svg(chart: Chart, table: Table) -> str:
    """The chart as an inline SVG string (no XML namespace attributes, no external refs)."""
    return to_svgs([(chart, table)])[0]


__all__ = ["CONFIG", "stop_engine", "to_svg", "to_svgs", "vegalite_spec", "warm_up"]
