"""Page "Reports": download the current sizing, plan, projection and service as HTML, XLSX,
Markdown or JSON.

Four subjects, each the one on screen elsewhere in the app:

* the sizing of the shared sidebar (the request the "Size a run" page sizes),
* the optimise scenario last solved on the "Optimise" page (the example file, or its edited
  tables written out as TOML so the report can cite and hash them), else the default example,
* the projection chosen on the "National demand" page (file and samples, seed fixed),
* the service of the "Serve a model" page (its preset and changed inputs, its grid limit).

Every report comes from :mod:`planner.reports` (one :class:`~planner.reports.Report`, four
renderers, so the formats cannot disagree). Rendering is lazy: each download button holds a
callable that builds and renders the report when clicked, cached by its inputs
(:func:`planner.app.compute.report_bytes`), so the page itself draws in milliseconds although
an HTML report takes about a second (its charts are drawn by vl-convert). Invalid inputs show
the core's message and no buttons for that subject.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from planner.app import compute, national_page, optimise_page, serve_page, share, sidebar, state
from planner.app import formatting as fmt
from planner.errors import PlannerError
from planner.reports import FORMATS
from planner.sizing import grid_fit

#: Button label of each format.
FORMAT_LABELS = {"html": "HTML", "xlsx": "Excel (XLSX)", "md": "Markdown", "json": "JSON"}
#: Session state: the ``(subject, args)`` of each download on screen (tests render them).
SOURCES = "_report_sources"


def sizing_subject(inputs: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    """Args of :func:`planner.app.compute.sizing_report` for sidebar inputs, and a title.

    Raises the core's :class:`~planner.errors.PlannerError` for invalid inputs.
    """
    key = compute.request_key(state.request_kwargs(inputs))
    answer = compute.sizing(key)  # validates, and is what the Size page shows
    result = answer["result"]
    command = "planner app, page Size a run: ?" + urlencode(state.inputs_to_query(inputs))
    grid_mw = inputs.get("grid_mw")
    grid_mw = None if grid_mw is None else float(grid_mw)
    title = (
        f"{answer['preset_title'] or 'Custom run'}: {fmt.cell('gpus', result['gpus'])} "
        f"{result['accelerator']} GPUs, {fmt.value('days', result['days'])}, "
        f"{fmt.value('facility_power_mw', result['facility_power_mw'])} at peak"
    )
    changed = state.changed_from_preset(inputs)
    if changed:
        title += (
            " (changed from the preset: "
            + ", ".join(state.LABELS.get(k, k) for k, _, _ in changed)
            + ")"
        )
    if grid_mw is not None:
        verdict = grid_fit(result, grid_mw)
        title += (
            f"; fits the {fmt.value('grid_mw', grid_mw)} grid limit"
            if verdict.fits
            else f"; {fmt.value('facility_power_mw', verdict.short_mw)} short of the "
            f"{fmt.value('grid_mw', grid_mw)} grid limit"
        )
    return (key, command, grid_mw), title


def plan_subject(solved: dict[str, Any] | None) -> tuple[tuple[Any, ...], str]:
    """Args of :func:`planner.app.compute.plan_report` for the solved scenario, and a title.

    ``solved`` is the Optimise page's :data:`~planner.app.optimise_page.SOLVED` (None: the
    default example, as that page first shows it).
    """
    if solved is None:
        name = compute.DEFAULT_SCENARIO
        key = compute.scenario_key(compute.file_scenario(name))
        solved = {"key": key, "source": f"data/scenarios/{name}", "file": name}
    compute.validate_scenario(solved["key"], solved["source"])
    path = compute.plan_report_file(solved["key"], solved["file"])
    if path == compute.scenario_path(solved["file"]):
        command = f"planner report data/scenarios/{solved['file']}"
        title = f"data/scenarios/{solved['file']}"
    else:
        command = f"planner report {path}  # {solved['source']}, written by the app"
        title = f"{solved['source']} (saved as {path.name} for the report)"
    result = compute.plan(solved["key"], solved["source"])
    status = "a plan fits" if result["feasible"] else "no plan fits: with its relaxations"
    return (solved["key"], solved["file"], command), f"{title}; {status}"


def projection_subject(
    source: tuple[str, str | None] | None, samples: int, calibrate: bool = False
) -> tuple[tuple[Any, ...], str] | None:
    """Args of :func:`planner.app.compute.projection_report` and a title (None: no file)."""
    if source is None:
        return None
    name, text = source
    meta = compute.projection_meta(name, text)
    seed = compute.PROJECTION_SEED
    # the report projects every variant over the file's years: check the samples the same way
    compute.projection(
        name, text, tuple(meta["variants"]), tuple(meta["years"]), samples, seed, None, calibrate
    )
    where = f"data/projections/{name}" if text is None else f"uploaded {name}"
    command = f"planner app, page National demand: {where}, samples {samples}, seed {seed}"
    title = (
        f"{meta['title']} ({where}); every variant ({', '.join(meta['variants'])}), "
        f"{meta['years'][0]}-{meta['years'][1]}, {samples:,} samples"
    )
    if calibrate:
        title += ", calibrated to the study's totals"
    return (name, text, samples, seed, command, calibrate), title


def serving_subject(inputs: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    """Args of :func:`planner.app.compute.serving_report` for the Serve page's inputs, and a
    title (with the grid verdict when a limit is set).

    Raises the core's :class:`~planner.errors.PlannerError` for invalid inputs.
    """
    grid_mw = state.serve_grid_mw(inputs)
    key = compute.request_key(state.serve_request_kwargs(inputs))
    answer = compute.serving(key, grid_mw)  # validates, and is what the Serve page shows
    r = answer["result"]
    query = state.serve_to_query(inputs) or {"srv_preset": str(inputs.get("srv_preset"))}
    command = "planner app, page Serve a model: ?" + urlencode(query)
    name = answer["preset_title"] or "Custom service"
    if not r["feasible"]:
        return (key, command, None), f"{name}: no replica of {r['accelerator']} meets the targets"
    title = (
        f"{name}: {fmt.cell('gpus', r['gpus'])} {r['accelerator']} GPUs, "
        f"{fmt.value('facility_power_mw', r['facility_power_mw'])} at peak, "
        f"{fmt.value('wh_per_query', r['wh_per_query'])} per query"
    )
    grid = answer["grid"]
    if grid is not None:
        title += (
            f"; fits the {fmt.value('grid_mw', grid['grid_mw'])} grid limit"
            if grid["fits"]
            else f"; {fmt.value('facility_power_mw', grid['short_mw'])} short of the "
            f"{fmt.value('grid_mw', grid['grid_mw'])} grid limit"
        )
    return (key, command, grid_mw), title


def _buttons(subject: str, args: tuple[Any, ...], stem: str) -> None:
    cols = st.columns(len(FORMATS))
    for col, (kind, suffix) in zip(cols, FORMATS.items(), strict=True):
        col.download_button(
            FORMAT_LABELS[kind],
            data=functools.partial(compute.report_bytes, subject, args, kind),
            file_name=f"{stem}{suffix}",
            mime=compute.REPORT_MIME[kind],
            key=f"dl_{subject}_{kind}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


def render() -> None:
    """Draw the four subjects with a download button per format."""
    sidebar.load()
    try:
        _render()
    finally:
        share.footer()


def _render() -> None:
    st.title("Reports")
    share.panel()
    st.caption(
        "The answer in one paragraph, headline numbers, result tables, binding limits and "
        "relaxations, published figures, sensitivity, every assumption with its source, and "
        "the inputs' SHA-256 (planner.reports). Each report is built when you click; HTML "
        "takes about a second to draw its charts."
    )
    sources: dict[str, tuple[str, tuple[Any, ...]]] = {}

    st.subheader("Sizing: the Size a run page's run")
    inputs = sidebar.current_inputs()
    try:
        args, title = sizing_subject(inputs)
    except PlannerError as err:
        st.error(f"The Size a run page's inputs cannot be reported: {err}")
    else:
        st.caption(title)
        _buttons("sizing", args, f"planner-sizing-{inputs.get('preset') or 'custom'}")
        sources["sizing"] = ("sizing", args)

    st.subheader("Optimised plan: the Optimise page's scenario")
    solved = st.session_state.get(optimise_page.SOLVED)
    try:
        args, title = plan_subject(solved)
    except PlannerError as err:
        st.error(str(err))
    else:
        st.caption(
            title
            + (
                ""
                if solved is not None
                else ". Solve a scenario on the Optimise page to report it instead."
            )
        )
        file = solved["file"] if solved else compute.DEFAULT_SCENARIO
        edited = "-edited" if solved and solved.get("edited") else ""
        _buttons("plan", args, f"planner-plan-{Path(file).stem}{edited}")
        sources["plan"] = ("plan", args)

    st.subheader("Projection: the National demand page's scenario")
    try:
        subject = projection_subject(
            national_page.current_source(),
            national_page.current_samples(),
            national_page.current_calibrate(),
        )
    except PlannerError as err:
        st.error(str(err))
    else:
        if subject is None:
            st.info("Upload a projection scenario on the National demand page to report it.")
        else:
            args, title = subject
            st.caption(title)
            _buttons("projection", args, f"planner-projection-{Path(args[0]).stem}")
            sources["projection"] = ("projection", args)

    st.subheader("Serving: the Serve a model page's service")
    serve_inputs = serve_page.current_inputs()
    try:
        args, title = serving_subject(serve_inputs)
    except PlannerError as err:
        st.error(f"The Serve a model page's inputs cannot be reported: {err}")
    else:
        st.caption(title)
        stem = serve_inputs.get("srv_preset") or "custom"
        _buttons("serving", args, f"planner-serving-{stem}")
        sources["serving"] = ("serving", args)
    st.session_state[SOURCES] = sources


if __name__ == "__main__":
    render()
