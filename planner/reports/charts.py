"""Charts of a report: Vega-Lite specifications from :class:`Chart` + :class:`Table`, and SVG.

The specification is written as plain data (a dict in Vega-Lite's JSON schema), so a report
needs neither Altair nor its schema validation; ``vl-convert-python`` (the ``app`` extra,
imported lazily) renders it to SVG locally with its bundled Vega (no network). The namespace
attributes are stripped because inline SVG in HTML5 needs none, which keeps the HTML report
free of any ``http`` string in markup.

The chart engine (a JavaScript runtime inside vl-convert) takes about a second to start, once
per process. :func:`warm_up` starts it on a background thread, so a face that knows early
that it will draw charts (``resolve_format`` of an HTML report) overlaps that second with
the report's building; :func:`to_svg` waits for it.
"""

from __future__ import annotations

import atexit
import re
import threading
from typing import Any

from planner.errors import InputError
from planner.reports.model import Chart, Table, clean

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
#: The smallest specification: compiling it starts the engine.
_WARM_SPEC = {"data": {"values": [{"a": 1}]}, "mark": "point", "encoding": {"x": {"field": "a"}}}

_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


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


def _start_engine() -> None:
    try:
        import vl_convert

        vl_convert.vegalite_to_vega(_WARM_SPEC)
    except Exception:  # pragma: no cover - to_svg reports a missing or broken engine
        pass


def warm_up() -> None:
    """Start the chart engine on a daemon thread (once per process; returns at once).

    vl-convert releases the GIL while it works, so the report builds meanwhile. The thread
    is joined at exit: the process never ends with the engine half started.
    """
    global _warm_thread
    with _warm_lock:
        if _warm_thread is not None:
            return
        _warm_thread = threading.Thread(target=_start_engine, name="vl-convert-warm-up")
        _warm_thread.daemon = True
        _warm_thread.start()
        atexit.register(_wait_for_engine)


def _wait_for_engine() -> None:
    thread = _warm_thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()


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


def to_svg(chart: Chart, table: Table) -> str:
    """The chart as an inline SVG string (no XML namespace attributes, no external refs)."""
    vlc = _require("vl_convert")
    _wait_for_engine()
    svg = vlc.vegalite_to_svg(vegalite_spec(chart, table))
    head, sep, rest = svg.partition(">")
    return _XMLNS.sub("", head) + sep + rest


__all__ = ["CONFIG", "to_svg", "vegalite_spec", "warm_up"]
