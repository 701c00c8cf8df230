"""Page "Sweeps": run a small sweep, or open a sweep's Parquet results, and see its fan,
tornado and binding-limit charts.

Every number comes from :mod:`planner.sweeps` (the run, the DuckDB summary and its chart-ready
frames); labels and number formats from :mod:`planner.quantities`. The page runs sweeps in
this process (no Dask cluster from a web page) and at most :data:`MAX_CLOSED_SCENARIOS` closed-
form or :data:`MAX_FANOUT_SCENARIOS` optimiser / projection scenarios; larger sweeps run with
``planner sweep`` and open here as a results folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from planner import quantities
from planner._paths import data_dir
from planner.errors import PlannerError

#: Most scenarios the page runs itself, closed-form (sizing, serving) and fanned out.
MAX_CLOSED_SCENARIOS = 20_000
MAX_FANOUT_SCENARIOS = 60
_DIR_KEY = "sweep_results_dir"


def shipped_sweeps() -> list[str]:
    """Names of the shipped sweep files (``data/sweeps/*.toml``)."""
    return [p.stem for p in sorted((data_dir() / "sweeps").glob("*.toml"))]


def _label(column: str) -> str:
    bare = column.removeprefix("in_")
    if bare in quantities.all_quantities():
        return quantities.label(bare)
    return bare


def _fmt(column: str) -> str:
    q = quantities.all_quantities().get(column)
    return q.format if q is not None and q.format else ",.4g"


@st.cache_data(show_spinner=False)
def _summary(out_dir: str, stamp: tuple[Any, ...]) -> dict[str, Any]:
    """The sweep folder's summary (``stamp``: its part files and sizes, so a rerun refreshes)."""
    from planner.sweeps.store import SweepStore
    from planner.sweeps.summary import summarize

    manifest = SweepStore(out_dir).manifest() or {}
    return {
        "manifest": manifest,
        "summary": summarize(out_dir, list(manifest.get("inputs", {}).values())),
    }


def _stamp(out_dir: str) -> tuple[Any, ...]:
    return tuple((p.name, p.stat().st_size) for p in sorted(Path(out_dir).glob("part-*.parquet")))


def _run_controls() -> None:
    from planner.sweeps import load_spec, run_sweep, spec_from_dict
    from planner.sweeps.spec import CLOSED_FORM_KINDS

    name = st.selectbox("Shipped sweep", shipped_sweeps())
    spec = load_spec(name)
    closed = spec.kind in CLOSED_FORM_KINDS
    cap = MAX_CLOSED_SCENARIOS if closed else MAX_FANOUT_SCENARIOS
    points = spec.size // spec.draws
    st.caption(f"{spec.title} ({spec.kind}; {spec.size:,} scenarios in the file)")
    samples = spec.samples
    if spec.random_inputs:
        most = max(cap // points, 1)
        samples = int(
            st.number_input(
                "Draws (per grid point)", min_value=1, max_value=most, value=min(spec.samples, most)
            )
        )
    elif spec.size > cap:
        st.warning(
            f"{spec.size:,} scenarios: run it with `planner sweep {name}`, then open the folder."
        )
        return
    if st.button("Run", type="primary"):
        data = spec.to_dict()
        data["sample"]["samples"] = samples
        small = spec_from_dict(data, source=spec.source)
        out_dir = (
            Path(tempfile.gettempdir()) / "planner-sweeps" / f"{name}-{small.fingerprint()[:12]}"
        )
        with st.spinner(f"Running {small.size:,} scenarios..."):
            try:
                run_sweep(small, out_dir=out_dir, scheduler="serial")
            except PlannerError as exc:
                st.error(str(exc))
                return
        st.session_state[_DIR_KEY] = str(out_dir)


def _open_controls() -> None:
    folder = st.text_input("Results folder (the --out of `planner sweep`)")
    if folder and st.button("Open"):
        st.session_state[_DIR_KEY] = folder


def _fan_chart(frame: pd.DataFrame, x: str, output: str) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:Q", title=_label(x)))
    y_title = quantities.label(output) if output in quantities.all_quantities() else output
    band = base.mark_area(opacity=0.3).encode(
        y=alt.Y("p10:Q", title=y_title, axis=alt.Axis(format=_fmt(output))), y2="p90:Q"
    )
    line = base.mark_line(point=True).encode(
        y="p50:Q", tooltip=[x, "p10", "p50", "p90", "scenarios"]
    )
    return alt.layer(band, line)


def _histogram(frame: pd.DataFrame, output: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "low:Q", bin="binned", title=_label(output), axis=alt.Axis(format=_fmt(output))
            ),
            x2="high:Q",
            y=alt.Y("scenarios:Q", title=quantities.label("scenarios", short=True)),
        )
    )


def _tornado_chart(frame: pd.DataFrame, output: str) -> alt.Chart:
    frame = frame.assign(label=[_label(c) for c in frame["input"]])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=alt.SortField("rank"), title="input"),
            x=alt.X(
                "swing:Q", title=f"swing of {_label(output)}", axis=alt.Axis(format=_fmt(output))
            ),
            tooltip=["label", "swing", "rank"],
        )
    )


def _binding_chart(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("limit:N", sort="-x", title=quantities.label("limit", short=True)),
            x=alt.X(
                "share:Q",
                title=quantities.label("binding_share"),
                axis=alt.Axis(format=quantities.vega_format("binding_share")),
            ),
            tooltip=["limit", "scenarios", "share"],
        )
    )


def render() -> None:
    from planner.sweeps.summary import binding_frame, fan_frame, histogram_frame, tornado_frame

    st.title("Sweeps")
    st.caption(
        "Monte Carlo draws and grids over any input (`planner sweep`). Run a small shipped "
        "sweep here, or open the results folder of a larger one."
    )
    mode = st.radio("Source", ["Run a shipped sweep", "Open a results folder"], horizontal=True)
    if mode == "Run a shipped sweep":
        _run_controls()
    else:
        _open_controls()
    out_dir = st.session_state.get(_DIR_KEY)
    if not out_dir:
        return
    try:
        data = _summary(out_dir, _stamp(out_dir))
    except PlannerError as exc:
        st.error(str(exc))
        return
    s, manifest = data["summary"], data["manifest"]
    st.subheader(manifest.get("title") or out_dir)
    cols = st.columns(3)
    cols[0].metric("Scenarios", f"{s['scenarios']:,}")
    cols[1].metric(
        quantities.label("infeasible_share"),
        quantities.format_value("infeasible_share", s["infeasible_share"]),
    )
    cols[2].metric("Results", Path(out_dir).name)
    pct = s["percentiles"]
    vocabulary = quantities.all_quantities()
    outputs = [c for c in pct if c in vocabulary and pct[c]["p10"] != pct[c]["p90"]]
    if not outputs:
        st.info("No output varies over the feasible scenarios.")
    else:
        output = st.selectbox("Output", outputs, format_func=quantities.label)
        p = pct[output]
        st.markdown(
            f"**P10** {quantities.format_value(output, p['p10'], unit=True)} · "
            f"**P50** {quantities.format_value(output, p['p50'], unit=True)} · "
            f"**P90** {quantities.format_value(output, p['p90'], unit=True)}"
        )
        grid_inputs = [
            "in_" + name
            for name, body in manifest.get("spec", {}).get("inputs", {}).items()
            if "grid" in body and all(isinstance(v, int | float) for v in body["grid"])
        ]
        if grid_inputs:
            x = st.selectbox("Fan over", grid_inputs, format_func=_label)
            st.altair_chart(
                _fan_chart(fan_frame(out_dir, output, x), x, output), use_container_width=True
            )
            st.caption("Band: P10-P90 of the feasible scenarios at each grid value; line: P50.")
        else:
            st.altair_chart(
                _histogram(histogram_frame(out_dir, output), output), use_container_width=True
            )
        tornado = tornado_frame(s, output)
        if len(tornado):
            st.altair_chart(_tornado_chart(tornado, output), use_container_width=True)
            st.caption(
                "Tornado: the output's median with the input in its top decile (a grid: its "
                "highest value) minus the median with it in its bottom decile."
            )
    binding = binding_frame(s)
    if len(binding):
        st.altair_chart(_binding_chart(binding), use_container_width=True)
        st.caption("Share of the feasible scenarios in which each limit binds.")


if __name__ == "__main__":
    render()
