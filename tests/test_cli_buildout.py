"""``planner buildout`` in real processes: --json prints one object, exit 3 with the
relaxations when nothing fits, exit 2 with one line for a bad file or option."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import _forkserver as forkserver

ROOT = Path(__file__).resolve().parents[1]

INFEASIBLE = """
start = "2026Q1"
quarters = 2
chips = ["h100"]
[[sites]]
name = "A"
pue = 1.2
grid = [{ quarter = "2026Q1", mw = 0.1 }, { quarter = "2026Q2", mw = 10 }]
[[runs]]
name = "r"
flops = 1e24
start = "2026Q1"
deadline = "2026Q1"
mfu = 0.4
"""


def planner(*args: str) -> subprocess.CompletedProcess[str]:
    """``planner buildout ARGS`` as a real process (forked with the imports done:
    tests/_forkserver.py)."""
    return forkserver.run(["buildout", *args], cwd=ROOT)


def test_json_prints_exactly_one_object_with_the_plan():
    done = planner("small-hand-checkable", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == "optimal"
    assert payload["installs"][0] == {
        "site": "A",
        "chip": "h100",
        "quarter": "2026Q1",
        "systems": 45,
        "gpus": 360,
        "retired_systems": 0,
        "running_systems": 45,
        "running_gpus": 360,
    }


def test_no_plan_exits_3_with_the_relaxations(tmp_path: Path):
    path = tmp_path / "tight.toml"
    path.write_text(INFEASIBLE)
    done = planner(str(path), "--json")
    assert done.returncode == 3, done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == "infeasible"
    words = [r["words"] for r in payload["relaxations"]]
    assert "site A's grid date from 2026Q2 to 2026Q1 (10 MW)" in words
    assert any(w.startswith("run r's deadline from 2026Q1 to 2026Q2") for w in words)
    table = planner(str(path))
    assert table.returncode == 3
    assert "site A's grid date from 2026Q2 to 2026Q1" in table.stdout


def test_a_run_of_100x_the_flops_exits_3_naming_what_binds_and_relaxations_to_follow_together(
    tmp_path: Path,
):
    shipped = (ROOT / "data" / "buildout" / "small-hand-checkable.toml").read_text()
    assert "flops = 2e24" in shipped
    path = tmp_path / "hundredfold.toml"
    path.write_text(shipped.replace("flops = 2e24", "flops = 2e26"))
    done = planner(str(path), "--json")
    assert done.returncode == 3, done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == "infeasible"
    assert payload["relaxations"] and all(r["together"] for r in payload["relaxations"])
    assert {b["limit"] for b in payload["binding"]} == {r["limit"] for r in payload["relaxations"]}
    table = planner(str(path))
    assert table.returncode == 3
    assert "Binding limits:" in table.stdout and "Minimal relaxations:" in table.stdout
    assert "all are followed together" in " ".join(table.stdout.split())


def test_a_bad_file_exits_2_with_one_line_naming_the_field(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(INFEASIBLE.replace("mw = 0.1", "mw = -3"))
    done = planner(str(path), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "sites[0].grid[0].mw = -3" in lines[0]


def test_an_unknown_objective_exits_2():
    done = planner("small-hand-checkable", "--objective", "speed")
    assert done.returncode == 2
    assert "--objective" in done.stderr and "cost, compute, finish" in done.stderr


def test_an_unknown_name_exits_2_listing_the_shipped_ones():
    done = planner("no-such-buildout")
    assert done.returncode == 2
    assert "campus-2026-2030" in done.stderr


def test_the_cli_objectives_are_the_models():
    from planner.cli.buildout import OBJECTIVE_NAMES
    from planner.optimization.buildout import OBJECTIVES

    assert tuple(OBJECTIVE_NAMES) == tuple(OBJECTIVES)
