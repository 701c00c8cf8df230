"""Page "National demand": data-centre and AI electricity by country and year, with bands.

A projection scenario of ``data/projections`` (the IEA 2025 and 2024, LBNL 2024 and de Vries
2023 reproductions, a compute-driven 2035 case) or an uploaded TOML file of the same format is
run by :func:`planner.projection.project` with a seeded Monte Carlo over the inputs given as
ranges. The page draws, per country, the P10-P90 band and the P50 line of TWh a year and of
the share of national electricity, with the study's own published figures as marked points,
so agreement and difference show at a glance. The projection is cached by file (or uploaded
text), variants, years, samples, seed and countries; a bad input shows the core's message.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner.app import charts, compute
from planner.app import formatting as fmt
from planner.errors import InputError, PlannerError

FILE = "nat_file"
UPLOAD = "nat_upload"
VARIANTS = "nat_variants"
YEARS = "nat_years"
SAMPLES = "nat_samples"
COUNTRIES = "nat_countries"
#: The option of the file picker that takes an uploaded scenario.
CUSTOM = "custom"
#: Plain session state (survives page switches): the uploaded file as ``(name, text)``.
UPLOADED = "_nat_uploaded"
_KEEP = "_keep_"
_WIDGETS = (FILE, VARIANTS, YEARS, SAMPLES, COUNTRIES)
#: Years the slider offers (widened to a scenario's own years if they fall outside).
YEAR_BOUNDS = (2015, 2040)


def current_source() -> tuple[str, str | None] | None:
    """``(name, uploaded text or None)`` of the chosen scenario; None: custom, nothing uploaded.

    Read by the Reports page too (from this page's kept widget values).
    """
    name = st.session_state.get(FILE, st.session_state.get(_KEEP + FILE, _default_file()))
    if name != CUSTOM:
        return name, None
    uploaded = st.session_state.get(UPLOADED)
    return None if uploaded is None else (uploaded[0], uploaded[1])


def current_samples() -> int:
    value = st.session_state.get(SAMPLES, st.session_state.get(_KEEP + SAMPLES))
    return compute.DEFAULT_SAMPLES if value is None else int(value)


def _default_file() -> str:
    return compute.projection_names()[0]


def _defaults(source: tuple[str, str | None]) -> dict[str, Any]:
    meta = compute.projection_meta(*source)
    return {
        VARIANTS: list(meta["variants"]),
        YEARS: tuple(meta["years"]),
        COUNTRIES: list(meta["countries"]),
    }


def _restore_widgets() -> None:
    """Give this page's widgets their last values (Streamlit drops them on a page switch)."""
    if FILE not in st.session_state:
        st.session_state[FILE] = st.session_state.get(_KEEP + FILE, _default_file())
    if SAMPLES not in st.session_state:
        st.session_state[SAMPLES] = st.session_state.get(_KEEP + SAMPLES, compute.DEFAULT_SAMPLES)
    source = current_source()
    if source is None:
        return
    defaults = _defaults(source)
    for key in (VARIANTS, YEARS, COUNTRIES):
        if key not in st.session_state:
            st.session_state[key] = st.session_state.get(_KEEP + key, defaults[key])


def _keep_widgets() -> None:
    for key in _WIDGETS:
        if key in st.session_state:
            st.session_state[_KEEP + key] = st.session_state[key]


def _reset_choices() -> None:
    """Variants, years and countries of the newly chosen scenario."""
    source = current_source()
    for key in (VARIANTS, YEARS, COUNTRIES):
        st.session_state.pop(key, None)
        st.session_state.pop(_KEEP + key, None)
    if source is None:
        return
    try:
        defaults = _defaults(source)
    except PlannerError:
        return  # the page shows the error
    for key, value in defaults.items():
        st.session_state[key] = value


def _on_upload() -> None:
    file = st.session_state.get(UPLOAD)
    if file is None:
        return
    st.session_state[UPLOADED] = (file.name, file.getvalue().decode("utf-8", errors="replace"))
    _reset_choices()


def _label(name: str) -> str:
    if name == CUSTOM:
        return "custom: upload a scenario TOML"
    try:
        return f"data/projections/{name}: {compute.projection_meta(name)['title']}"
    except PlannerError:
        return name


def _inputs() -> tuple[str, str | None] | None:
    st.selectbox(
        "Projection scenario",
        [*compute.projection_names(), CUSTOM],
        key=FILE,
        on_change=_reset_choices,
        format_func=_label,
        help="A study's reproduction: every input in the file, next to its source.",
    )
    if st.session_state[FILE] == CUSTOM:
        st.file_uploader(
            "Scenario TOML (the format of data/projections/*.toml)",
            type=["toml"],
            key=UPLOAD,
            on_change=_on_upload,
        )
        uploaded = st.session_state.get(UPLOADED)
        if uploaded is None:
            st.info("Upload a projection scenario to run it.", icon=":material/upload_file:")
            return None
        st.caption(f"Uploaded: {uploaded[0]}")
    source = current_source()
    if source is None:
        return None
    meta = compute.projection_meta(*source)
    start, end = meta["years"]
    lo, hi = min(YEAR_BOUNDS[0], start), max(YEAR_BOUNDS[1], end)
    years = st.session_state.get(YEARS) or (start, end)
    if (
        not set(st.session_state.get(VARIANTS) or []) <= set(meta["variants"])
        or not set(st.session_state.get(COUNTRIES) or []) <= set(meta["countries"])
        or not lo <= min(years) <= max(years) <= hi
    ):
        _reset_choices()  # values kept for another scenario
    cols = st.columns([2, 3, 1])
    cols[0].multiselect(
        "Variants",
        meta["variants"],
        key=VARIANTS,
        help="A study's cases (low, base, high...). Empty: all of them.",
    )
    cols[1].slider("Years", min_value=lo, max_value=hi, key=YEARS, step=1, help="Years to project")
    cols[2].number_input(
        "Samples",
        key=SAMPLES,
        step=1_000,
        help="Monte Carlo samples over the inputs given as ranges (0: central values only). "
        f"Seed {compute.PROJECTION_SEED}: the same inputs give the same bands.",
    )
    st.multiselect(
        "Countries and regions",
        meta["countries"],
        key=COUNTRIES,
        help="Panels of the charts. Empty: every region of the scenario.",
    )
    return source


def _headline(result: dict[str, Any], scope: str) -> None:
    frame = result["frame"]
    variant = result["variants"][0]
    rows = frame[(frame["country"] == scope) & (frame["variant"] == variant)]
    if rows.empty:
        return
    first, last = rows.iloc[0], rows.iloc[-1]
    banded = "total_twh_p10" in rows.columns
    ends = [first, last] if len(rows) > 1 else [last]
    items = [
        (
            f"{scope} {int(row['year'])}",
            fmt.twh(row["total_twh"]),
            fmt.band(row["total_twh_p10"], row["total_twh_p90"], "TWh") if banded else None,
        )
        for row in ends
    ]
    items.append(
        (
            f"Share of {scope} electricity {int(last['year'])}",
            fmt.share(last["total_share"]),
            f"of national electricity {last['electricity_definition']} "
            f"({fmt.twh(last['electricity_twh'])})",
        )
    )
    items.append(
        (
            f"AI servers {int(last['year'])}",
            fmt.twh(last["ai_twh"]),
            f"about {fmt.number(last['reference_runs_per_year'])} runs a year of "
            f"{result['reference_run']}",
        )
    )
    for col, (label, value, help_text) in zip(st.columns(len(items)), items, strict=True):
        col.metric(label, value, help=help_text)
    if len(result["variants"]) > 1:
        st.caption(f"Headline numbers: variant {variant} (central values).")


def _published_table(published: list[dict[str, Any]]) -> None:
    if not published:
        st.caption("This scenario lists no published figures to compare with.")
        return
    st.subheader("Published figures vs the model")
    table = pd.DataFrame(
        [
            {
                "variant": p["variant"],
                "country": p["country"],
                "year": int(p["year"]),
                "quantity": p["quantity"],
                "published": fmt.number(p["published"]),
                "model": fmt.number(p["model"]),
                "difference": fmt.percent(p["relative_difference"]),
                "note": p.get("note") or "",
            }
            for p in published
        ]
    )
    st.dataframe(table, hide_index=True, key="nat_published_table")
    st.caption(
        "The model is the central projection (no sampling) of the same variant, country and "
        "year; the difference is model / published - 1."
    )


def render() -> None:
    """Draw the page for the chosen scenario, variants, years, samples and countries."""
    st.title("National demand")
    st.caption(
        "Data-centre and AI electricity by country and year, bottom-up from accelerator "
        "shipments, power per unit, PUE and the non-AI baseline (planner.projection). "
        "Bands: P10-P90 of a seeded Monte Carlo over the inputs given as ranges."
    )
    try:
        _restore_widgets()
        source = _inputs()
    except PlannerError as err:
        _keep_widgets()
        st.error(str(err))
        return
    _keep_widgets()
    if source is None:
        return
    meta = compute.projection_meta(*source)
    chosen = tuple(st.session_state.get(COUNTRIES) or meta["countries"])
    countries = None if set(chosen) == set(meta["countries"]) else tuple(sorted(chosen))
    variants = tuple(st.session_state.get(VARIANTS) or meta["variants"])
    years = tuple(int(y) for y in st.session_state[YEARS])
    samples = st.session_state.get(SAMPLES)
    try:
        if samples is None:
            raise InputError("samples", "empty", "a whole number of Monte Carlo samples >= 0")
        result = compute.projection(
            source[0],
            source[1],
            variants,
            (years[0], years[1]),
            int(samples) if float(samples).is_integer() else samples,
            compute.PROJECTION_SEED,
            countries,
        )
    except PlannerError as err:
        st.error(str(err))
        return
    st.caption(f"**{result['title']}**. Source: {result['source']}")
    order = tuple(c for c in meta["countries"] if c in chosen)
    _headline(result, meta["scope"] if meta["scope"] in order else order[0])

    banded = "total_twh_p10" in result["frame"].columns
    st.subheader("Electricity by year" + (" (P10-P90 band, P50 line)" if banded else ""))
    st.vega_lite_chart(
        spec=charts.fan(result["frame"], result["published"], "total_twh", order),
        key="nat_chart_twh",
    )
    st.caption(
        "Diamonds: the study's published figures. Each panel has its own scale."
        + ("" if banded else " Samples 0: central values only, no band.")
    )
    st.subheader("Share of national electricity")
    st.vega_lite_chart(
        spec=charts.fan(result["frame"], result["published"], "total_share", order),
        key="nat_chart_share",
    )
    definition = ", ".join(sorted(set(result["frame"]["electricity_definition"])))
    st.caption(
        f"Data-centre electricity over national electricity {definition}, with each study's "
        "own denominator (data/countries/electricity.csv)."
    )
    _published_table(result["published"])
    with st.expander("How the numbers were calibrated"):
        for variant, text in result["calibration"].items():
            st.markdown(f"**{variant}**: {text}")
    with st.expander("Every number of the projection"):
        st.dataframe(result["frame"], hide_index=True, key="nat_frame_table")


if __name__ == "__main__":
    render()
