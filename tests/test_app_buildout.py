"""The Build-out page (standalone render), driven headless with ``AppTest``."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

SCRIPT = "from planner.app.buildout_page import render\nrender()\n"


def test_the_page_shows_the_hand_checkable_plan():
    at = AppTest.from_string(SCRIPT, default_timeout=120).run()
    assert not at.exception
    assert not at.error
    assert "Status: **optimal**" in [m.value for m in at.markdown]
    labels = [m.label for m in at.metric]
    assert "Cost (USD)" in labels


def test_an_infeasible_objective_input_is_one_error_line():
    # compute needs a yearly budget: the core's one-line error, shown where it happens
    at = AppTest.from_string(SCRIPT, default_timeout=120).run()
    at.radio[0].set_value("compute").run()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("budget_usd_per_year = 'missing'")


def test_the_power_chart_stacks_each_sites_peak_under_the_power_available_line():
    import json

    from planner.app.buildout_charts import POWER_TITLE

    at = AppTest.from_string(SCRIPT, default_timeout=120).run()
    assert not at.exception
    specs = [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]
    [spec] = [s for s in specs if (s.get("title") or {}) in (POWER_TITLE, {"text": POWER_TITLE})]
    marks = {}
    for layer in spec["layer"]:
        mark = layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        marks[mark] = layer["encoding"]
    assert set(marks) == {"area", "line"}
    area, line = marks["area"], marks["line"]
    assert area["y"]["field"] == "facility_power_mw" and area["y"]["stack"] == "zero"
    assert area["color"]["field"] == "site" and area["x"]["field"] == "quarter"
    assert line["y"]["field"] == "available_mw" and "color" not in line


def test_a_plan_that_cannot_fit_shows_what_binds_and_the_relaxations_to_follow_together(
    tmp_path, monkeypatch
):
    from planner._paths import data_dir
    from planner.optimization.buildout import model

    shipped = (data_dir() / "buildout" / "small-hand-checkable.toml").read_text()
    assert "flops = 2e24" in shipped
    (tmp_path / "hundredfold.toml").write_text(shipped.replace("flops = 2e24", "flops = 2e26"))
    # AppTest runs the page in this process: the examples folder is swapped for this test only
    monkeypatch.setattr(model, "example_dir", lambda: tmp_path)
    at = AppTest.from_string(SCRIPT, default_timeout=180).run()
    assert not at.exception and not at.error
    text = [m.value for m in at.markdown]
    assert "Status: **infeasible**" in text
    assert any("all are followed together" in t for t in text)
    assert [s.value for s in at.subheader][-2:] == ["Minimal relaxations", "Binding limits"]
    assert any(t.startswith("- run model-a's deadline from 2026Q2 to") for t in text)
