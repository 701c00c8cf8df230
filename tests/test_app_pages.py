"""The Optimise, National demand and Reports pages, driven headless with ``AppTest``.

Public figures and tolerances:

* NVIDIA GTC 2024 keynote (J. Huang, 18 March 2024): the 1.8T GPT-MoE in 90 days takes
  2,000 Blackwell GPUs and 4 MW. ``data/scenarios/gtc2024.toml`` reproduces it as 2,016
  GB200 (28 NVL72 racks) and 4.25 MW at the design-day PUE 1.15 (the core's numbers; asserted
  to 0.5%, and 10% of the keynote's round figures).
* The same run on H100 needs 14.38 MW at the design-day PUE 1.30 (hyperscale-air, annual
  1.20), so a 10 MW grid is 3.78 MW short (7,480 H100 + 80 hot spares at goodput(N))
  (``data/scenarios/gtc2024_10mw_h100.toml``).
* IEA, Energy and AI (2025), Base Case: world data centres 415 TWh in 2024 and 945 TWh in
  2030 (``data/projections/iea-2025-base.toml``; the central projection within 1%).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from planner import quantities
from planner.app import charts, compute, optimise_page
from planner.errors import CatalogError, InputError
from planner.scenarios import scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 60
SIZE = "planner/app/size_page.py"
OPTIMISE = "planner/app/optimise_page.py"
NATIONAL = "planner/app/national_page.py"
REPORTS = "planner/app/reports_page.py"
INFEASIBLE = "gtc2024_10mw_h100.toml"


def _number(text: str) -> float:
    match = re.search(r"-?[\d,]+(\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(0).replace(",", ""))


def metrics(at: AppTest) -> dict[str, float]:
    return {m.label: _number(m.value) for m in at.metric}


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest) -> str:
    """Every message and markdown text on the page, joined."""
    parts = [*at.warning, *at.info, *at.success, *at.error, *at.markdown, *at.caption]
    return "\n".join(p.value for p in parts)


def edit(at: AppTest, editor: str, row: int, **cells: Any) -> AppTest:
    """Seed a cell edit of a data editor (what a user's typing sends) and rerun."""
    at.session_state[editor] = {"edited_rows": {row: cells}, "added_rows": [], "deleted_rows": []}
    return at.run()


def chart_data(at: AppTest, index: int, name: str) -> pd.DataFrame:
    """A named dataset of the ``index``-th Vega-Lite chart on the page."""
    proto = at.get("vega_lite_chart")[index].proto
    data = {d.name: d.data.data for d in proto.datasets}
    return dataframe_util.convert_arrow_bytes_to_pandas_df(data[name])


@pytest.fixture()
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert_clean(at)
    return at


@pytest.fixture()
def optimise(app: AppTest) -> AppTest:
    app.switch_page(OPTIMISE).run()
    assert_clean(app)
    return app


# --- Optimise --------------------------------------------------------------------------------


def test_optimise_page_solves_gtc2024_on_first_view_to_2016_gb200_and_4_25_mw(
    optimise: AppTest,
) -> None:
    at = optimise
    assert at.selectbox(key="opt_file").value == "gtc2024.toml"
    m = metrics(at)
    assert m["GPUs"] == pytest.approx(2_016, rel=0.005)
    assert m["Peak facility power"] == pytest.approx(4.25, rel=0.005)
    assert m["GPUs"] == pytest.approx(2_000, rel=0.10)  # the keynote's round figures
    assert m["Peak facility power"] == pytest.approx(4.0, rel=0.10)
    plan = next(df.value for df in at.dataframe if "Chip" in df.value and "MFU" in df.value)
    assert list(plan["Chip"]) == ["gb200"]
    # the vocabulary's headers and formats. The scenario buys (pricing capex): 2,016 GB200 at
    # the data/chip_economics.csv server price + networking (19%) + facility (USD 11.7M/MW of
    # IT) + electricity
    assert list(plan[quantities.label("cost_usd")]) == ["147,464,299"]
    assert "2,016 GB200 (28 systems)" in at.success[0].value
    assert "Scenario: data/scenarios/gtc2024.toml." in texts(at)  # unedited
    assert "**Binds.** Deadline of gpt-moe-1.8t" in texts(at)
    assert not at.error


def test_optimise_page_shows_the_tables_the_candidates_and_the_pareto_chart(
    optimise: AppTest,
) -> None:
    at = optimise
    runs = at.data_editor(key="opt_runs").value
    assert list(runs["mfu"]) == ["h100=0.2, gb200=0.32"]
    assert list(at.data_editor(key="opt_candidates").value["chip"]) == ["h100", "gb200"]
    assert at.data_editor(key="opt_limits").value["grid_limit_mw"].iloc[0] == "50"
    assert list(runs["params_b"]) == ["1,800"]  # billions, as planners write them
    assert list(runs["tokens_t"]) == ["13"]  # trillions
    candidates = chart_data(at, 0, charts.CANDIDATES)
    status = dict(zip(candidates["chip"], candidates["status"], strict=True))
    assert status == {"h100": "fits", "gb200": "in the plan"}
    pareto = chart_data(at, 1, charts.PARETO)
    assert 90.0 in set(pareto["days"])
    # longer deadlines need fewer GB200 racks: the least cost falls with the deadline
    costs = pareto.sort_values("days")["cost_usd"].tolist()
    assert costs == sorted(costs, reverse=True)


def test_the_infeasible_10_mw_h100_site_shows_the_minimal_relaxations_not_an_exception(
    optimise: AppTest,
) -> None:
    at = optimise
    at.selectbox(key="opt_file").set_value(INFEASIBLE).run()
    assert_clean(at)
    assert not at.error
    assert not at.metric  # no plan
    text = texts(at)
    assert "No plan fits: 90 days on H100 needs 14.39 MW; the grid gives 10 MW" in text
    assert "4.39 MW more grid" in text
    assert "130 days for gpt-moe-1.8t" in text
    assert "Add gb200 as a candidate" in text


@pytest.mark.parametrize(
    ("editor", "cells", "message"),
    [
        ("opt_runs", {"deadline_days": "-5"}, "runs[0].deadline_days = -5 is not allowed"),
        ("opt_runs", {"deadline_days": "9e9"}, "runs[0].deadline_days = 9e+09 is not allowed"),
        ("opt_runs", {"flops": "1.8T"}, "runs[0].flops = '1.8T' is not allowed: expected a number"),
        ("opt_runs", {"params_b": "abc"}, "runs[0].params_b = 'abc' is not allowed"),
        ("opt_limits", {"grid_limit_mw": "1e308"}, "site.grid_limit_mw = 1e+308 is not allowed"),
        ("opt_runs", {"mfu": "1.5"}, "'runs[0].mfu': 1.5 is not allowed"),
        ("opt_runs", {"mfu": "h100=1.5"}, "'runs[0].mfu.h100': 1.5 is not allowed"),
        ("opt_runs", {"mfu": "h100=,"}, "runs[0].mfu = 'h100=,' is not allowed"),
        ("opt_runs", {"name": None}, "'runs[0].name': required field is missing"),
        ("opt_candidates", {"chip": "tpu9"}, "'candidates.chips[0]': 'tpu9' is not allowed"),
        ("opt_limits", {"grid_limit_mw": "0"}, "'site.grid_limit_mw': 0 is not allowed"),
        ("opt_limits", {"pue": "0.5"}, "'site.pue': 0.5 is not allowed"),
    ],
)
def test_a_bad_edit_shows_the_validators_message_naming_the_field_and_no_exception(
    optimise: AppTest, editor: str, cells: dict[str, Any], message: str
) -> None:
    edit(optimise, editor, 0, **cells)
    assert_clean(optimise)
    assert len(optimise.error) == 1
    assert message in optimise.error[0].value
    assert not optimise.metric


def test_an_edit_is_solved_when_solve_is_pressed(optimise: AppTest) -> None:
    at = edit(optimise, "opt_runs", 0, deadline_days="180")
    assert_clean(at)
    assert "press Solve" in texts(at)
    assert metrics(at)["GPUs"] == pytest.approx(2_016)  # still the plan last solved
    at.button(key="opt_solve").click().run()
    assert_clean(at)
    # twice the time, half the racks: 14 NVL72 = 1,008 GB200
    assert metrics(at)["GPUs"] == pytest.approx(1_008)
    assert "press Solve" not in texts(at)


def test_the_objective_selector_changes_the_plan(optimise: AppTest) -> None:
    at = optimise
    at.selectbox(key="opt_objective").set_value("time").run()
    at.button(key="opt_solve").click().run()
    assert_clean(at)
    m = metrics(at)
    # fastest within 50 MW: as many GB200 racks as the grid powers
    assert 45.0 < m["Peak facility power"] <= 50.0
    assert m["Longest run"] < 90 / 10


def test_edits_and_the_solved_plan_survive_a_page_switch(optimise: AppTest) -> None:
    at = edit(optimise, "opt_runs", 0, deadline_days="120")
    at.button(key="opt_solve").click().run()
    before = metrics(at)
    at.switch_page(NATIONAL).run()
    at.switch_page(OPTIMISE).run()
    assert_clean(at)
    assert at.data_editor(key="opt_runs").value["deadline_days"].tolist() == ["120"]
    assert metrics(at) == before
    assert "press Solve" not in texts(at)


# --- National demand -----------------------------------------------------------------------


def test_national_page_renders_the_iea_base_case_with_the_published_points(app: AppTest) -> None:
    app.switch_page(NATIONAL).run()
    assert_clean(app)
    assert not app.error
    assert app.selectbox(key="nat_file").value == "iea-2025-base.toml"
    assert app.number_input(key="nat_samples").value == compute.DEFAULT_SAMPLES
    m = metrics(app)
    # predicted (nothing fitted, the core's default): within 25% of IEA 2025's figures
    assert m["World 2024"] == pytest.approx(415, rel=0.25)
    assert m["World 2030"] == pytest.approx(945, rel=0.25)
    assert "Predicted: nothing is fitted" in texts(app)
    app.checkbox(key="nat_calibrate").check().run()
    assert_clean(app)
    m = metrics(app)
    assert m["World 2024"] == pytest.approx(415, rel=0.01)  # IEA 2025: 415 TWh
    assert m["World 2030"] == pytest.approx(945, rel=0.01)  # IEA 2025: ~945 TWh
    assert app.query_params["nat_calibrate"] == "true"
    fan = chart_data(app, 0, charts.FAN)
    published = fan[fan["kind"] == "published"]
    assert {"World", "US", "China"} <= set(published["country"])
    world = published[published["country"] == "World"].set_index("year")["published"]
    assert world[2024] == 415 and world[2030] == 945
    band = fan[(fan["kind"] == "projection") & (fan["country"] == "World")]
    assert (band["low"] < band["mid"]).all() and (band["mid"] < band["high"]).all()
    table = next(df.value for df in app.dataframe if "Published" in df.value)
    assert {"World", "US", "China"} <= set(table["Country or region"])


def test_national_page_runs_every_shipped_scenario_and_reports_bad_samples(app: AppTest) -> None:
    app.switch_page(NATIONAL).run()
    for name in compute.projection_names():
        app.selectbox(key="nat_file").set_value(name).run()
        assert_clean(app)
        assert not app.error, (name, [e.value for e in app.error])
        assert app.get("vega_lite_chart")
    assert app.multiselect(key="nat_variants").value  # every variant of the last file
    app.number_input(key="nat_samples").set_value(-5).run()  # below the widget's range
    assert_clean(app)
    assert app.number_input(key="nat_samples").value in (0, None)  # refused by the widget
    assert app.selectbox(key="nat_file").value  # the pickers stay: no dead end
    app.number_input(key="nat_samples").set_value(0).run()  # central values only
    assert_clean(app)
    assert not app.error


def test_lbnl_shows_both_variants_for_the_us(app: AppTest) -> None:
    app.switch_page(NATIONAL).run()
    app.selectbox(key="nat_file").set_value("lbnl-2024.toml").run()
    app.checkbox(key="nat_calibrate").check().run()
    assert_clean(app)
    fan = chart_data(app, 0, charts.FAN)
    assert set(fan["series"]) == {"low", "trend", "high"}
    assert set(fan["country"]) == {"US"}
    m = metrics(app)
    assert m["US 2023"] == pytest.approx(176, rel=0.01)  # LBNL 2024: 176 TWh in 2023
    # both variants' 2028 figures in the headline, not only the low case (LBNL: 325-580 TWh)
    assert {"US 2028, low", "US 2028, high"} <= set(m)
    assert m["US 2028, low"] < m["US 2028, high"]


# --- Reports -------------------------------------------------------------------------------


def report_sources(at: AppTest) -> dict[str, tuple[str, tuple[Any, ...]]]:
    return at.session_state["_report_sources"]


def test_the_sizing_report_carries_the_grid_verdict_the_page_shows(app: AppTest) -> None:
    app.number_input(key="grid_mw").set_value(10.0).run()
    app.switch_page(REPORTS).run()
    assert_clean(app)
    assert "3.78 MW short of the 10.00 MW grid limit" in texts(app)
    report = json.loads(compute.report_bytes(*report_sources(app)["sizing"], "json"))
    grid = report["data"]["sizing"]["grid"]
    assert grid["fits"] is False and grid["max_gpus"] == 5_424  # as the Size page says
    assert "does not fit the 10.00 MW grid limit" in report["summary"]


def test_reports_page_offers_every_format_and_the_bytes_are_reports(app: AppTest) -> None:
    app.switch_page(REPORTS).run()
    assert_clean(app)
    assert not app.error
    labels = [b.label for b in app.get("download_button") if b.key.startswith("dl_")]
    assert labels == ["HTML", "Excel (XLSX)", "Markdown", "JSON"] * 4
    sources = report_sources(app)
    assert set(sources) == {"sizing", "plan", "projection", "serving"}
    for subject, args in sources.values():
        for fmt in ("html", "xlsx", "md", "json"):
            data = compute.report_bytes(subject, args, fmt)
            assert len(data) > 1000, (subject, fmt)
        assert compute.report_bytes(subject, args, "xlsx")[:2] == b"PK"  # a zip (OOXML)
        assert (
            compute.report_bytes(subject, args, "html")
            .lstrip()
            .lower()
            .startswith(b"<!doctype html")
        )
    sizing = json.loads(compute.report_bytes(*sources["sizing"], "json"))
    assert sizing["data"]["sizing"]["gpus"] == pytest.approx(7_480)  # GTC 2024 Hopper
    plan = json.loads(compute.report_bytes(*sources["plan"], "json"))
    assert plan["data"]["plan"]["totals"]["gpus"] == pytest.approx(2_016)
    projection = json.loads(compute.report_bytes(*sources["projection"], "json"))
    assert projection["data"]["projection"]["published"]


def test_reports_follow_the_sidebar_and_the_edited_optimise_scenario(optimise: AppTest) -> None:
    at = edit(optimise, "opt_runs", 0, deadline_days="120")
    at.button(key="opt_solve").click().run()
    at.switch_page(SIZE).run()
    at.slider(key="mfu_pct").set_value(35.0).run()
    at.switch_page(REPORTS).run()
    assert_clean(at)
    sources = report_sources(at)
    sizing = json.loads(compute.report_bytes(*sources["sizing"], "json"))
    assert sizing["data"]["sizing"]["mfu"] == pytest.approx(0.35)
    plan = json.loads(compute.report_bytes(*sources["plan"], "json"))
    assert plan["data"]["plan"]["totals"]["gpus"] == pytest.approx(1_512)  # 21 racks, 120 days
    assert "edited tables of data/scenarios/gtc2024.toml" in texts(at)


def test_a_bad_sidebar_input_shows_the_core_message_on_the_reports_page(app: AppTest) -> None:
    app.selectbox(key="chip").set_value("a100-80gb").run()  # the preset asks for FP8
    app.switch_page(REPORTS).run()
    assert_clean(app)
    assert "precision = 'fp8' is not allowed" in app.error[0].value
    buttons = [b for b in app.get("download_button") if b.key.startswith("dl_")]
    assert len(buttons) == 12  # plan, projection and serving still offered


# --- the shared sidebar across pages ---------------------------------------------------------


def test_every_page_switch_keeps_the_sidebar_state(app: AppTest) -> None:
    app.selectbox(key="chip").set_value("gb200").run()
    app.slider(key="mfu_pct").set_value(35.0).run()
    before = metrics(app)
    for page in (OPTIMISE, NATIONAL, REPORTS, SIZE):
        app.switch_page(page).run()
        assert_clean(app)
        assert app.query_params["mfu"] == "0.35"
        assert app.query_params["chip"] == "gb200"
    # only the Size page draws the sizing inputs (per-page sidebars)
    assert app.selectbox(key="chip").value == "gb200"
    assert app.slider(key="mfu_pct").value == pytest.approx(35.0)
    assert metrics(app) == before


def test_each_page_sidebar_holds_only_that_pages_inputs(app: AppTest) -> None:
    assert app.selectbox(key="chip") and app.slider(key="mfu_pct")
    for page, own in ((OPTIMISE, "opt_objective"), (NATIONAL, "nat_file")):
        app.switch_page(page).run()
        assert_clean(app)
        keys = {w.key for w in app.sidebar.selectbox}
        assert own in keys and "chip" not in keys and "preset" not in keys


# --- the tables, without Streamlit -----------------------------------------------------------


@pytest.mark.parametrize("name", compute.scenario_names())
def test_every_example_scenario_round_trips_through_the_tables_and_toml(name: str) -> None:
    raw = compute.scenario_raw(name)
    data = compute.scenario_from_tables(raw, **compute.scenario_tables(raw))
    original = scenario_from_dict(raw).model_dump()
    rebuilt = scenario_from_dict(data).model_dump()
    original["candidates"]["chips"] = scenario_from_dict(raw).candidate_ids()
    assert rebuilt == original
    assert tomllib.loads(compute.scenario_toml(data, "header")) == data


_CHIPS = st.sampled_from(["h100", "gb200", "b200", "mi300x", "default"])


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(0.01, 1.0)
    | st.dictionaries(_CHIPS, st.floats(0.01, 1.0), min_size=1, max_size=4)
    | st.sampled_from(["colocation-air", "hyperscale-liquid"])
)
def test_a_scalar_or_per_chip_value_round_trips_through_its_text_cell(value: Any) -> None:
    parsed = compute.parse_mapping("runs[0].mfu", compute.mapping_text(value), "h100=0.2")
    if isinstance(value, dict):
        assert parsed == pytest.approx(value, rel=1e-5)
    elif isinstance(value, float):
        assert parsed == pytest.approx(value, rel=1e-5)
    else:
        assert parsed == value


def test_a_malformed_pair_names_the_field() -> None:
    with pytest.raises(InputError, match=r"runs\[2\]\.mfu = 'h100' is not allowed|runs\[2\]"):
        compute.parse_mapping("runs[2].mfu", "h100, gb200=0.3", "h100=0.2")


def test_relaxations_and_limits_read_as_sentences() -> None:
    raw = compute.scenario_raw(INFEASIBLE)
    key = compute.scenario_key(compute.file_scenario(INFEASIBLE))
    result = compute.plan(key, "test")
    lines = optimise_page.relaxation_lines(result["relaxations"])
    assert lines[0] == "More grid: 4.39 MW more grid (10.00 MW -> 14.39 MW)."
    assert raw["site"]["grid_limit_mw"] == 10
    feasible = compute.plan(compute.scenario_key(compute.file_scenario("gtc2024.toml")), "test")
    grid = next(
        r for r in feasible["constraints"].to_dict("records") if r["constraint"] == "grid_limit_mw"
    )
    assert optimise_page.limit_sentence(grid, "MW") == (
        "Not binding. Grid: 4.25 MW of 50.00 MW at peak (45.75 MW left)."
    )


def _unit_specs(spec: object) -> list[dict]:
    if isinstance(spec, list):
        return [u for item in spec for u in _unit_specs(item)]
    if not isinstance(spec, dict):
        return []
    own = [spec] if "mark" in spec else []
    return own + [u for k, v in spec.items() if k != "datasets" for u in _unit_specs(v)]


def assert_vocabulary_titles(units: list[dict], aliases: dict[str, str] | None = None) -> None:
    """Every quantitative axis and tooltip of a core output carries the vocabulary's label
    and d3 format (``aliases``: a column that holds another output, as ``days`` the deadline)."""
    aliases = aliases or {}
    seen = 0
    for unit in units:
        enc = unit["encoding"]
        for channel in ("x", "y"):
            axis = enc.get(channel, {})
            name = aliases.get(axis.get("field", ""), axis.get("field", ""))
            if axis.get("type") != "quantitative" or name not in quantities.all_quantities():
                continue
            if "title" in axis:
                assert axis["title"].removesuffix(", log scale") == quantities.label(name), axis
                seen += 1
            if "axis" in axis and "format" in axis["axis"]:
                assert axis["axis"]["format"] == quantities.vega_format(name), axis
        tips = enc.get("tooltip", [])
        for tip in tips if isinstance(tips, list) else [tips]:
            name = aliases.get(tip.get("field", ""), tip.get("field", ""))
            if name in quantities.all_quantities() and tip.get("type") == "quantitative":
                # a column that holds another output may qualify its label ("... published")
                qualified = tip.get("field") in aliases and tip["title"].startswith(
                    quantities.label(name) + " "
                )
                assert tip["title"] == quantities.label(name) or qualified, tip
                assert tip.get("format", "") == quantities.vega_format(name), tip
                seen += 1
    assert seen


def test_every_new_chart_axis_names_its_unit_and_every_mark_has_a_tooltip() -> None:
    key = compute.scenario_key(compute.file_scenario("gtc2024.toml"))
    result = compute.plan(key, "test")
    days = compute.pareto_days_values(90.0)
    projection = compute.projection(
        "iea-2025-base.toml", None, ("base",), (2024, 2030), 200, 0, None
    )
    countries = ("World", "US")
    # (chart, columns that hold another output): the fan's published and model columns hold
    # its output
    specs = [
        (
            charts.pareto_days(compute.pareto_days(key, "test", days), 90.0),
            {"days": "deadline_days"},
        ),
        (charts.candidates(result["comparison"], {("gpt-moe-1.8t", "gb200")}, 50.0), {}),
        *(
            (
                charts.fan(projection["frame"], projection["published"], output, countries),
                {"published": output, "model": output},
            )
            for output in ("total_twh", "total_share")
        ),
    ]
    for spec, aliases in specs:
        units = _unit_specs(spec)
        titles = [
            enc["title"]
            for u in units
            for enc in (u["encoding"].get("x", {}), u["encoding"].get("y", {}))
            if enc.get("type") == "quantitative" and "title" in enc and enc["title"] != "Year"
        ]
        assert titles
        assert_vocabulary_titles(units, aliases)
        for unit in units:
            assert "tooltip" in unit["encoding"], unit


def test_a_limit_whose_binding_was_not_tested_says_so() -> None:
    # The optimiser reports binding=None when the solver stopped before the re-solve.
    row = {"constraint": "grid_limit_mw", "used": 9.0, "limit": 10.0, "slack": 1.0, "binding": None}
    assert optimise_page.limit_sentence(row, "MW").startswith("Not tested")
    row["binding"] = False
    assert optimise_page.limit_sentence(row, "MW").startswith("Not binding")


# --- issue 13: numbers as planners write them, contradictions, limits -------------------------


def test_2_15e25_flops_typed_in_the_table_stay_2_15e25(optimise: AppTest) -> None:
    at = edit(
        optimise, "opt_runs", 0, flops="2.15e25", params_b=None, active_params_b=None, tokens_t=None
    )
    assert_clean(at)
    assert not at.error
    tables = at.session_state["_opt_tables"]
    data = compute.scenario_from_tables(
        compute.scenario_raw("gtc2024.toml"), tables["runs"], tables["candidates"], tables["limits"]
    )
    assert data["runs"][0]["flops"] == 2.15e25
    assert "params" not in data["runs"][0]
    at.button(key="opt_solve").click().run()
    assert_clean(at)
    # SemiAnalysis GPT-4: 2.15e25 FLOPs; the GTC run is 6 x 2.8e11 x 1.3e13 = 2.18e25: about the
    # same racks (the mangled 2.1525 FLOPs gave 8 H100s and 0.0 days)
    assert metrics(at)["GPUs"] == pytest.approx(2_016, rel=0.05)
    assert metrics(at)["Longest run"] > 50


@pytest.mark.parametrize(
    ("editor", "cells", "field", "value"),
    [
        ("opt_runs", {"params_b": "2e3"}, ("runs", 0, "params"), 2e12),
        ("opt_runs", {"tokens_t": "1.5e1"}, ("runs", 0, "tokens"), 1.5e13),
        ("opt_limits", {"grid_limit_mw": "1e3"}, ("site", "grid_limit_mw"), 1000.0),
        ("opt_limits", {"budget_usd": "1,500,000,000"}, ("budget_usd",), 1.5e9),
        ("opt_candidates", {"supply_gpus": "4_096"}, ("candidates", "supply_gpus", "h100"), 4096),
    ],
)
def test_e_notation_and_unit_scaled_cells_parse_to_the_scenario_units(
    optimise: AppTest, editor: str, cells: dict[str, Any], field: tuple[Any, ...], value: float
) -> None:
    at = edit(optimise, editor, 0, **cells)
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    tables = at.session_state["_opt_tables"]
    data: Any = compute.scenario_from_tables(
        compute.scenario_raw("gtc2024.toml"), tables["runs"], tables["candidates"], tables["limits"]
    )
    for part in field:
        data = data[part]
    assert data == value


def test_a_run_with_both_flops_and_parameters_is_flagged(optimise: AppTest) -> None:
    at = edit(optimise, "opt_runs", 0, flops="2.15e25")
    assert_clean(at)
    assert any("gives both FLOPs and parameters x tokens" in w.value for w in at.warning)


def test_a_chip_listed_twice_is_refused_with_a_message(optimise: AppTest) -> None:
    optimise.session_state["opt_candidates"] = {
        "edited_rows": {},
        "added_rows": [{"chip": "h100"}],
        "deleted_rows": [],
    }
    at = optimise.run()
    assert_clean(at)
    assert (
        "candidates[2].chip = 'h100' is not allowed: expected each chip once" in at.error[0].value
    )


def test_a_3650_day_deadline_keeps_the_pareto_sweep_within_the_core_limits(
    optimise: AppTest,
) -> None:
    at = edit(optimise, "opt_runs", 0, deadline_days="3650")
    at.button(key="opt_solve").click().run()
    assert_clean(at)
    assert not at.error
    days = compute.pareto_days_values(3650.0, 3650.0)
    assert max(days) == 3650.0 and min(days) >= 1.0
    assert "Cost against the deadline" in [s.value for s in at.subheader]


def test_the_infeasible_site_sweeps_to_the_deadline_its_relaxation_says_works(
    optimise: AppTest,
) -> None:
    at = optimise
    at.selectbox(key="opt_file").set_value(INFEASIBLE).run()
    assert_clean(at)
    pareto = chart_data(at, 1, charts.PARETO)
    # the relaxation says 130 days on H100 fit 10 MW: the sweep reaches it and draws plans
    assert pareto["cost_usd"].notna().any()
    assert pareto.loc[pareto["cost_usd"].notna(), "days"].min() >= 130


# --- save, load, share ---------------------------------------------------------------------------


def test_every_page_state_round_trips_through_the_url(optimise: AppTest) -> None:
    at = edit(optimise, "opt_runs", 0, deadline_days="120")
    at.selectbox(key="opt_objective").set_value("energy").run()
    at.switch_page(NATIONAL).run()
    at.selectbox(key="nat_file").set_value("lbnl-2024.toml").run()
    at.number_input(key="nat_samples").set_value(500).run()
    at.switch_page(SIZE).run()
    at.selectbox(key="chip").set_value("gb200").run()
    query = dict(at.query_params)
    assert query["opt_objective"] == "energy" and "opt_scenario" in query
    assert query["nat_file"] == "lbnl-2024.toml" and query["nat_samples"] == "500"
    shared = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    shared.query_params.update(query)
    shared.run()
    assert_clean(shared)
    assert shared.selectbox(key="chip").value == "gb200"
    shared.switch_page(OPTIMISE).run()
    assert_clean(shared)
    assert shared.selectbox(key="opt_objective").value == "energy"
    assert shared.data_editor(key="opt_runs").value["deadline_days"].tolist() == ["120"]
    shared.switch_page(NATIONAL).run()
    assert shared.selectbox(key="nat_file").value == "lbnl-2024.toml"
    assert shared.number_input(key="nat_samples").value == 500


def test_every_page_state_round_trips_through_the_scenario_file(optimise: AppTest) -> None:
    from planner.app import share

    at = edit(optimise, "opt_runs", 0, deadline_days="120", mfu="h100=0.25, gb200=0.3")
    at.switch_page(SIZE).run()
    at.selectbox(key="preset").set_value("gpt4-estimate").run()
    at.slider(key="mfu_pct").set_value(30.0).run()
    at.number_input(key="grid_mw").set_value(20.0).run()
    text = share.to_toml(_captured(at))
    data = tomllib.loads(text)
    assert data["format"] == share.FILE_FORMAT
    assert data["sizing"]["preset"] == "gpt4-estimate" and data["sizing"]["mfu"] == 0.3
    assert data["optimise"]["scenario"]["runs"][0]["deadline_days"] == 120
    app, errors = share.from_toml(text)
    assert errors == []
    assert app["sizing"]["mfu"] == pytest.approx(0.3)
    assert app["sizing"]["grid_mw"] == 20
    assert app["sizing"]["pricing"] == "rent" and app["sizing"]["rent_usd_per_gpu_hour"] == 1.0
    assert app["optimise"]["scenario"]["runs"][0]["mfu"] == {"h100": 0.25, "gb200": 0.3}


def _captured(at: AppTest) -> dict[str, Any]:
    """:func:`planner.app.share.capture` of an AppTest session (no script context here)."""
    from planner.app import state

    tables = at.session_state["_opt_tables"]
    data = compute.scenario_from_tables(
        compute.scenario_raw(tables["file"]), tables["runs"], tables["candidates"], tables["limits"]
    )
    sizing = {k: at.session_state[k] if k in at.session_state else None for k in state.INPUT_KEYS}
    return {
        "sizing": sizing,
        "optimise": {"file": tables["file"], "scenario": data},
        "national": {},
    }


def test_a_bad_scenario_file_is_refused_with_one_line() -> None:
    from planner.app import share

    with pytest.raises(CatalogError, match="scenario file: not valid TOML"):
        share.from_toml("this is [not toml")
    with pytest.raises(CatalogError, match="nested too deep"):
        share.from_toml("a = " + "[" * 2000 + "]" * 2000)
    with pytest.raises(InputError, match="format = 'missing' is not allowed"):
        share.from_toml("[sizing]\npreset = 'gtc2024-hopper'\n")
    app, errors = share.from_toml(
        f'format = "{share.FILE_FORMAT}"\n[sizing]\nmfu = 7\nchip = "tpu9"\n'
        '[optimise]\nobjective = "fastest"\n[national]\nsamples = -3\n'
    )
    assert any("mfu = 7 is not allowed" in e for e in errors)
    assert any("chip = 'tpu9' is not allowed" in e for e in errors)
    assert any("optimise objective = 'fastest' is not allowed" in e for e in errors)
    assert any("national samples = -3 is not allowed" in e for e in errors)
    assert app["sizing"]["chip"] == "h100"  # the rest applies


def test_national_page_shows_the_backtest_and_the_fleet_checks_and_labels_points(
    app: AppTest,
) -> None:
    # Issue 11: the backtest and the calibrated/predicted label beside every published point.
    app.switch_page(NATIONAL).run()
    assert_clean(app)

    def table(column: str) -> pd.DataFrame:  # AppTest exposes no table keys: find by column
        return next(d.value for d in app.dataframe if column in d.value.columns)

    assert set(table("Calibrated or predicted")["Calibrated or predicted"]) == {"predicted"}
    backtest = table(quantities.label("persistence_error"))
    assert len(backtest) >= 20
    checks = table("Within tolerance")
    assert set(checks["Within tolerance"]) == {"yes"}
    # each figure from a figure of its own definition; one with none says so, with no number
    from planner import backtest as bt

    assert quantities.label("definition") in backtest.columns
    why = f"{bt.NOT_PREDICTABLE}: {bt.NOT_PREDICTABLE_REASON}"
    missing = backtest[backtest[quantities.label("anchor")] == why]
    assert len(missing) == bt.summary()["not_predictable"] > 0
    assert set(missing[quantities.label("predicted_twh")]) == {quantities.MISSING}
    assert set(missing[quantities.label("error")]) == {quantities.MISSING}
    target = quantities.format_value("median_ratio_target", bt.MEDIAN_RATIO_TARGET)
    sentence = next(m.value for m in app.markdown if "later published figure" in m.value)
    assert f"target at most {target}" in sentence
    assert f"{bt.NOT_PREDICTABLE} ({bt.NOT_PREDICTABLE_REASON})" in sentence


# --- pricing (issue 10: the core's modes on the Optimise page and in links) ------------------


def test_the_pricing_picker_offers_the_core_modes_and_each_file_opens_on_its_own(
    optimise: AppTest,
) -> None:
    from planner.assumptions import PRICING_MODES

    at = optimise
    picker = at.selectbox(key="opt_pricing")
    assert tuple(picker.options) == tuple(optimise_page.PRICING_LABELS[m] for m in PRICING_MODES)
    assert picker.value == "capex"  # gtc2024.toml: pricing = "capex" (the former "buy")
    m = {x.label: x.value for x in at.metric}
    assert m["Cost (capex)"] == "USD 147,464,299"
    assert m["Cluster capex up front"] == "USD 146,947,733"
    assert "re-solves the scenario for least cost (capex pricing)" in texts(at)
    # the infeasible example gives no pricing: the scenario default, amortized
    at.selectbox(key="opt_file").set_value(INFEASIBLE).run()
    assert_clean(at)
    assert at.selectbox(key="opt_pricing").value == "amortized"


def test_amortized_on_the_page_costs_the_runs_share_of_the_same_cluster(
    optimise: AppTest,
) -> None:
    # the same 2,016 GB200 (USD 146.9M up front) amortised over a 5-year life at 85%
    # utilisation and 8% cost of capital for the 87-day run + electricity: USD 9.0M
    at = optimise
    at.selectbox(key="opt_pricing").set_value("amortized").run()
    at.button(key="opt_solve").click().run()
    assert_clean(at)
    m = {x.label: x.value for x in at.metric}
    assert m["Cost (amortized)"] == "USD 9,036,461"
    assert m["Cluster capex up front"] == "USD 146,947,733"
    assert "pricing amortized (candidates.pricing)" in texts(at)


@pytest.mark.parametrize(
    ("given", "mode"),
    [("buy", "capex"), ("auto", "amortized"), ("capex", "capex"), ("rent", "rent")],
)
def test_an_optimise_link_with_a_former_pricing_name_opens_on_its_new_one(given, mode) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["opt_file"] = INFEASIBLE
    at.query_params["opt_pricing"] = given
    at.run()
    assert_clean(at)
    at.switch_page(OPTIMISE).run()
    assert_clean(at)
    assert at.selectbox(key="opt_pricing").value == mode
    assert not [e for e in at.error if "pricing" in e.value]


def test_an_optimise_link_with_an_unknown_pricing_names_the_field() -> None:
    from planner.app import share

    app, errors = share.from_query({"opt_file": INFEASIBLE, "opt_pricing": "lease"})
    assert "pricing" not in app["optimise"]
    assert len(errors) == 1 and "optimise pricing" in errors[0] and "'lease'" in errors[0]
    assert "amortized, rent, capex" in errors[0]
    ok, errors = share.from_query({"opt_file": INFEASIBLE, "opt_pricing": "buy"})
    assert errors == [] and ok["optimise"]["pricing"] == "capex"
    assert share.to_query(ok)["opt_pricing"] == "capex"  # the file's own is amortized
    assert share.normalised_pricing("lease") == "lease"  # refused by name, never mapped
    assert share.normalised_pricing(None) == "amortized"
    assert share.file_pricing({"candidates": {"pricing": "buy"}}) == "capex"
