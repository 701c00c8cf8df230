"""Build-out reports: the plan's tables and charts in HTML, XLSX, Markdown and JSON.

The numbers are :func:`planner.optimization.buildout.plan_buildout`'s; the report arranges
them (``planner report FILE_OR_NAME`` for a build-out file or shipped name).
"""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path

import pytest

from planner import quantities
from planner._paths import data_dir
from planner.cli import main
from planner.errors import InputError
from planner.reports import _atomic, file_kind, render_report, write_report
from planner.reports.buildout import build_buildout_report

SMALL = "small-hand-checkable"
SMALL_FILE = data_dir() / "buildout" / f"{SMALL}.toml"


@pytest.fixture(scope="module")
def report():
    return build_buildout_report(SMALL, command=f"planner report {SMALL}")


@pytest.fixture(scope="module")
def plan():
    from planner.optimization.buildout import plan_buildout

    return plan_buildout(SMALL)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def infeasible_file(tmp_path: Path) -> Path:
    """The hand-checkable build-out with 40 H100s delivered a quarter: the run cannot finish
    by its deadline (more deliveries, or a later deadline, would fit)."""
    text = SMALL_FILE.read_text(encoding="utf-8")
    assert "deliveries_gpus = 4000 " in text
    f = tmp_path / "starved.toml"
    f.write_text(text.replace("deliveries_gpus = 4000 ", "deliveries_gpus = 40 "))
    return f


# --- content ------------------------------------------------------------------------------


def test_a_buildout_file_is_recognised_by_its_sites():
    assert file_kind(SMALL_FILE) == "buildout"


def test_the_report_holds_the_plans_tables_and_its_totals(report, plan):
    names = {t.name for t in report.tables}
    assert {"totals", "installs", "power", "runs", "schedule", "utilisation", "costs"} <= names
    assert "energy" in names
    installs = report.table("installs")
    assert [r["gpus"] for r in installs.rows] == plan.installs["gpus"].tolist()
    assert report.headline_value("gpus_installed") == plan.totals["gpus_installed"] == 360
    assert report.headline_value("discounted_cost_usd") == plan.totals["discounted_cost_usd"]
    assert report.headline_value("status") == "optimal"
    assert "360 GPUs installed" in report.summary


def test_the_four_charts_draw_power_installs_schedule_and_cost(report):
    charts = {c.name: c for c in report.charts}
    assert set(charts) == {"power_by_site", "installs_by_chip", "run_schedule", "cost_per_year"}
    power = charts["power_by_site"]
    assert power.kind == "area" and power.table == "power"
    assert power.encoding["total"] == "available_mw"
    assert charts["installs_by_chip"].encoding["color"] == "chip"
    assert charts["cost_per_year"].encoding == {"x": "year", "y": "cost_usd", "color": "component"}


def test_every_header_is_the_vocabularys_label(report):
    for table in report.tables:
        for column in table.columns:
            if column.quantity is not None:
                assert column.header == quantities.label(column.quantity), (table.name, column)
    assert report.table("power").column("available_mw").header == "Power available (MW)"


def test_xlsx_headers_equal_the_vocabulary_labels(report):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(render_report(report, "xlsx")))
    for name in ("installs", "power", "costs"):
        headers = [c.value for c in wb[name][1]]
        assert headers == [c.header for c in report.table(name).columns]
    assert quantities.label("discounted_cost_usd") in [c.value for c in wb["costs"][1]]


def test_html_embeds_the_charts_as_inline_svg(report):
    pytest.importorskip("vl_convert")
    html = render_report(report, "html").decode("utf-8")
    assert html.count("<svg") >= 4
    assert "Design-day peak by site against the power available" in html


def test_markdown_has_the_tables_and_names_the_charts(report):
    md = render_report(report, "md").decode("utf-8")
    assert md.startswith("# Two sites, four quarters")
    assert f"| {quantities.label('available_mw')} |" in md
    assert "Chart (in the HTML report)" in md


# --- JSON ---------------------------------------------------------------------------------


def test_json_report_round_trips_and_holds_what_planner_buildout_json_prints(capsys, report):
    code, out, _ = run_cli(capsys, "buildout", SMALL, "--json")
    assert code == 0
    direct = json.loads(out)
    code, out, _ = run_cli(capsys, "report", SMALL, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["report"]["kind"] == "buildout"
    got = data["data"]["buildout"]
    for key in ("installs", "power", "schedule", "costs", "energy", "totals", "status"):
        assert got[key] == direct[key], key
    # and the rendered JSON is the report's own data, nothing lost
    assert json.loads(render_report(report, "json")) == json.loads(
        json.dumps(report.to_dict(), allow_nan=False)
    )


# --- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "xlsx", "md", "json"])
def test_cli_writes_every_format(capsys, tmp_path, fmt):
    if fmt == "html":
        pytest.importorskip("vl_convert")
    out = tmp_path / f"buildout.{fmt}"
    code, _, err = run_cli(capsys, "report", SMALL, "--format", fmt, "--out", str(out))
    assert code == 0, err
    assert out.stat().st_size > 1000
    assert f"wrote {fmt} report" in err
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_failed_rename_keeps_the_previous_report(report, tmp_path, monkeypatch):
    out = tmp_path / "buildout.md"
    out.write_text("previous report")

    def refuse(src, dst, **dir_fds):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_atomic.os, "replace", refuse)
    with pytest.raises(InputError):
        write_report(report, out)
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["buildout.md"]


def test_an_infeasible_buildout_writes_the_report_with_relaxations_and_exits_3(capsys, tmp_path):
    starved = infeasible_file(tmp_path)
    out = tmp_path / "starved.md"
    code, _, err = run_cli(capsys, "report", str(starved), "--out", str(out))
    assert code == 3
    assert "no plan (status infeasible)" in err and "exit code 3" in err
    text = out.read_text(encoding="utf-8")
    assert "h100 deliveries x" in text and "deadline from 2026Q2 to 2026Q3" in text
    assert "no build-out fits every limit" in text
    assert main(["buildout", str(starved)]) == 3
    capsys.readouterr()


def test_a_fresh_process_reports_a_buildout_without_the_solver_capture_hanging(tmp_path):
    # Pyomo first imported inside the CLI's stdout guard left HiGHS's output capture waiting
    # on its reader threads for ever; the report command now imports it first (a fresh
    # process, as a user runs it: in this test process Pyomo is already imported).
    import subprocess
    import sys

    out = tmp_path / "small.json"
    done = subprocess.run(
        [sys.executable, "-m", "planner", "report", SMALL, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "deadlock" not in done.stderr
    assert json.loads(out.read_text())["data"]["buildout"]["status"] == "optimal"


def test_a_run_of_100x_the_flops_reports_what_binds_and_relaxations_to_follow_together(tmp_path):
    text = SMALL_FILE.read_text(encoding="utf-8")
    assert "flops = 2e24" in text
    f = tmp_path / "hundredfold.toml"
    f.write_text(text.replace("flops = 2e24", "flops = 2e26"))
    report = build_buildout_report(str(f))
    relax = report.table("relaxations")
    assert relax.title.startswith("What it would take: limits to relax together")
    assert "No limit relaxed on its own gives a plan" in relax.note
    binding = report.table("binding")
    assert {r["limit"] for r in binding.rows} == {r["limit"] for r in relax.rows}
    assert "All of these together would:" in report.summary
