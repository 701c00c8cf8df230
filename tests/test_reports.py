"""Capacity reports: every format for the GTC preset, the same numbers as the core and the CLI.

Public figures: NVIDIA GTC 2024 keynote (18 March 2024): 8,000 Hopper GPUs, 15 MW, 90 days;
the preset reproduces them within 2% (tests/test_reproductions.py); here the report must carry
exactly the core's numbers.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import subprocess
import sys

import pytest

import planner
from planner import quantities
from planner._paths import data_dir
from planner.cli import main
from planner.errors import InputError
from planner.reports import (
    _atomic,
    build_report,
    build_sizing_report,
    file_kind,
    render_report,
    resolve_format,
    write_report,
)
from planner.request import build_request

PRESET = "gtc2024-hopper"
HEADLINE_KEYS = (
    "gpus",
    "systems",
    "days",
    "facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "emissions_tco2",
)


@pytest.fixture(scope="module")
def gtc_report():
    return build_report(preset=PRESET, command=f"planner report --preset {PRESET}")


@pytest.fixture(scope="module")
def gtc_core():
    return build_request(preset=PRESET).size()


@pytest.fixture(scope="module")
def gtc_html(gtc_report) -> str:
    return render_report(gtc_report, "html").decode("utf-8")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- content --------------------------------------------------------------------------------


def test_gtc_hopper_report_headline_is_the_core_sizing(gtc_report, gtc_core):
    for key in HEADLINE_KEYS:
        assert gtc_report.headline_value(key) == getattr(gtc_core, key)
    # goodput(N) of the failure model: 7,480 training GPUs (goodput 0.949) + 80 hot spares
    assert gtc_report.headline_value("gpus") == 7480
    # (7,480 + 80) x 1,402.5 W IT x design-day PUE 1.30 (hyperscale-air; annual 1.20)
    assert gtc_report.headline_value("facility_power_mw") == pytest.approx(13.78, abs=0.01)


def test_answer_paragraph_states_gpus_days_power_energy_cost_and_co2(gtc_report, gtc_core):
    s = gtc_report.summary

    def core(name: str) -> str:  # the core's number, written as the vocabulary writes it
        return quantities.format_value(name, getattr(gtc_core, name), unit=True)

    for text in (
        core("gpus"),  # 7,480 GPUs
        f"{quantities.format_value('systems', gtc_core.systems, unit=False)} DGX H100 systems",
        f"plus {gtc_core.spare_gpus:,.0f} idle hot-spare GPUs",
        core("days"),
        f"{core('facility_power_mw')} of peak facility power at the design-day PUE 1.30",
        "at the annual PUE 1.20",
        # measured average draw (76% of nameplate for H100, Newkirk et al. 2025) at the annual
        # PUE 1.20, and the amortised cost by default; the cluster purchase is stated beside it
        core("energy_mwh"),
        f"${gtc_core.cost_usd / 1e6:.1f}M amortised",
        f"${gtc_core.cluster_capex_usd / 1e6:.1f}M up front",
        core("emissions_tco2"),
        f"{gtc_core.embodied_tco2:,.0f} tCO2 embodied",
        "Published: GPUs 8,000",
    ):
        assert text in s, text


def test_every_assumption_has_a_value_unit_and_source(gtc_report):
    names = {a["name"] for a in gtc_report.assumptions}
    assert {
        "mfu",
        "goodput",
        "pue",
        "electricity_usd_per_mwh",
        "grid_gco2_per_kwh",
        "peak_dense_tflops",
        "system_power_kw",
        "price_usd_per_gpu",
    } <= names
    for a in gtc_report.assumptions:
        assert a["source"], a
        assert "value" in a and "unit" in a
    mfu = next(a for a in gtc_report.assumptions if a["name"] == "mfu")
    assert mfu["value"] == 0.2 and "preset gtc2024-hopper" in mfu["source"]


def test_report_carries_the_inputs_sha256_and_the_planner_version(gtc_report):
    p = gtc_report.provenance
    presets = (data_dir() / "presets.toml").read_bytes()
    assert p.input_sha256 == hashlib.sha256(presets).hexdigest()
    assert p.planner_version == planner.__version__
    catalog = next(i for i in p.inputs if i.role == "accelerator catalog")
    assert (
        catalog.sha256 == hashlib.sha256((data_dir() / "accelerators.csv").read_bytes()).hexdigest()
    )


def test_a_request_without_a_file_is_hashed_canonically():
    r1 = build_sizing_report(build_request(accelerator="gb200", flops=1e25, days=60))
    r2 = build_sizing_report(build_request(accelerator="gb200", flops=1e25, days=60))
    r3 = build_sizing_report(build_request(accelerator="gb200", flops=1e25, days=61))
    assert r1.provenance.inputs[0].role == "request (canonical JSON)"
    assert r1.provenance.input_sha256 == r2.provenance.input_sha256 != r3.provenance.input_sha256


def test_sensitivity_and_published_comparison_are_in_the_report(gtc_report):
    published = gtc_report.table("published")
    assert {r["quantity"] for r in published.rows} == {"gpus", "facility_power_mw", "days"}
    sens = gtc_report.table("sensitivity")
    assert len(sens.rows) == 8  # 4 factors x (down, up)
    assert any(c.kind == "tornado" for c in gtc_report.charts)


# --- HTML -----------------------------------------------------------------------------------


def test_html_embeds_the_charts_as_inline_svg(gtc_html):
    assert gtc_html.startswith("<!doctype html>")
    assert gtc_html.count("<svg") >= 3
    for name in ("tornado", "chips_power", "power_chain"):
        assert f'id="chart-{name}"><svg' in gtc_html


def assert_self_contained(html: str) -> None:
    """No script, stylesheet, font or image is fetched: the page opens offline."""
    lower = html.lower()
    assert "<script" not in lower and "<link" not in lower and "<img" not in lower
    assert "<iframe" not in lower and "<object" not in lower
    assert "@import" not in lower and "@font-face" not in lower
    assert not re.search(r"""(src|href|xlink:href)\s*=\s*["']?\s*(https?:)?//""", lower)
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//""", lower)


def test_html_has_no_external_reference_to_any_script_style_font_or_image(gtc_html):
    assert_self_contained(gtc_html)
    assert "http" not in gtc_html.lower()  # not even an XML namespace


# --- XLSX -----------------------------------------------------------------------------------


def test_xlsx_headline_cells_equal_the_core_numbers(gtc_report, gtc_core):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(render_report(gtc_report, "xlsx")))
    ws = wb["Summary"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Quantity", "Key", "Value", "Unit"]
    cells = {row[1].value: row[2] for row in ws.iter_rows(min_row=2) if row[1].value}
    for key in HEADLINE_KEYS:  # Excel keeps 15 significant digits: rel 1e-14
        assert cells[key].value == pytest.approx(getattr(gtc_core, key), rel=1e-14), key
        assert isinstance(cells[key].value, int | float)  # numbers stored as numbers
    assert cells["gpus"].number_format == "#,##0"


def test_xlsx_has_one_sheet_per_table_units_in_headers_frozen_rows_and_assumptions(gtc_report):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(render_report(gtc_report, "xlsx")))
    names = wb.sheetnames
    assert names[0] == "Summary"
    assert {t.name for t in gtc_report.tables} <= set(names)
    assert {"Assumptions", "Provenance", "Notes"} <= set(names)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
    chips = wb["chips"]
    headers = [c.value for c in chips[1]]
    peak = quantities.label("facility_power_mw")  # "Peak facility power (MW)"
    assert peak in headers and "Energy (MWh)" in headers
    col = headers.index(peak)
    h100 = next(r for r in chips.iter_rows(min_row=2) if r[0].value == "h100")
    assert isinstance(h100[col].value, float)
    a = wb["Assumptions"]
    assert [c.value for c in a[1]] == ["Assumption", "Value", "Unit", "Source"]
    rows = {r[0].value: r for r in a.iter_rows(min_row=2)}
    assert rows["pue"][1].value == 1.2 and rows["pue"][3].value
    assert rows["design_pue"][1].value == 1.3 and "hyperscale-air" in rows["design_pue"][3].value


# --- JSON and Markdown ----------------------------------------------------------------------


def test_json_report_round_trips_to_the_same_numbers_as_planner_size_json(capsys):
    code, size_out, _ = run_cli(capsys, "size", "--preset", PRESET, "--json")
    assert code == 0
    code, report_out, _ = run_cli(capsys, "report", "--preset", PRESET, "--format", "json")
    assert code == 0
    size = json.loads(size_out)
    report = json.loads(report_out)
    assert report["data"]["sizing"] == size  # every number, bit for bit
    headline = {q["key"]: q["value"] for q in report["headline"]}
    for key in HEADLINE_KEYS:
        assert headline[key] == size[key]
    assert report["provenance"]["planner_version"] == planner.__version__
    assert set(report["tables"]) >= {"results", "published", "chips", "sensitivity"}
    assert report["summary"]


def test_markdown_report_has_the_answer_tables_and_assumptions(gtc_report):
    md = render_report(gtc_report, "md").decode("utf-8")
    assert md.startswith("# GTC 2024")
    for heading in (
        "## The answer",
        "## Results",
        "## Sensitivity",
        "## Assumptions",
        "## Reproduce these numbers",
    ):
        assert heading in md
    assert "| GPUs | 7,480 | GPUs |" in md
    assert gtc_report.provenance.input_sha256 in md


def test_a_chip_the_catalog_never_priced_reports_its_sourced_cost_and_the_run_model():
    # H800 has no catalog price: data/chip_economics.csv prices it; no MFU given: the run model
    report = build_sizing_report(build_request(accelerator="h800", flops=1e25, days=60))
    data = json.loads(render_report(report, "json"))
    sizing = data["data"]["sizing"]
    assert sizing["cost_usd"] == sizing["amortized_cost_usd"] > 0
    assert sizing["cluster_capex_usd"] > sizing["cost_usd"]
    assert "amortised" in report.summary and "up front" in report.summary
    assert sum("from the run model" in n for n in report.notes) == 1
    md = render_report(report, "md").decode()
    assert "| Cluster capex up front | cluster_capex_usd |" in md
    assert "| Embodied emissions | embodied_tco2 |" in md


# --- formats, paths, atomic writes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        ("HTML", None, "html"),
        (None, "r.xlsx", "xlsx"),
        (None, "r.markdown", "md"),
        ("json", "r.JSON", "json"),
        ("html", "r.htm", "html"),
        ("md", "report", "md"),  # no suffix: allowed with an explicit format
    ],
)
def test_format_is_given_or_read_from_the_suffix(fmt, out, expected):
    assert resolve_format(fmt, out) == expected


@pytest.mark.parametrize(("fmt", "out"), [("pdf", None), (None, "r.txt"), (None, None)])
def test_unknown_or_missing_format_is_an_input_error_naming_format(fmt, out):
    with pytest.raises(InputError) as err:
        resolve_format(fmt, out)
    assert err.value.field == "format"
    assert "html, xlsx, md, json" in str(err.value)


def test_write_report_replaces_the_previous_file(gtc_report, tmp_path):
    out = tmp_path / "r.md"
    out.write_text("old")
    write_report(gtc_report, out)
    assert out.read_text().startswith("# GTC 2024")
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_a_failure_mid_write_keeps_the_old_report_and_leaves_no_temp_file(
    gtc_report, tmp_path, monkeypatch
):
    out = tmp_path / "r.json"
    out.write_text("previous report")

    def disk_full(fd):  # the data is half on disk when fsync fails
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "fsync", disk_full)
    with pytest.raises(InputError) as err:
        write_report(gtc_report, out)
    assert err.value.field == "out" and "No space left" in str(err.value)
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_exception_while_streaming_keeps_the_old_file(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("previous report")

    def half_then_crash(f):
        f.write(b"<!doctype html><html>half")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        _atomic.atomic_write(out, half_then_crash)
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_failed_rename_keeps_the_old_file(gtc_report, tmp_path, monkeypatch):
    out = tmp_path / "r.md"
    out.write_text("previous report")

    def refuse(src, dst, **dir_fds):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_atomic.os, "replace", refuse)
    with pytest.raises(InputError):
        write_report(gtc_report, out)
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_a_new_report_is_readable_by_others_not_left_with_the_temp_file_mode(gtc_report, tmp_path):
    out = write_report(gtc_report, tmp_path / "r.md")
    assert out.stat().st_mode & 0o044  # group/other read as the umask allows (mkstemp is 0600)


@pytest.mark.parametrize("bad", ["dir_is_a_file/r.html", "missing_dir/r.html", "."])
def test_unwritable_paths_are_input_errors_naming_out(gtc_report, tmp_path, bad):
    (tmp_path / "dir_is_a_file").write_text("x")
    with pytest.raises(InputError) as err:
        write_report(gtc_report, tmp_path / bad, "html")
    assert err.value.field == "out"


# --- CLI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "json", "xlsx", "html"])
def test_cli_writes_each_format_for_the_gtc_preset(capsys, tmp_path, fmt):
    out = tmp_path / f"gtc.{fmt}"
    code, _, err = run_cli(capsys, "report", "--preset", PRESET, "--format", fmt, "--out", str(out))
    assert code == 0, err
    assert out.stat().st_size > 1000
    assert f"wrote {fmt} report" in err


def test_cli_prints_markdown_on_stdout_without_out(capsys):
    code, out, _ = run_cli(capsys, "report", "--preset", PRESET, "--format", "md")
    assert code == 0 and out.startswith("# GTC 2024")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--preset", PRESET, "--format", "pdf"], "format"),
        (["--preset", PRESET, "--format", "html"], "out"),  # html needs --out
        (["--preset", PRESET, "--format", "xlsx"], "out"),
        (["--preset", "no-such-preset", "--format", "md"], "preset"),
        (["--format", "md"], "scenario/--preset"),
        (["data/scenarios/x.toml", "--preset", PRESET, "--format", "md"], "scenario/--preset"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_naming_the_field(capsys, args, field):
    code, out, err = run_cli(capsys, "report", *args)
    assert code == 2
    assert err.startswith(f"planner: error: {field} = ")
    assert "Traceback" not in err and out == ""


def test_cli_unwritable_path_exits_2_and_writes_nothing(capsys, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    code, _, err = run_cli(
        capsys, "report", "--preset", PRESET, "--format", "html", "--out", str(blocker / "r.html")
    )
    assert code == 2 and "out = " in err
    assert blocker.read_text() == "x"


def test_cli_report_on_an_infeasible_plan_writes_it_and_exits_3_like_optimize(capsys, tmp_path):
    # finding 24: an infeasible plan is an answer: the report is written, the exit code says
    # there is no plan (3, as `planner optimize`), and one stderr line says so.
    out = tmp_path / "infeasible.md"
    code, _, err = run_cli(capsys, "report", str(SMALL_GRID), "--out", str(out))
    assert code == 3
    assert "4.39 MW more grid" in out.read_text(encoding="utf-8")
    assert "no plan (status infeasible)" in err and "exit code 3" in err
    code, stdout, err = run_cli(capsys, "report", str(SMALL_GRID), "--format", "md")
    assert code == 3 and "No plan fits" in stdout and err.count("\n") == 1
    assert main(["optimize", str(SMALL_GRID)]) == 3


def test_cli_report_help_documents_exit_code_3(capsys):
    code, out, _ = run_cli(capsys, "report", "--help")
    assert code == 0 and "Exit code 3" in out


def test_cli_report_help_lists_every_sizing_and_serving_preset(capsys):
    from planner.presets import load_presets
    from planner.serving_presets import load_serving_presets

    code, out, _ = run_cli(capsys, "report", "--help")
    text = "".join(out.split())  # the help wraps lines, also at a name's hyphen
    assert code == 0
    for name in [*load_presets(), *load_serving_presets()]:
        assert name in text, name


def test_the_report_command_starts_an_html_reports_chart_engine_before_importing_the_core():
    """``planner report ... --format html --out X`` resolves the format, which starts the
    chart engine's helper process, before NumPy, pandas or pydantic are imported: the
    engine's start then runs beside those imports and the report's building."""
    code = (
        "import sys; import planner.cli.report; from planner.reports import charts, "
        "resolve_format; resolve_format('html', 'r.html'); "
        "print(charts._engine is not None, sorted(m for m in ('numpy', 'pandas', 'pydantic') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(data_dir().parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split("\n")[0] == "True []"


def test_cli_a_file_that_is_neither_a_plan_nor_a_projection_exits_2(capsys, tmp_path):
    f = tmp_path / "odd.toml"
    f.write_text('title = "nothing to plan"\n')
    code, _, err = run_cli(capsys, "report", str(f), "--format", "md")
    assert code == 2 and "neither a site scenario" in err


# --- plans (issue 3) and projections (issue 4) ---------------------------------------------

GTC_SCENARIO = data_dir() / "scenarios" / "gtc2024.toml"
SMALL_GRID = data_dir() / "scenarios" / "gtc2024_10mw_h100.toml"
IEA = data_dir() / "projections" / "iea-2025-base.toml"


@pytest.fixture(scope="module")
def plan_report():
    return build_report(GTC_SCENARIO)


@pytest.fixture(scope="module")
def projection_report():
    return build_report(IEA)


def test_the_file_kind_is_read_from_its_keys():
    assert file_kind(GTC_SCENARIO) == "plan"
    assert file_kind(IEA) == "projection"


def test_gtc2024_plan_report_answers_about_2000_gb200_at_about_4_mw(plan_report):
    # NVIDIA GTC 2024 keynote: the same run on 2,000 Blackwell GPUs at 4 MW (GPUs within 5%;
    # the peak within 10% as tests/test_reproductions.py: 2,016 x 1,833 W IT x design-day
    # PUE 1.15 = 4.25 MW, +6.3%)
    assert plan_report.kind == "plan"
    assert plan_report.headline_value("chips") == "gb200"
    assert plan_report.headline_value("gpus") == pytest.approx(2000, rel=0.05)
    assert plan_report.headline_value("facility_power_mw") == pytest.approx(4.25, abs=0.01)
    assert plan_report.headline_value("facility_power_mw") == pytest.approx(4.0, rel=0.10)
    assert "2,016 GB200" in plan_report.summary
    binding = [r for r in plan_report.table("constraints").rows if r["binding"]]
    assert [r["constraint"] for r in binding] == ["deadline_days.gpt-moe-1.8t"]


def test_plan_json_round_trips_to_planner_optimize_json(capsys):
    code, optimize_out, _ = run_cli(capsys, "optimize", str(GTC_SCENARIO), "--json")
    assert code == 0
    code, report_out, _ = run_cli(capsys, "report", str(GTC_SCENARIO), "--format", "json")
    assert code == 0
    optimized, report = json.loads(optimize_out), json.loads(report_out)
    optimized.pop("timings")
    plan = report["data"]["plan"]
    plan.pop("timings")
    assert plan == optimized
    headline = {q["key"]: q["value"] for q in report["headline"]}
    for key in ("gpus", "facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2"):
        assert headline[key] == optimized["totals"][key]


def test_plan_report_says_which_pricing_is_in_force(plan_report):
    # issue 10: gtc2024.toml buys outright (pricing "capex"); the report names the pricing in
    # its subtitle, headline and notes, and shows the up-front cluster capex beside the cost
    # (2,016 GB200 at USD 41,667 per GPU (data/chip_economics.csv) / (1 - 0.19 networking) +
    # the facility share: USD 146.9M; + USD 0.52M electricity = USD 147.5M)
    assert "pricing capex" in plan_report.subtitle
    headline = {q.key: q for q in plan_report.headline}
    assert headline["pricing"].value == "capex"
    assert headline["cost_usd"].label == "Cost" and headline["cost_usd"].note == "capex"
    assert headline["cost_usd"].value == pytest.approx(147.5e6, rel=1e-3)
    assert headline["cluster_capex_usd"].value == pytest.approx(146.9e6, rel=1e-3)
    assert headline["cluster_capex_usd"].note == "in the cost"
    assert any("Pricing capex: bought hardware is charged in full" in n for n in plan_report.notes)
    assert any(n.startswith("pricing capex (candidates.pricing)") for n in plan_report.notes)
    (row,) = plan_report.table("runs").rows
    assert row["pricing"] == "capex"
    assert row["cluster_capex_usd"] == pytest.approx(row["capex_usd"], rel=1e-12)
    assert row["amortized_hardware_usd"] == 0
    names = {f.role for f in plan_report.provenance.inputs}
    assert "chip prices and rents" in names


def test_an_amortized_plan_report_keeps_the_capex_out_of_the_cost(tmp_path):
    text = GTC_SCENARIO.read_text().replace('pricing = "capex"', 'pricing = "amortized"')
    assert 'pricing = "amortized"' in text
    path = tmp_path / "gtc_amortized.toml"
    path.write_text(text)
    report = build_report(path)
    headline = {q.key: q for q in report.headline}
    assert headline["pricing"].value == "amortized"
    assert headline["cluster_capex_usd"].note == "not in the cost"
    assert headline["cost_usd"].value < headline["cluster_capex_usd"].value / 10
    (row,) = report.table("runs").rows
    assert row["capex_usd"] == 0
    assert row["cost_usd"] == pytest.approx(
        row["amortized_hardware_usd"] + row["electricity_usd"], rel=1e-12
    )
    assert any("share of its service life" in n for n in report.notes)


def test_plan_sensitivity_starts_from_the_planned_days(plan_report):
    days = plan_report.table("runs").rows[0]["days"]
    base = plan_report.data["sensitivity"]["gpt-moe-1.8t on gb200"]["base"]
    assert base["days"] == pytest.approx(days, rel=1e-12)


def test_plan_xlsx_headline_cells_equal_the_optimiser_totals(plan_report):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(render_report(plan_report, "xlsx")))
    cells = {r[1].value: r[2].value for r in wb["Summary"].iter_rows(min_row=2) if r[1].value}
    totals = plan_report.data["plan"]["totals"]
    for key in ("gpus", "systems", "facility_power_mw", "energy_mwh", "cost_usd"):
        assert cells[key] == pytest.approx(totals[key], rel=1e-14)
    assert {"runs", "totals", "constraints", "candidates", "Assumptions"} <= set(wb.sheetnames)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"


def test_plan_html_embeds_limits_candidates_and_tornado_charts(plan_report):
    html = render_report(plan_report, "html").decode()
    for name in ("limits", "candidates_power", "tornado"):
        assert f'id="chart-{name}"><svg' in html
    assert_self_contained(html)


def test_infeasible_plan_report_says_which_limit_and_what_would_relax_it():
    # issue 3: 90 days on H100s at 10 MW is infeasible: 14.382 MW at the design-day PUE 1.30,
    # 4.382 MW more grid (shown rounded UP, 4.39, so that the shown amount works) or ~130 days
    report = build_report(SMALL_GRID)
    assert report.headline_value("status") == "infeasible"
    assert report.headline_value("needed_grid_mw") == pytest.approx(14.39, abs=1e-9)
    assert "needs 14.39 MW" in report.summary
    assert "4.39 MW more grid" in report.summary and "130 days" in report.summary
    relax = {r["relax"]: r for r in report.table("relaxations").rows}
    assert relax["grid_limit_mw"]["needed"] == pytest.approx(14.39, abs=1e-9)
    md = render_report(report, "md").decode()
    assert "## Binding constraints and relaxations" in md


def test_plan_report_reads_the_plans_own_sizings_for_mixed_shares(tmp_path):
    # finding 19: the report re-sizes nothing: its runs, assumptions and sensitivity start
    # from Plan.sizings (here a run split over two chips, each pool sized on its share).
    from planner.optimization import optimize
    from planner.scenarios import load_scenario

    path = tmp_path / "mixed.toml"
    path.write_text(MIXED_SITE, encoding="utf-8")
    plan = optimize(load_scenario(path))
    assert (plan.runs["share"] < 1).any()
    report = build_report(path)
    for label, sens in report.data["sensitivity"].items():
        run, chip = label.split(" on ")
        res = plan.sizings[(run, chip)]
        assert sens["base"]["days"] == pytest.approx(res.days, rel=1e-12)
        assert sens["base"]["energy_mwh"] == pytest.approx(res.energy_mwh, rel=1e-12)
    assert len(report.data["sensitivity"]) == len(plan.sizings)


def test_plan_report_says_not_tested_for_an_untested_binding_status(monkeypatch, tmp_path):
    # finding 3: a limit whose re-solve was not done is "not tested", never "no"
    import planner.optimization as optimization

    monkeypatch.setattr(optimization.cluster.diagnosis, "_binding_tests", lambda *a, **k: {})
    report = build_report(GTC_SCENARIO)
    rows = {r["constraint"]: r for r in report.table("constraints").rows}
    assert rows["grid_limit_mw"]["binding_status"] == "not tested"
    assert rows["grid_limit_mw"]["binding"] is None


# H100 and GB200 (priced USD 100,000/GPU) at PUE 1 on a 0.75 MW grid: 5 GB200 racks fit
# alone, but mixing in H100 servers is cheaper (tests/test_optimization.py hand instance).
MIXED_SITE = """
allow_mixed_chips = true
[site]
grid_limit_mw = 0.75
pue = 1.0
network_overhead = 0.0
electricity_usd_per_mwh = 0.0
grid_gco2_per_kwh = 0.0
[[runs]]
name = "job"
flops = 3.4e23
deadline_days = 10
mfu = 0.5
goodput = 1.0
[candidates]
chips = ["h100", "gb200"]
price_usd_per_gpu = { gb200 = 100000 }
"""


def test_iea_projection_report_states_the_cores_predicted_2030_world_total_and_labels_it(
    projection_report, capsys
):
    # Uncalibrated (the default): the report's 2030 world total is the core projection's
    # (`planner project iea-2025-base --json`), set against the IEA Energy and AI (2025) base
    # case of ~945 TWh; the published point is labelled "predicted", not "calibrated".
    code, out, _ = run_cli(capsys, "project", "iea-2025-base", "--json")
    assert code == 0
    core = next(
        r
        for r in json.loads(out)["published"]
        if (r["country"], r["year"], r["quantity"]) == ("World", 2030, "total_twh")
    )
    assert core["label"] == "predicted" and core["published"] == 945.0
    assert projection_report.kind == "projection"
    assert projection_report.headline_value("total_twh_2030") == core["model"]
    published = projection_report.table("published").rows
    assert {(r["country"], r["year"]) for r in published} >= {("World", 2030), ("US", 2030)}
    twh = quantities.format_value("total_twh", core["model"], unit=True)
    assert f"World data centres use {twh} in 2030" in projection_report.summary


def test_iea_projection_report_calibrated_to_the_study_lands_on_945_twh_in_2030():
    # --calibrate-to: the non-AI load is solved so the totals land on the IEA's ~945 TWh.
    report = build_report(IEA, calibrate_to="iea-2025-base")
    assert report.headline_value("total_twh_2030") == pytest.approx(945, rel=0.01)
    assert "World data centres use 945.0 TWh in 2030" in report.summary


def test_projection_json_round_trips_to_planner_project_json(capsys):
    code, project_out, _ = run_cli(capsys, "project", str(IEA), "--json")
    assert code == 0
    code, report_out, _ = run_cli(capsys, "report", str(IEA), "--format", "json")
    assert code == 0
    projected, report = json.loads(project_out), json.loads(report_out)
    assert report["data"]["projection"] == projected
    world_2030 = next(r for r in projected["rows"] if r["country"] == "World" and r["year"] == 2030)
    headline = {q["key"]: q["value"] for q in report["headline"]}
    assert headline["total_twh_2030"] == world_2030["total_twh"]


def test_projection_xlsx_has_the_headline_and_ranged_assumptions(projection_report):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(render_report(projection_report, "xlsx")))
    cells = {r[1].value: r[2].value for r in wb["Summary"].iter_rows(min_row=2) if r[1].value}
    assert cells["total_twh_2030"] == pytest.approx(
        projection_report.headline_value("total_twh_2030"), rel=1e-14
    )
    header = [c.value for c in wb["Assumptions"][1]]
    assert header == ["Assumption", "Value", "Low", "High", "Unit", "Source"]
    assert [c.value for c in wb["trajectory"][1]][:3] == [
        "Variant",
        quantities.label("year"),
        quantities.label("total_twh"),
    ]


def test_projection_html_has_its_charts_and_shows_source_urls_only_as_text(projection_report):
    html = render_report(projection_report, "html").decode()
    assert 'id="chart-trajectory"><svg' in html and 'id="chart-regions"><svg' in html
    assert_self_contained(html)  # the IEA source URL is printed, never linked or fetched


def test_cli_markdown_for_a_projection_as_in_the_issue(capsys):
    code, out, _ = run_cli(capsys, "report", str(IEA), "--format", "md")
    assert code == 0
    assert out.startswith("# IEA Energy and AI")
    assert "## Comparisons: alternatives and published figures" in out


# --- one output vocabulary, one structure (issue 18) ----------------------------------------


def _every_report(gtc_report, plan_report, projection_report):
    serving = build_report(serve_preset="chatgpt-2023", grid_mw=2.0)
    return (gtc_report, plan_report, projection_report, serving)


def test_every_report_column_header_is_the_vocabularys_label(
    gtc_report, plan_report, projection_report
):
    for report in _every_report(gtc_report, plan_report, projection_report):
        for table in (*report.tables, report.assumptions_table()):
            for column in table.columns:
                if column.quantity is None:  # a plain column: factor, note, source...
                    assert column.unit == "", (table.name, column.key)
                    continue
                q = quantities.quantity(column.quantity)
                label = quantities.label(column.quantity)
                if column.qualifier:
                    base = quantities.label(column.quantity, unit=False)
                    label = label.replace(base, f"{base} {column.qualifier}")
                assert column.header == label, (table.name, column.key)
                assert (column.unit, column.fmt) == (q.unit, q.format)


def test_every_headline_number_is_labelled_by_the_vocabulary(
    gtc_report, plan_report, projection_report
):
    for report in _every_report(gtc_report, plan_report, projection_report):
        for q in report.headline:
            label = quantities.label(q.quantity, unit=False)
            assert q.label == (f"{label} {q.qualifier}" if q.qualifier else label), q.key
            assert q.fmt == quantities.quantity(q.quantity).format


def test_key_value_tables_label_each_row_by_the_vocabulary(gtc_report):
    for row in gtc_report.table("results").rows:
        assert row["quantity"] == quantities.label(row["key"], unit=False)
        assert row["unit"] == quantities.quantity(row["key"]).unit


def test_no_report_module_writes_a_label_unit_or_format_of_its_own():
    # Column("key", "Label", "unit", ",.0f") and (key, label, unit, format) tuples are gone:
    # a column is a vocabulary name, or a plain text column made with Column.plain.
    import pathlib

    import planner.reports as reports

    folder = pathlib.Path(reports.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bColumn\(\s*\"[^\"]+\",\s*\"", text), path.name
        assert not re.search(r"\bQuantity\(\s*\"[^\"]+\",\s*\"[^\"]*\",", text), path.name
        assert not re.search(r"\"_fmt\"", text), path.name


def test_a_result_with_changed_inputs_shows_them_instead_of_the_published_comparison(
    monkeypatch,
):
    # the core's contract: `published` only for the preset's own inputs, else
    # `changed_inputs` (field, preset, value)
    from planner.sizing import SizingResult

    own = SizingResult.to_dict

    def changed(self):
        return {**own(self), "changed_inputs": [{"field": "mfu", "preset": 0.2, "value": 0.3}]}

    monkeypatch.setattr(SizingResult, "to_dict", changed)
    report = build_sizing_report(build_request(preset=PRESET, mfu=0.3))
    names = {t.name for t in report.tables}
    assert "published" not in names and "published" not in report.data["sizing"]
    table = report.table("changed_inputs")
    assert table.title.startswith("Not the published case: changed inputs mfu")
    assert table.rows == ({"field": "mfu", "preset": 0.2, "value": 0.3},)
    assert "Not the published case" in report.summary and "Published:" not in report.summary
    md = render_report(report, "md").decode()
    assert "Not the published case: changed inputs mfu" in md
    assert "| mfu | 0.2 | 0.3 |" in md


def test_a_result_that_carries_published_is_shown_as_the_core_gives_it(monkeypatch):
    from planner.sizing import SizingResult

    own = SizingResult.to_dict
    rows = [{"quantity": "gpus", "published": 8000, "model": 7888, "relative_difference": -0.014}]

    def published(self):
        return {**own(self), "published": rows}

    monkeypatch.setattr(SizingResult, "to_dict", published)
    report = build_sizing_report(build_request(preset=PRESET))
    assert [r["quantity"] for r in report.table("published").rows] == ["gpus"]
    assert "changed_inputs" not in {t.name for t in report.tables}


@pytest.fixture
def no_engine_yet(monkeypatch):
    """The charts module as in a new process: no helper, no engine started."""
    from planner.reports import charts

    monkeypatch.setattr(charts, "_engine", None)
    monkeypatch.setattr(charts, "_engine_started", False)
    yield charts
    charts.stop_engine()


def test_resolving_an_html_file_starts_the_chart_engine_in_a_helper_process(no_engine_yet):
    charts = no_engine_yet
    assert resolve_format("html", "r.html") == "html"
    helper = charts._engine
    assert helper is not None and helper.poll() is None  # running beside this process
    charts.stop_engine()
    assert helper.poll() is not None and charts._engine is None


def test_the_helper_process_draws_every_batch_as_the_engine_in_process_does(
    gtc_report, no_engine_yet
):
    charts = no_engine_yet
    pairs = [(c, gtc_report.table(c.table)) for c in gtc_report.charts]
    charts.warm_up()
    helper = charts._engine
    first = charts.to_svgs(pairs)
    assert charts.to_svgs(pairs[:1]) == first[:1]  # a later batch: the same helper
    assert charts._engine is helper and helper.poll() is None
    charts.warm_up()  # started once per process
    assert charts._engine is helper
    charts.stop_engine()
    assert charts.to_svgs(pairs) == first  # now in-process: the same SVG


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_neither_uses_nor_stops_its_parents_helper(no_engine_yet):
    charts = no_engine_yet
    charts.warm_up()
    helper = charts._engine
    pid = os.fork()
    if pid == 0:  # the child: a worker of a pool started by fork
        charts.stop_engine()
        kept = charts._engine is helper and charts._from_helper([{}]) is None
        os._exit(0 if kept else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert charts._engine is helper and helper.poll() is None


def test_a_helper_that_cannot_start_the_engine_leaves_the_charts_to_this_process(
    gtc_report, no_engine_yet, monkeypatch, tmp_path
):
    charts = no_engine_yet
    pairs = [(c, gtc_report.table(c.table)) for c in gtc_report.charts]
    broken = tmp_path / "engine.py"
    broken.write_text("raise SystemExit('no chart engine here')\n")
    monkeypatch.setattr(charts, "_HELPER", broken)
    charts.warm_up()
    svgs = charts.to_svgs(pairs)
    assert len(svgs) == len(pairs) and all(s.startswith("<svg") for s in svgs)
    assert charts._engine is None  # the failed helper is gone


def test_a_chart_the_helper_cannot_draw_is_drawn_in_process_which_says_why(
    gtc_report, no_engine_yet, monkeypatch
):
    charts = no_engine_yet
    chart = gtc_report.charts[0]
    table = gtc_report.table(chart.table)
    monkeypatch.setattr(charts, "vegalite_spec", lambda c, t: {"mark": {"type": "no-such-mark"}})
    charts.warm_up()
    helper = charts._engine
    with pytest.raises(ValueError):
        charts.to_svgs([(chart, table)])
    assert charts._engine is helper and helper.poll() is None  # it answered, and stays


def test_xlsx_reports_draw_no_chart(gtc_report, monkeypatch):
    from planner.reports import charts

    def no_chart(*args, **kwargs):
        raise AssertionError("a workbook has no chart")

    monkeypatch.setattr(charts, "to_svg", no_chart)
    monkeypatch.setattr(charts, "to_svgs", no_chart)
    monkeypatch.setattr(charts, "warm_up", no_chart)
    assert render_report(gtc_report, "xlsx")[:2] == b"PK"
