"""The "Sweeps" page (planner/app/sweep_page.py), driven headless with ``AppTest``: a shipped
sweep runs in the page, and a results folder of `planner sweep` opens with its charts."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from planner.sweeps import run_sweep

PAGE = str(Path(__file__).resolve().parents[1] / "planner" / "app" / "sweep_page.py")


def test_the_page_runs_a_small_shipped_sweep():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox[0].select("gtc2024-hopper-mc").run()
    at.number_input[0].set_value(500).run()
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Scenarios"] == "500"
    assert metrics["Scenarios without a plan"] == "0.0%"
    assert any("P50" in m.value for m in at.markdown)


def test_the_page_opens_a_results_folder_with_fan_and_binding_charts(tmp_path):
    spec = {
        "title": "page test grid",
        "base": {"kind": "optimize", "scenario": "gtc2024", "objective": "cost"},
        "sample": {"batch_size": 2},
        "inputs": {"runs[0].deadline_days": {"grid": [60, 90, 120]}},
    }
    run_sweep(spec, out_dir=tmp_path, scheduler="serial")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.radio[0].set_value("Open a results folder").run()
    at.text_input[0].input(str(tmp_path)).run()
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Scenarios"] == "3"
    assert any("P10-P90" in c.value for c in at.caption)
    assert any("limit binds" in c.value for c in at.caption)
