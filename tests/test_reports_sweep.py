"""Sweep reports: percentiles, fans, tornado ranks and binding limits of a sweep.

``planner report SWEEP`` runs the sweep into a temporary folder (removed afterwards);
``planner report --from DIR`` reports a folder ``planner sweep --out DIR`` wrote. The
numbers are :func:`planner.sweeps.summary.summarize`'s and its chart-ready frames'.
"""

from __future__ import annotations

import errno
import io
import json
import tempfile
from pathlib import Path

import pytest

from planner import quantities
from planner._paths import data_dir
from planner.cli import main
from planner.errors import InputError
from planner.reports import _atomic, file_kind, render_report, write_report
from planner.reports.sweep import build_sweep_report

GRID = "gtc2024-grid"  # 25 optimiser solves, 9 of them infeasible; the deadline binds
MC_FILE = data_dir() / "sweeps" / "gtc2024-hopper-mc.toml"

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")


def small_mc(tmp_path: Path, samples: int = 2000) -> Path:
    """The shipped Hopper Monte Carlo with fewer draws (fast)."""
    text = MC_FILE.read_text(encoding="utf-8")
    assert "samples = 100000" in text
    f = tmp_path / "hopper-mc.toml"
    f.write_text(text.replace("samples = 100000", f"samples = {samples}"))
    return f


@pytest.fixture(scope="module")
def grid_report():
    return build_sweep_report(GRID, command=f"planner report {GRID}")


@pytest.fixture(scope="module")
def mc_folder(tmp_path_factory):
    from planner.sweeps import run_sweep

    tmp = tmp_path_factory.mktemp("mc")
    result = run_sweep(small_mc(tmp), out_dir=tmp / "out")
    return result


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- content ------------------------------------------------------------------------------


def test_a_sweep_file_is_recognised_by_its_base_and_inputs():
    assert file_kind(data_dir() / "sweeps" / f"{GRID}.toml") == "sweep"


def test_grid_report_counts_the_scenarios_without_a_plan(grid_report):
    assert grid_report.kind == "sweep"
    assert grid_report.headline_value("scenarios") == 25
    assert grid_report.headline_value("feasible") == 16
    assert grid_report.headline_value("infeasible_share") == pytest.approx(9 / 25)
    summary = grid_report.data["sweep"]["summary"]
    assert summary["status_counts"] == {"optimal": 16, "infeasible": 9}


def test_percentile_table_is_the_summarys_p10_p50_p90(grid_report):
    pct = grid_report.data["sweep"]["summary"]["percentiles"]
    rows = {r["output"]: r for r in grid_report.table("percentiles").rows}
    assert rows["facility_power_mw"]["p50"] == pct["facility_power_mw"]["p50"]
    assert rows["gpus"]["p90"] == pct["gpus"]["p90"]
    assert rows["gpus"]["output_label"] == quantities.label("gpus")


def test_tornado_ranks_the_deadline_first_and_binding_counts_the_deadline(grid_report):
    tornado = [r for r in grid_report.table("tornado").rows if r["output"] == "facility_power_mw"]
    assert [r["tornado_rank"] for r in tornado] == [1, 2]
    assert tornado[0]["input"] == "runs[0].deadline_days"
    binding = grid_report.table("binding").rows
    assert binding == ({"limit": "deadline_days.gpt-moe-1.8t", "scenarios": 16, "share": 1.0},)
    charts = {c.name: c for c in grid_report.charts}
    assert {"fan_1", "fan_2", "tornado", "binding"} <= set(charts)
    assert charts["fan_1"].kind == "band"


def test_fan_over_the_grid_limit_has_one_row_per_value_with_a_plan(grid_report):
    fan = grid_report.table("fan_1")
    assert "site.grid_limit_mw" in fan.title
    values = [r["input_value"] for r in fan.rows]
    assert values == sorted(values) and set(values) <= {2.0, 4.0, 8.0, 16.0, 32.0}
    assert sum(r["scenarios"] for r in fan.rows) == 16


def test_every_header_is_the_vocabularys_label(grid_report):
    for table in grid_report.tables:
        for column in table.columns:
            q = column.quantity
            if q is None:
                continue
            base = quantities.label(q, unit=False)
            # a qualified column (P10 of an output, the value of a named input) is the
            # vocabulary's label with the qualifier after its words, before its unit
            expected = quantities.label(q).replace(base, f"{base} {column.qualifier}".strip(), 1)
            assert column.header == expected, (table.name, column)
    fan = grid_report.table("fan_1")
    assert (
        fan.column("p50").header == f"{quantities.label('facility_power_mw', unit=False)} P50 (MW)"
    )


def test_the_temporary_sweep_folder_is_removed(tmp_path, monkeypatch):
    # a temp root of this test's own: another worker's sweep may be running in /tmp
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def spy(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    report = build_sweep_report(small_mc(tmp_path, samples=200))
    assert report.headline_value("scenarios") == 200
    assert any(Path(m).name.startswith("planner-sweep-") for m in made)  # it used one
    assert not list(own_tmp.glob("planner-sweep-*"))


# --- --from a sweep folder ----------------------------------------------------------------


def test_from_a_folder_reports_what_planner_sweep_wrote(capsys, mc_folder):
    code, out, err = run_cli(capsys, "report", "--from", str(mc_folder.out_dir), "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["report"]["kind"] == "sweep"
    summary = data["data"]["sweep"]["summary"]
    assert summary["percentiles"] == json.loads(json.dumps(mc_folder.summary["percentiles"]))
    assert summary["tornado"]["gpus"][0]["input"] == "in_mfu"
    assert "--from" in data["provenance"]["command"]
    assert "tornado" in data["tables"] and "fan_1" not in data["tables"]  # no grid


def test_from_a_folder_that_is_not_a_sweep_exits_2_naming_from(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", "--from", str(tmp_path), "-f", "md")
    assert code == 2 and "--from" in err and err.count("\n") == 1


def test_a_sweep_and_from_together_exit_2(capsys, mc_folder):
    code, _, err = run_cli(capsys, "report", GRID, "--from", str(mc_folder.out_dir), "-f", "md")
    assert code == 2 and err.count("\n") == 1


# --- formats and writing ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "xlsx", "md", "json"])
def test_cli_writes_every_format_from_a_sweep_file(capsys, tmp_path, fmt):
    if fmt == "html":
        pytest.importorskip("vl_convert")
    mc = small_mc(tmp_path, samples=500)
    out = tmp_path / "reports" / f"sweep.{fmt}"
    out.parent.mkdir()
    code, _, err = run_cli(capsys, "report", str(mc), "--format", fmt, "--out", str(out))
    assert code == 0, err
    assert out.stat().st_size > 1000
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_xlsx_headers_equal_the_report_headers(grid_report):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(render_report(grid_report, "xlsx")))
    for name in ("percentiles", "tornado", "binding"):
        assert [c.value for c in wb[name][1]] == [c.header for c in grid_report.table(name).columns]


def test_html_draws_fan_tornado_and_binding_as_inline_svg(grid_report):
    pytest.importorskip("vl_convert")
    html = render_report(grid_report, "html").decode("utf-8")
    assert html.count("<svg") >= 4
    assert "How often each limit binds" in html


def test_json_report_round_trips(grid_report):
    data = json.loads(render_report(grid_report, "json"))
    assert data == json.loads(json.dumps(grid_report.to_dict(), allow_nan=False))
    assert data["tables"]["binding"]["columns"][2]["label"] == quantities.label(
        "binding_share", unit=False
    )


def test_a_failed_rename_keeps_the_previous_report(grid_report, tmp_path, monkeypatch):
    out = tmp_path / "sweep.json"
    out.write_text("previous report")

    def refuse(src, dst, **dir_fds):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_atomic.os, "replace", refuse)
    with pytest.raises(InputError):
        write_report(grid_report, out)
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.json"]
