"""Charts of the sizing page, built with Altair: pure functions, no Streamlit calls.

Every axis names its unit and every mark has a tooltip; every title, unit and number format
of a core output is the output vocabulary's (:mod:`planner.quantities`). The frames come from
:mod:`planner.app.compute` (core results: one row per GPU count, or one per chip).

Speed: building and validating an Altair chart costs 20-80 ms, more than the sizing itself.
So each chart is built once per shape as an Altair template over *named* datasets
(``*_chart`` functions, validated against the Vega-Lite schema when first built and cached),
and a what-if only fills the datasets in (``days_vs_gpus`` etc., about a millisecond). The
public functions return the Vega-Lite dict for ``st.vega_lite_chart``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

from planner import quantities

CURRENT_COLOR = "#d62728"
LINE_COLOR = "#1f77b4"
GRID_COLOR = "#ff7f0e"
OTHER_CHIP_COLOR = "#9ecae1"

#: Named datasets of the templates.
CURVE, CURRENT, RULE, CHIPS = "curve", "current", "rule", "chips"


def tip(name: str, field: str | None = None, title: str | None = None) -> alt.Tooltip:
    """A tooltip of core output ``name`` (on column ``field``, default ``name``): the
    vocabulary's label and d3 format."""
    q = quantities.quantity(name)
    shorthand = f"{field or name}:{'N' if q.type == 'str' else 'Q'}"
    title = title or quantities.label(name)
    if q.type == "str" or not q.format:
        return alt.Tooltip(shorthand, title=title)
    return alt.Tooltip(shorthand, title=title, format=q.format)


def axis_title(name: str, log: bool = False) -> str:
    """The axis title of core output ``name``: its vocabulary label, ``log scale`` added."""
    return quantities.label(name) + (", log scale" if log else "")


_CURVE_TOOLTIP = [
    tip("gpus"),
    tip("systems"),
    tip("days"),
    tip("facility_power_mw"),
    tip("energy_mwh"),
]
_CURRENT_TOOLTIP = [alt.Tooltip("label:N", title=""), *_CURVE_TOOLTIP]
_RULE_TOOLTIP = [alt.Tooltip("label:N", title="")]


def _gpus_x() -> alt.X:
    return alt.X(
        "gpus:Q", title=axis_title("gpus", log=True), scale=alt.Scale(type="log", nice=False)
    )


def _log_y(name: str) -> alt.Y:
    return alt.Y(
        f"{name}:Q",
        title=axis_title(name, log=True),
        axis=alt.Axis(format=quantities.vega_format(name)),
        scale=alt.Scale(type="log", nice=False),
    )


def _layer(*charts: alt.Chart | alt.LayerChart) -> alt.LayerChart:
    """``alt.layer`` of charts without row/column/facet encodings.

    Altair 6 types ``alt.layer`` as ``LayerChart | FacetChart``: it returns a FacetChart only
    when every layer shares a facet encoding, which these templates never have.
    """
    chart = alt.layer(*charts)
    assert isinstance(chart, alt.LayerChart)  # no facet encodings to hoist
    return chart


def _curve_layers(y_name: str) -> list[alt.Chart]:
    line = (
        alt.Chart(alt.NamedData(name=CURVE))
        .mark_line(color=LINE_COLOR, point=alt.OverlayMarkDef(size=18))
        .encode(x=_gpus_x(), y=_log_y(y_name), tooltip=_CURVE_TOOLTIP)
    )
    point = (
        alt.Chart(alt.NamedData(name=CURRENT))
        .mark_point(color=CURRENT_COLOR, size=160, filled=True)
        .encode(x="gpus:Q", y=f"{y_name}:Q", tooltip=_CURRENT_TOOLTIP)
    )
    return [line, point]


def days_chart(with_rule: bool) -> alt.LayerChart:
    """Template: training days against GPU count (log-log), the current answer marked.

    With ``with_rule``, a vertical rule at dataset ``rule``'s ``gpus`` (the most GPUs a grid
    limit can power).
    """
    layers = _curve_layers("days")
    if with_rule:
        layers.append(
            alt.Chart(alt.NamedData(name=RULE))
            .mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2)
            .encode(x="gpus:Q", tooltip=_RULE_TOOLTIP)
        )
    return _layer(*layers).properties(title="Training time vs cluster size", height=320)


def power_chart(with_rule: bool) -> alt.LayerChart:
    """Template: peak facility power against GPU count (log-log), the current answer marked.

    With ``with_rule``, the grid limit (dataset ``rule``, field ``grid_mw``) as a labelled
    horizontal rule.
    """
    layers = _curve_layers("facility_power_mw")
    if with_rule:
        rule = alt.Chart(alt.NamedData(name=RULE))
        layers += [
            rule.mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2).encode(
                y="grid_mw:Q",
                tooltip=[
                    *_RULE_TOOLTIP,
                    tip("grid_mw"),
                ],
            ),
            rule.mark_text(align="left", dx=4, dy=-7, color=GRID_COLOR, fontWeight="bold").encode(
                x=alt.value(0), y="grid_mw:Q", text="label:N"
            ),
        ]
    return _layer(*layers).properties(title="Peak facility power vs cluster size", height=320)


#: Width of each panel of the chip comparison, px: four panels and the chip names fit the
#: main column at 1,024 px (about 680 px beside the sidebar).
CHIP_PANEL_WIDTH_PX = 120
#: Country panels of the fan charts: two a row of 210 px fit the main column at 1,024 px.
FAN_COLUMNS = 2
FAN_PANEL_WIDTH_PX = 210

#: The core outputs of the chip comparison panels (titles and formats: the vocabulary's).
COMPARISON_METRICS = ("gpus", "facility_power_mw", "energy_mwh", "cost_usd")


def chips_chart(chip_ids: tuple[str, ...], with_rule: bool) -> alt.HConcatChart:
    """Template: one bar panel per metric of :data:`COMPARISON_METRICS`, ``chip_ids`` on the
    y axis of every panel in that order (a chip without a value keeps its empty row).

    Dataset ``chips`` has ``accelerator``, ``chip_name``, ``note``, ``this`` ("this chip" or
    "other chips") and the metric columns; with ``with_rule`` the grid limit (dataset ``rule``)
    is a rule on the power panel.
    """
    tooltip = [
        tip("accelerator"),
        tip("chip_name"),
        tip("gpus"),
        tip("days"),
        tip("facility_power_mw"),
        tip("energy_mwh"),
        tip("cost_usd"),
        tip("note"),
    ]
    color = alt.Color(
        "this:N",
        scale=alt.Scale(
            domain=["this chip", "other chips"], range=[CURRENT_COLOR, OTHER_CHIP_COLOR]
        ),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    panels: list[alt.Chart | alt.LayerChart] = []
    for i, column in enumerate(COMPARISON_METRICS):
        bars = (
            alt.Chart()  # the data sits once on the hconcat
            .mark_bar()
            .encode(
                x=alt.X(
                    f"{column}:Q",
                    title=axis_title(column),
                    axis=alt.Axis(
                        format=quantities.vega_format(column), labelOverlap=True, tickCount=4
                    ),
                ),
                y=alt.Y(
                    "accelerator:N",
                    scale=alt.Scale(domain=list(chip_ids)),
                    title=quantities.label("accelerator") if i == 0 else None,
                    axis=alt.Axis(labels=i == 0, ticks=i == 0),
                ),
                color=color,
                tooltip=tooltip,
            )
            .properties(width=CHIP_PANEL_WIDTH_PX, height=22 * len(chip_ids))
        )
        if column == "facility_power_mw" and with_rule:
            rule = (
                alt.Chart(alt.NamedData(name=RULE))
                .mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2)
                .encode(x="grid_mw:Q", tooltip=_RULE_TOOLTIP)
            )
            panels.append(_layer(bars, rule))
        else:
            panels.append(bars)
    return alt.hconcat(*panels, data=alt.NamedData(name=CHIPS), spacing=8)


@lru_cache(maxsize=32)
def _template(kind: str, *args: Any) -> str:
    builders: dict[str, Callable[..., alt.TopLevelMixin]] = {
        "days": days_chart,
        "power": power_chart,
        "chips": chips_chart,
    }
    return json.dumps(builders[kind](*args).to_dict(validate=True))


def _spec(kind: str, *args: Any, datasets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    spec = json.loads(_template(kind, *args))  # a fresh copy per call
    spec["datasets"] = datasets
    return spec


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None)."""
    return json.loads(frame.to_json(orient="records"))


def _grid_label(grid_mw: float) -> str:
    """The caption of a grid-limit rule: ``grid limit 10.00 MW``."""
    return f"grid limit {quantities.format_value('grid_mw', grid_mw, unit=True)}"


def _current_row(current: dict[str, Any]) -> dict[str, Any]:
    keys = ("gpus", "systems", "days", "facility_power_mw", "energy_mwh")
    return {**{k: current.get(k) for k in keys}, "label": "this run"}


def days_vs_gpus(
    curve: pd.DataFrame, current: dict[str, Any], max_gpus_in_grid: float | None = None
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`days_chart` for a GPU-count curve and the current answer."""
    datasets = {CURVE: _records(curve), CURRENT: [_current_row(current)]}
    if max_gpus_in_grid is not None and max_gpus_in_grid > 0:
        label = (
            f"grid limit: at most {quantities.format_value('gpus', max_gpus_in_grid, unit=True)}"
        )
        datasets[RULE] = [{"gpus": float(max_gpus_in_grid), "label": label}]
    return _spec("days", RULE in datasets, datasets=datasets)


def power_vs_gpus(
    curve: pd.DataFrame, current: dict[str, Any], grid_mw: float | None = None
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`power_chart`; ``grid_mw`` draws the grid limit."""
    datasets = {CURVE: _records(curve), CURRENT: [_current_row(current)]}
    if grid_mw is not None:
        datasets[RULE] = [{"grid_mw": float(grid_mw), "label": _grid_label(grid_mw)}]
    return _spec("power", grid_mw is not None, datasets=datasets)


def chip_comparison(
    frame: pd.DataFrame, current_chip: str, grid_mw: float | None = None
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`chips_chart`: every chip for the same run and deadline.

    ``frame`` has ``accelerator``, ``chip_name``, ``note`` and the metric columns (NaN where
    a chip lacks the precision or a price).
    """
    data = frame.copy()
    data["this"] = (
        data["accelerator"].eq(current_chip).map({True: "this chip", False: "other chips"})
    )
    data["note"] = data["note"].fillna("").replace("", "-")
    columns = ["accelerator", "chip_name", "note", "this", "days", *COMPARISON_METRICS]
    datasets = {CHIPS: _records(data[columns])}
    if grid_mw is not None:
        datasets[RULE] = [{"grid_mw": float(grid_mw), "label": _grid_label(grid_mw)}]
    chip_ids = tuple(str(c) for c in data["accelerator"])
    return _spec("chips", chip_ids, grid_mw is not None, datasets=datasets)


# --- Optimise: cost against the deadline, candidate chips against the grid -----------------

PARETO, CANDIDATES, FAN = "pareto", "candidates", "fan"
EFFICIENT_COLOR = LINE_COLOR
DOMINATED_COLOR = "#bbbbbb"
DOES_NOT_FIT_COLOR = "#c7c7c7"

_PARETO_TOOLTIP = [
    tip("deadline_days", "days"),
    tip("cost_usd"),
    tip("longest_days"),
    tip("facility_power_mw"),
    tip("gpus"),
    alt.Tooltip("plan:N", title="plan"),
    alt.Tooltip("front:N", title="Pareto"),
]


def pareto_chart() -> alt.LayerChart:
    """Template: least cost against the longest deadline, the efficient points joined.

    Dataset ``pareto``: one row per feasible deadline of
    :func:`planner.optimization.pareto` with ``front`` ("efficient" or "dominated");
    dataset ``current``: the scenario's own deadline (``label``).
    """
    x = alt.X("days:Q", title=axis_title("deadline_days"), scale=alt.Scale(zero=False))
    y = alt.Y(
        "cost_usd:Q",
        title=axis_title("cost_usd"),
        axis=alt.Axis(format=quantities.vega_format("cost_usd")),
        scale=alt.Scale(zero=False),
    )
    data = alt.Chart(alt.NamedData(name=PARETO))
    line = (
        data.transform_filter("datum.front == 'efficient'")
        .mark_line(color=EFFICIENT_COLOR)
        .encode(x=x, y=y, tooltip=_PARETO_TOOLTIP)
    )
    points = data.mark_point(filled=True, size=70).encode(
        x="days:Q",
        y="cost_usd:Q",
        color=alt.Color(
            "front:N",
            title=None,
            scale=alt.Scale(
                domain=["efficient", "dominated"], range=[EFFICIENT_COLOR, DOMINATED_COLOR]
            ),
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=_PARETO_TOOLTIP,
    )
    current = (
        alt.Chart(alt.NamedData(name=CURRENT))
        .mark_point(color=CURRENT_COLOR, size=220, filled=False, strokeWidth=2.5)
        .encode(
            x="days:Q", y="cost_usd:Q", tooltip=[alt.Tooltip("label:N", title=""), *_PARETO_TOOLTIP]
        )
    )
    return _layer(line, points, current).properties(
        title="Least cost against the deadline (Pareto sweep)", height=320
    )


def candidates_chart(labels: tuple[str, ...]) -> alt.LayerChart:
    """Template: every candidate chip alone, per run, at its deadline: peak MW with the grid.

    Dataset ``candidates``: ``label`` ("run / chip", in ``labels`` order), ``status`` ("in
    the plan", "fits", "does not fit"), the sizing columns; dataset ``rule``: ``grid_mw``.
    """
    tooltip = [
        tip("run"),
        tip("chip"),
        tip("gpus"),
        tip("days"),
        tip("facility_power_mw"),
        tip("energy_mwh"),
        tip("cost_usd"),
        alt.Tooltip("status:N", title=""),
    ]
    bars = (
        alt.Chart(alt.NamedData(name=CANDIDATES))
        .mark_bar()
        .encode(
            x=alt.X(
                "facility_power_mw:Q",
                title=axis_title("facility_power_mw"),
                axis=alt.Axis(format=quantities.vega_format("facility_power_mw")),
            ),
            y=alt.Y(
                "label:N",
                title=f"{quantities.label('run')} / {quantities.label('chip').lower()}",
                scale=alt.Scale(domain=list(labels)),
            ),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(
                    domain=["in the plan", "fits", "does not fit"],
                    range=[CURRENT_COLOR, OTHER_CHIP_COLOR, DOES_NOT_FIT_COLOR],
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=tooltip,
        )
    )
    rule = (
        alt.Chart(alt.NamedData(name=RULE))
        .mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2)
        .encode(
            x="grid_mw:Q",
            tooltip=[tip("grid_mw")],
        )
    )
    # fit-x: the width follows the page, the height stays the bars' own (Streamlit's default
    # "fit" would squeeze a band scale into whatever the title, axis and legend leave over).
    return _layer(bars, rule).properties(
        title="Each candidate chip alone at the run's deadline",
        height=28 * len(labels) + 12,
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


# --- National demand: fan chart by country ------------------------------------------------

#: The core outputs a fan chart can show (titles and formats: the vocabulary's).
FAN_QUANTITIES = ("total_twh", "total_share")


def fan_chart(
    quantity: str, countries: tuple[str, ...], columns: int, whiskers: bool
) -> alt.FacetChart:
    """Template: P10-P90 band, P50 line and published points, one panel per country.

    Dataset ``fan`` (one for all layers, as a facet needs): ``kind`` ("projection" or
    "published"), ``country``, ``series`` (the variant), ``year`` and ``low`` / ``mid`` /
    ``high`` / ``central`` (projection rows) or ``published`` / ``model`` / ``note``
    (published rows). Each panel has its own y scale (the world and a region differ ~30x).
    """
    if quantity not in FAN_QUANTITIES:
        raise KeyError(quantity)
    title = axis_title(quantity)
    x = alt.X(
        "year:Q",
        title=quantities.label("year"),
        axis=alt.Axis(format=quantities.vega_format("year"), tickMinStep=1),
    )
    y_axis = alt.Axis(format=quantities.vega_format(quantity), tickCount=5)
    color = alt.Color(
        "series:N", title=quantities.label("variant"), legend=alt.Legend(orient="bottom")
    )
    label = quantities.label(quantity)
    projection_tooltip = [
        tip("country"),
        tip("variant", "series"),
        tip("year"),
        tip(quantity, "low", f"{label} P10"),
        tip(quantity, "mid", f"{label} P50"),
        tip(quantity, "high", f"{label} P90"),
        tip(quantity, "central", f"{label} central"),
    ]
    published_tooltip = [
        tip("country"),
        tip("variant", "series"),
        tip("year"),
        tip(quantity, "published", f"{label} published"),
        tip(quantity, "model", f"{label} model"),
        tip("relative_difference", "difference"),
        tip("note"),
    ]
    proj = alt.Chart().transform_filter("datum.kind == 'projection'")
    layers: list[alt.Chart] = [
        proj.mark_area(opacity=0.22).encode(
            x=x,
            y=alt.Y("low:Q", title=title, axis=y_axis),
            y2="high:Q",
            color=color,
            tooltip=projection_tooltip,
        ),
        proj.mark_line().encode(x="year:Q", y="mid:Q", color=color, tooltip=projection_tooltip),
        proj.mark_point(filled=True, size=30).encode(
            x="year:Q", y="mid:Q", color=color, tooltip=projection_tooltip
        ),
    ]
    if whiskers:
        layers.append(
            proj.mark_rule(strokeWidth=2).encode(
                x="year:Q", y="low:Q", y2="high:Q", color=color, tooltip=projection_tooltip
            )
        )
    layers.append(
        alt.Chart()
        .transform_filter("datum.kind == 'published'")
        .mark_point(shape="diamond", filled=True, size=150, stroke="black", strokeWidth=1.2)
        .encode(x="year:Q", y="published:Q", color=color, tooltip=published_tooltip)
    )
    return (
        alt.layer(*layers, data=alt.NamedData(name=FAN))
        .properties(width=FAN_PANEL_WIDTH_PX, height=190)
        .facet(
            facet=alt.Facet("country:N", title=None, sort=list(countries)),
            columns=columns,
        )
        .resolve_scale(y="independent")
    )


@lru_cache(maxsize=64)
def _template_new(kind: str, *args: Any) -> str:
    """The pages' other templates (as :func:`_template`), validated once per shape."""
    builders: dict[str, Callable[..., alt.TopLevelMixin]] = {
        "pareto": pareto_chart,
        "candidates": candidates_chart,
        "fan": fan_chart,
        "serve_users": serve_users_chart,
        "serve_reasoning": serve_reasoning_chart,
        "timeline": timeline_chart,
    }
    return json.dumps(builders[kind](*args).to_dict(validate=True))


def _spec_new(kind: str, *args: Any, datasets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    spec = json.loads(_template_new(kind, *args))
    spec["datasets"] = datasets
    return spec


def pareto_days(frame: pd.DataFrame, current_days: float) -> dict[str, Any]:
    """Vega-Lite dict of :func:`pareto_chart` for a :func:`planner.optimization.pareto` frame.

    Infeasible deadlines have no cost and are left out (the page lists them).
    """
    feasible = frame[frame["cost_usd"].notna()].copy()
    feasible["front"] = feasible["efficient"].map({True: "efficient", False: "dominated"})
    columns = ["days", "cost_usd", "longest_days", "facility_power_mw", "gpus", "plan", "front"]
    rows = _records(feasible[columns])
    here = [{**r, "label": "this scenario's deadline"} for r in rows if r["days"] == current_days]
    return _spec_new("pareto", datasets={PARETO: rows, CURRENT: here})


def candidates(
    comparison: pd.DataFrame, chosen: set[tuple[str, str]], grid_mw: float
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`candidates_chart` for a plan's comparison frame."""
    data = comparison[comparison["facility_power_mw"].notna()].copy()
    multi_run = data["run"].nunique() > 1
    data["label"] = [
        f"{r} / {c}" if multi_run else str(c)
        for r, c in zip(data["run"], data["chip"], strict=True)
    ]
    data["status"] = [
        "in the plan" if (r, c) in chosen else ("fits" if bool(f) else "does not fit")
        for r, c, f in zip(data["run"], data["chip"], data["fits_grid"], strict=True)
    ]
    columns = [
        "label",
        "run",
        "chip",
        "status",
        "gpus",
        "days",
        "facility_power_mw",
        "energy_mwh",
        "cost_usd",
    ]
    labels = tuple(str(label) for label in data["label"])
    datasets = {CANDIDATES: _records(data[columns]), RULE: [{"grid_mw": float(grid_mw)}]}
    return _spec_new("candidates", labels, datasets=datasets)


def fan(
    frame: pd.DataFrame,
    published: list[dict[str, Any]],
    quantity: str,
    countries: tuple[str, ...],
    columns: int = FAN_COLUMNS,
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`fan_chart` for a projection frame and its published figures.

    Without Monte Carlo columns (``<quantity>_p10`` ...) the band collapses to the central
    values. Published figures of other quantities are left out.
    """
    data = frame[frame["country"].isin(countries)]
    has_band = f"{quantity}_p10" in data.columns
    proj = pd.DataFrame(
        {
            "kind": "projection",
            "country": data["country"],
            "series": data["variant"],
            "year": data["year"],
            "central": data[quantity],
            "low": data[f"{quantity}_p10"] if has_band else data[quantity],
            "mid": data[f"{quantity}_p50"] if has_band else data[quantity],
            "high": data[f"{quantity}_p90"] if has_band else data[quantity],
        }
    )
    pub = [
        {
            "kind": "published",
            "country": p["country"],
            "series": p["variant"],
            "year": p["year"],
            "published": p["published"],
            "model": p["model"],
            "difference": p["relative_difference"],
            "note": p.get("note") or "",
        }
        for p in published
        if p["quantity"] == quantity and p["country"] in countries
    ]
    whiskers = data["year"].nunique() <= 2
    datasets = {FAN: _records(proj) + json.loads(json.dumps(pub, default=float))}
    return _spec_new(
        "fan",
        quantity,
        tuple(countries),
        max(1, min(columns, len(countries))),
        whiskers,
        datasets=datasets,
    )


# --- Serve a model: GPUs and peak MW against users, Wh per query against reasoning --------

SERVE_CURVE = "serve_curve"
_SERVE_TOOLTIP = [
    tip("users"),
    tip("reasoning_multiplier"),
    tip("gpus"),
    tip("systems"),
    tip("facility_power_mw"),
    tip("wh_per_query"),
]
#: ``metric -> chart title`` of the users charts.
SERVE_USERS_METRICS = {
    metric: f"{quantities.label(metric, unit=False)} vs "
    f"{quantities.label('users', unit=False).lower()}"
    for metric in ("gpus", "facility_power_mw")
}


def _serve_layers(x: str, y: str) -> list[alt.Chart]:
    line = (
        alt.Chart(alt.NamedData(name=SERVE_CURVE))
        .mark_line(color=LINE_COLOR, point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                f"{x}:Q",
                title=axis_title(x, log=True),
                axis=alt.Axis(format=quantities.vega_format(x)),
                scale=alt.Scale(type="log", nice=False),
            ),
            y=_log_y(y),
            tooltip=_SERVE_TOOLTIP,
        )
    )
    point = (
        alt.Chart(alt.NamedData(name=CURRENT))
        .mark_point(color=CURRENT_COLOR, size=160, filled=True)
        .encode(x=f"{x}:Q", y=f"{y}:Q", tooltip=[alt.Tooltip("label:N", title=""), *_SERVE_TOOLTIP])
    )
    return [line, point]


def serve_users_chart(metric: str, with_rule: bool) -> alt.LayerChart:
    """Template: ``metric`` (GPUs or peak facility MW) against daily users (log-log), the
    service marked; with ``with_rule`` the grid limit (dataset ``rule``: ``grid_mw`` on the
    MW chart, ``users``, the most users that fit, on the GPUs chart)."""
    title = SERVE_USERS_METRICS[metric]
    layers = _serve_layers("users", metric)
    if with_rule:
        rule = alt.Chart(alt.NamedData(name=RULE))
        if metric == "facility_power_mw":
            layers += [
                rule.mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2).encode(
                    y="grid_mw:Q",
                    tooltip=[
                        *_RULE_TOOLTIP,
                        tip("grid_mw"),
                    ],
                ),
                rule.mark_text(
                    align="left", dx=4, dy=-7, color=GRID_COLOR, fontWeight="bold"
                ).encode(x=alt.value(0), y="grid_mw:Q", text="label:N"),
            ]
        else:
            layers.append(
                rule.mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2).encode(
                    x="users:Q", tooltip=_RULE_TOOLTIP
                )
            )
    return _layer(*layers).properties(title=title, height=300)


def serve_reasoning_chart() -> alt.LayerChart:
    """Template: facility energy per query against the reasoning multiplier (log-log), the
    service marked."""
    layers = _serve_layers("reasoning_multiplier", "wh_per_query")
    return _layer(*layers).properties(title="Energy per query vs test-time reasoning", height=300)


def _serve_current(current: dict[str, Any], reasoning: float) -> dict[str, Any]:
    keys = ("gpus", "systems", "facility_power_mw", "wh_per_query")
    return {
        **{k: current.get(k) for k in keys},
        "reasoning_multiplier": reasoning,
        "label": "this service",
    }


def serve_users(
    curve: pd.DataFrame,
    current: dict[str, Any],
    users: float,
    metric: str,
    grid: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`serve_users_chart` for a users curve
    (:func:`planner.app.compute.serving_users_curve`) and the service ``current``.

    ``grid`` (the page's :func:`planner.serving.serving_grid_fit` fields) draws the grid
    limit: a horizontal rule on the MW chart; on the GPUs chart a vertical rule at the users
    that fit when the service is short. Infeasible points are left out.
    """
    data = curve[curve["feasible"].astype(bool)]
    row = {**_serve_current(current, float("nan")), "users": float(users)}
    row.pop("reasoning_multiplier")
    datasets = {SERVE_CURVE: _records(data), CURRENT: [row]}
    with_rule = False
    if grid is not None and metric == "facility_power_mw":
        datasets[RULE] = [
            {"grid_mw": float(grid["grid_mw"]), "label": _grid_label(grid["grid_mw"])}
        ]
        with_rule = True
    elif grid is not None and not grid["fits"] and grid["max_users"] > 0:
        label = f"grid limit: about {quantities.format_value('users', grid['max_users'])} users"
        datasets[RULE] = [{"users": float(grid["max_users"]), "label": label}]
        with_rule = True
    return _spec_new("serve_users", metric, with_rule, datasets=datasets)


def serve_reasoning(
    curve: pd.DataFrame, current: dict[str, Any], reasoning: float
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`serve_reasoning_chart` for a reasoning curve
    (:func:`planner.app.compute.serving_reasoning_curve`); infeasible points left out."""
    data = curve[curve["feasible"].astype(bool)]
    datasets = {SERVE_CURVE: _records(data), CURRENT: [_serve_current(current, reasoning)]}
    return _spec_new("serve_reasoning", datasets=datasets)


# --- Size: the cluster's power over time, with and without a mitigation ----------------------

TIMELINE = "timeline"


def timeline_chart() -> alt.Chart:
    """Template: grid-side facility power against time, one line per case (without / with
    the mitigation), the phase in the tooltip."""
    return (
        alt.Chart(alt.NamedData(name=TIMELINE))
        .mark_line(strokeWidth=1.5, interpolate="linear")
        .encode(
            x=alt.X(
                "time_s:Q",
                title=axis_title("time_s"),
                axis=alt.Axis(format=quantities.vega_format("time_s")),
            ),
            y=alt.Y(
                "grid_side_power_mw:Q",
                title=axis_title("grid_side_power_mw"),
                axis=alt.Axis(format=quantities.vega_format("grid_side_power_mw")),
                scale=alt.Scale(zero=False),
            ),
            color=alt.Color(
                "power_case:N",
                title=quantities.label("power_case"),
                legend=alt.Legend(orient="top"),
            ),
            strokeDash=alt.StrokeDash("power_case:N", legend=None),
            tooltip=[tip("time_s"), tip("phase"), tip("power_case"), tip("grid_side_power_mw")],
        )
        .properties(
            title="Power over training steps, a checkpoint, a failure and its restart", height=300
        )
    )


def power_over_time(frame: pd.DataFrame) -> dict[str, Any]:
    """Vega-Lite dict of :func:`timeline_chart` for a
    :func:`planner.sizing.power_timeline` frame."""
    columns = ["time_s", "phase", "power_case", "grid_side_power_mw"]
    return _spec_new("timeline", datasets={TIMELINE: _records(frame[columns])})
