"""The Size page's power-over-time chart (steps, a checkpoint, a failure and its restart,
with and without mitigation), driven headless with ``streamlit.testing.v1.AppTest``; its data
is the core's (:func:`planner.sizing.power_timeline`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from planner import quantities
from planner.app import charts, compute, state
from planner.sizing import power_timeline
from planner.training.transients import UNMITIGATED

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 60
TITLE = "Power over training steps, a checkpoint, a failure and its restart"


def timeline(at: AppTest) -> tuple[dict, pd.DataFrame]:
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("title")
        title = title.get("text") if isinstance(title, dict) else title
        if title == TITLE:
            data = {d.name: d.data.data for d in element.proto.datasets}
            return spec, dataframe_util.convert_arrow_bytes_to_pandas_df(data["timeline"])
    raise AssertionError("no power-over-time chart on the page")


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_size_page_draws_the_cores_power_over_time_with_and_without_mitigation(app):
    spec, data = timeline(app)
    key = compute.request_key(state.request_kwargs(state.default_inputs()))
    core = power_timeline(compute.sizing(key)["result"])
    assert set(data["power_case"]) == {UNMITIGATED, "with smoothing+storage"}
    assert set(data["phase"]) == {"compute", "communication", "checkpoint", "failure", "restart"}
    assert len(data) == len(core)
    assert data["grid_side_power_mw"].to_numpy() == pytest.approx(
        core["grid_side_power_mw"].to_numpy()
    )
    # the mitigation lowers the peak the grid sees; a failure still reaches it
    peaks = data.groupby("power_case")["grid_side_power_mw"].max()
    assert peaks["with smoothing+storage"] < peaks[UNMITIGATED]
    lows = data.groupby("power_case")["grid_side_power_mw"].min()
    assert lows["with smoothing+storage"] == pytest.approx(lows[UNMITIGATED])
    # axis titles and tooltips from the vocabulary
    enc = spec["encoding"]
    assert enc["x"]["title"] == quantities.label("time_s")
    assert enc["y"]["title"] == quantities.label("grid_side_power_mw")
    assert {t["field"] for t in enc["tooltip"]} == {
        "time_s",
        "phase",
        "power_case",
        "grid_side_power_mw",
    }


def test_the_chart_function_only_fills_the_cores_frame_in():
    key = compute.request_key(state.request_kwargs(state.default_inputs()))
    frame = power_timeline(compute.sizing(key)["result"])
    spec = charts.power_over_time(frame)
    rows = spec["datasets"]["timeline"]
    assert len(rows) == len(frame) and set(rows[0]) == {
        "time_s",
        "phase",
        "power_case",
        "grid_side_power_mw",
    }
