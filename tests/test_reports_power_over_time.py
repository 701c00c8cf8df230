"""The sizing report's power-over-time section: the core's series
(:func:`planner.sizing.power_timeline`) as a table and a line chart, in every format."""

from __future__ import annotations

import json

import pytest

from planner import quantities
from planner.reports import build_report, render_report
from planner.request import build_request
from planner.sizing import power_timeline
from planner.training.transients import UNMITIGATED

PRESET = "gtc2024-hopper"


@pytest.fixture(scope="module")
def report():
    return build_report(preset=PRESET, command=f"planner report --preset {PRESET}")


def test_the_sizing_report_holds_the_cores_power_over_time_table_and_chart(report):
    table = next(t for t in report.tables if t.name == "power_over_time")
    core = power_timeline(build_request(preset=PRESET).size())
    assert [r["grid_side_power_mw"] for r in table.rows] == core["grid_side_power_mw"].tolist()
    assert {r["power_case"] for r in table.rows} == {UNMITIGATED, "with smoothing+storage"}
    assert {"checkpoint", "failure", "restart"} <= {r["phase"] for r in table.rows}
    chart = next(c for c in report.charts if c.name == "power_over_time")
    assert chart.kind == "line" and chart.table == "power_over_time"
    assert chart.encoding == {"x": "time_s", "y": "grid_side_power_mw", "color": "power_case"}


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_the_power_over_time_section_renders_with_the_vocabularys_labels(report, fmt):
    text = render_report(report, fmt).decode("utf-8")
    if fmt == "json":
        payload = json.loads(text)
        assert "power_over_time" in payload["tables"]
        assert "power_over_time" in json.dumps(payload["charts"])
    else:
        assert quantities.label("grid_side_power_mw", unit=False) in text
        assert "Power over time: steps, a checkpoint, a failure and its restart" in text
