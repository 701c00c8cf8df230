"""The Streamlit app, driven headless with ``streamlit.testing.v1.AppTest``.

Public figures: NVIDIA GTC 2024 keynote (J. Huang, 18 March 2024): training a 1.8T-parameter
GPT-MoE in 90 days takes 8,000 Hopper GPUs and 15 MW, or 2,000 Blackwell GPUs and 4 MW.
Tolerance 10% (the presets reproduce them within 7%: 7,888 GPUs / 14.4 MW and 2,016 / 4.25 MW,
peaks at the design-day PUEs 1.30 and 1.15 of hyperscale-air and hyperscale-liquid).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from planner import quantities
from planner.app import charts, compute, state
from planner.errors import InputError, PlannerError
from planner.request import build_request
from planner.sizing import SizingResult
from planner.sizing import grid_fit as grid_verdict
from planner.validation import check_positive

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 60
OTHER_PAGES = (
    "planner/app/optimise_page.py",
    "planner/app/national_page.py",
    "planner/app/reports_page.py",
)


def _number(text: str) -> float:
    """The leading number of a metric value: '7,888' -> 7888.0, '14.9 MW' -> 14.9."""
    match = re.search(r"-?[\d,]+(\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(0).replace(",", ""))


def metrics(at: AppTest) -> dict[str, float]:
    return {m.label: _number(m.value) for m in at.metric}


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture()
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert_clean(at)
    return at


# --- the claims of issue 5 ---------------------------------------------------------------


def test_app_opens_on_gtc2024_hopper_about_8000_h100s_15_mw_90_days(app: AppTest) -> None:
    m = metrics(app)
    assert app.selectbox(key="preset").value == "gtc2024-hopper"
    assert app.selectbox(key="chip").value == "h100"
    assert m["GPUs"] == pytest.approx(8_000, rel=0.10)
    assert m["Peak facility power"] == pytest.approx(15.0, rel=0.10)
    assert m["Training time"] == pytest.approx(90, rel=0.10)
    assert not app.error


def test_blackwell_preset_gives_about_2000_gb200s_and_4_mw(app: AppTest) -> None:
    app.selectbox(key="preset").set_value("gtc2024-blackwell").run()
    assert_clean(app)
    m = metrics(app)
    assert app.selectbox(key="chip").value == "gb200"
    assert m["GPUs"] == pytest.approx(2_000, rel=0.10)
    assert m["Peak facility power"] == pytest.approx(4.0, rel=0.10)


def test_switching_the_chip_to_gb200_cuts_gpus_and_mw_and_offers_the_blackwell_preset(
    app: AppTest,
) -> None:
    hopper = metrics(app)
    app.selectbox(key="chip").set_value("gb200").run()
    assert_clean(app)
    gb200 = metrics(app)
    assert gb200["GPUs"] < hopper["GPUs"]
    assert gb200["Peak facility power"] < hopper["Peak facility power"]
    assert any("gtc2024-blackwell" in i.value for i in app.info)
    app.button(key="load_gtc2024-blackwell").click().run()
    assert_clean(app)
    blackwell = metrics(app)
    assert app.selectbox(key="preset").value == "gtc2024-blackwell"
    assert blackwell["GPUs"] == pytest.approx(2_000, rel=0.10)
    assert blackwell["Peak facility power"] == pytest.approx(4.0, rel=0.10)


def test_raising_mfu_from_35_to_50_percent_lowers_gpus_and_megawatts(app: AppTest) -> None:
    app.slider(key="mfu_pct").set_value(35.0).run()
    at_35 = metrics(app)
    app.slider(key="mfu_pct").set_value(50.0).run()
    assert_clean(app)
    at_50 = metrics(app)
    assert at_50["GPUs"] < at_35["GPUs"]
    assert at_50["Peak facility power"] < at_35["Peak facility power"]
    # GPUs scale as 1 / MFU, up to the rounding to whole 8-GPU servers
    assert at_50["GPUs"] == pytest.approx(at_35["GPUs"] * 0.35 / 0.50, rel=0.01)


def test_fp8_on_an_a100_shows_the_core_message_and_no_exception(app: AppTest) -> None:
    app.selectbox(key="chip").set_value("a100-80gb").run()  # the preset asks for FP8
    assert_clean(app)
    assert [e.value for e in app.error] == [
        "precision = 'fp8' is not allowed: expected one of: bf16 (a100-80gb has no FP8 tensor mode)"
    ]
    assert not app.metric


@pytest.mark.parametrize(
    ("widget", "key", "value", "message"),
    [
        # out of the widget's range (the core's limits): the widget refuses it, the page says so
        (
            "number_input",
            "pue",
            0.5,
            "annual PUE = 'empty' is not allowed: expected a PUE in [1, 3]",
        ),
        ("number_input", "days", -5.0, "deadline (days) = 'empty' is not allowed"),
        ("number_input", "days", None, "deadline (days) = 'empty' is not allowed"),
        ("number_input", "tokens_t", 0.0, "tokens (trillions) = 'empty' is not allowed"),
        ("number_input", "active_params_b", 5000.0, "active_params = 5e+12 is not allowed"),
    ],
)
def test_an_invalid_input_shows_an_error_element_and_no_exception(
    app: AppTest, widget: str, key: str, value: float | None, message: str
) -> None:
    getattr(app, widget)(key=key).set_value(value).run()
    assert_clean(app)
    assert len(app.error) == 1
    assert message in app.error[0].value


def test_a_10_mw_grid_limit_says_what_no_longer_fits_and_why(app: AppTest) -> None:
    app.number_input(key="grid_mw").set_value(10.0).run()
    assert_clean(app)
    text = " ".join(w.value for w in app.warning)
    # 7,888 x 1,402.5 W x design-day PUE 1.30 = 14.38 MW; floor(10e6 / (8 x 1,402.5 x 1.3)) = 685
    assert (
        "needs 13.78 MW at peak; the grid gives 10.00 MW: 3.78 MW short" in text
    )  # goodput(N), hot spares
    assert "At most 5,424 h100 GPUs (678 x DGX H100) fit" in text
    assert "past the deadline of 90.0 days" in text


def test_a_grid_limit_above_the_peak_says_it_fits(app: AppTest) -> None:
    app.number_input(key="grid_mw").set_value(20.0).run()
    assert_clean(app)
    assert not app.warning
    assert "Fits the grid" in app.success[0].value


def test_a_negative_grid_limit_is_refused_and_means_no_limit(app: AppTest) -> None:
    app.number_input(key="grid_mw").set_value(-1.0).run()  # below the widget's range
    assert_clean(app)
    assert not app.error and not app.warning and not app.success  # no limit, no verdict
    assert metrics(app)["GPUs"] == pytest.approx(8_000, rel=0.10)


def test_giving_a_gpu_count_sizes_the_days(app: AppTest) -> None:
    app.radio(key="given").set_value("gpus").run()
    assert app.number_input(key="gpus").value == 7_480  # seeded from the answer
    app.number_input(key="gpus").set_value(14_960).run()  # twice the GPUs
    assert_clean(app)
    # more than half the 89.9 days: goodput(N) falls as the cluster grows
    assert 89.9 / 2 < metrics(app)["Training time"] < 89.9 / 2 * 1.05


PUBLISHED_COLUMNS = ("Quantity", "Published", "Model", quantities.label("relative_difference"))


def test_the_published_vs_model_table_shows_for_a_preset(app: AppTest) -> None:
    tables = {tuple(df.value.columns): df.value for df in app.dataframe}
    published = tables[PUBLISHED_COLUMNS]
    assert list(published["Quantity"]) == [
        quantities.label(name) for name in ("gpus", "facility_power_mw", "days")
    ]
    chain = tables[("step", "peak", "average")]
    # peak facility = 1,402.5 W x design-day PUE 1.30 (the preset's hyperscale-air)
    assert list(chain["peak"]) == ["700 W", "1,275 W", "1,402 W", "1,823 W"]


@pytest.fixture()
def core_result(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set what SizingResult.to_dict adds (the core's ``published`` / ``changed_inputs``
    contract); the sizing cache is cleared around the test."""
    original = SizingResult.to_dict

    def patch(**extra: Any) -> None:
        def to_dict(self: SizingResult) -> dict[str, Any]:
            out = original(self)
            out.pop("published", None)
            out.pop("changed_inputs", None)
            return {**out, **extra}

        monkeypatch.setattr(SizingResult, "to_dict", to_dict)
        compute.sizing.clear()

    yield patch
    compute.sizing.clear()


def test_a_preset_run_with_changed_inputs_names_them_instead_of_the_published_table(
    core_result: Any,
) -> None:
    core_result(changed_inputs=[{"field": "mfu", "preset": 0.4, "value": 0.35}])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert_clean(at)
    assert PUBLISHED_COLUMNS not in {tuple(df.value.columns) for df in at.dataframe}
    notes = [i.value for i in at.info if "Not the preset's own inputs" in i.value]
    assert len(notes) == 1
    assert "MFU 0.4 in the preset, 0.35 here" in notes[0]


def test_a_preset_run_shows_the_published_rows_the_core_gives_and_no_note(
    core_result: Any,
) -> None:
    row = {"quantity": "gpus", "published": 8_000, "model": 7_888, "relative_difference": -0.014}
    core_result(published=[row])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert_clean(at)
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    assert tables[PUBLISHED_COLUMNS].values.tolist() == [["GPUs", "8,000", "7,888", "-1.4%"]]
    assert not [i.value for i in at.info if "Not the preset's own inputs" in i.value]


def test_a_changed_input_hides_the_published_table_even_from_a_core_that_does_not_say(
    app: AppTest,
) -> None:
    app.slider(key="mfu_pct").set_value(35.0).run()
    assert_clean(app)
    assert PUBLISHED_COLUMNS not in {tuple(df.value.columns) for df in app.dataframe}
    assert any("Not the preset's own inputs (MFU" in i.value for i in app.info)


# --- the URL round trip -------------------------------------------------------------------


def test_a_what_if_round_trips_through_the_query_string(app: AppTest) -> None:
    app.slider(key="mfu_pct").set_value(35.0).run()
    app.number_input(key="grid_mw").set_value(10.0).run()
    assert app.query_params == {"preset": "gtc2024-hopper", "mfu": "0.35", "grid_mw": "10"}
    shared = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    shared.query_params.update(app.query_params)
    shared.run()
    assert_clean(shared)
    assert shared.slider(key="mfu_pct").value == pytest.approx(35.0)
    assert metrics(shared) == metrics(app)


def test_a_bad_link_value_is_reported_with_the_core_message_and_ignored() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update({"preset": "gtc2024-hopper", "chip": "tpu9", "mfu": "2", "days": "120"})
    at.run()
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any(e.startswith("link: chip = 'tpu9' is not allowed") for e in errors)
    assert any(e.startswith("link: mfu = 2 is not allowed") for e in errors)
    assert at.selectbox(key="chip").value == "h100"
    assert at.number_input(key="days").value == 120


def test_sidebar_inputs_survive_a_page_switch(app: AppTest) -> None:
    app.slider(key="mfu_pct").set_value(40.0).run()
    before = metrics(app)
    app.switch_page(OTHER_PAGES[0]).run()
    app.switch_page("planner/app/size_page.py").run()
    assert_clean(app)
    assert app.slider(key="mfu_pct").value == pytest.approx(40.0)
    assert metrics(app) == before


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_each_other_page_renders_without_exception(app: AppTest, page: str) -> None:
    app.switch_page(page).run()
    assert_clean(app)
    assert app.title and not app.error


# --- the rules behind the widgets (no Streamlit) -------------------------------------------


def test_an_unchanged_preset_passes_only_the_preset_to_the_core() -> None:
    assert state.request_kwargs(state.default_inputs()) == {"preset": "gtc2024-hopper"}


def test_a_changed_input_is_passed_on_top_of_the_preset() -> None:
    inputs = {**state.default_inputs(), "mfu": 0.35, "tokens_t": 15.0}
    kwargs = state.request_kwargs(inputs)
    assert kwargs == {
        "preset": "gtc2024-hopper",
        "mfu": 0.35,
        "params": 1.8e12,
        "active_params": 2.8e11,
        "tokens": 1.5e13,
    }


def test_an_empty_required_input_raises_the_core_error() -> None:
    with pytest.raises(InputError, match=r"deadline \(days\) = 'empty' is not allowed"):
        state.request_kwargs({**state.default_inputs(), "days": None})


@settings(max_examples=40, deadline=None)
@given(
    mfu=st.floats(0.01, 1.0),
    pue=st.floats(1.0, 3.0),
    days=st.floats(1.0, 3650.0),
    chip=st.sampled_from(["h100", "b200", "gb200", "mi300x"]),
    grid_mw=st.none() | st.floats(0.1, 1000.0),
)
def test_inputs_round_trip_through_the_query_string(
    mfu: float, pue: float, days: float, chip: str, grid_mw: float | None
) -> None:
    inputs = {
        **state.default_inputs(),
        "mfu": mfu,
        "pue": pue,
        "days": days,
        "chip": chip,
        "grid_mw": grid_mw,
    }
    rebuilt, errors = state.inputs_from_query(state.inputs_to_query(inputs))
    assert errors == []
    for key in (*state.relevant_keys(inputs), "grid_mw"):
        if isinstance(inputs[key], float):
            assert rebuilt[key] == pytest.approx(inputs[key], rel=1e-5)
        else:
            assert rebuilt[key] == inputs[key]


def _unit_specs(spec: object) -> list[dict]:
    """Every single-mark view of a Vega-Lite dict (layers and concatenations unfolded)."""
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
                assert tip["title"] == quantities.label(name), tip
                assert tip.get("format", "") == quantities.vega_format(name), tip
                seen += 1
    assert seen


@pytest.mark.parametrize("grid_mw", [None, 10.0])
def test_every_chart_axis_names_its_unit_and_every_mark_has_a_tooltip(
    grid_mw: float | None,
) -> None:
    key = compute.request_key(state.request_kwargs(state.default_inputs()))
    result = compute.sizing(key)["result"]
    curve = compute.gpu_curve(key, result["gpus"])
    frame = compute.chip_comparison(key, 90.0)
    specs = [
        charts.days_vs_gpus(curve, result, 5_280 if grid_mw else None),
        charts.power_vs_gpus(curve, result, grid_mw),
        charts.chip_comparison(frame, "h100", grid_mw),
    ]
    for spec in specs:
        units = _unit_specs(spec)
        titles = [
            enc["title"]
            for u in units
            for enc in (u["encoding"].get("x", {}), u["encoding"].get("y", {}))
            if enc.get("type") == "quantitative" and "title" in enc
        ]
        assert titles
        assert_vocabulary_titles(units)
        for unit in units:
            if unit["mark"]["type"] != "text":  # the grid label is a rule's caption
                assert "tooltip" in unit["encoding"], unit
    assert specs[2]["datasets"]["chips"][0]["accelerator"] == "v100"  # every chip, in order


#: Values no widget range stops (the core must reject them with a message).
_BAD_VALUES = st.sampled_from([None, 0.0, -1.0, 1e30, 5.0, 0.5])


@settings(max_examples=80, deadline=None)
@given(
    params_b=st.floats(0.1, 1e5),
    active_fraction=st.none() | st.floats(0.01, 1.0),
    tokens_t=st.floats(0.01, 1e3),
    chip=st.sampled_from(state.chip_ids()),
    precision=st.sampled_from(["bf16", "fp8", "fp4"]),
    mfu=st.floats(0.0, 1.0),
    goodput=st.floats(0.0, 1.0),
    pue=st.floats(1.0, 3.0),
    given_mode=st.sampled_from(state.GIVEN_MODES),
    days=st.floats(0.5, 3650.0),
    gpus=st.integers(1, 10_000_000),
    grid_mw=st.none() | st.floats(0.1, 1e4),
    broken=st.none() | st.sampled_from(["params_b", "tokens_t", "pue", "days", "gpus", "grid_mw"]),
    bad_value=_BAD_VALUES,
)
def test_whatever_the_widgets_say_only_planner_errors_reach_the_page(
    active_fraction: float | None,
    given_mode: str,
    broken: str | None,
    bad_value: object,
    **values: object,
) -> None:
    """The page's chain of core calls raises a PlannerError (shown with st.error) or nothing."""
    if active_fraction is not None:
        values["active_params_b"] = float(values["params_b"]) * active_fraction
    if broken is not None:
        values[broken] = bad_value
    inputs = {**state.default_inputs(), **values, "given": given_mode, "preset": "custom"}
    try:
        key = compute.request_key(state.request_kwargs(inputs))
        result = compute.sizing(key)["result"]
        curve = compute.gpu_curve(key, float(result["gpus"]))
        charts.days_vs_gpus(curve, result)
        charts.power_vs_gpus(curve, result, values["grid_mw"])
        frame = compute.chip_comparison(key, float(result["deadline_days"] or result["days"]))
        charts.chip_comparison(frame, result["accelerator"])
        if values["grid_mw"] is not None:
            check_positive("grid_mw", values["grid_mw"])
            grid_verdict(result, float(values["grid_mw"]))
    except PlannerError:
        pass


@settings(max_examples=40, deadline=None)
@given(grid_mw=st.floats(0.01, 100.0))
def test_the_gpus_said_to_fit_under_a_grid_limit_do_fit(grid_mw: float) -> None:
    result = build_request(preset="gtc2024-hopper").size().to_dict()
    verdict = grid_verdict(result, grid_mw)
    per_gpu_mw = result["facility_power_mw"] / result["gpus"]
    assert verdict.max_gpus % result["gpus_per_system"] == 0
    assert verdict.max_gpus * per_gpu_mw <= grid_mw * (1 + 1e-9)
    assert (verdict.max_gpus + result["gpus_per_system"]) * per_gpu_mw > grid_mw
    assert verdict.fits == (result["facility_power_mw"] <= grid_mw)


# --- issue 13: the money and carbon knobs, nothing changes unseen ---------------------------


def test_gpt4_estimate_to_custom_keeps_the_cost_and_shows_the_rental_pricing(app: AppTest) -> None:
    app.selectbox(key="preset").set_value("gpt4-estimate").run()
    assert_clean(app)
    # SemiAnalysis (July 2023): ~$63M at ~$1 per A100-hour; the preset publishes $60M (within 10%)
    cost = metrics(app)["Cost"]
    assert cost == pytest.approx(60e6, rel=0.10)  # USD
    assert app.selectbox(key="pricing").value == "rent"
    assert app.number_input(key="rent_usd_per_gpu_hour").value == 1.0
    assert any("This preset also sets" in c.value and "rent" in c.value for c in app.caption)
    app.selectbox(key="preset").set_value("custom").run()
    assert_clean(app)
    assert metrics(app)["Cost"] == pytest.approx(cost, rel=1e-9)  # nothing changed unseen


def test_the_economics_inputs_change_cost_and_emissions(app: AppTest) -> None:
    before = metrics(app)
    app.number_input(key="grid_gco2_per_kwh").set_value(37.0).run()
    app.number_input(key="electricity_usd_per_mwh").set_value(800.0).run()
    assert_clean(app)
    after = metrics(app)
    # emissions = energy x intensity: a tenth of the intensity, a tenth of the tCO2 (EIA 370 g)
    assert after["Emissions"] == pytest.approx(before["Emissions"] / 10, rel=0.01)
    assert after["Cost"] > before["Cost"]
    app.selectbox(key="pricing").set_value("rent").run()
    assert_clean(app)
    assert app.query_params["pricing"] == "rent"


def test_mfu_is_a_percent_slider_and_the_core_gets_a_fraction(app: AppTest) -> None:
    slider = app.slider(key="mfu_pct")
    assert slider.value == pytest.approx(20.0)  # gtc2024-hopper: MFU 0.20
    assert slider.min == state.MIN_PERCENT and slider.max == 100.0
    slider.set_value(25.0).run()
    assert app.session_state["mfu"] == pytest.approx(0.25)


def test_a_partial_rack_is_explained(app: AppTest) -> None:
    app.selectbox(key="preset").set_value("gtc2024-blackwell").run()
    app.radio(key="given").set_value("gpus").run()
    app.number_input(key="gpus").set_value(4_096).run()
    assert_clean(app)
    # 4,096 GB200 = 56 NVL72 racks of 72 and 64 GPUs of a 57th
    text = " ".join(i.value for i in app.info)
    assert "4,096 GPUs fill 56 x GB200 NVL72" in text and "64 GPUs of one more" in text


def test_every_table_on_the_size_page_shows_human_units() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    for frame in (df.value for df in at.dataframe):
        cells = frame.astype(str).to_numpy().ravel().tolist()
        assert "None" not in cells and "nan" not in cells
        assert not any(re.fullmatch(r"[-+]0(\.0+)?%?", c) for c in cells), cells  # no -0.0%
        assert not any("_" in str(col) for col in frame.columns), frame.columns
        assert "None" not in [str(col) for col in frame.columns]


def test_a_longer_service_life_lowers_the_amortised_cost_and_round_trips(app: AppTest) -> None:
    five = metrics(app)["Amortised cost"]  # data/economics.csv: 5 years (Cottier et al. 2024)
    capex = metrics(app)["Cluster capex up front"]
    # issue 10: the default pricing is amortized, so the Cost metric is the amortised cost:
    # GTC Hopper (7,888 H100, 90 days) about $29.6M, not the $458M cluster purchase
    assert metrics(app)["Cost"] == pytest.approx(five) == pytest.approx(28.17e6, rel=0.01)
    app.number_input(key="service_life_years").set_value(3.0).run()
    assert_clean(app)
    three = metrics(app)["Amortised cost"]
    assert three > five  # the same hardware paid off in fewer years
    assert metrics(app)["Cost"] == pytest.approx(three)  # the cost follows the service life
    assert metrics(app)["Cluster capex up front"] == pytest.approx(capex)  # up front: unchanged
    assert app.query_params["service_life_years"] == "3"
    rebuilt, errors = state.inputs_from_query(dict(app.query_params))
    assert errors == [] and rebuilt["service_life_years"] == 3.0


# --- issue 10: the run model and the pricing conventions ----------------------------------------


def test_the_run_model_checkbox_takes_the_mfu_from_the_model_and_says_so(app: AppTest) -> None:
    # The GTC 2024 preset states MFU 0.20 (its own assumption): the box is off.
    assert app.checkbox(key="mfu_model").value is False
    assert not any("from the run model" in i.value for i in app.info)
    hopper_gpus = metrics(app)["GPUs"]
    app.checkbox(key="mfu_model").check().run()
    assert_clean(app)
    text = " ".join(i.value for i in app.info)
    assert "from the run model: H100, FP8, MoE" in text and "cross-validated median error" in text
    assert app.slider(key="mfu_pct").disabled
    # the model's FP8 MoE utilisation differs from the preset's 0.20, so the GPU count moves
    assert metrics(app)["GPUs"] != hopper_gpus
    assert app.query_params["mfu_model"] == "true"
    rebuilt, errors = state.inputs_from_query(dict(app.query_params))
    assert errors == [] and rebuilt["mfu_model"] is True


def test_a_custom_run_uses_the_run_model_by_default() -> None:
    inputs = state.default_inputs()
    inputs.update(preset=state.CUSTOM, mfu_model=True)
    kwargs = state.request_kwargs(inputs)
    assert kwargs["mfu_from_run_model"] is True and "mfu" not in kwargs
    inputs.update(mfu_model=False)
    assert state.request_kwargs(inputs)["mfu"] == inputs["mfu"]


def test_pricing_picks_which_cost_is_the_cost_and_old_links_still_open(app: AppTest) -> None:
    assert app.selectbox(key="pricing").value == "amortized"
    app.selectbox(key="pricing").set_value("rent").run()
    assert_clean(app)
    assert metrics(app)["Cost"] == pytest.approx(metrics(app)["Rental cost"])
    app.selectbox(key="pricing").set_value("capex").run()
    assert metrics(app)["Cost"] > metrics(app)["Cluster capex up front"]  # + electricity
    # links written before issue 10: auto -> amortized, buy -> capex
    for old, new in (("auto", "amortized"), ("buy", "capex")):
        rebuilt, errors = state.inputs_from_query({"preset": "gtc2024-hopper", "pricing": old})
        assert errors == [] and rebuilt["pricing"] == new


# --- issue 10: two PUEs ---------------------------------------------------------------------


def test_the_page_shows_both_pues_and_the_sidebar_holds_both(app: AppTest) -> None:
    # GTC 2024 Hopper preset: hyperscale-air, annual 1.20 (energy), design-day 1.30 (peak)
    assert app.number_input(key="pue").value == pytest.approx(1.20)
    assert app.number_input(key="design_pue").value == pytest.approx(1.30)
    assert app.selectbox(key="facility").value == "hyperscale-air"
    captions = " ".join(c.value for c in app.caption)
    assert "Annual PUE 1.2 (energy), Design-day PUE 1.3 (grid peak)" in captions


def test_a_design_day_pue_moves_the_peak_only(app: AppTest) -> None:
    before = metrics(app)
    app.number_input(key="design_pue").set_value(1.56).run()  # 1.2 x 1.30
    assert_clean(app)
    after = metrics(app)
    assert after["Peak facility power"] == pytest.approx(
        before["Peak facility power"] * 1.56 / 1.30, abs=0.06
    )
    assert after["Energy"] == before["Energy"]
    assert app.selectbox(key="facility").value == "custom"


def test_a_design_day_pue_below_the_annual_one_is_an_inline_error(app: AppTest) -> None:
    app.number_input(key="design_pue").set_value(1.1).run()  # annual PUE 1.20
    assert_clean(app)
    assert len(app.error) == 1
    assert app.error[0].value.startswith("design_pue = 1.1 is not allowed: expected at least")
    assert not app.metric


def test_a_facility_profile_sets_both_pues_and_an_empty_design_pue_is_derived(
    app: AppTest,
) -> None:
    app.selectbox(key="facility").set_value("colocation-air").run()
    assert_clean(app)
    assert app.number_input(key="pue").value == pytest.approx(1.35)
    assert app.number_input(key="design_pue").value == pytest.approx(1.525)
    app.number_input(key="design_pue").set_value(None).run()  # empty: derived, the same 1.525
    assert_clean(app)
    captions = " ".join(c.value for c in app.caption)
    # 1 + 0.35 x 1.5 = 1.525 (shown to two decimals)
    assert re.search(
        r"Annual PUE 1\.35 \(energy\), Design-day PUE 1\.5[23] \(grid peak\)", captions
    )
    assert app.selectbox(key="facility").value == "colocation-air"


def test_the_design_pue_survives_the_link_round_trip() -> None:
    inputs = state.default_inputs()
    inputs.update(design_pue=1.5, facility="custom")
    query = state.inputs_to_query(inputs)
    assert query["design_pue"] == "1.5"
    rebuilt, errors = state.inputs_from_query(query)
    assert not errors and rebuilt["design_pue"] == 1.5 and rebuilt["pue"] == 1.2
    kwargs = state.request_kwargs(rebuilt)
    assert kwargs["design_pue"] == 1.5 and kwargs["pue"] == 1.2
    assert build_request(**kwargs).size().design_pue == 1.5
