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

from planner.app import charts, compute, layout, share, sidebar, state
from planner.app import formatting as fmt
from planner.errors import PlannerError
from planner.presets import load_presets
from planner.request import CHIP_SPECIFIC
from planner.sizing import MAX_DAYS, MIN_DAYS, GridFit, grid_fit, power_timeline

#: What ``cost_usd`` is under each pricing (planner.amortization).
_PRICING_HELP = {
    "amortized": "servers, network and facility amortised over their service life for this "
    "run's wall-clock time + electricity; Cottier et al. 2024",
    "rent": "cloud GPU-hours x rent",
    "capex": "the whole cluster bought for this run + electricity",
}


def _metrics(result: dict[str, Any], system_name: str) -> None:
    deadline = result.get("deadline_days")
    v = fmt.value
    layout.metric_row(
        [
            fmt.metric(
                "gpus",
                result["gpus"],
                f"{result['accelerator']} GPUs, whole systems of {result['gpus_per_system']}",
            ),
            fmt.metric("systems", result["systems"], system_name),
            fmt.metric(
                "days",
                result["days"],
                "wall-clock training time"
                + (
                    f" ({fmt.label('deadline_days', unit=False).lower()} {v('deadline_days', deadline)})"
                    if deadline
                    else ""
                ),
            ),
            fmt.metric(
                "facility_power_mw",
                result["facility_power_mw"],
                "what the grid must supply: nameplate x (1 + network) x "
                f"design-day PUE {fmt.cell('design_pue', result['design_pue'])}; average "
                f"{v('average_facility_power_mw', result['average_facility_power_mw'])} at the "
                f"annual PUE {fmt.cell('pue', result['pue'])}",
            ),
            fmt.metric(
                "energy_mwh",
                result["energy_mwh"],
                f"average facility power (annual PUE {fmt.cell('pue', result['pue'])}) x "
                "wall-clock hours",
            ),
            fmt.metric(
                "cost_usd",
                result["cost_usd"],
                f"pricing: {result['pricing']} ({_PRICING_HELP.get(result['pricing'], '')})",
            ),
            fmt.metric(
                "emissions_tco2",
                result["emissions_tco2"],
                "operational: energy x grid carbon intensity; embodied (manufacturing) "
                f"{v('embodied_tco2', result['embodied_tco2'])} beside it",
            ),
            fmt.metric(
                "sustained_pflops",
                result["sustained_pflops"],
                f"GPUs x {v('peak_tflops_per_gpu', result['peak_tflops_per_gpu'])} "
                f"{result['precision'].upper()} dense x MFU x goodput",
            ),
        ]
    )


def _partial_systems(result: dict[str, Any], system_name: str) -> None:
    """Say so when a GPU count does not fill its last system (power and cost are per GPU)."""
    per_system = int(result["gpus_per_system"])
    gpus = float(result["gpus"])
    if per_system <= 1 or gpus % per_system == 0:
        return
    full = int(gpus // per_system)
    st.info(
        f"{fmt.value('gpus', gpus)} fill {fmt.plural(full, system_name)} and "
        f"{fmt.value('gpus', gpus - full * per_system)} of one more (a partial system of "
        f"{per_system}): power, energy and cost are for the {fmt.value('gpus', gpus)}, "
        f"while {fmt.cell('gpus', (full + 1) * per_system)} GPU slots are installed.",
        icon=":material/info:",
    )


def _grid_message(
    verdict: GridFit, result: dict[str, Any], key: compute.Key, system_name: str
) -> None:
    def mw(v: float) -> str:
        return fmt.value("facility_power_mw", v)

    if verdict.fits:
        st.success(
            f"Fits the grid: needs {mw(verdict.need_mw)} at peak of the {mw(verdict.grid_mw)} "
            f"limit ({mw(verdict.grid_mw - verdict.need_mw)} headroom)."
        )
        return
    head = (
        f"Does not fit the grid: this run needs {mw(verdict.need_mw)} at peak; the grid gives "
        f"{mw(verdict.grid_mw)}: {mw(verdict.short_mw)} short."
    )
    if verdict.max_gpus == 0:
        st.warning(f"{head} Not even one {system_name} fits.")
        return
    smaller = compute.sized_at_gpus(key, float(verdict.max_gpus))
    deadline = result.get("deadline_days")
    if deadline:
        late = f", past the deadline of {fmt.value('deadline_days', deadline)}"
    else:
        late = f" instead of {fmt.value('days', result['days'])}"
    st.warning(
        f"{head} At most {fmt.cell('gpus', verdict.max_gpus)} {result['accelerator']} GPUs "
        f"({fmt.plural(verdict.max_systems, system_name)}) fit under {mw(verdict.grid_mw)}; "
        f"at that size the run takes {fmt.value('days', smaller['days'])}{late}. "
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
            f"assumptions (MFU {float(a.mfu):g}, annual PUE {float(a.pue):g}): {preset.title}."
        )
        col_button.button(
            f"Load {name}", key=f"load_{name}", on_click=sidebar.apply_preset, args=(name,)
        )


def _chip_specific_note(inputs: dict[str, Any]) -> None:
    """Say so when a preset's chip-specific values were dropped because the chip changed."""
    name = inputs.get("preset", state.CUSTOM)
    if name == state.CUSTOM:
        return
    preset = load_presets()[name]
    if inputs.get("chip") == preset.accelerator:
        return
    kept = [k for k in CHIP_SPECIFIC if k in preset.assumptions]
    if kept:
        values = ", ".join(
            f"{state.LABELS.get(k, k)} {fmt.input_number(preset.assumptions[k])}" for k in kept
        )
        st.info(
            f"Preset {name} sets {values} for {preset.accelerator}; on {inputs.get('chip')} "
            "the catalog's values apply instead (the sidebar shows them as empty). Type a "
            "value there to set your own.",
            icon=":material/info:",
        )


#: The steps of the power chain per GPU: (peak output, average output or None).
POWER_CHAIN = (
    ("gpu_tdp_w", None),
    ("server_power_per_gpu_w", "average_server_power_per_gpu_w"),
    ("it_power_per_gpu_w", "average_it_power_per_gpu_w"),
    ("facility_power_per_gpu_w", "average_facility_power_per_gpu_w"),
)


def _power_chain(result: dict[str, Any]) -> None:
    chain = result.get("power_chain")
    if not chain:
        return
    st.subheader("Power chain per GPU")
    table = pd.DataFrame(
        [
            {
                "step": fmt.label(peak, unit=False),
                "peak": fmt.value(peak, chain[peak]),
                "average": "" if average is None else fmt.value(average, chain[average]),
            }
            for peak, average in POWER_CHAIN
        ]
    )
    st.dataframe(table, hide_index=True, key="power_chain_table")
    st.caption(
        f"Peak at the design-day PUE {fmt.cell('design_pue', result['design_pue'])}, average at "
        f"the annual PUE {fmt.cell('pue', result['pue'])}. x {fmt.value('gpus', result['gpus'])} "
        f"= {fmt.value('facility_power_mw', result['facility_power_mw'])} peak (what the grid "
        f"must supply) and "
        f"{fmt.value('average_facility_power_mw', result['average_facility_power_mw'])} "
        "average (what the meter bills)."
    )


def published_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Published-vs-model rows as display text (vocabulary labels and formats)."""
    return pd.DataFrame(
        [
            {
                "Quantity": fmt.label(r["quantity"]),
                "Published": fmt.cell(r["quantity"], r["published"]),
                "Model": fmt.cell(r["quantity"], r["model"]),
                fmt.label("relative_difference"): fmt.cell(
                    "relative_difference", r.get("relative_difference")
                ),
            }
            for r in rows
        ]
    )


def _published(answer: dict[str, Any], inputs: dict[str, Any]) -> None:
    """The preset's published figures beside the model, only when the inputs are the
    preset's own; otherwise one line naming the inputs that differ."""
    changed = answer.get("changed_inputs")
    if changed is None:  # a core without changed_inputs: the sidebar's own comparison
        changed = [
            {"field": state.LABELS.get(k, k), "preset": old, "value": new}
            for k, old, new in state.changed_from_preset(inputs)
        ]
    rows = answer.get("published") or []
    if changed:
        st.info(fmt.changed_note(changed), icon=":material/difference:")
        return
    if not rows:
        return
    st.subheader("Published vs model")
    st.caption(f"{answer['preset_title']}. Source: {answer['preset_source']}")
    st.dataframe(published_rows(rows), hide_index=True, key="published_table")


def _assumptions(result: dict[str, Any]) -> None:
    with st.expander("Every value used, with its source"):
        table = pd.DataFrame(
            [
                {
                    "name": state.LABELS.get(k, k.replace("_", " ")),
                    "value": fmt.input_number(v["value"]),
                    "unit": v["unit"],
                    "source": v["source"],
                }
                for k, v in result["assumptions"].items()
            ]
        )
        st.dataframe(table, hide_index=True, key="assumptions_table")


def _amortised(key: compute.Key, inputs: dict[str, Any]) -> None:
    """The hardware outlives the run: amortised cost, up-front capex, rent, embodied CO2."""
    try:
        econ = compute.economics(key)
    except PlannerError as err:
        st.info(f"No amortised economics for these inputs: {err}", icon=":material/info:")
        return
    with st.expander(
        f"Amortised over a {econ['life_years']:g}-year service life: "
        f"{fmt.value('amortized_cost_usd', econ['amortized_cost_usd'])} for this run",
        icon=":material/savings:",
    ):
        layout.metric_row(
            [
                fmt.metric(
                    "amortized_cost_usd",
                    econ["amortized_cost_usd"],
                    "servers, network and facility amortised over the service life "
                    "(planner.amortization, Cottier et al. 2024) + electricity",
                ),
                fmt.metric(
                    "cluster_capex_usd",
                    econ["cluster_capex_usd"],
                    "servers + network + facility share, spent before the run",
                ),
                fmt.metric("rental_cost_usd", econ["rental_cost_usd"], "GPU-hours x rent"),
                fmt.metric(
                    "embodied_tco2",
                    econ["embodied_tco2"],
                    "manufacturing emissions of the GPUs, amortised as the capex",
                ),
            ]
        )
        st.caption(
            f"The Cost metric above follows the pricing in force ({econ['pricing']}); "
            "these are the other conventions for the same run. The cluster capex is what "
            "must be spent up front, never part of a run's cost. Set the service life in "
            "the sidebar under Money and carbon."
        )


def _comparison(key: compute.Key, result: dict[str, Any], grid_mw: float | None) -> None:
    deadline = result.get("deadline_days") or result["days"]
    st.subheader("Every chip for the same run and deadline")
    if not MIN_DAYS <= float(deadline) <= MAX_DAYS:
        st.info(
            f"No chip comparison: this run takes {fmt.value('days', deadline)}, and chips are "
            f"compared for a deadline of {MIN_DAYS:g} to {MAX_DAYS:,.0f} days. Add GPUs or "
            "give a deadline.",
            icon=":material/info:",
        )
        return
    try:
        frame = compute.chip_comparison(key, float(deadline))
        spec = charts.chip_comparison(frame, result["accelerator"], grid_mw)
    except PlannerError as err:
        st.info(f"No chip comparison for these inputs: {err}", icon=":material/info:")
        return
    st.vega_lite_chart(spec=spec, key="chart_chips")
    missing = frame.loc[frame["note"].fillna("") != "", ["accelerator", "note"]]
    notes = [f"{row.accelerator} ({row.note})" for row in missing.itertuples()]
    unpriced = frame.loc[frame["cost_usd"].isna() & (frame["note"].fillna("") == ""), "accelerator"]
    caption = (
        f"{fmt.label('deadline_days', unit=False)} {fmt.value('deadline_days', deadline)}, "
        "same work and assumptions on every chip."
    )
    if notes:
        caption += " Not shown: " + ", ".join(notes) + "."
    if len(unpriced):
        caption += " No published price (cost unknown): " + ", ".join(unpriced) + "."
    st.caption(caption)
    with st.expander("Comparison table"):
        st.dataframe(
            fmt.result_table(frame, ["accelerator", "chip_name"], extra=["note"]),
            hide_index=True,
            key="comparison_table",
        )


def _curves(
    key: compute.Key, result: dict[str, Any], verdict: GridFit | None, grid_mw: Any
) -> None:
    max_gpus = float(verdict.max_gpus) if verdict is not None and not verdict.fits else None
    try:
        curve = compute.gpu_curve(key, float(result["gpus"]))
        days_spec = charts.days_vs_gpus(curve, result, max_gpus)
        power_spec = charts.power_vs_gpus(curve, result, grid_mw)
    except PlannerError as err:
        st.info(f"No cluster-size charts for these inputs: {err}", icon=":material/info:")
        return
    left, right = st.columns(2)
    left.vega_lite_chart(spec=days_spec, key="chart_days")
    right.vega_lite_chart(spec=power_spec, key="chart_power")


def _power_over_time(result: dict[str, Any]) -> None:
    """The cluster's grid-side power through steps, a checkpoint, a failure and its restart,
    without and with GPU power smoothing + storage (:func:`planner.sizing.power_timeline`)."""
    st.subheader("Power over time: steps, a checkpoint, a failure")
    try:
        frame = power_timeline(result)
        spec = charts.power_over_time(frame)
    except PlannerError as err:
        st.info(f"No power-over-time chart for these inputs: {err}", icon=":material/info:")
        return
    st.vega_lite_chart(spec=spec, key="chart_power_over_time")
    st.caption(
        "Synchronous training swings the whole site between its compute and communication "
        "power every step, drops to near idle during a blocking checkpoint and at a failure, "
        "and jumps back at restart (Choukse et al. 2025, arXiv 2508.14318). GPU power "
        "smoothing with rack storage (NVIDIA GB300 NVL72) caps the compute phase and averages "
        "each step; checkpoints and failures outlast the storage and still reach the grid. "
        "`planner size --ramp-limit-mw-per-s` sizes a battery for a utility's ramp limit."
    )


def render() -> None:
    """Draw the page for the sidebar's current inputs (the sidebar holds them)."""
    inputs = sidebar.draw()
    try:
        _render(inputs)
    finally:
        share.footer()


def _render(inputs: dict[str, Any]) -> None:
    st.title("Size a training run")
    share.panel()
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
        f"{fmt.value('flops', result['flops'])} on {answer['chip_name']} at "
        f"{result['precision'].upper()} "
        f"({fmt.value('peak_tflops_per_gpu', result['peak_tflops_per_gpu'])} dense per GPU), "
        f"MFU {fmt.cell('mfu', result['mfu'])}, goodput {fmt.cell('goodput', result['goodput'])}, "
        f"{fmt.label('pue', unit=False)} {fmt.cell('pue', result['pue'])} (energy), "
        f"{fmt.label('design_pue', unit=False)} {fmt.cell('design_pue', result['design_pue'])} "
        "(grid peak)."
    )
    mfu_source = str(result["assumptions"].get("mfu", {}).get("source", ""))
    if "from the run model" in mfu_source:
        st.info(mfu_source, icon=":material/model_training:")
    _metrics(result, answer["system_name"])
    _partial_systems(result, answer["system_name"])
    if result["days"] > MAX_DAYS:
        st.warning(
            f"This run takes {fmt.value('days', result['days'])}: more GPUs, a higher MFU or a "
            "faster chip would shorten it.",
            icon=":material/schedule:",
        )

    grid_mw = inputs.get("grid_mw")
    verdict = None
    if grid_mw is not None:
        try:
            verdict = grid_fit(result, float(grid_mw))
            _grid_message(verdict, result, key, answer["system_name"])
        except PlannerError as err:
            st.error(str(err))
            grid_mw = None
    _related_presets(inputs, result)
    _chip_specific_note(inputs)

    _amortised(key, inputs)
    _curves(key, result, verdict, grid_mw)
    _power_over_time(result)
    _comparison(key, result, grid_mw)
    _power_chain(result)
    _published(answer, inputs)
    _assumptions(result)


if __name__ == "__main__":
    render()
