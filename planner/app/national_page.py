"""Page "National demand": data-centre and AI electricity by country and year, with bands.

A projection scenario of ``data/projections`` (the IEA 2025 and 2024, LBNL 2024 and de Vries
2023 reproductions, a compute-driven 2035 case) or an uploaded TOML file of the same format is
run by :func:`planner.projection.project` with a seeded Monte Carlo over the inputs given as
ranges. The page draws, per country, the P10-P90 band and the P50 line of TWh a year and of
the share of national electricity, with the study's own published figures as marked points,
so agreement and difference show at a glance. Power is shown twice: the average GW (energy /
hours, at the annual PUE) and the AI fleet's grid peak (IT at nameplate x the design-day PUE,
``ai_peak_gw``), with a caption on the two PUEs. The projection is cached by file (or uploaded
text), variants, years, samples, seed and countries; a bad input shows the core's message.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner.app import charts, compute, layout, share, sidebar
from planner.app import formatting as fmt
from planner.errors import InputError, PlannerError
from planner.projection import MAX_SAMPLES, design_pue_overhead_ratio

FILE = "nat_file"
UPLOAD = "nat_upload"
VARIANTS = "nat_variants"
YEARS = "nat_years"
SAMPLES = "nat_samples"
COUNTRIES = "nat_countries"
CALIBRATE = "nat_calibrate"
#: The option of the file picker that takes an uploaded scenario.
CUSTOM = "custom"
#: Plain session state (survives page switches): the uploaded file as ``(name, text)``.
UPLOADED = "_nat_uploaded"
_KEEP = "_keep_"
_WIDGETS = (FILE, VARIANTS, YEARS, SAMPLES, COUNTRIES, CALIBRATE)
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


def current_calibrate() -> bool:
    """Whether the page calibrates to the study's published totals (read by Reports too)."""
    return bool(st.session_state.get(CALIBRATE, st.session_state.get(_KEEP + CALIBRATE, False)))


def current_samples() -> int:
    value = st.session_state.get(SAMPLES, st.session_state.get(_KEEP + SAMPLES))
    return compute.DEFAULT_SAMPLES if value is None else int(value)


def _default_file() -> str:
    return compute.projection_names()[0]


#: A message about the last upload that could not be used (shown once, then cleared).
UPLOAD_ERROR = "_nat_upload_error"


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
    if CALIBRATE not in st.session_state:
        st.session_state[CALIBRATE] = bool(st.session_state.get(_KEEP + CALIBRATE, False))
    source = current_source()
    if source is None:
        return
    try:
        defaults = _defaults(source)
    except PlannerError:
        return  # the page shows the error below the pickers
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
    """Callback: keep an upload only if the core reads it; else say why and keep the last one."""
    file = st.session_state.get(UPLOAD)
    if file is None:
        return
    uploaded = (file.name, file.getvalue().decode("utf-8", errors="replace"))
    try:
        compute.projection_meta(*uploaded)
    except PlannerError as err:
        st.session_state[UPLOAD_ERROR] = f"{file.name} was not loaded: {err}"
        return
    st.session_state.pop(UPLOAD_ERROR, None)
    st.session_state[UPLOADED] = uploaded
    _reset_choices()


def _label(name: str) -> str:
    if name == CUSTOM:
        return "custom: upload a scenario TOML"
    try:
        return f"data/projections/{name}: {compute.projection_meta(name)['title']}"
    except PlannerError:
        return name


def _inputs() -> tuple[str, str | None] | None:
    """This page's inputs, in the sidebar; None while nothing usable is chosen."""
    sb = st.sidebar
    sb.header("National demand")
    sb.selectbox(
        "Projection scenario",
        [*compute.projection_names(), CUSTOM],
        key=FILE,
        on_change=_reset_choices,
        format_func=_label,
        help="A study's reproduction: every input in the file, next to its source.",
    )
    if st.session_state[FILE] == CUSTOM:
        sb.file_uploader(
            "Scenario TOML (the format of data/projections/*.toml)",
            type=["toml"],
            key=UPLOAD,
            on_change=_on_upload,
        )
    problem = st.session_state.pop(UPLOAD_ERROR, None)
    if problem:
        st.error(problem)
    if st.session_state[FILE] == CUSTOM:
        uploaded = st.session_state.get(UPLOADED)
        if uploaded is None:
            st.info(
                "Upload a projection scenario in the sidebar to run it, or pick a study.",
                icon=":material/upload_file:",
            )
            return None
        st.caption(f"Uploaded: {uploaded[0]}")
    source = current_source()
    if source is None:
        return None
    try:
        meta = compute.projection_meta(*source)
    except PlannerError as err:
        st.error(str(err))
        st.caption("Pick another scenario or upload another file in the sidebar.")
        return None
    start, end = meta["years"]
    lo, hi = min(YEAR_BOUNDS[0], start), max(YEAR_BOUNDS[1], end)
    years = st.session_state.get(YEARS) or (start, end)
    if (
        not set(st.session_state.get(VARIANTS) or []) <= set(meta["variants"])
        or not set(st.session_state.get(COUNTRIES) or []) <= set(meta["countries"])
        or not lo <= min(years) <= max(years) <= hi
    ):
        _reset_choices()  # values kept for another scenario
    sb.multiselect(
        "Variants",
        meta["variants"],
        key=VARIANTS,
        help="A study's cases (low, base, high...). Empty: all of them.",
    )
    sb.slider("Years", min_value=lo, max_value=hi, key=YEARS, step=1, help="Years to project")
    sb.number_input(
        "Monte Carlo samples",
        key=SAMPLES,
        step=1_000,
        min_value=0,
        max_value=MAX_SAMPLES,
        help="Samples over the inputs given as ranges (0: central values only). "
        f"Seed {compute.PROJECTION_SEED}: the same inputs give the same bands.",
    )
    sb.checkbox(
        "Calibrate to the study's totals",
        key=CALIBRATE,
        help="Off: every input is the file's sourced value and the study's figures are "
        "predictions to compare with. On: the non-AI load's level and growth are solved so "
        "the totals land on the study's (planner.projection calibrate_to).",
    )
    sb.multiselect(
        "Countries and regions",
        meta["countries"],
        key=COUNTRIES,
        help="Panels of the charts. Empty: every region of the scenario.",
    )
    return source


def _headline(result: dict[str, Any], scope: str) -> None:
    frame = result["frame"]
    rows_by_variant = {
        v: frame[(frame["country"] == scope) & (frame["variant"] == v)] for v in result["variants"]
    }
    rows_by_variant = {v: r for v, r in rows_by_variant.items() if not r.empty}
    if not rows_by_variant:
        return
    banded = "total_twh_p10" in frame.columns
    lasts = {v: r.iloc[-1] for v, r in rows_by_variant.items()}
    first = next(iter(rows_by_variant.values())).iloc[0]
    last = next(iter(lasts.values()))
    year = int(last["year"])
    items: list[tuple[str, str, str | None]] = []
    if len(rows_by_variant) > 1:
        items.append(
            (
                f"{scope} {int(first['year'])}",
                fmt.value("total_twh", first["total_twh"]),
                "data-centre electricity, central value",
            )
        )
        for variant, row in lasts.items():
            items.append(
                (
                    f"{scope} {year}, {variant}",
                    fmt.value("total_twh", row["total_twh"]),
                    fmt.band("total_twh", row["total_twh_p10"], row["total_twh_p90"])
                    if banded
                    else None,
                )
            )
        shares = [fmt.value("total_share", r["total_share"]) for r in lasts.values()]
        items.append(
            (
                f"Share of {scope} electricity {year}",
                f"{shares[0]} to {shares[-1]}",
                f"{' to '.join(lasts)}; of national electricity {last['electricity_definition']}",
            )
        )
    else:
        rows = next(iter(rows_by_variant.values()))
        ends = [rows.iloc[0], rows.iloc[-1]] if len(rows) > 1 else [rows.iloc[-1]]
        for row in ends:
            items.append(
                (
                    f"{scope} {int(row['year'])}",
                    fmt.value("total_twh", row["total_twh"]),
                    fmt.band("total_twh", row["total_twh_p10"], row["total_twh_p90"])
                    if banded
                    else None,
                )
            )
        items.append(
            (
                f"Share of {scope} electricity {year}",
                fmt.value("total_share", last["total_share"]),
                f"of national electricity {last['electricity_definition']} "
                f"({fmt.value('electricity_twh', last['electricity_twh'])})",
            )
        )
    items.append(
        (
            f"AI servers {year}",
            fmt.value("ai_twh", last["ai_twh"]),
            f"about {fmt.cell('reference_runs_per_year', last['reference_runs_per_year'])} runs "
            "a year of "
            f"{result['reference_run']}"
            + (f" ({next(iter(lasts))} variant)" if len(lasts) > 1 else ""),
        )
    )
    if "ai_peak_gw" in last:
        peak_band = (
            fmt.band("ai_peak_gw", last["ai_peak_gw_p10"], last["ai_peak_gw_p90"])
            if "ai_peak_gw_p10" in last
            else ""
        )
        items.append(
            (
                f"AI grid peak {year}",
                _gw(last["ai_peak_gw"]),
                f"design day: nameplate x design-day PUE {fmt.cell('design_pue', last['design_pue'])}; "
                f"average {_gw(last['ai_gw'])} at the annual PUE {fmt.cell('pue', last['pue'])}"
                + (f"; {peak_band}" if peak_band else "")
                + (f" ({next(iter(lasts))} variant)" if len(lasts) > 1 else ""),
            )
        )
    layout.metric_row(items)


def _gw(value: Any) -> str:
    """Gigawatts as shown: ``93.9 GW``."""
    return fmt.value("ai_gw", value) if not pd.isna(value) else ""


#: The two PUEs, for the caption under the power table.
POWER_CAPTION = (
    "Average GW = energy / hours in the year, with the ANNUAL PUE (what the meter bills). "
    "AI grid peak = the capacity the AI fleet's grid connections must carry on the DESIGN "
    "DAY: its IT power at nameplate (average / load factor: every accelerator may run flat "
    "out at once) x the design-day PUE (the hottest hours, when chillers and fans run "
    "hardest). Without a design_pue in the scenario it is derived from the annual PUE: "
    "1 + (PUE - 1) x {ratio:g} (design_pue_overhead_ratio, data/assumptions.csv, an "
    "estimate). Energy never uses the design-day PUE. The non-AI load has no nameplate in "
    "the scenarios, so it has no peak here."
)


def _power_table(frame: pd.DataFrame, countries: tuple[str, ...]) -> None:
    """Average GW beside the AI fleet's design-day grid peak, with the two PUEs (display only)."""
    if "ai_peak_gw" not in frame.columns:
        return
    rows = frame[frame["country"].isin(countries)]
    if rows.empty:
        return
    st.subheader("Power: average and grid peak")
    banded = "ai_peak_gw_p10" in rows.columns
    columns = ["variant", "country", "year", "total_gw", "ai_gw", "ai_peak_gw"]
    table = pd.DataFrame(
        {fmt.label(c): [fmt.cell(c, v) for v in rows[c]] for c in columns}
        | (
            {
                f"{fmt.label('ai_peak_gw', unit=False)} P10-P90": [
                    fmt.band("ai_peak_gw", lo, hi)
                    for lo, hi in zip(rows["ai_peak_gw_p10"], rows["ai_peak_gw_p90"], strict=True)
                ]
            }
            if banded
            else {}
        )
        | {fmt.label(c): [fmt.cell(c, v) for v in rows[c]] for c in ("pue", "design_pue")}
    )
    st.dataframe(table, hide_index=True, key="nat_power_table")
    st.caption(POWER_CAPTION.format(ratio=design_pue_overhead_ratio()))


def _published_table(published: list[dict[str, Any]]) -> None:
    if not published:
        st.caption("This scenario lists no published figures to compare with.")
        return
    st.subheader("Published figures vs the model")
    table = pd.DataFrame(
        [
            {
                fmt.label("variant"): p["variant"],
                fmt.label("country"): p["country"],
                fmt.label("year"): fmt.cell("year", p["year"]),
                "Quantity": fmt.label(p["quantity"]),
                "Published": fmt.cell(p["quantity"], p["published"]),
                "Model": fmt.cell(p["quantity"], p["model"]),
                fmt.label("relative_difference"): fmt.cell(
                    "relative_difference", p["relative_difference"]
                ),
                "Calibrated or predicted": p.get("label") or "",
                "Note": p.get("note") or "",
            }
            for p in published
        ]
    )
    st.dataframe(table, hide_index=True, key="nat_published_table")
    st.caption(
        "The model is the central projection (no sampling) of the same variant, country and "
        "year; the difference is model / published - 1. "
        + (
            "Calibrated: the totals are fitted to the study, so agreement there is by construction."
            if current_calibrate()
            else "Predicted: nothing is fitted to the study (tick 'Calibrate to the study's "
            "totals' in the sidebar to fit it)."
        )
    )


@st.cache_data(show_spinner=False)
def _backtest() -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """The out-of-sample backtest, its summary and the fleet's reconciliation (core calls)."""
    from planner import backtest, fleet

    table = backtest.backtest()
    return table, backtest.summary(table), fleet.reconcile(strict=False)


def _backtest_sentence(summary: dict[str, Any]) -> str:
    """The backtest's summary (:func:`planner.backtest.summary`) in words, numbers in the
    vocabulary's format, the median ratio beside its target."""
    from planner import backtest

    def v(name: str, unit: bool = False) -> str:
        return fmt.value(name, summary[name]) if unit else fmt.cell(name, summary[name])

    target = v("median_ratio_target")
    return (
        f"Fitted only on data up to each cut-off year, the model predicts each later published "
        f"figure from the latest figure of its own definition: {v('hits')} of "
        f"{v('predictions')} within {v('tolerance')} ({v('distinct_figures_hit')} distinct "
        f"figures; the naive 'nothing changes' forecast: {v('persistence_hits')}). Median "
        f"|error| {v('median_abs_error')} (naive {v('persistence_median_abs_error')} on the same "
        f"figures): {fmt.input_label('median_ratio')} {v('median_ratio')}, target at most {target}. "
        f"{v('not_predictable', unit=True)} {backtest.NOT_PREDICTABLE} "
        f"({backtest.NOT_PREDICTABLE_REASON})."
    )


def _evidence() -> None:
    """The fleet against the money and the chips, and the out-of-sample backtest."""
    try:
        table, summary, checks = _backtest()
    except PlannerError as exc:
        st.info(f"The backtest could not be run: {exc}")
        return
    from planner import backtest

    with st.expander("Backtest: published figures predicted out of sample"):
        st.markdown(_backtest_sentence(summary))
        out = table[~table["used_as_input"]]
        why = f"{backtest.NOT_PREDICTABLE}: {backtest.NOT_PREDICTABLE_REASON}"
        st.dataframe(
            pd.DataFrame(
                {
                    fmt.label("cutoff_year"): [
                        fmt.cell("cutoff_year", v) for v in out["cutoff_year"]
                    ],
                    "Study": out["study"],
                    fmt.label("definition"): out["definition"],
                    "Region": out["region"],
                    fmt.label("year"): [fmt.cell("year", v) for v in out["year"]],
                    fmt.label("published_twh"): [
                        fmt.cell("published_twh", v) for v in out["published"]
                    ],
                    fmt.label("predicted_twh"): [
                        fmt.cell("predicted_twh", v) for v in out["predicted"]
                    ],
                    fmt.label("error"): [fmt.cell("error", v) for v in out["error"]],
                    fmt.label("persistence_error"): [
                        fmt.cell("persistence_error", v) for v in out["persistence_error"]
                    ],
                    # a figure with no anchor of its definition: the core's reason instead
                    fmt.label("anchor"): [a or why for a in out["anchor"]],
                }
            ),
            hide_index=True,
            key="nat_backtest_table",
        )
    with st.expander("The fleet against the money and the chips"):
        st.dataframe(
            pd.DataFrame(
                {
                    "Check": checks["check"],
                    "Scope": checks["scope"],
                    "Year": checks["year"].astype(int).astype(str),
                    "Fleet": [fmt.input_number(v) for v in checks["implied"]],
                    "Published": [fmt.input_number(v) for v in checks["published"]],
                    "Unit": checks["unit"],
                    "Difference": [fmt.cell("relative_difference", v) for v in checks["error"]],
                    "Within tolerance": ["yes" if w else "NO" for w in checks["within"]],
                    "Source": checks["source"],
                }
            ),
            hide_index=True,
            key="nat_fleet_checks",
        )


def render() -> None:
    """Draw the page for the chosen scenario, variants, years, samples and countries."""
    sidebar.load()
    try:
        _render()
    finally:
        _keep_widgets()
        share.footer()


def _render() -> None:
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
        source = None
        st.error(str(err))
    _keep_widgets()
    share.panel()
    if source is None:
        return
    try:
        meta = compute.projection_meta(*source)
        chosen = tuple(st.session_state.get(COUNTRIES) or meta["countries"])
        countries = None if set(chosen) == set(meta["countries"]) else tuple(sorted(chosen))
        variants = tuple(st.session_state.get(VARIANTS) or meta["variants"])
        years = tuple(int(y) for y in st.session_state[YEARS])
        samples = st.session_state.get(SAMPLES)
        if samples is None:
            raise InputError("samples", "empty", "a whole number of Monte Carlo samples >= 0")
        with st.spinner(f"Projecting with {int(samples):,} Monte Carlo samples...", show_time=True):
            result = compute.projection(
                source[0],
                source[1],
                variants,
                (years[0], years[1]),
                int(samples) if float(samples).is_integer() else samples,
                compute.PROJECTION_SEED,
                countries,
                current_calibrate(),
            )
    except PlannerError as err:
        st.error(str(err))
        return
    st.caption(f"**{result['title']}**. Source: {result['source']}")
    order = tuple(c for c in meta["countries"] if c in chosen)
    _headline(result, meta["scope"] if meta["scope"] in order else order[0])

    banded = "total_twh_p10" in result["frame"].columns
    st.subheader("Electricity by year" + (" (P10-P90 band, P50 line)" if banded else ""))
    try:
        twh_spec = charts.fan(result["frame"], result["published"], "total_twh", order)
        share_spec = charts.fan(result["frame"], result["published"], "total_share", order)
    except PlannerError as err:
        st.info(f"No charts for these choices: {err}", icon=":material/info:")
    else:
        st.vega_lite_chart(spec=twh_spec, key="nat_chart_twh")
        st.caption(
            "Diamonds: the study's published figures. Each panel has its own scale."
            + ("" if banded else " Samples 0: central values only, no band.")
        )
        st.subheader("Share of national electricity")
        st.vega_lite_chart(spec=share_spec, key="nat_chart_share")
    definition = ", ".join(sorted(set(result["frame"]["electricity_definition"])))
    st.caption(
        f"Data-centre electricity over national electricity {definition}, with each study's "
        "own denominator (data/countries/electricity.csv)."
    )
    _power_table(result["frame"], order)
    _published_table(result["published"])
    with st.expander("Calibration (off unless chosen)"):
        for variant, text in result["calibration"].items():
            st.markdown(f"**{variant}**: {text}")
    _evidence()
    with st.expander("Every number of the projection"):
        st.dataframe(fmt.projection_table(result["frame"]), hide_index=True, key="nat_frame_table")


if __name__ == "__main__":
    render()
