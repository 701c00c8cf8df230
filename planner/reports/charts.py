"""Charts of a report: Altair specifications from :class:`Chart` + :class:`Table`, and SVG.

Altair and ``vl-convert-python`` (the ``app`` extra) are imported lazily, inside the
functions, so the core CLI starts without them. SVG is rendered locally by vl-convert's
bundled Vega (no network); the namespace attributes are stripped because inline SVG in
HTML5 needs none, which keeps the HTML report free of any ``http`` string in markup.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.reports.model import Chart, Table

FONT = "Helvetica, Arial, sans-serif"
LOW_COLOR = "#4c78a8"
HIGH_COLOR = "#f58518"
HIGHLIGHT_COLOR = "#d62728"
OTHER_COLOR = "#9ecae1"
_XMLNS = re.compile(r'\s+xmlns(?::[A-Za-z]+)?="[^"]*"')


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


def _title(table: Table, key: str) -> str:
    try:
        return table.column(key).header
    except StopIteration:
        return key


def _axis(alt: Any, table: Table, key: str) -> Any:
    try:
        fmt = table.column(key).fmt
    except StopIteration:
        fmt = ""
    return alt.Axis(format=".0%") if fmt.endswith("%") else alt.Axis()


def altair_chart(chart: Chart, table: Table) -> Any:
    """The Altair chart for ``chart`` drawn from ``table`` (an ``alt.TopLevelMixin``)."""
    alt = _require("altair")
    df = pd.DataFrame([dict(r) for r in table.rows])
    enc = chart.encoding
    if "omit" in enc:  # "field=value": rows left out of the chart (e.g. the scope's total)
        field, _, value = enc["omit"].partition("=")
        df = df[df[field].astype(str) != value]
    if chart.kind == "tornado":
        return _tornado(alt, df, table, enc, chart.title)
    if chart.kind == "bar":
        return _bar(alt, df, table, enc, chart.title)
    if chart.kind == "line":
        return _line(alt, df, table, enc, chart.title)
    if chart.kind == "band":
        return _band(alt, df, table, enc, chart.title)
    raise ValueError(f"unknown chart kind {chart.kind!r}")  # pragma: no cover


def _config(c: Any) -> Any:
    return (
        c.configure(font=FONT)
        .configure_axis(labelFontSize=11, titleFontSize=11)
        .configure_title(fontSize=13, anchor="start")
        .configure_view(stroke=None)
    )


def _tornado(alt: Any, df: pd.DataFrame, table: Table, enc: dict[str, str], title: str) -> Any:
    x, y, color, facet = enc["x"], enc["y"], enc["color"], enc.get("facet")
    df = df.dropna(subset=[x])
    order = list(dict.fromkeys(df[y]))
    base = alt.Chart(df).encode(
        x=alt.X(f"{x}:Q", title="change from base", axis=alt.Axis(format="+%")),
        y=alt.Y(f"{y}:N", title=None, sort=order),
        yOffset=alt.YOffset(f"{color}:N", sort=["low", "high"]),
        color=alt.Color(
            f"{color}:N",
            title="factor moved",
            scale=alt.Scale(domain=["low", "high"], range=[LOW_COLOR, HIGH_COLOR]),
            legend=alt.Legend(orient="top", labelExpr="datum.label == 'low' ? 'down' : 'up'"),
        ),
        tooltip=[
            alt.Tooltip(f"{y}:N"),
            alt.Tooltip(f"{color}:N"),
            alt.Tooltip(f"{x}:Q", format="+.1%"),
        ],
    )
    bars = base.mark_bar(height={"band": 0.45})
    zero = alt.Chart(df).mark_rule(color="#333").encode(x=alt.datum(0))
    layer = alt.layer(bars, zero).properties(width=260, height=24 * len(order) + 10)
    if facet and enc.get("row"):  # several subjects (plan runs): one row of panels each
        layer = (
            layer.properties(width=150)
            .facet(
                row=alt.Row(
                    f"{enc['row']}:N", title=None, sort=list(dict.fromkeys(df[enc["row"]]))
                ),
                column=alt.Column(f"{facet}:N", title=None, sort=list(dict.fromkeys(df[facet]))),
            )
            .resolve_scale(x="independent")
        )
    elif facet:
        layer = layer.facet(
            facet=alt.Facet(f"{facet}:N", title=None, sort=list(dict.fromkeys(df[facet]))),
            columns=3,
        ).resolve_scale(x="independent")
    return _config(layer.properties(title=title))


def _bar(alt: Any, df: pd.DataFrame, table: Table, enc: dict[str, str], title: str) -> Any:
    x, y = enc["x"], enc["y"]
    df = df.dropna(subset=[x])
    order = list(dict.fromkeys(df[y]))
    kwargs: dict[str, Any] = {
        "x": alt.X(f"{x}:Q", title=_title(table, x), axis=_axis(alt, table, x)),
        "y": alt.Y(f"{y}:N", title=enc.get("y_title", _title(table, y)), sort=order),
        "tooltip": [alt.Tooltip(f"{y}:N"), alt.Tooltip(f"{x}:Q", format=",.4g")],
    }
    if "highlight" in enc:
        h = enc["highlight"]
        kwargs["color"] = alt.condition(
            f"datum.{h}", alt.value(HIGHLIGHT_COLOR), alt.value(OTHER_COLOR)
        )
    elif "color" in enc:
        col = enc["color"]
        kwargs["color"] = alt.Color(
            f"{col}:N", title=_title(table, col), legend=alt.Legend(orient="top")
        )
        kwargs["yOffset"] = alt.YOffset(f"{col}:N")
    n = len(order) * (2 if "color" in enc else 1)
    c = alt.Chart(df).mark_bar().encode(**kwargs).properties(width=620, height=18 * n + 10)
    if "facet" in enc:
        c = c.facet(row=alt.Row(f"{enc['facet']}:N", title=None))
    return _config(c.properties(title=title))


def _line(alt: Any, df: pd.DataFrame, table: Table, enc: dict[str, str], title: str) -> Any:
    x, y = enc["x"], enc["y"]
    df = df.dropna(subset=[y])
    kwargs: dict[str, Any] = {
        "x": alt.X(
            f"{x}:O" if enc.get("x_type") == "O" else f"{x}:Q",
            title=_title(table, x),
            axis=alt.Axis(format="d") if enc.get("x_type") != "O" else alt.Axis(),
        ),
        "y": alt.Y(f"{y}:Q", title=_title(table, y)),
        "tooltip": [alt.Tooltip(f"{x}"), alt.Tooltip(f"{y}:Q", format=",.4g")],
    }
    if "color" in enc:
        kwargs["color"] = alt.Color(
            f"{enc['color']}:N", title=_title(table, enc["color"]), legend=alt.Legend(orient="top")
        )
    c = alt.Chart(df).mark_line(point=True).encode(**kwargs).properties(width=620, height=280)
    return _config(c.properties(title=title))


def _band(alt: Any, df: pd.DataFrame, table: Table, enc: dict[str, str], title: str) -> Any:
    x, lo, mid, hi = enc["x"], enc["low"], enc["mid"], enc["high"]
    df = df.dropna(subset=[mid])
    color = enc.get("color")
    col_kw: dict[str, Any] = {}
    if color:
        col_kw["color"] = alt.Color(
            f"{color}:N", title=_title(table, color), legend=alt.Legend(orient="top")
        )
    xq = alt.X(f"{x}:Q", title=_title(table, x), axis=alt.Axis(format="d"))
    area = (
        alt.Chart(df)
        .mark_area(opacity=0.25)
        .encode(x=xq, y=alt.Y(f"{lo}:Q", title=_title(table, mid)), y2=f"{hi}:Q", **col_kw)
    )
    line = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=xq,
            y=f"{mid}:Q",
            tooltip=[
                alt.Tooltip(f"{x}:Q"),
                alt.Tooltip(f"{lo}:Q", format=",.4g"),
                alt.Tooltip(f"{mid}:Q", format=",.4g"),
                alt.Tooltip(f"{hi}:Q", format=",.4g"),
            ],
            **col_kw,
        )
    )
    c = alt.layer(area, line).properties(width=620, height=280)
    return _config(c.properties(title=title))


def to_svg(chart: Chart, table: Table) -> str:
    """The chart as an inline SVG string (no XML namespace attributes, no external refs)."""
    vlc = _require("vl_convert")
    spec = altair_chart(chart, table).to_dict()
    svg = vlc.vegalite_to_svg(spec)
    head, sep, rest = svg.partition(">")
    return _XMLNS.sub("", head) + sep + rest
