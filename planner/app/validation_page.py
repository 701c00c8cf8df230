"""Page "Public record": the run model and the serving model against published figures.

What ``planner validate`` prints, on screen: every published training run of
``data/training_runs.csv`` next to the run model's in-sample, leave-one-out and
leave-one-family-out predictions (:func:`planner.utilisation.validate_runs`), the summary
against the accuracy and interval-coverage targets, the out-of-sample coverage of every
validated model's P10-P90 interval (:func:`planner.coverage.validation_coverage`), the ceiling the record itself puts on "within 30%"
(:func:`planner.utilisation.agreement_ceiling`), the coefficients, and the serving model
against published inference energy and fleet figures
(:func:`planner.serving_validation.validate_serving`). Every number comes from the core; the
page only lays it out. Both validations are cached (they depend on shipped data only).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from planner import quantities
from planner.app import formatting as fmt
from planner.coverage import validation_coverage
from planner.serving_validation import validate_serving
from planner.utilisation import WITHIN, validate_runs

_UTILISATION = quantities.label("observed_utilisation", short=True)
#: Columns of the runs table, in order, with their headers (the vocabulary's short labels).
RUN_COLUMNS = {
    "id": quantities.label("run", short=True),
    "chip": quantities.label("chip", short=True),
    "precision": quantities.label("precision", short=True),
    "gpus": quantities.label("gpus", short=True),
    "published": quantities.label("published", short=True),
    "published_unit": "unit",
    "observed_utilisation": f"{_UTILISATION} (published)",
    "utilisation_loo": f"{_UTILISATION} (leave-one-out)",
    **{
        name: f"{quantities.label(name, short=True)} error"
        for name in ("error_in_sample", "error_loo", "error_lofo")
    },
    "source": "source",
}


@st.cache_data(show_spinner=False)
def runs_validation() -> dict[str, Any]:
    """The run model's validation (JSON-ready dict plus the runs frame), cached."""
    result = validate_runs()
    return {"payload": result.to_dict(), "runs": result.runs}


@st.cache_data(show_spinner=False)
def coverage_table() -> pd.DataFrame:
    """Out-of-sample interval coverage of every validated model
    (:func:`planner.coverage.validation_coverage`), one row each, cached."""
    result = validate_runs()
    rows = validation_coverage(runs=result.coverage)
    return pd.DataFrame(
        [
            {
                "model": name,
                "label": c["label"],
                "cases": c["n"],
                "covered": c["covered"],
                "coverage": c["coverage"],
                "band_low": c["band_low"],
                "band_high": c["band_high"],
                "within target": c["within_target"],
                "basis": c["basis"],
            }
            for name, c in rows.items()
        ]
    )


@st.cache_data(show_spinner=False)
def serving_validation() -> pd.DataFrame:
    """The serving model against published inference figures, cached."""
    return validate_serving()


def _error_chart(runs: pd.DataFrame) -> alt.LayerChart:
    """Signed leave-one-out error per run, with the +-30% band."""
    loo = RUN_COLUMNS["error_loo"]
    data = runs[["id", "chip", "error_loo", "published_unit"]].rename(columns={"error_loo": loo})
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("id:N", sort="-y", title="published run"),
            y=alt.Y(
                f"{loo}:Q",
                axis=alt.Axis(format=quantities.vega_format("relative_difference")),
                title=f"{loo} (predicted / published - 1)",
            ),
            tooltip=[
                alt.Tooltip("id:N", title=RUN_COLUMNS["id"]),
                alt.Tooltip("chip:N", title=RUN_COLUMNS["chip"]),
                alt.Tooltip(f"{loo}:Q", format=quantities.vega_format("relative_difference")),
                alt.Tooltip("published_unit:N", title="published as"),
            ],
        )
    )
    band = pd.DataFrame({"bound": [-WITHIN, WITHIN], "label": ["-30%", "+30%"]})
    rules = (
        alt.Chart(band)
        .mark_rule(strokeDash=[4, 4])
        .encode(y="bound:Q", tooltip=[alt.Tooltip("label:N", title="band")])
    )
    return (bars + rules).properties(height=320)


def render() -> None:
    """Draw the page."""
    st.title("Checked against the public record")
    st.caption(
        "Every default the planner predicts with is compared here with published figures. "
        "Presets that state their own MFU and power are calibrated by construction (see the "
        "Size page's comparison); this page shows what the defaults PREDICT for runs they "
        "were not fitted to."
    )
    data = runs_validation()
    s = data["payload"]["summary"]
    runs: pd.DataFrame = data["runs"]

    st.subheader("Training runs: the run model (MFU x goodput)")
    cols = st.columns(5)
    cols[0].metric("Published runs", f"{s['n_runs']} ({s['n_families']} families)")
    cols[1].metric(
        "Leave-one-out median |error|",
        quantities.format_value("abs_error", s["loo_median_abs_error"]),
        help="Each run predicted by the model fitted without it.",
    )
    cols[2].metric(
        "Leave-one-out within 30%",
        quantities.format_value("share_within_30pct", s["loo_share_within_30pct"]),
        help=f"Ceiling of the public record: {quantities.format_value('share_within_30pct', s['ceiling_share_within_30pct'])}.",
    )
    cols[3].metric(
        "Leave-family-out median |error|",
        quantities.format_value("abs_error", s["lofo_median_abs_error"]),
        help="Every run of a family (e.g. all Llama 3.1 sizes) held out together.",
    )
    cols[4].metric(
        "P10-P90 coverage out of sample",
        quantities.format_value("interval_coverage", s["interval"]["coverage"]),
        help="Share of runs inside the P10-P90 band built from the other runs' errors.",
    )
    iv = s["interval"]
    fv = quantities.format_value
    median_verdict = "met" if s["meets_median_target"] else "not met"
    coverage_verdict = "met" if s["meets_coverage_target"] else "not met"
    st.markdown(
        f"Every figure here is **predicted**: a run's own published figure is not in its fit. "
        f"Target: leave-one-out median |error| <= {fv('abs_error', s['target_median_abs_error'])}"
        f" (**{median_verdict}**), and the {fv('interval_level', iv['interval_level'])} "
        f"interval covering {fv('interval_coverage', iv['target_coverage_low'])}-"
        f"{fv('interval_coverage', iv['target_coverage_high'])} of runs out of sample "
        f"(**{coverage_verdict}**: {fv('interval_coverage', iv['coverage'])}, {iv['covered']} "
        f"of {iv['n']}). In-sample {fv('abs_error', s['in_sample_median_abs_error'])} / "
        f"{fv('share_within_30pct', s['in_sample_share_within_30pct'])} within 30%; four in "
        f"five runs fall within {fv('relative_difference', s['loo_error_p10'])} / "
        f"{fv('relative_difference', s['loo_error_p90'])} of their leave-one-out prediction, "
        "the band every run-model explanation quotes."
    )
    n_out = len(s["ceiling_must_miss"])
    st.info(
        f"**Ceiling of the public record:** at most {s['n_runs'] - n_out} of {s['n_runs']} "
        f"runs ({quantities.format_value('share_within_30pct', s['ceiling_share_within_30pct'])}) can be within 30% for any model that "
        "gives alike runs (same dense peaks and architecture, sizes within 1.5x, the more "
        "efficient on at least as many GPUs) nearly the same prediction: these pairs differ "
        "by more than 1.3 / 0.7 = 1.86x."
    )
    pairs = pd.DataFrame(s["conflicting_pairs"])
    if not pairs.empty:
        st.dataframe(
            pairs,
            hide_index=True,
            column_config={
                "efficient": "more efficient run",
                "inefficient": "less efficient run",
                "utilisation_ratio": st.column_config.NumberColumn(
                    "utilisation ratio", format="%.2fx"
                ),
            },
        )
    st.altair_chart(_error_chart(runs), width="stretch")
    pct = st.column_config.NumberColumn
    st.dataframe(
        runs[list(RUN_COLUMNS)],
        hide_index=True,
        column_config={
            **RUN_COLUMNS,
            "gpus": pct(RUN_COLUMNS["gpus"], format=fmt.widget_format("gpus")),
            "published": pct(RUN_COLUMNS["published"], format=fmt.widget_format("published")),
            "observed_utilisation": pct(RUN_COLUMNS["observed_utilisation"], format="%.3f"),
            "utilisation_loo": pct(RUN_COLUMNS["utilisation_loo"], format="%.3f"),
            **{
                name: pct(RUN_COLUMNS[name], format="percent")
                for name in ("error_in_sample", "error_loo", "error_lofo")
            },
        },
    )
    st.caption(
        "Error = predicted / published - 1 of the published GPU-hours or wall-clock days. "
        "Sources: the last column (data/training_runs.csv). The same table: "
        "`planner validate` (`--json` for scripts)."
    )
    coef = pd.DataFrame(data["payload"]["coefficients"])
    with st.expander("Coefficients: logit(MFU x goodput) = sum of coefficient x feature"):
        st.dataframe(coef, hide_index=True)

    st.subheader("Interval coverage out of sample, every validated model")
    st.dataframe(
        coverage_table(),
        hide_index=True,
        column_config={
            "coverage": pct(quantities.label("interval_coverage"), format="percent"),
            "band_low": pct(quantities.label("interval_low_loo", short=True), format="percent"),
            "band_high": pct(quantities.label("interval_high_loo", short=True), format="percent"),
        },
    )
    st.caption(
        "Each case's P10-P90 interval is built from the OTHER cases' errors; coverage is the "
        "share of cases inside their own interval (75-85% is calibrated; wider fails too)."
    )

    st.subheader("Serving: published inference figures vs the serving model")
    st.dataframe(
        serving_validation(),
        hide_index=True,
        column_config={"ratio": pct("ratio (model / published)", format="%.2f")},
    )


render()
