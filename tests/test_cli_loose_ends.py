"""What ``planner`` prints: each line once, counts in the right number, bands that show a
band, the app's pages and its stop, and "Published vs model" only for the published case."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from planner.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def flat(text: str) -> str:
    return " ".join(text.split())


def rendered(table) -> str:
    out = io.StringIO()
    Console(file=out, width=200).print(table)
    return out.getvalue()


# -- planner size -----------------------------------------------------------------------


def test_size_prints_the_two_pues_once(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper")
    assert code == 0
    assert flat(out).count("annual (energy), ") == 1


def test_a_one_day_deadline_prints_singular(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--compare", "--days", "1")
    assert code == 0
    assert "(deadline 1.0 day)" in flat(out)
    assert "1 days" not in out


def test_a_hundredth_of_a_day_deadline_does_not_print_as_zero():
    from planner.cli.optimize import _table

    frame = pd.DataFrame(
        {"deadline_days": [0.01], "gpus": [8.0]}, index=pd.Index(["r"], name="run")
    )
    text = rendered(_table("Plan", frame, ["deadline_days", "gpus"]))
    assert "0.01" in text


def test_size_json_writes_whole_counts_as_integers(capsys):
    args = ("size", "--accelerator", "gb200", "--flops", "2.15e25", "--gpus", "2000", "--json")
    code, out, _ = run_cli(capsys, *args)
    assert code == 0
    d = json.loads(out)
    assert '"gpus": 2000,' in out and isinstance(d["gpus"], int)
    assert isinstance(d["systems"], int) and isinstance(d["gpus_per_system"], int)
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--compare", "--json")
    row = next(r for r in json.loads(out)["comparison"] if r["accelerator"] == "h100")
    assert isinstance(row["gpus"], int)


# -- published vs model: only for the preset's own inputs --------------------------------


@pytest.fixture()
def core_says(monkeypatch):
    """Make the core's SizingResult.to_dict carry ``published`` / ``changed_inputs`` as given."""
    from planner.sizing import SizingResult

    original = SizingResult.to_dict

    def install(**extra):
        def to_dict(self):
            return {**original(self), **extra}

        monkeypatch.setattr(SizingResult, "to_dict", to_dict)

    return install


def test_changed_inputs_print_what_differs_instead_of_published_vs_model(capsys, core_says):
    core_says(changed_inputs=[{"field": "mfu", "preset": 0.2, "value": 0.5}])
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--mfu", "0.5")
    assert code == 0
    assert "Published vs model" not in out
    assert "Not the published case: you changed mfu (0.2 -> 0.5)" in flat(out)
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--mfu", "0.5", "--json")
    d = json.loads(out)
    assert "published" not in d and d["changed_inputs"][0]["field"] == "mfu"


def test_the_presets_own_inputs_print_published_vs_model(capsys, core_says):
    rows = [{"quantity": "gpus", "published": 8000, "model": 7888.0, "relative_difference": -0.014}]
    core_says(published=rows)
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper")
    assert code == 0
    assert "Published vs model" in out and "Not the published case" not in out
    assert "-1.4%" in out


def test_changed_inputs_line_names_each_field_with_both_values():
    from planner.cli._app import changed_inputs_line

    line = changed_inputs_line(
        [
            {"field": "mfu", "preset": 0.2, "value": 0.5},
            {"field": "gpus", "preset": None, "value": 4096},
        ]
    )
    assert line == "Not the published case: you changed mfu (0.2 -> 0.5), gpus (unset -> 4,096)"


# -- planner project ----------------------------------------------------------------------


def test_a_study_without_calibration_says_so_in_a_sentence(capsys):
    code, out, _ = run_cli(capsys, "project", "iea-2025-base", "--samples", "0")
    assert code == 0
    assert "calibration: None" not in out
    assert "Not calibrated: the model predicts" in flat(out)


def test_a_share_band_shows_its_two_ends_apart():
    from planner.cli.project import _band

    row = pd.Series({"total_share": 0.0036, "total_share_p10": 0.0035, "total_share_p90": 0.0038})
    assert _band(row, "total_share") == "0.35%-0.38%"


def test_a_single_shipment_year_prints_once(capsys):
    code, out, _ = run_cli(capsys, "project", "de-vries-2023", "--samples", "0")
    assert code == 0
    assert "2027-2027" not in out


# -- planner app ---------------------------------------------------------------------------


def test_app_help_names_every_page(capsys):
    from planner.app.main import PAGES

    code, out, _ = run_cli(capsys, "app", "--help")
    assert code == 0
    for _, title, _, _ in PAGES:
        assert title in flat(out), title


def _wait_for(predicate, proc, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"exited early with {proc.returncode}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_app_says_stopping_once_when_stopped_twice(tmp_path):
    pytest.importorskip("streamlit", reason="the app extra is not installed")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "planner", "app", "--headless", "--port", str(port)]
            + ["--server.address", "127.0.0.1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        )
    try:
        _wait_for(lambda: "URL" in log.read_text(), proc)
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        _wait_for(lambda: "Stopping" in log.read_text(), proc)
        proc.send_signal(signal.SIGTERM)  # and a supervisor's stop, or a second Ctrl+C
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)
    assert Path(log).read_text().count("Stopping...") == 1


# -- one vocabulary ------------------------------------------------------------------------


def test_every_quantity_the_cli_names_is_in_the_vocabulary():
    """Each ``format_value("x", ...)``, ``label("x")`` and ``_v("x", ...)`` in planner/cli
    names a row of data/quantities.csv (a missing row would be a KeyError at run time)."""
    import re

    import planner.cli
    from planner import quantities

    known = set(quantities.all_quantities())
    pattern = re.compile(r"""(?:format_value|label|_v|_q|_band)\(\s*["'](\w+)["']""")
    used = set()
    for path in Path(planner.cli.__file__).parent.glob("*.py"):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern found nothing: update this test"
    assert used <= known, sorted(used - known)


def test_the_cli_defines_no_column_label_or_format_of_its_own():
    """No ``("facility_power_mw", "peak MW", "{:,.2f}")`` column tuples left in the faces."""
    import re

    import planner.cli

    tuple_column = re.compile(r"""\(\s*"\w+",\s*"[^"]*",\s*"\{:[^"]*\}"\s*\)""")
    for path in Path(planner.cli.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = [m for m in tuple_column.findall(text) if not _is_mixed_unit_column(m)]
        assert not found, (path.name, found)


def _is_mixed_unit_column(text: str) -> bool:
    """The limits and relaxations tables hold one number per limit, each with its own unit
    in a ``unit`` column: not one quantity, so a plain number format."""
    return any(f'"{c}"' in text for c in ("limit", "used", "slack", "current", "needed"))
