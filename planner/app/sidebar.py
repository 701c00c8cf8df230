"""The sizing inputs, kept in ``st.session_state`` across pages and drawn by the pages using them.

:func:`load` runs on every page (``render`` is its old name, still called by the app's entry
script): on a session's first run it fills the inputs from the URL query
(:func:`planner.app.share.from_query`, every page's state) and keeps the inputs alive while a
page that does not draw them is on screen. :func:`draw` puts the sizing inputs in the sidebar;
only the "Size a run" page calls it, so each page's sidebar holds the inputs that page uses.
Widget keys are the names of :data:`planner.app.state.INPUT_KEYS` (tests address widgets by
them), except MFU and goodput whose percent sliders are ``mfu_pct`` and ``goodput_pct`` (the
inputs themselves stay fractions, as the core takes them).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from planner import quantities
from planner.app import compute, share, state
from planner.app import formatting as fmt
from planner.assumptions import PRICING_MODES
from planner.catalog import PRECISIONS, load_catalog
from planner.errors import PlannerError
from planner.facility import design_day_pue
from planner.presets import load_presets

LOADED_FLAG = "_inputs_loaded"
LINK_ERRORS = "_link_errors"
LINK_INPUTS = "_link_inputs"
#: Percent sliders of the fractions: widget key -> input key.
PERCENT_WIDGETS = {"mfu_pct": "mfu", "goodput_pct": "goodput"}

_WORK_LABELS = {
    "params": f"{quantities.quantity('params').unit} x tokens",
    "flops": f"total {quantities.label('flops', short=True)}",
}
_GIVEN_LABELS = {
    "days": f"a {fmt.input_label('deadline_days')}",
    "gpus": f"a number of {quantities.label('gpus')}",
}
_PRICING_LABELS = {
    "amortized": "amortized: hardware over its service life + electricity",
    "rent": "rent: cloud GPU-hours",
    "capex": "capex: the whole cluster purchase + electricity",
}


def current_inputs() -> dict[str, Any]:
    """The sizing inputs of this session, by name."""
    return {key: st.session_state.get(key) for key in state.INPUT_KEYS}


def link_errors() -> list[str]:
    """Messages of the values of the opening link (or loaded file) that were ignored.

    Shown until the user changes an input (then the link no longer describes the page).
    """
    if current_inputs() != st.session_state.get(LINK_INPUTS):
        st.session_state[LINK_ERRORS] = []
    return list(st.session_state.get(LINK_ERRORS, []))


def set_inputs(inputs: dict[str, Any], errors: list[str]) -> None:
    """Replace the sizing inputs (a link, a loaded scenario file), remembering what was ignored."""
    for key, value in inputs.items():
        if key in state.INPUT_KEYS:
            st.session_state[key] = value
    for widget in PERCENT_WIDGETS:
        st.session_state.pop(widget, None)
    st.session_state[LINK_ERRORS] = list(errors)
    st.session_state[LINK_INPUTS] = {k: inputs.get(k) for k in state.INPUT_KEYS}


def _load_once() -> None:
    if st.session_state.get(LOADED_FLAG):
        return
    st.session_state[LOADED_FLAG] = True
    share.apply(*share.from_query(st.query_params.to_dict()))


def _keep_unrendered_inputs() -> None:
    # Streamlit drops the state of a widget that is not drawn in a run (the days input while
    # a GPU count is given, every input on another page). Re-assigning turns it into plain
    # session state that survives.
    for key in state.INPUT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def load() -> dict[str, Any]:
    """Fill the inputs from the link on a session's first run and keep them; draws nothing."""
    _load_once()
    _keep_unrendered_inputs()
    return current_inputs()


def render() -> dict[str, Any]:
    """Old name of :func:`load` (the entry script calls it on every page); draws nothing."""
    return load()


def apply_preset(name: str | None = None) -> None:
    """Callback: load a preset's inputs (``custom`` keeps the current ones, all visible)."""
    if name is not None:
        st.session_state["preset"] = name
    chosen = st.session_state.get("preset", state.CUSTOM)
    if chosen != state.CUSTOM:
        for key, value in state.preset_inputs(chosen).items():
            st.session_state[key] = value
    for widget in PERCENT_WIDGETS:
        st.session_state.pop(widget, None)


def _last_answer(**mode: str) -> dict[str, Any] | None:
    """The current answer with the previous mode (for seeding the input of the new mode)."""
    inputs = {**current_inputs(), **mode}
    try:
        return compute.sizing(compute.request_key(state.request_kwargs(inputs)))["result"]
    except PlannerError:
        return None


def _on_work_change() -> None:
    if st.session_state.get("work") == "flops":
        answer = _last_answer(work="params")
        if answer is not None:
            st.session_state["flops"] = float(f"{answer['flops']:.4g}")


def _clamped(key: str, value: float) -> float:
    low, high = state.LIMITS[key]
    return min(max(value, low), high)


def _on_given_change() -> None:
    new = st.session_state.get("given")
    answer = _last_answer(given="gpus" if new == "days" else "days")
    if answer is None:
        return
    if new == "gpus":
        st.session_state["gpus"] = int(_clamped("gpus", float(answer["gpus"])))
    else:
        st.session_state["days"] = _clamped("days", float(f"{answer['days']:.4g}"))


def _on_chip_change() -> None:
    inputs = state.normalise(current_inputs())
    for key in state.ECONOMY_KEYS:
        st.session_state[key] = inputs[key]


def _on_facility_change() -> None:
    profile = st.session_state.get("facility")
    if profile and profile != state.CUSTOM:
        st.session_state.update(state.facility_pues(profile))  # both PUEs


def _on_pue_change() -> None:
    pue, design = st.session_state.get("pue"), st.session_state.get("design_pue")
    if pue is not None and design is not None and design < pue:
        # a design-day PUE below the new annual one: derive it again instead
        st.session_state["design_pue"] = design = None
    st.session_state["facility"] = state.facility_for_pue(pue, design)


def _on_design_pue_change() -> None:
    st.session_state["facility"] = state.facility_for_pue(
        st.session_state.get("pue"), st.session_state.get("design_pue")
    )


def _on_percent(widget: str) -> None:
    value = st.session_state.get(widget)
    st.session_state[PERCENT_WIDGETS[widget]] = None if value is None else float(value) / 100


def _number(key: str, label: str, **kwargs: Any) -> None:
    low, high = state.LIMITS[key]
    st.number_input(label, key=key, min_value=low, max_value=high, **kwargs)


def _hidden_caption(name: str) -> None:
    hidden = state.preset_hidden(name)
    if hidden:
        listed = ", ".join(f"{state.LABELS.get(k, k)} {fmt.input_number(v)}" for k, v in hidden)
        st.caption(f"This preset also sets: {listed} (under Money and carbon, and Facility).")


def draw() -> dict[str, Any]:
    """Draw the sizing inputs in the sidebar and return them (see :func:`current_inputs`)."""
    load()
    presets = load_presets()
    catalog = load_catalog()
    for widget, key in PERCENT_WIDGETS.items():
        value = st.session_state.get(key)
        wanted = None if value is None else min(max(float(value) * 100, state.MIN_PERCENT), 100.0)
        if st.session_state.get(widget) != wanted:
            st.session_state[widget] = wanted if wanted is not None else state.MIN_PERCENT
    with st.sidebar:
        st.header("Scenario")
        st.selectbox(
            "Preset",
            state.preset_names(),
            key="preset",
            on_change=apply_preset,
            format_func=lambda n: (
                "custom (your own values)" if n == state.CUSTOM else f"{n}: {presets[n].title}"
            ),
            help="A public estimate with every assumption written next to it (data/presets.toml). "
            "Changing an input below keeps the preset as the baseline you compare against; "
            "'custom' keeps every value on screen.",
        )
        _hidden_caption(str(st.session_state.get("preset")))
        st.button(
            "Reset inputs to the preset",
            key="reset",
            on_click=apply_preset,
            disabled=st.session_state.get("preset") == state.CUSTOM,
        )

        st.subheader("Work")
        st.radio(
            "Give the work as",
            state.WORK_MODES,
            key="work",
            horizontal=True,
            format_func=_WORK_LABELS.get,
            on_change=_on_work_change,
        )
        if st.session_state.get("work") == "flops":
            _number(
                "flops",
                quantities.label("flops"),
                step=1e23,
                format=fmt.widget_format("flops"),
                help="Total training FLOPs, e.g. 2.15e25.",
            )
        else:
            _number(
                "params_b",
                f"{quantities.label('params', unit=False)} (billions)",
                step=1.0,
                format="%.6g",
                value=None,
                help="Total parameters, in billions (1,800 = 1.8T).",
            )
            _number(
                "active_params_b",
                f"{quantities.label('active_params', unit=False)} per token (billions)",
                step=1.0,
                format="%.6g",
                value=None,
                placeholder="= parameters (dense)",
                help="Mixture-of-experts: the parameters each token uses. "
                "Empty for a dense model. FLOPs = 6 x active parameters x tokens.",
            )
            _number(
                "tokens_t",
                "Training tokens (trillions)",
                step=0.5,
                format="%.6g",
                value=None,
            )

        st.subheader("Chip")
        st.selectbox(
            "Accelerator",
            catalog.ids,
            key="chip",
            on_change=_on_chip_change,
            format_func=lambda i: f"{i}: {catalog.get(i).name}",
        )
        st.selectbox(
            "Precision",
            PRECISIONS,
            key="precision",
            format_func=str.upper,
            help="Tensor precision whose dense peak the MFU refers to.",
        )
        st.checkbox(
            "MFU from the run model",
            key="mfu_model",
            help="MFU x goodput predicted by the model fitted to published training runs "
            "(chip generation, precision, dense or MoE, model and cluster scale; "
            "`planner validate` shows its cross-validated error). The Size page states the "
            "prediction. Untick to set the MFU yourself; a preset's stated MFU unticks it.",
        )
        st.slider(
            f"{quantities.label('mfu')} (model FLOPs utilisation, %)",
            state.MIN_PERCENT,
            100.0,
            key="mfu_pct",
            step=0.5,
            format="%.1f%%",
            on_change=_on_percent,
            args=("mfu_pct",),
            disabled=bool(st.session_state.get("mfu_model")),
            help="Achieved model FLOP/s over the dense peak at this precision "
            "(used when 'MFU from the run model' is off).",
        )
        st.slider(
            f"{quantities.label('goodput')} (useful share of wall-clock time, %)",
            state.MIN_PERCENT,
            100.0,
            key="goodput_pct",
            step=0.5,
            format="%.1f%%",
            on_change=_on_percent,
            args=("goodput_pct",),
        )

        st.subheader("Size for")
        st.radio(
            "Given",
            state.GIVEN_MODES,
            key="given",
            horizontal=True,
            format_func=_GIVEN_LABELS.get,
            on_change=_on_given_change,
            help="A deadline gives the GPUs (whole systems); a GPU count gives the days.",
        )
        if st.session_state.get("given") == "gpus":
            low, high = state.LIMITS["gpus"]
            st.number_input(
                quantities.label("gpus"),
                key="gpus",
                step=8,
                min_value=int(low),
                max_value=int(high),
            )
        else:
            _number(
                "days",
                quantities.label("deadline_days"),
                step=1.0,
                format=fmt.widget_format("deadline_days"),
                value=None,
            )

        st.subheader("Facility")
        st.selectbox(
            "Facility profile",
            state.facility_names(),
            key="facility",
            on_change=_on_facility_change,
            help="Sets both PUEs (annual and design-day) from data/facility.csv; 'custom' to "
            "type your own.",
        )
        _number(
            "pue",
            f"{quantities.label('pue')} (facility / IT power: energy, cost, CO2)",
            step=0.01,
            format=fmt.widget_format("pue"),
            value=None,
            on_change=_on_pue_change,
            help="The year's average facility power / IT power: what the meter bills.",
        )
        annual = st.session_state.get("pue")
        _number(
            "design_pue",
            f"{quantities.label('design_pue')} (the grid peak)",
            step=0.01,
            format=fmt.widget_format("design_pue"),
            value=None,
            placeholder=(
                "derived" if annual is None else f"derived: {float(design_day_pue(annual)):.3f}"
            ),
            on_change=_on_design_pue_change,
            help="Facility / IT power in the hottest hours (chillers at full load): the peak "
            "the grid must supply. At least the annual PUE. Empty: 1 + (annual PUE - 1) x "
            "the design_pue_overhead_ratio of data/assumptions.csv (an estimate).",
        )
        _number(
            "grid_mw",
            quantities.label("grid_mw"),
            step=1.0,
            format=fmt.widget_format("grid_mw"),
            value=None,
            placeholder="no limit",
            help="Peak power the grid connection can supply, MW. Empty: no limit.",
        )
        _number(
            "network_overhead",
            "Network and storage overhead (fraction of server power)",
            step=0.01,
            format="%.2f",
        )
        _number(
            "avg_power_per_gpu_w",
            "Measured average draw (W per GPU, with its server share)",
            step=10.0,
            format="%.0f",
            value=None,
            placeholder="nameplate x load fraction",
            help="A measured draw replaces nameplate x average load fraction for energy.",
        )

        st.subheader("Money and carbon")
        st.selectbox(
            "Pricing", PRICING_MODES, key="pricing", format_func=lambda m: _PRICING_LABELS[m]
        )
        _number(
            "price_usd_per_gpu",
            f"{quantities.label('price_usd_per_gpu', unit=False)} "
            f"({quantities.label('price_usd_per_gpu', short=True)}, with its server share)",
            step=1000.0,
            format=fmt.widget_format("price_usd_per_gpu"),
            value=None,
            placeholder="default: data/chip_economics.csv",
            help="Server price per GPU (system price / its GPUs). Empty: the sourced price "
            "or marked estimate of data/chip_economics.csv.",
        )
        _number(
            "rent_usd_per_gpu_hour",
            "Rent (USD per GPU-hour)",
            step=0.1,
            format="%.2f",
            value=None,
            placeholder="default: data/chip_economics.csv",
        )
        _number(
            "service_life_years",
            "Service life (years, amortised cost)",
            step=0.5,
            format="%.3g",
            value=None,
            placeholder=f"default: {compute.default_service_life_years():g}",
            help="Years the servers and network are amortised over (data/economics.csv, "
            "Cottier et al. 2024): the amortized pricing charges the run its share.",
        )
        _number("electricity_usd_per_mwh", "Electricity (USD/MWh)", step=5.0, format="%.4g")
        _number("grid_gco2_per_kwh", "Grid intensity (gCO2/kWh)", step=10.0, format="%.4g")
    return current_inputs()
