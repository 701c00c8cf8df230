"""The faces of the backtest (``planner project --backtest``, the projection report) say what
the core's backtest now does: each published figure is predicted only from a figure of its own
definition (:mod:`planner.backtest`), a figure with none is listed as not predictable (no
prediction, no anchor, no naive error), and the summary gives the count of those and the median
|error| over the naive forecast's against its target
(:data:`planner.backtest.MEDIAN_RATIO_TARGET`).

The JSON contract is checked on a real ``planner`` process (a NaN reaching ``json.dumps`` would
break it there, not in ``capsys``); the table, the sentence and the report in this process.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import _forkserver as forkserver
import pandas as pd
import pytest

from planner import backtest, quantities
from planner.cli import project as project_cli

ROOT = Path(__file__).resolve().parents[1]
IEA = ROOT / "data" / "projections" / "iea-2025-base.toml"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return backtest.backtest()


@pytest.fixture(scope="module")
def cli_json(tmp_path_factory) -> dict:
    """``planner project --backtest --json`` in a real process: the whole stdout parsed."""
    proc = forkserver.run(
        ["project", "--backtest", "--samples", "200", "--json"],
        cwd=tmp_path_factory.mktemp("bt"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "NaN" not in proc.stdout and "Infinity" not in proc.stdout
    payload = json.loads(proc.stdout)  # the WHOLE stdout is one JSON object
    assert isinstance(payload, dict)
    return payload


def _not_predictable(rows: list[dict]) -> list[dict]:
    return [r for r in rows if not r["used_as_input"] and r["anchor"] == ""]


def test_backtest_json_gives_unpredictable_figures_null_predictions_and_a_definition(cli_json):
    rows = cli_json["backtest"]
    assert all(r["definition"] for r in rows)
    missing = _not_predictable(rows)
    assert missing, "the shipped data has figures with no figure of their definition"
    for r in missing:
        assert (r["predicted"], r["error"], r["persistence_error"]) == (None, None, None)
    for r in rows:
        if r["anchor"]:
            assert isinstance(r["predicted"], float) and math.isfinite(r["predicted"])


def test_backtest_json_summary_counts_them_and_gives_the_median_ratio_and_its_target(cli_json):
    s = cli_json["summary"]
    rows = cli_json["backtest"]
    assert s["not_predictable"] == len(_not_predictable(rows))
    out = [r for r in rows if not r["used_as_input"]]
    assert s["predictions"] + s["not_predictable"] == len(out)
    assert s["median_ratio"] == pytest.approx(
        s["median_abs_error"] / s["persistence_median_abs_error"]
    )
    assert s["median_ratio_target"] == backtest.MEDIAN_RATIO_TARGET
    assert isinstance(s["not_predictable"], int) and isinstance(s["predictions"], int)


def test_backtest_json_summary_is_valid_json_when_nothing_is_predictable(table):
    # no prediction at all: the medians and their ratio are NaN in the core; JSON says null
    nothing = table[table["used_as_input"] | (table["anchor"] == "")]
    s = project_cli.backtest_summary_json(nothing)
    text = json.dumps(s, allow_nan=False)
    assert json.loads(text)["median_ratio"] is None
    assert s["predictions"] == 0 and s["not_predictable"] == int((nothing["anchor"] == "").sum())


def test_backtest_table_shows_not_predictable_in_place_of_a_prediction(table, capsys):
    project_cli._print_backtest(table, pd.DataFrame(columns=_CHECK_COLUMNS))
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(
        line
        for line in lines
        if line.startswith("┃") and quantities.label("definition", short=True) in line
    )
    assert quantities.label("predicted_twh", short=True) in header
    missing = table[(~table["used_as_input"]) & (table["anchor"] == "")]
    shown = [line for line in lines if backtest.NOT_PREDICTABLE in line and "│" in line]
    assert len(shown) == len(missing)
    for line in shown:  # no number where the prediction and its errors would be
        cells = [c.strip() for c in line.split("│")[1:-1]]
        assert cells[6] == backtest.NOT_PREDICTABLE
        assert cells[7] == cells[8] == quantities.MISSING


def test_backtest_sentence_gives_the_not_predictable_count_and_the_ratio_against_its_target(
    table,
):
    s = backtest.summary(table)
    text = project_cli.backtest_sentence(s)
    assert f"{s['not_predictable']} figures {backtest.NOT_PREDICTABLE}" in text
    assert backtest.NOT_PREDICTABLE_REASON in text
    ratio = quantities.format_value("median_ratio", s["median_ratio"])
    target = quantities.format_value("median_ratio_target", backtest.MEDIAN_RATIO_TARGET)
    assert f"{ratio} (target: at most {target})" in text


_CHECK_COLUMNS = ["check", "scope", "year", "implied", "unit", "published", "error", "low", "high"]


@pytest.fixture(scope="module")
def report_backtest():
    from planner.reports.projection import build_projection_report

    report = build_projection_report(IEA, samples=0)
    return report.table("backtest"), report.data


def test_report_backtest_table_has_the_definition_and_the_cores_reason_for_no_prediction(
    report_backtest, table
):
    t, _ = report_backtest
    assert [c.key for c in t.columns][:3] == ["cutoff_year", "study", "definition"]
    why = f"{backtest.NOT_PREDICTABLE}: {backtest.NOT_PREDICTABLE_REASON}"
    missing = [r for r in t.rows if r["anchor"] == why]
    assert len(missing) == int(((~table["used_as_input"]) & (table["anchor"] == "")).sum())
    assert all(r["predicted"] is None and r["error"] is None for r in missing)
    assert all(r["definition"] for r in t.rows)


def test_report_backtest_note_and_data_give_not_predictable_and_the_median_ratio_target(
    report_backtest, table
):
    t, data = report_backtest
    s = backtest.summary(table)
    target = quantities.format_value("median_ratio_target", backtest.MEDIAN_RATIO_TARGET)
    assert f"(target: at most {target})" in t.note
    assert f"{s['not_predictable']} figures {backtest.NOT_PREDICTABLE}" in t.note
    summary = data["backtest_summary"]
    assert summary["not_predictable"] == s["not_predictable"]
    assert summary["median_ratio_target"] == backtest.MEDIAN_RATIO_TARGET
    assert all("definition" in r for r in data["backtest"])
