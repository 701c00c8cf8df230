"""Serving reports: ``build_serving_report``, ``build_report(serve_preset=...)`` and
``planner report --serve-preset``.

Public figures (tolerances as stated in ``data/serving_presets.toml``, never tuned per case):
the analysts' seed estimate quoted in issue 12, about 10,000 servers for ChatGPT in early 2023
(a factor of 20); Google 2025 (arXiv 2508.15734), 0.24 Wh for the median Gemini text prompt
(a factor of 2).
"""

from __future__ import annotations

import json

import pytest

from planner import quantities
from planner.cli import main
from planner.errors import InputError
from planner.reports import build_report, build_serving_report, render_report
from planner.serving_presets import build_service_request, serve_request


@pytest.fixture(scope="module")
def chatgpt():
    return build_report(serve_preset="chatgpt-2023", grid_mw=2.0)


def test_chatgpt_2023_report_answers_first_within_20x_of_10000_servers(chatgpt) -> None:
    assert chatgpt.kind == "serving"
    assert chatgpt.summary.startswith("Serving gpt-3-175b to 13,000,000 daily users")
    systems = chatgpt.headline_value("systems")
    assert 10_000 / 20 <= systems <= 10_000 * 20
    result, _ = serve_request("chatgpt-2023")
    assert systems == float(result.systems)
    assert chatgpt.headline_value("wh_per_query") == pytest.approx(float(result.wh_per_query))


def test_every_assumption_has_a_value_unit_and_source(chatgpt) -> None:
    names = {a["name"] for a in chatgpt.assumptions}
    assert {"users", "reasoning_multiplier", "tpot_target_s", "pue"} <= names
    for a in chatgpt.assumptions:
        assert a["source"], a
        assert "unit" in a
    users = next(a for a in chatgpt.assumptions if a["name"] == "users")
    assert users["value"] == 1.3e7 and "Similarweb" in users["source"]


def test_the_grid_verdict_says_short_by_and_how_many_users_fit(chatgpt) -> None:
    result, _ = serve_request("chatgpt-2023")
    need = float(result.facility_power_mw)
    grid = chatgpt.data["serving"]["grid"]
    assert grid["fits"] is False
    assert grid["short_mw"] == pytest.approx(need - 2.0)
    assert 0 < grid["max_users"] < 1.3e7
    assert f"short by {need - 2:,.2f} MW" in chatgpt.summary
    assert chatgpt.headline_value("grid_limit_mw") == 2.0
    fits = build_report(serve_preset="chatgpt-2023", grid_mw=1_000.0)
    assert fits.data["serving"]["grid"]["fits"] is True and "It fits" in fits.summary


def test_tables_and_charts_cover_breakdown_scale_reasoning_chips_and_the_record(chatgpt) -> None:
    names = {t.name for t in chatgpt.tables}
    assert {
        "results",
        "energy_breakdown",
        "users_gpus",
        "users_power",
        "reasoning",
        "chips",
        "published",
        "public_record",
    } <= names
    shares = [r["energy_share"] for r in chatgpt.table("energy_breakdown").rows]
    assert sum(shares) == pytest.approx(1.0)
    wh = [r["wh_per_query"] for r in chatgpt.table("reasoning").rows]
    assert wh == sorted(wh) and wh[-1] > wh[0]  # longer reasoning never less energy
    gpus = [r["gpus"] for r in chatgpt.table("users_gpus").rows]
    assert gpus == sorted(gpus)  # more users never fewer GPUs
    series = {r["series"] for r in chatgpt.table("users_power").rows}
    assert series == {"peak facility power", "grid limit"}
    chips = {r["accelerator"]: r for r in chatgpt.table("chips").rows}
    assert chips["a100-80gb"]["chosen"] and not chips["h100"]["chosen"]
    record = {(r["case"], r["quantity"]) for r in chatgpt.table("public_record").rows}
    assert ("gemini-median-2025", "wh_per_query") in record
    for chart in chatgpt.charts:
        assert chart.table in names, chart


def test_gemini_report_production_estimate_lands_within_35_percent_of_024_wh() -> None:
    # Google 2025 (arXiv 2508.15734): 0.24 Wh full stack; the ideal bound is below it
    report = build_report(serve_preset="gemini-median-2025")
    rows = {r["fleet_quantity"]: r for r in report.table("production").rows}
    assert 0.24 / 1.35 <= rows["wh_per_query"]["production_estimate"] <= 0.24 * 1.35
    assert report.headline_value("wh_per_query") == rows["wh_per_query"]["ideal_bound"] < 0.24


def test_report_shows_the_cores_ideal_vs_production_and_parts_tables() -> None:
    from planner.serving.production import ideal_vs_production, production_parts
    from planner.serving_presets import serve_request

    result, _ = serve_request("epoch-gpt4o-2025")
    report = build_report(serve_preset="epoch-gpt4o-2025")
    fleet = report.table("production")
    assert [c.header for c in fleet.columns][:4] == [
        quantities.label("fleet_quantity"),
        quantities.label("ideal_bound"),
        quantities.label("production_estimate"),
        quantities.label("production_over_ideal"),
    ]
    core = ideal_vs_production(result.production)
    assert [r["production_estimate"] for r in fleet.rows] == [
        r["production_estimate"] for r in core
    ]
    parts = report.table("production_parts")
    assert [r["fleet_part"] for r in parts.rows] == [
        r["fleet_part"] for r in production_parts(result.production)
    ]
    md = render_report(report, "md").decode("utf-8")
    assert "Ideal bound vs production estimate" in md and "latency headroom" in md


def test_reasoning_beyond_the_context_window_is_left_out_and_named(chatgpt) -> None:
    # GPT-3's 2,048-token window: 500 input + 10 x the visible answer no longer fits
    table = chatgpt.table("reasoning")
    assert all(v is not None for r in table.rows for v in r.values())
    shown = [r["reasoning_multiplier"] for r in table.rows]
    assert shown == [1.0, 2.0, 5.0]
    assert "x10, x20, x50, x100" in table.note
    assert "beyond the context window" in table.note and "2,048 tokens" in table.note
    md = render_report(chatgpt, "md").decode("utf-8")
    assert "beyond the context window" in md


@pytest.mark.parametrize("fmt", ["json", "md", "xlsx"])
def test_every_format_renders_the_same_answer(chatgpt, fmt: str) -> None:
    data = render_report(chatgpt, fmt)
    assert len(data) > 1_000
    if fmt == "json":
        parsed = json.loads(data)
        assert parsed["report"]["kind"] == "serving"
        assert parsed["summary"] == chatgpt.summary
        assert parsed["data"]["serving"]["preset"] == "chatgpt-2023"
    if fmt == "md":
        assert "short by" in data.decode()


def test_html_renders_with_charts(chatgpt) -> None:
    html = render_report(chatgpt, "html").decode()
    assert "<svg" in html and "Energy per query vs reasoning multiplier" in html


def test_an_infeasible_service_is_reported_with_its_reason() -> None:
    request = build_service_request(
        None,
        accelerator="v100",
        model="deepseek-v3",
        users=1e6,
        queries_per_user_day=1,
        input_tokens=100,
        output_tokens=100,
        tpot_target_s=1e-4,
    )
    report = build_serving_report(request, grid_mw=10.0)
    assert "not possible within the latency targets" in report.summary
    assert "grid" not in report.data["serving"]
    render_report(report, "md")
    json.loads(render_report(report, "json"))


def test_exactly_one_subject_is_required() -> None:
    with pytest.raises(InputError, match="--serve-preset"):
        build_report(preset="gtc2024-hopper", serve_preset="chatgpt-2023")
    with pytest.raises(InputError, match="preset"):
        build_report(serve_preset="no-such-service")


def test_cli_writes_the_html_report(capsys, tmp_path) -> None:
    out = tmp_path / "x.html"
    code = main(["report", "--serve-preset", "chatgpt-2023", "--format", "html", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "wrote html report" in err
    text = out.read_text()
    assert "serving report" in text.lower() and "10,000" in text


def test_cli_prints_markdown_with_the_grid_verdict(capsys) -> None:
    code = main(["report", "--serve-preset", "chatgpt-2023", "--grid-mw", "2", "-f", "md"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("# ChatGPT in early 2023")
    assert "short by" in out and "--serve-preset chatgpt-2023 --grid-mw 2" in out


@pytest.mark.parametrize(
    "args",
    [
        ["report", "gtc2024", "--grid-mw", "3", "-f", "md"],
        ["report", "--serve-preset", "nope", "-f", "md"],
        ["report", "--preset", "gtc2024-hopper", "--serve-preset", "chatgpt-2023", "-f", "md"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(capsys, args) -> None:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("planner: error: ") and err.count("\n") == 1, err


def test_the_report_costs_a_year_under_one_pricing_with_the_training_economics(chatgpt) -> None:
    # default pricing: amortized (data/chip_economics.csv prices, data/economics.csv knobs)
    result, _ = serve_request("chatgpt-2023")
    p = chatgpt.data["serving"]
    assert p["pricing"] == "amortized" and p["cost_usd"] == pytest.approx(
        float(result.amortized_cost_usd)
    )
    assert p["cluster_capex_usd"] > p["amortized_cost_usd"]  # capex up front, not summed in
    assert p["design_pue"] > p["pue"]  # the grid peak at the design-day PUE
    rows = {r["key"]: r for r in next(t for t in chatgpt.tables if t.name == "results").rows}
    assert rows["pricing"]["value"] == "amortized"
    assert rows["cost_usd"]["value"] == pytest.approx(p["cost_usd"])
    chips = next(t for t in chatgpt.tables if t.name == "chips")
    assert "one pricing: amortized" in chips.title
    assert {r["pricing"] for r in chips.rows if r["pricing"]} == {"amortized"}
    assert any("(amortized)" in note for note in chatgpt.notes)
    capex = build_serving_report(build_service_request("chatgpt-2023", pricing="buy"))
    assert capex.data["serving"]["pricing"] == "capex"  # the former "buy"
    assert capex.data["serving"]["cost_usd"] == pytest.approx(
        p["cluster_capex_usd"] + p["electricity_cost_usd"]
    )
