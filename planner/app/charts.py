"""Charts of the sizing page, built with Altair: pure functions, no Streamlit calls.

Every axis names its unit and every mark has a tooltip. The frames come from
:mod:`planner.app.compute` (core results: one row per GPU count, or one per chip).

Speed: building and validating an Altair chart costs 20-80 ms, more than the sizing itself.
So each chart is built once per shape as an Altair template over *named* datasets
(``*_chart`` functions, validated against the Vega-Lite schema when first built and cached),
and a what-if only fills the datasets in (``days_vs_gpus`` etc., about a millisecond). The
public functions return the Vega-Lite dict for ``st.vega_lite_chart``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

CURRENT_COLOR = "#d62728"
LINE_COLOR = "#1f77b4"
GRID_COLOR = "#ff7f0e"
OTHER_CHIP_COLOR = "#9ecae1"

#: Named datasets of the templates.
CURVE, CURRENT, RULE, CHIPS = "curve", "current", "rule", "chips"

_CURVE_TOOLTIP = [
    alt.Tooltip("gpus:Q", title="GPUs", format=",.0f"),
    alt.Tooltip("systems:Q", title="systems", format=",.0f"),
    alt.Tooltip("days:Q", title="training time (days)", format=",.1f"),
    alt.Tooltip("facility_power_mw:Q", title="peak facility power (MW)", format=",.2f"),
    alt.Tooltip("energy_mwh:Q", title="energy (MWh)", format=",.0f"),
]
_CURRENT_TOOLTIP = [alt.Tooltip("label:N", title=""), *_CURVE_TOOLTIP]
_RULE_TOOLTIP = [alt.Tooltip("label:N", title="")]


def _gpus_x() -> alt.X:
    return alt.X("gpus:Q", title="GPUs (count, log scale)", scale=alt.Scale(type="log", nice=False))


def _log_y(field: str, title: str) -> alt.Y:
    return alt.Y(field, title=title, scale=alt.Scale(type="log", nice=False))


def _curve_layers(y_field: str, y_title: str) -> list[alt.Chart]:
    line = (
        alt.Chart(alt.NamedData(name=CURVE))
        .mark_line(color=LINE_COLOR, point=alt.OverlayMarkDef(size=18))
        .encode(x=_gpus_x(), y=_log_y(y_field, y_title), tooltip=_CURVE_TOOLTIP)
    )
    point = (
        alt.Chart(alt.NamedData(name=CURRENT))
        .mark_point(color=CURRENT_COLOR, size=160, filled=True)
        .encode(x="gpus:Q", y=y_field, tooltip=_CURRENT_TOOLTIP)
    )
    return [line, point]


def days_chart(with_rule: bool) -> alt.LayerChart:
    """Template: training days against GPU count (log-log), the current answer marked.

    With ``with_rule``, a vertical rule at dataset ``rule``'s ``gpus`` (the most GPUs a grid
    limit can power).
    """
    layers = _curve_layers("days:Q", "Training time (days, log scale)")
    if with_rule:
        layers.append(
            alt.Chart(alt.NamedData(name=RULE))
            .mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2)
            .encode(x="gpus:Q", tooltip=_RULE_TOOLTIP)
        )
    return alt.layer(*layers).properties(title="Training time vs cluster size", height=320)


def power_chart(with_rule: bool) -> alt.LayerChart:
    """Template: peak facility power against GPU count (log-log), the current answer marked.

    With ``with_rule``, the grid limit (dataset ``rule``, field ``grid_mw``) as a labelled
    horizontal rule.
    """
    layers = _curve_layers("facility_power_mw:Q", "Peak facility power (MW, log scale)")
    if with_rule:
        rule = alt.Chart(alt.NamedData(name=RULE))
        layers += [
            rule.mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2).encode(
                y="grid_mw:Q",
                tooltip=[
                    *_RULE_TOOLTIP,
                    alt.Tooltip("grid_mw:Q", title="grid limit (MW)", format=",.2f"),
                ],
            ),
            rule.mark_text(align="left", dx=4, dy=-7, color=GRID_COLOR, fontWeight="bold").encode(
                x=alt.value(0), y="grid_mw:Q", text="label:N"
            ),
        ]
    return alt.layer(*layers).properties(title="Peak facility power vs cluster size", height=320)


#: (column, axis title, axis format) of the chip comparison panels.
COMPARISON_METRICS = (
    ("gpus", "GPUs (count)", ",.0f"),
    ("facility_power_mw", "Peak facility power (MW)", ",.1~f"),
    ("energy_mwh", "Energy (MWh)", ",.0f"),
    ("cost_usd", "Cost (USD)", ",.3~s"),
)


def chips_chart(chip_ids: tuple[str, ...], with_rule: bool) -> alt.HConcatChart:
    """Template: one bar panel per metric of :data:`COMPARISON_METRICS`, ``chip_ids`` on the
    y axis of every panel in that order (a chip without a value keeps its empty row).

    Dataset ``chips`` has ``accelerator``, ``chip_name``, ``note``, ``this`` ("this chip" or
    "other chips") and the metric columns; with ``with_rule`` the grid limit (dataset ``rule``)
    is a rule on the power panel.
    """
    tooltip = [
        alt.Tooltip("accelerator:N", title="chip"),
        alt.Tooltip("chip_name:N", title="name"),
        alt.Tooltip("gpus:Q", title="GPUs", format=",.0f"),
        alt.Tooltip("days:Q", title="days", format=",.1f"),
        alt.Tooltip("facility_power_mw:Q", title="peak facility power (MW)", format=",.2f"),
        alt.Tooltip("energy_mwh:Q", title="energy (MWh)", format=",.0f"),
        alt.Tooltip("cost_usd:Q", title="cost (USD)", format="$,.0f"),
        alt.Tooltip("note:N", title="note"),
    ]
    color = alt.Color(
        "this:N",
        scale=alt.Scale(
            domain=["this chip", "other chips"], range=[CURRENT_COLOR, OTHER_CHIP_COLOR]
        ),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    panels: list[alt.Chart | alt.LayerChart] = []
    for i, (column, title, axis_format) in enumerate(COMPARISON_METRICS):
        bars = (
            alt.Chart()  # the data sits once on the hconcat
            .mark_bar()
            .encode(
                x=alt.X(
                    f"{column}:Q",
                    title=title,
                    axis=alt.Axis(format=axis_format, labelOverlap=True, tickCount=4),
                ),
                y=alt.Y(
                    "accelerator:N",
                    scale=alt.Scale(domain=list(chip_ids)),
                    title="Chip" if i == 0 else None,
                    axis=alt.Axis(labels=i == 0, ticks=i == 0),
                ),
                color=color,
                tooltip=tooltip,
            )
            .properties(width=170, height=22 * len(chip_ids))
        )
        if column == "facility_power_mw" and with_rule:
            rule = (
                alt.Chart(alt.NamedData(name=RULE))
                .mark_rule(color=GRID_COLOR, strokeDash=[6, 4], size=2)
                .encode(x="grid_mw:Q", tooltip=_RULE_TOOLTIP)
            )
            panels.append(alt.layer(bars, rule))
        else:
            panels.append(bars)
    return alt.hconcat(*panels, data=alt.NamedData(name=CHIPS), spacing=8)


@lru_cache(maxsize=32)
def _template(kind: str, *args: Any) -> str:
    builders = {"days": days_chart, "power": power_chart, "chips": chips_chart}
    return json.dumps(builders[kind](*args).to_dict(validate=True))


def _spec(kind: str, *args: Any, datasets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    spec = json.loads(_template(kind, *args))  # a fresh copy per call
    spec["datasets"] = datasets
    return spec


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None)."""
    return json.loads(frame.to_json(orient="records"))


def _current_row(current: dict[str, Any]) -> dict[str, Any]:
    keys = ("gpus", "systems", "days", "facility_power_mw", "energy_mwh")
    return {**{k: current.get(k) for k in keys}, "label": "this run"}


def days_vs_gpus(
    curve: pd.DataFrame, current: dict[str, Any], max_gpus_in_grid: float | None = None
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`days_chart` for a GPU-count curve and the current answer."""
    rule = max_gpus_in_grid is not None and max_gpus_in_grid > 0
    datasets = {CURVE: _records(curve), CURRENT: [_current_row(current)]}
    if rule:
        label = f"grid limit: at most {max_gpus_in_grid:,.0f} GPUs"
        datasets[RULE] = [{"gpus": float(max_gpus_in_grid), "label": label}]
    return _spec("days", rule, datasets=datasets)


def power_vs_gpus(
    curve: pd.DataFrame, current: dict[str, Any], grid_mw: float | None = None
) -> dict[str, Any]:
    """Vega-Lite dict of :func:`power_chart`; ``grid_mw`` draws the grid limit."""
    datasets = {CURVE: _records(curve), CURRENT: [_current_row(current)]}
    if grid_mw is not None:
        datasets[RULE] = [{"grid_mw": float(grid_mw), "label": f"grid limit {grid_mw:,.4g} MW"}]
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
    columns = ["accelerator", "chip_name", "note", "this", "days"] + [
        c for c, _, _ in COMPARISON_METRICS
    ]
    datasets = {CHIPS: _records(data[columns])}
    if grid_mw is not None:
        datasets[RULE] = [{"grid_mw": float(grid_mw), "label": f"grid limit {grid_mw:,.4g} MW"}]
    chip_ids = tuple(str(c) for c in data["accelerator"])
    return _spec("chips", chip_ids, grid_mw is not None, datasets=datasets)
