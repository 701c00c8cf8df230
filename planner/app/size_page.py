"""Page "Size a run": GPUs, days, megawatts, energy, cost and CO2 for the sidebar's run.

Every number comes from the core through :mod:`planner.app.compute`; a
:class:`~planner.errors.PlannerError` (FP8 on an A100, MFU 0...) is shown with ``st.error``
and its message, never as a traceback. ``streamlit_app.py`` runs this file as a page;
importing it draws nothing.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from planner.app import charts, compute, sidebar, state
from planner.app import formatting as fmt
from planner.errors import PlannerError
from planner.presets import load_presets
from planner.sizing import GridFit, grid_fit
from planner.validation import check_positive


def _metrics(result: dict[str, Any], system_name: str) -> None:
    deadline = result.get("deadline_days")
    row1 = st.columns(4)
    row1[0].metric(
        "GPUs",
        fmt.count(result["gpus"]),
        help=f"{result['accelerator']} GPUs, whole systems of {result['gpus_per_system']}",
    )
    row1[1].metric("Systems", fmt.count(result["systems"]), help=f"{system_name}")
    row1[2].metric(
        "Days",
        fmt.days(result["days"]),
        help="wall-clock training time" + (f" (deadline {deadline:g} days)" if deadline else ""),
    )
    row1[3].metric(
        "Peak facility power",
        fmt.mw(result["facility_power_mw"]),
        help="what the grid must supply: nameplate x (1 + network) x PUE; "
        f"average {fmt.mw(result['average_facility_power_mw'])}",
    )
    row2 = st.columns(4)
    row2[0].metric(
        "Energy", fmt.mwh(result["energy_mwh"]), help="average facility power x wall-clock hours"
    )
    row2[1].metric(
        "Cost",
        fmt.usd(result["cost_usd"]),
        help=f"pricing: {result['pricing']} (capex + electricity when buying, GPU-hours "
        "x rent when renting); unknown when the catalog has no price for the chip",
    )
    row2[2].metric(
        "Emissions", fmt.tco2(result["emissions_tco2"]), help="energy x grid carbon intensity"
    )
    row2[3].metric(
        "Sustained compute",
        f"{result['sustained_pflops']:,.0f} PFLOP/s",
        help=f"GPUs x {result['peak_tflops_per_gpu']:,.0f} TFLOP/s "
        f"{result['precision'].upper()} dense x MFU x goodput",
    )


def _grid_message(
    verdict: GridFit, result: dict[str, Any], key: compute.Key, system_name: str
) -> None:
    if verdict.fits:
        st.success(
            f"Fits the grid: needs {fmt.mw(verdict.need_mw)} at peak of the {fmt.mw(verdict.grid_mw)} "
            f"limit ({fmt.mw(verdict.grid_mw - verdict.need_mw)} headroom)."
        )
        return
    head = (
        f"Does not fit the grid: this run needs {fmt.mw(verdict.need_mw)} at peak; the grid gives "
        f"{fmt.mw(verdict.grid_mw)}: {fmt.mw(verdict.short_mw)} short."
    )
    if verdict.max_gpus == 0:
        per_system_kw = verdict.need_mw / result["systems"] * 1000
        st.warning(
            f"{head} Not even one {system_name} ({per_system_kw:,.0f} kW at the facility) fits."
        )
        return
    smaller = compute.sized_at_gpus(key, float(verdict.max_gpus))
    deadline = result.get("deadline_days")
    late = ""
    if deadline:
        late = f", {fmt.days(smaller['days'] - deadline)} days past the {deadline:g}-day deadline"
    else:
        late = f" instead of {fmt.days(result['days'])}"
    st.warning(
        f"{head} At most {fmt.count(verdict.max_gpus)} {result['accelerator']} GPUs "
        f"({fmt.count(verdict.max_systems)} x {system_name}) fit under {fmt.mw(verdict.grid_mw)}; "
        f"at that size the run takes {fmt.days(smaller['days'])} days{late}. "
        "Raise MFU, lower PUE, pick a more efficient chip or allow more time."
    )


def _related_presets(inputs: dict[str, Any], result: dict[str, Any]) -> None:
    """Point at a preset that sizes this same run on the chosen chip with its own assumptions."""
    current = inputs.get("preset", state.CUSTOM)  # read as state.request_kwargs does
    if current == state.CUSTOM or inputs.get("chip") == state.preset_inputs(current)["chip"]:
        return
    for name, preset in load_presets().items():
        if name == current or preset.accelerator != inputs.get("chip"):
            continue
        if not math.isclose(preset.run().total_flops(), result["flops"], rel_tol=1e-9):
            continue
        a = preset.sizing_assumptions()
        col_text, col_button = st.columns([4, 1])
        col_text.info(
            f"Preset **{name}** sizes this same run on {preset.accelerator} with its own "
            f"assumptions (MFU {float(a.mfu):g}, PUE {float(a.pue):g}): {preset.title}."
        )
        col_button.button(
            f"Load {name}", key=f"load_{name}", on_click=sidebar.apply_preset, args=(name,)
        )


#: Preset assumptions that describe the preset's own chip (a measured draw, a price).
CHIP_SPECIFIC = ("avg_power_per_gpu_w", "price_usd_per_gpu", "rent_usd_per_gpu_hour")


def _chip_specific_warning(inputs: dict[str, Any]) -> None:
    """Say so when a preset's chip-specific values still apply after the chip was changed."""
    name = inputs.get("preset", state.CUSTOM)  # read as state.request_kwargs does
    if name == state.CUSTOM:
        return
    preset = load_presets()[name]
    if inputs.get("chip") == preset.accelerator:
        return
    kept = [k for k in CHIP_SPECIFIC if k in preset.assumptions]
    if kept:
        values = ", ".join(f"{k} = {fmt.number(preset.assumptions[k])}" for k in kept)
        st.warning(
            f"Preset {name} sets {values} for {preset.accelerator}; it still applies on "
            f"{inputs.get('chip')}. Pick 'custom' to use the catalog's values instead."
        )


def _power_chain(result: dict[str, Any]) -> None:
    chain = result.get("power_chain")
    if not chain:
        return
    st.subheader("Power chain per GPU")
    rows = [
        ("GPU (TDP)", chain["gpu_tdp_w"], None),
        (
            "Server share (system nameplate / GPUs)",
            chain["server_power_per_gpu_w"],
            chain["average_server_power_per_gpu_w"],
        ),
        (
            "IT load (+ network and storage)",
            chain["it_power_per_gpu_w"],
            chain["average_it_power_per_gpu_w"],
        ),
        (
            f"Facility (x PUE {result['pue']:g})",
            chain["facility_power_per_gpu_w"],
            chain["average_facility_power_per_gpu_w"],
        ),
    ]
    table = pd.DataFrame(
        [
            {
                "step": s,
                "peak (W per GPU)": fmt.watts(p),
                "average (W per GPU)": "" if a is None else fmt.watts(a),
            }
            for s, p, a in rows
        ]
    )
    st.dataframe(table, hide_index=True, key="power_chain_table")
    st.caption(
        f"x {fmt.count(result['gpus'])} GPUs = {fmt.mw(result['facility_power_mw'])} peak "
        f"(what the grid must supply) and {fmt.mw(result['average_facility_power_mw'])} average "
        "(what the meter bills)."
    )


def _published(answer: dict[str, Any], inputs: dict[str, Any]) -> None:
    rows = answer["published"]
    if not rows:
        return
    st.subheader("Published vs model")
    st.caption(f"{answer['preset_title']}. Source: {answer['preset_source']}")
    table = pd.DataFrame(
        [
            {
                "quantity": r["quantity"],
                "published": fmt.number(r["published"]),
                "model": fmt.number(r["model"]),
                "difference": fmt.percent(r["relative_difference"]),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, key="published_table")
    changed = state.changed_from_preset(inputs)
    if changed:
        listed = "; ".join(f"{k} {fmt.number(old)} -> {fmt.number(new)}" for k, old, new in changed)
        st.caption(
            f"Your inputs differ from the preset ({listed}), so the model is no longer "
            "the preset's reproduction."
        )


def _assumptions(result: dict[str, Any]) -> None:
    with st.expander("Every value used, with its source"):
        table = pd.DataFrame(
            [
                {
                    "name": k,
                    "value": fmt.number(v["value"]),
                    "unit": v["unit"],
                    "source": v["source"],
                }
                for k, v in result["assumptions"].items()
            ]
        )
        st.dataframe(table, hide_index=True, key="assumptions_table")


def _comparison(key: compute.Key, result: dict[str, Any], grid_mw: float | None) -> None:
    deadline = result.get("deadline_days") or result["days"]
    frame = compute.chip_comparison(key, float(deadline))
    st.subheader("Every chip for the same run and deadline")
    st.vega_lite_chart(
        spec=charts.chip_comparison(frame, result["accelerator"], grid_mw), key="chart_chips"
    )
    missing = frame.loc[frame["note"].fillna("") != "", ["accelerator", "note"]]
    notes = [f"{row.accelerator} ({row.note})" for row in missing.itertuples()]
    unpriced = frame.loc[frame["cost_usd"].isna() & (frame["note"].fillna("") == ""), "accelerator"]
    caption = f"Deadline {deadline:,.1f} days, same work and assumptions on every chip."
    if notes:
        caption += " Not shown: " + ", ".join(notes) + "."
    if len(unpriced):
        caption += " No published price (cost unknown): " + ", ".join(unpriced) + "."
    st.caption(caption)
    with st.expander("Comparison table"):
        cols = [
            "accelerator",
            "chip_name",
            "gpus",
            "systems",
            "days",
            "facility_power_mw",
            "energy_mwh",
            "cost_usd",
            "emissions_tco2",
            "note",
        ]
        st.dataframe(
            frame[cols],
            hide_index=True,
            key="comparison_table",
            column_config=fmt.result_columns(),
        )


def render() -> None:
    """Draw the page for the sidebar's current inputs."""
    inputs = sidebar.current_inputs()
    st.title("Size a training run")
    for message in sidebar.link_errors():
        st.error(message)
    try:
        kwargs = state.request_kwargs(inputs)
        key = compute.request_key(kwargs)
        answer = compute.sizing(key)
    except PlannerError as err:
        st.error(str(err))
        return
    result = answer["result"]
    if answer["preset_title"]:
        st.caption(f"Preset {inputs['preset']}: {answer['preset_title']}")
    st.caption(
        f"{fmt.flops(result['flops'])} on {answer['chip_name']} at {result['precision'].upper()} "
        f"({result['peak_tflops_per_gpu']:,.0f} TFLOP/s dense per GPU), MFU {result['mfu']:g}, "
        f"goodput {result['goodput']:g}, PUE {result['pue']:g}."
    )
    _metrics(result, answer["system_name"])

    grid_mw = inputs.get("grid_mw")
    verdict = None
    if grid_mw is not None:
        try:
            check_positive("grid_mw", grid_mw)
            verdict = grid_fit(result, float(grid_mw))
        except PlannerError as err:
            st.error(str(err))
            grid_mw = None
    if verdict is not None:
        try:
            _grid_message(verdict, result, key, answer["system_name"])
        except PlannerError as err:
            st.error(str(err))
    _related_presets(inputs, result)
    _chip_specific_warning(inputs)

    max_gpus = float(verdict.max_gpus) if verdict is not None and not verdict.fits else None
    left, right = st.columns(2)
    curve = compute.gpu_curve(key, float(result["gpus"]))
    left.vega_lite_chart(spec=charts.days_vs_gpus(curve, result, max_gpus), key="chart_days")
    right.vega_lite_chart(spec=charts.power_vs_gpus(curve, result, grid_mw), key="chart_power")

    _comparison(key, result, grid_mw)
    _power_chain(result)
    _published(answer, inputs)
    _assumptions(result)


if __name__ == "__main__":
    render()
