"""The "Serve a model" page, driven headless with ``streamlit.testing.v1.AppTest``.

Public figures the page must show through the core (tolerances as in
``data/serving_presets.toml``, never tuned per case):

* Google (Elsworth et al. 2025, arXiv 2508.15734): the median Gemini Apps text prompt uses
  0.24 Wh full stack (preset ``gemini-median-2025``: the production estimate within +-35%,
  the ideal bound below it).
* Epoch AI (Feb 2025): a typical GPT-4o query uses about 0.3 Wh (``epoch-gpt4o-2025``: the
  production estimate within +-35%, the ideal bound below it).
* An analysts' seed estimate: about 10,000 servers for ChatGPT in early
  2023 (``chatgpt-2023``, a factor of 20: an order-of-magnitude estimate).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from planner import quantities
from planner.app import compute, share, state
from planner.errors import InputError
from planner.serving import ServingResult
from planner.serving_presets import serve_request

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PAGE = "planner/app/serve_page.py"
TIMEOUT_S = 60


def _number(text: str) -> float:
    match = re.search(r"-?[\d,]+(\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(0).replace(",", ""))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> dict[str, Any]:
    """Vega-Lite charts on screen by title: (spec, names of the datasets)."""
    out = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("title")
        title = title.get("text") if isinstance(title, dict) else title
        out[str(title)] = (spec, {d.name for d in element.proto.datasets})
    return out


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def set_text(at: AppTest, key: str, value: str) -> AppTest:
    at.text_input(key=key).set_value(value).run()
    assert_clean(at)
    return at


@pytest.fixture()
def page() -> AppTest:
    return open_page()


def test_the_page_opens_on_the_70b_example_with_the_cores_numbers(page: AppTest) -> None:
    result, _ = serve_request(state.SERVE_DEFAULT_PRESET)
    m = metrics(page)
    # every metric is the vocabulary's label and text of the core's number (data/quantities.csv)
    for name in (
        "gpus",
        "replicas",
        "systems",
        "facility_power_mw",
        "average_facility_power_mw",
        "energy_mwh_per_year",
        "wh_per_query",
        "usd_per_million_tokens",
        "emissions_tco2_per_year",
    ):
        label = quantities.label(name, unit=False)
        assert m[label] == quantities.format_value(name, getattr(result, name), unit=True), name
    assert not page.error
    tables = {d.proto.id for d in page.dataframe}
    assert len(page.dataframe) >= 4, tables  # breakdown, chips, public record, ML.ENERGY


def _production_table(at: AppTest) -> Any:
    """The ideal-vs-production table (its first column is the vocabulary's fleet quantity)."""
    frames = [d.value for d in at.dataframe]
    return next(f for f in frames if quantities.label("fleet_quantity") in f)


def _production_value(at: AppTest, name: str) -> tuple[float, float]:
    """(ideal bound, production estimate) of one fleet quantity as the page shows them."""
    table = _production_table(at).set_index(quantities.label("fleet_quantity"))
    row = table.loc[quantities.label(name)]
    return (
        _number(row[quantities.label("ideal_bound")]),
        _number(row[quantities.label("production_estimate")]),
    )


def test_gemini_preset_shows_about_024_wh_per_query_within_35_percent(page: AppTest) -> None:
    # Google 2025 (arXiv 2508.15734): 0.24 Wh full stack; the production estimate counts what
    # Google counts (idle machines, host, PUE): +-35%; the ideal bound is below it
    page.selectbox(key="srv_preset").set_value("gemini-median-2025").run()
    assert_clean(page)
    ideal, production = _production_value(page, "wh_per_query")
    assert 0.24 / 1.35 <= production <= 0.24 * 1.35
    assert _number(metrics(page)["Energy per query"]) == ideal < 0.24


def test_epoch_preset_shows_about_03_wh_per_query_within_35_percent(page: AppTest) -> None:
    # Epoch AI (Feb 2025): ~0.3 Wh for a typical GPT-4o query
    page.selectbox(key="srv_preset").set_value("epoch-gpt4o-2025").run()
    assert_clean(page)
    assert page.text_input(key="srv_params_b").value == "400"
    ideal, production = _production_value(page, "wh_per_query")
    assert 0.3 / 1.35 <= production <= 0.3 * 1.35
    assert ideal < 0.3


def test_the_production_table_is_the_cores_with_the_vocabularys_labels(page: AppTest) -> None:
    from planner.serving.production import ideal_vs_production, production_parts

    result, _ = serve_request(state.SERVE_DEFAULT_PRESET)
    table = _production_table(page)
    assert list(table.columns) == [
        quantities.label(n)
        for n in ("fleet_quantity", "ideal_bound", "production_estimate", "production_over_ideal")
    ]
    core = ideal_vs_production(result.production)
    assert list(table[quantities.label("fleet_quantity")]) == [
        quantities.label(r["fleet_quantity"]) for r in core
    ]
    for shown, row in zip(table.to_dict(orient="records"), core, strict=True):
        name = row["fleet_quantity"]
        assert shown[quantities.label("production_estimate")] == quantities.format_value(
            name, row["production_estimate"], unit=False
        )
        # the ideal bound is never above the production estimate
        assert row["ideal_bound"] <= row["production_estimate"] or name in {
            "batch_size",
            "replicas",
            "gpus_per_replica",
        }
    parts = next(d.value for d in page.dataframe if quantities.label("fleet_part") in d.value)
    assert list(parts[quantities.label("fleet_part")]) == [
        r["fleet_part"] for r in production_parts(result.production)
    ]
    assert list(parts.columns) == [
        quantities.label(n) for n in ("fleet_part", "systems", "fleet_factor", "part_note")
    ]


def test_chatgpt_2023_is_within_20x_of_10000_servers(page: AppTest) -> None:
    page.selectbox(key="srv_preset").set_value("chatgpt-2023").run()
    assert_clean(page)
    systems = _number(metrics(page)["Systems"])
    assert 10_000 / 20 <= systems <= 10_000 * 20


# --- say what differs: the published table only for the preset's own inputs ------------------

CHANGED_NOTE = "Not the preset's own inputs"


def _published_table(at: AppTest) -> Any:
    """The preset's published-vs-model table (the public record table has a Case column)."""
    frames = [d.value for d in at.dataframe]
    return next((f for f in frames if "Quantity" in f and "Case" not in f), None)


def test_the_gemini_preset_shows_its_published_figure_beside_the_model(page: AppTest) -> None:
    page.selectbox(key="srv_preset").set_value("gemini-median-2025").run()
    assert_clean(page)
    assert list(_published_table(page)["Quantity"]) == [
        quantities.label(name)
        for name in ("production_wh_per_query", "wh_per_query", "full_stack_over_accelerators")
    ]
    assert not [i.value for i in page.info if CHANGED_NOTE in i.value]


def test_a_changed_input_names_it_instead_of_the_published_table(page: AppTest) -> None:
    page.selectbox(key="srv_preset").set_value("gemini-median-2025").run()
    set_text(page, "srv_users", "2e8")
    assert _published_table(page) is None
    notes = [i.value for i in page.info if CHANGED_NOTE in i.value]
    assert len(notes) == 1 and quantities.label("users") in notes[0], notes


@pytest.fixture()
def core_result(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set what ServingResult.to_dict adds (the core's ``published`` / ``changed_inputs``
    contract); the serving cache is cleared around the test."""
    original = ServingResult.to_dict

    def patch(**extra: Any) -> None:
        def to_dict(self: ServingResult) -> dict[str, Any]:
            out = original(self)
            out.pop("published", None)
            out.pop("changed_inputs", None)
            return {**out, **extra}

        monkeypatch.setattr(ServingResult, "to_dict", to_dict)
        compute.serving.clear()

    yield patch
    compute.serving.clear()


def test_the_cores_changed_inputs_are_named_and_no_table_is_drawn(core_result: Any) -> None:
    core_result(changed_inputs=[{"field": "users", "preset": 1e8, "value": 2e8}])
    at = open_page()
    assert _published_table(at) is None
    notes = [i.value for i in at.info if CHANGED_NOTE in i.value]
    assert len(notes) == 1
    assert "Users (daily active) 100,000,000 in the preset, 200,000,000 here" in notes[0]


def test_the_cores_published_rows_are_drawn_with_the_vocabulary(core_result: Any) -> None:
    row = {
        "quantity": "wh_per_query",
        "published": 0.24,
        "model": 0.3,
        "ratio": 1.25,
        "tolerance_factor": 2.0,
        "within_tolerance": True,
    }
    core_result(published=[row])
    at = open_page()
    table = _published_table(at)
    assert table.values.tolist() == [["Energy per query (Wh)", "0.24", "0.3", "1.25", "2", "yes"]]
    assert not [i.value for i in at.info if CHANGED_NOTE in i.value]


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("srv_users", "abc", "users (daily active)"),
        ("srv_users", "1e8 users", "no unit letters"),
        ("srv_users", "-5", "users"),
        ("srv_users", "1e300", "users"),
        ("srv_users", "", "empty"),
        ("srv_output_tokens", "0", "output_tokens"),
        ("srv_reasoning_multiplier", "0.5", "reasoning_multiplier"),
        ("srv_tpot_target_ms", "nan", "finite"),
        ("srv_pue", "7", "pue"),
        ("srv_grid_mw", "-1", "grid limit"),
        ("srv_grid_mw", "1e308", "grid limit"),
        ("srv_price_usd_per_gpu", "-3", "price_usd_per_gpu"),
    ],
)
def test_a_bad_input_shows_one_error_line_and_keeps_the_page(
    page: AppTest, key: str, value: str, words: str
) -> None:
    set_text(page, key, value)
    errors = [e.value for e in page.error]
    assert errors and any(words in e for e in errors), errors
    assert all("\n" not in e and "Traceback" not in e for e in errors)
    # the rest of the page stays: the public record is still shown
    assert any(s.value == "Model vs public record" for s in page.subheader)


def test_an_infeasible_chip_says_why_and_still_compares_chips(page: AppTest) -> None:
    page.selectbox(key="srv_model").set_value("deepseek-v3").run()
    set_text(page, "srv_tpot_target_ms", "0.2")
    assert page.warning, "no reason shown"
    assert "No replica" in page.warning[0].value
    assert any(s.value == "Every chip for the same service" for s in page.subheader)


def test_grid_short_says_by_how_much_and_how_many_users_fit(page: AppTest) -> None:
    set_text(page, "srv_grid_mw", "2")
    result, request = serve_request(state.SERVE_DEFAULT_PRESET)
    need = float(result.facility_power_mw)
    text = page.warning[0].value
    assert "short by" in text
    assert f"{need - 2:,.1f} MW" in text or f"{need - 2:,.2f} MW" in text, text
    assert "users" in text
    shown = charts(page)
    _, names = shown["Peak facility power vs users"]
    assert "rule" in names  # the grid limit as a rule
    _, names = shown["GPUs vs users"]
    assert "rule" in names  # the users that fit
    set_text(page, "srv_grid_mw", "100")
    assert page.success and "Fits the grid" in page.success[0].value


def test_gpus_and_mw_vs_users_and_wh_vs_reasoning_charts_are_drawn(page: AppTest) -> None:
    shown = charts(page)
    assert {
        "GPUs vs users",
        "Peak facility power vs users",
        "Energy per query vs test-time reasoning",
    } <= set(shown)
    spec, names = shown["Energy per query vs test-time reasoning"]
    assert {"serve_curve", "current"} <= names
    text = json.dumps(spec)
    assert "Reasoning multiplier" in text and "Energy per query (Wh" in text
    spec, _ = shown["GPUs vs users"]
    assert "Users (daily active" in json.dumps(spec)


def test_the_url_round_trips_the_serve_inputs() -> None:
    at = open_page()
    at.selectbox(key="srv_chip").set_value("b200").run()
    set_text(at, "srv_users", "3e8")
    set_text(at, "srv_reasoning_multiplier", "5")
    set_text(at, "srv_grid_mw", "40")
    query = {k: v for k, v in at.query_params.items()}
    flat = {k: (v[0] if isinstance(v, list) else v) for k, v in query.items()}
    assert flat["srv_chip"] == "b200" and flat["srv_users"] == "3e8"
    assert flat["srv_grid_mw"] == "40"
    again = open_page(flat)
    assert metrics(again) == metrics(at)
    assert again.text_input(key="srv_reasoning_multiplier").value == "5"


def test_a_link_with_an_unknown_chip_says_so_and_keeps_the_rest() -> None:
    at = open_page({"srv_chip": "tpu9000", "srv_users": "2e8"})
    errors = [e.value for e in at.error]
    assert any("srv_chip" in e and "tpu9000" in e for e in errors), errors
    assert at.text_input(key="srv_users").value == "2e8"
    assert metrics(at)  # the page still answers


def test_the_scenario_file_round_trips_the_serve_inputs() -> None:
    serve = {**state.serve_preset_inputs("chatgpt-2023"), "srv_users": "5e7", "srv_grid_mw": "12"}
    app = {"sizing": state.default_inputs(), "optimise": {}, "national": {}, "serve": serve}
    text = share.to_toml(app)
    assert "[serve]" in text
    back, errors = share.from_toml(text)
    assert not errors
    assert state.serve_request_kwargs(back["serve"]) == state.serve_request_kwargs(serve)
    assert state.serve_grid_mw(back["serve"]) == 12.0
    query = share.to_query(app)
    assert query["srv_preset"] == "chatgpt-2023" and query["srv_users"] == "5e7"


@pytest.mark.parametrize("typed", ["nan", "1e999", "abc"])
def test_a_scenario_file_keeps_a_bad_serve_value_as_text_and_reads_back(typed: str) -> None:
    serve = {**state.serve_default_inputs(), "srv_users": typed}
    app = {"sizing": state.default_inputs(), "optimise": {}, "national": {}, "serve": serve}
    back, errors = share.from_toml(share.to_toml(app))  # TOML has no NaN a reader accepts
    assert not errors
    assert back["serve"]["srv_users"] == typed
    with pytest.raises(InputError, match="users"):
        state.serve_request_kwargs(back["serve"])  # the page then says why


def test_the_inputs_survive_a_visit_to_another_page(page: AppTest) -> None:
    set_text(page, "srv_users", "4e8")
    before = metrics(page)
    page.switch_page("planner/app/size_page.py").run()
    page.switch_page(PAGE).run()
    assert_clean(page)
    assert page.text_input(key="srv_users").value == "4e8"
    assert metrics(page) == before


def test_the_reports_page_offers_the_serving_report_with_the_grid_verdict(page: AppTest) -> None:
    set_text(page, "srv_grid_mw", "2")
    page.switch_page("planner/app/reports_page.py").run()
    assert_clean(page)
    captions = " ".join(c.value for c in page.caption)
    assert "short of the 2.00 MW grid limit" in captions
    from planner.app import compute
    from planner.app.reports_page import SOURCES

    subject, args = page.session_state[SOURCES]["serving"]
    data = json.loads(compute.report_bytes(subject, args, "json"))
    assert data["report"]["kind"] == "serving"
    assert data["data"]["serving"]["grid"]["fits"] is False


def test_the_pricing_picker_offers_the_training_modes_and_the_cost_follows_it(
    page: AppTest,
) -> None:
    picker = page.selectbox(key="srv_pricing")
    assert [o.split(" ")[0] for o in picker.options] == ["amortized", "rent", "capex"]
    assert picker.value == "amortized"
    for pricing in ("rent", "capex"):
        page.selectbox(key="srv_pricing").set_value(pricing).run()
        assert_clean(page)
        result, _ = serve_request(state.SERVE_DEFAULT_PRESET, pricing=pricing)
        m = metrics(page)
        assert _number(m["Cost per million tokens"]) == pytest.approx(
            float(result.usd_per_million_tokens), rel=1e-2
        )
        assert "Cost a year" in m
    captions = " ".join(c.value for c in page.caption)
    assert "one pricing (capex)" in captions  # the chip comparison never mixes modes


def test_a_link_with_a_former_pricing_name_opens_on_its_new_one() -> None:
    at = open_page({"srv_pricing": "buy"})  # "buy" was the whole purchase: now "capex"
    assert at.selectbox(key="srv_pricing").value == "capex"


@pytest.mark.parametrize(
    ("raw", "mode"),
    [("amortized", "amortized"), ("capex", "capex"), ("rent", "rent"), ("auto", "amortized")],
)
def test_a_shared_link_with_any_pricing_name_loads_without_an_error(raw: str, mode: str) -> None:
    # the core's modes and the former names (auto -> amortized, buy -> capex) all load
    inputs, errors = state.serve_from_query({"srv_pricing": raw})
    assert errors == []
    assert inputs["srv_pricing"] == mode


def test_a_shared_link_with_an_unknown_pricing_names_the_field() -> None:
    _, errors = state.serve_from_query({"srv_pricing": "lease"})
    assert errors and errors[0].startswith("srv_pricing = 'lease' is not allowed")
