"""The shared sidebar of scenario inputs, kept in ``st.session_state`` across pages.

``streamlit_app.py`` calls :func:`render` on every run, whatever the page, so the inputs live
as long as the session. Widget keys are the names of :data:`planner.app.state.INPUT_KEYS`
(tests address widgets by them). On a session's first run the inputs come from the URL query
(:func:`planner.app.state.inputs_from_query`); after every run the URL is rewritten from them,
so the address bar is always a shareable link to the what-if on screen.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from planner.app import compute, state
from planner.assumptions import pue_for_profile
from planner.catalog import PRECISIONS, load_catalog
from planner.errors import PlannerError
from planner.presets import load_presets

LOADED_FLAG = "_inputs_loaded"
LINK_ERRORS = "_link_errors"
LINK_INPUTS = "_link_inputs"

_WORK_LABELS = {"params": "parameters x tokens", "flops": "total FLOPs"}
_GIVEN_LABELS = {"days": "a deadline (days)", "gpus": "a GPU count"}


def current_inputs() -> dict[str, Any]:
    """The sidebar inputs of this session, by name."""
    return {key: st.session_state.get(key) for key in state.INPUT_KEYS}


def link_errors() -> list[str]:
    """Messages of the values of the opening link that were ignored.

    Shown until the user changes an input (then the link no longer describes the page).
    """
    if current_inputs() != st.session_state.get(LINK_INPUTS):
        st.session_state[LINK_ERRORS] = []
    return list(st.session_state.get(LINK_ERRORS, []))


def _load_once() -> None:
    if st.session_state.get(LOADED_FLAG):
        return
    inputs, errors = state.inputs_from_query(st.query_params.to_dict())
    for key, value in inputs.items():
        st.session_state[key] = value
    st.session_state[LINK_ERRORS] = errors
    st.session_state[LINK_INPUTS] = dict(inputs)
    st.session_state[LOADED_FLAG] = True


def _keep_unrendered_inputs() -> None:
    # Streamlit drops the state of a widget that is not drawn in a run (the days input while
    # a GPU count is given...). Re-assigning turns it into plain session state that survives.
    for key in state.INPUT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def apply_preset(name: str | None = None) -> None:
    """Callback: load a preset's inputs (``custom`` keeps the current ones)."""
    if name is not None:
        st.session_state["preset"] = name
    chosen = st.session_state.get("preset", state.CUSTOM)
    if chosen != state.CUSTOM:
        for key, value in state.preset_inputs(chosen).items():
            st.session_state[key] = value


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


def _on_given_change() -> None:
    new = st.session_state.get("given")
    answer = _last_answer(given="gpus" if new == "days" else "days")
    if answer is None:
        return
    if new == "gpus":
        st.session_state["gpus"] = int(answer["gpus"])
    else:
        st.session_state["days"] = float(f"{answer['days']:.4g}")


def _on_facility_change() -> None:
    profile = st.session_state.get("facility")
    if profile and profile != state.CUSTOM:
        st.session_state["pue"] = pue_for_profile(profile)


def _on_pue_change() -> None:
    st.session_state["facility"] = state.facility_for_pue(st.session_state.get("pue"))


def _sync_url() -> None:
    wanted = state.inputs_to_query(current_inputs())
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def render() -> dict[str, Any]:
    """Draw the sidebar inputs and return them (see :func:`current_inputs`)."""
    _load_once()
    _keep_unrendered_inputs()
    presets = load_presets()
    catalog = load_catalog()
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
            "Changing an input below keeps the preset as the baseline you compare against.",
        )
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
            st.number_input(
                "Training compute (FLOPs)",
                key="flops",
                step=1e23,
                format="%.4e",
                help="Total training FLOPs, e.g. 2.15e25.",
            )
        else:
            st.number_input(
                "Parameters (billions)",
                key="params_b",
                step=1.0,
                format="%.6g",
                value=None,
                help="Total parameters, in billions (1,800 = 1.8T).",
            )
            st.number_input(
                "Active parameters per token (billions)",
                key="active_params_b",
                step=1.0,
                format="%.6g",
                value=None,
                placeholder="= parameters (dense)",
                help="Mixture-of-experts: the parameters each token uses. "
                "Empty for a dense model. FLOPs = 6 x active parameters x tokens.",
            )
            st.number_input(
                "Training tokens (trillions)", key="tokens_t", step=0.5, format="%.6g", value=None
            )

        st.subheader("Chip")
        st.selectbox(
            "Accelerator",
            catalog.ids,
            key="chip",
            format_func=lambda i: f"{i}: {catalog.get(i).name}",
        )
        st.selectbox(
            "Precision",
            PRECISIONS,
            key="precision",
            format_func=str.upper,
            help="Tensor precision whose dense peak the MFU refers to.",
        )
        st.slider(
            "MFU (model FLOPs utilisation)",
            0.0,
            1.0,
            key="mfu",
            step=0.0005,
            format="%.4f",
            help="Achieved model FLOP/s over the dense peak, fraction.",
        )
        st.slider(
            "Goodput (useful fraction of wall-clock time)",
            0.0,
            1.0,
            key="goodput",
            step=0.0005,
            format="%.4f",
        )

        st.subheader("Facility")
        st.selectbox(
            "Facility profile",
            state.facility_names(),
            key="facility",
            on_change=_on_facility_change,
            help="Sets the PUE from data/facility.csv; 'custom' to type your own.",
        )
        st.number_input(
            "PUE (facility power / IT power)",
            key="pue",
            step=0.01,
            format="%.3f",
            value=None,
            on_change=_on_pue_change,
        )
        st.number_input(
            "Grid limit (MW)",
            key="grid_mw",
            step=1.0,
            format="%.4g",
            value=None,
            placeholder="no limit",
            help="Peak power the grid connection can supply, MW. Empty: no limit.",
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
            st.number_input("GPUs", key="gpus", step=8)
        else:
            st.number_input("Deadline (days)", key="days", step=1.0, format="%.4g", value=None)

        st.caption("The address bar holds these inputs: copy it to share this what-if.")
    _sync_url()
    return current_inputs()
