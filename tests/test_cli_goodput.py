"""``planner size`` and ``planner validate`` with the failure model and the grid section, in
real processes: goodput(N) and its sources, the penalty at 100k GPUs, the grid transients
and mitigations, the failure-record table, and one-line refusals of bad input (exit 2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import _forkserver as forkserver
import pytest

_BIN = Path(sys.executable).parent
_SCRIPT = shutil.which("planner", path=str(_BIN))
PLANNER = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "planner"]
MOE = ["-a", "h100", "--params", "1.8e12", "--active-params", "2.8e11", "--tokens", "1.3e13"]


def planner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PLANNER_DEBUG", "FORCE_COLOR")}
    env["COLUMNS"] = "200"
    return forkserver.run(args, cwd=cwd, env=env)  # a real process (tests/_forkserver.py)


def one_json(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def test_size_json_carries_the_failure_model_and_the_grid(tmp_path: Path) -> None:
    d = one_json(
        planner(
            "size", *MOE, "--gpus", "16384", "--ramp-limit-mw-per-s", "10", "--json", cwd=tmp_path
        )
    )
    assert d["goodput"] == pytest.approx(0.922, abs=0.005)
    model = d["goodput_model"]
    assert model["mtbf_hours"] == pytest.approx(3.09, abs=0.02)  # Llama 3: one every ~3.1 h
    assert model["spare_gpus"] == 168 and "Llama 3" in model["sources"]["failure_rate_per_gpu_hour"]
    grid = d["grid"]
    assert grid["swing_mw"] > 0 and grid["ramp_rate_mw_per_s"] > 10
    mitigations = {row["mitigation"]: row for row in grid["mitigations"]}
    assert set(mitigations) == {"none", "battery", "smoothing", "smoothing+storage"}
    assert mitigations["battery"]["grid_ramp_mw_per_s"] <= 10 * 1.05
    assert mitigations["battery"]["battery_mw"] > 0


def test_size_text_shows_mtbf_checkpoint_interval_goodput_and_the_penalty_at_100k(
    tmp_path: Path,
) -> None:
    proc = planner("size", *MOE, "--gpus", "100000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for label in (
        "Cluster mean time between failures",
        "Checkpoint interval",
        "Goodput",
        "Hot-spare GPUs",
        "Step power swing",
        "Power ramp rate",
        "Swing frequency",
    ):
        assert label in text
    assert "Goodput penalty at 100,000" in text
    assert "failure_rate_per_gpu_hour: CALIBRATED" in text


def test_no_penalty_line_below_100k_gpus(tmp_path: Path) -> None:
    proc = planner("size", *MOE, "--gpus", "8000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Goodput from the failure model" in proc.stdout
    assert "Goodput penalty" not in proc.stdout


def test_a_stated_goodput_prints_where_it_came_from_and_no_model(tmp_path: Path) -> None:
    d = one_json(
        planner("size", *MOE, "--gpus", "8000", "--goodput", "0.9", "--json", cwd=tmp_path)
    )
    assert d["goodput"] == 0.9 and d["goodput_model"] is None and d["spare_gpus"] == 0
    assert d["assumptions"]["goodput"]["source"] == "user input"


@pytest.mark.parametrize(
    "args,field",
    [
        (["--failure-rate-per-gpu-hour", "-1"], "failure_rate_per_gpu_hour = -1 "),
        (["--checkpoint-write-gb-s-per-gpu", "1e-6"], "checkpoint_write_s = "),
        (["--ramp-limit-mw-per-s", "0"], "ramp_limit_mw_per_s = 0"),
        (["--hot-spare-fraction", "2"], "hot_spare_fraction = 2"),
        (["--goodput", "lots"], "goodput = 'lots'"),
    ],
)
def test_bad_goodput_and_grid_input_is_one_line_naming_the_field(
    tmp_path: Path, args: list[str], field: str
) -> None:
    for extra in ([], ["--json"]):
        proc = planner("size", *MOE, "--gpus", "16384", *args, *extra, cwd=tmp_path)
        assert proc.returncode == 2
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and field in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr


def test_checkpoint_slower_than_the_mtbf_names_the_mtbf(tmp_path: Path) -> None:
    proc = planner(
        "size", *MOE, "--gpus", "16384", "--checkpoint-write-gb-s-per-gpu", "1e-6", cwd=tmp_path
    )
    assert proc.returncode == 2 and "cluster MTBF" in proc.stderr


def test_validate_json_has_the_failure_records(tmp_path: Path) -> None:
    d = one_json(planner("validate", "--json", cwd=tmp_path))
    records = {row["record"]: row for row in d["failures"]}
    assert "llama3-405b-interruptions" in records
    row = records["llama3-405b-interruptions"]
    assert row["model"] == pytest.approx(
        row["published"], rel=1e-3
    )  # the calibration (rounded rates)
    assert {"published", "model", "error", "within_tolerance", "source"} <= set(row)


def test_validate_text_prints_the_failure_table(tmp_path: Path) -> None:
    proc = planner("validate", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Failure model vs published failure records" in proc.stdout
    assert "llama3-405b-interruptions" in proc.stdout
