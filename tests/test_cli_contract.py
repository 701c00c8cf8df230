"""The CLI's stdout contract, checked on real ``planner`` processes.

Every ``--json`` command prints exactly one JSON object on stdout (``json.loads`` of the WHOLE
stdout), every report printed to stdout is the report and nothing else, and a successful
command writes nothing to stderr: no solver banner, no warning, no progress bar. Usage errors
are one line, ``planner: error: ...``, exit code 2. Shipped examples are reachable by name.

These run the console script's entry in real processes, not ``main()`` in this process,
because the contamination that broke ``planner optimize ... --json | python -m json.tool``
(HiGHS writing its banner from C onto file descriptor 1) never reaches ``capsys``. The
processes are forked from a fork server that has done the imports (tests/_forkserver.py);
``--version`` and ``python -m planner`` start fresh interpreters.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import _forkserver as forkserver
import pytest

from planner.cli._app import progress_reporter, stdout_guard
from planner.cli.app_command import MISSING_APP_EXTRA
from planner.examples import (
    list_examples,
    preset_names,
    projection_names,
    resolve,
    scenario_names,
)

pytestmark = pytest.mark.slow  # ~25 planner processes, ~1 s each

_BIN = Path(sys.executable).parent
_SCRIPT = shutil.which("planner", path=str(_BIN))
#: The console script if installed beside this Python, else ``python -m planner``.
PLANNER = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "planner"]


def planner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``planner ARGS`` as a real process from ``cwd``; stdout/stderr are files, no TTY
    (forked from this worker's fork server, which has the imports done: tests/_forkserver.py)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PLANNER_DEBUG", "FORCE_COLOR")}
    return forkserver.run(args, cwd=cwd, env=env)


def assert_clean_json(proc: subprocess.CompletedProcess[str], code: int = 0) -> dict:
    """Exit ``code``, the whole stdout is ONE JSON object, and stderr is empty."""
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == "", f"stderr should be empty on success, got: {proc.stderr!r}"
    payload = json.loads(proc.stdout)  # the WHOLE stdout: a banner line would fail here
    assert isinstance(payload, dict)
    return payload


# -- every --json command ----------------------------------------------------------------


def test_size_json_gtc2024_hopper_is_clean_and_about_8000_h100_at_15_mw(tmp_path):
    # NVIDIA GTC 2024 keynote (J. Huang, 18 Mar 2024): the 1.8T GPT-MoE in 90 days needs
    # 8,000 Hopper GPUs and 15 MW. The preset reproduces both within 10%.
    d = assert_clean_json(planner("size", "--preset", "gtc2024-hopper", "--json", cwd=tmp_path))
    assert d["accelerator"] == "h100"
    assert d["gpus"] == pytest.approx(8000, rel=0.10)
    assert d["facility_power_mw"] == pytest.approx(15, rel=0.10)
    # issue 10: the economics and embodied carbon are top-level keys; cost follows the pricing
    for key in ("amortized_cost_usd", "rental_cost_usd", "cluster_capex_usd", "embodied_tco2"):
        assert isinstance(d[key], float) and d[key] > 0, key
    assert d["pricing"] == "amortized" and d["cost_usd"] == d["amortized_cost_usd"]


def test_size_compare_json_is_clean_and_lists_every_chip(tmp_path):
    d = assert_clean_json(
        planner("size", "--preset", "gtc2024-hopper", "--compare", "--json", cwd=tmp_path)
    )
    assert {r["accelerator"] for r in d["comparison"]} >= {"h100", "gb200", "mi300x"}


@pytest.mark.parametrize(("command", "key"), [("catalog", "catalog"), ("presets", "presets")])
def test_catalog_and_presets_json_are_clean(tmp_path, command, key):
    d = assert_clean_json(planner(command, "--json", cwd=tmp_path))
    assert len(d[key]) >= 8


def test_examples_json_lists_the_shipped_files_by_name(tmp_path):
    d = assert_clean_json(planner("examples", "--json", cwd=tmp_path))
    assert {e["name"] for e in d["scenarios"]} >= {"gtc2024", "gtc2024_10mw_h100", "my_site"}
    assert {e["name"] for e in d["projections"]} >= {"iea-2025-base", "lbnl-2024"}
    assert {p["name"] for p in d["presets"]} >= {"gtc2024-hopper", "gpt3-patterson"}
    assert all(Path(e["path"]).is_file() for e in d["scenarios"] + d["projections"])


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_optimize_by_name_json_is_clean_and_picks_about_2000_gb200_at_4_mw(tmp_path, solver):
    # NVIDIA GTC 2024 keynote: the same run on Blackwell takes 2,000 GPUs and 4 MW. The
    # optimiser, free to pick H100 or GB200 under 50 MW, picks whole GB200 NVL72 racks.
    # (HiGHS printed its banner from C onto stdout here before the solver was made quiet.)
    proc = planner("optimize", "gtc2024", "--solver", solver, "--json", cwd=tmp_path)
    d = assert_clean_json(proc)
    assert d["status"] == "optimal"
    assert Path(d["scenario"]).name == "gtc2024.toml" and Path(d["scenario"]).is_file()
    (run,) = d["runs"]
    assert run["chip"] == "gb200"
    assert run["gpus"] == pytest.approx(2000, rel=0.10)
    assert d["totals"]["facility_power_mw"] == pytest.approx(4.0, rel=0.10)


def test_optimize_json_says_which_pricing_is_in_force_and_the_up_front_spend(tmp_path):
    # issue 10: gtc2024.toml buys outright (pricing = "capex"); --pricing amortized charges the
    # same 28 GB200 NVL72 racks their share of a 5-year life for the 87-day run instead.
    # Either way the plan reports the cluster capex (28 x 72 x USD 41,667 / (1 - 0.19) +
    # the facility share: USD 146.9M) beside cost_usd.
    capex = assert_clean_json(planner("optimize", "gtc2024", "--json", cwd=tmp_path))
    amortized = assert_clean_json(
        planner("optimize", "gtc2024", "--pricing", "amortized", "--json", cwd=tmp_path)
    )
    assert capex["pricing"] == "capex" and amortized["pricing"] == "amortized"
    assert {r["pricing"] for r in amortized["runs"]} == {"amortized"}
    for d in (capex, amortized):
        assert d["totals"]["cluster_capex_usd"] == pytest.approx(146.9e6, rel=1e-3)
    assert capex["totals"]["cost_usd"] == pytest.approx(147.5e6, rel=1e-3)
    assert amortized["totals"]["cost_usd"] == pytest.approx(9.04e6, rel=1e-3)
    assert amortized["totals"]["cost_usd"] < capex["totals"]["cost_usd"]
    assert any(n.startswith("pricing amortized") for n in amortized["notes"])
    # the former name of the whole purchase still works, and means capex
    buy = assert_clean_json(
        planner("optimize", "gtc2024", "--pricing", "buy", "--json", cwd=tmp_path)
    )
    assert buy["pricing"] == "capex" and buy["totals"] == capex["totals"]


def test_optimize_json_stays_clean_with_progress_asked(tmp_path):
    # --progress draws on stderr only; stdout is still exactly one JSON object.
    proc = planner("optimize", "gtc2024", "--json", "--progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"


def test_optimize_infeasible_json_is_clean_with_exit_3(tmp_path):
    # 90 days on H100 needs ~15 MW (GTC 2024); a 10 MW grid cannot take it.
    d = assert_clean_json(planner("optimize", "gtc2024_10mw_h100", "--json", cwd=tmp_path), code=3)
    assert d["status"] == "infeasible"
    assert d["relaxations"], "an infeasible plan names what to relax"


def test_optimize_pareto_json_is_clean(tmp_path):
    d = assert_clean_json(
        planner("optimize", "gtc2024", "--pareto", "days=60:120:30", "--json", cwd=tmp_path)
    )
    assert [p["days"] for p in d["points"]] == [60, 90, 120]
    # every point says the pricing its cost is in, and the up-front spend beside it
    assert {p["pricing"] for p in d["points"]} == {"capex"}
    assert all(p["cluster_capex_usd"] <= p["cost_usd"] for p in d["points"])


def test_project_by_name_json_is_clean(tmp_path):
    d = assert_clean_json(
        planner("project", "iea-2025-base", "--samples", "200", "--json", cwd=tmp_path)
    )
    assert d["rows"] and {r["country"] for r in d["rows"]} >= {"World"}


@pytest.mark.parametrize(
    "args",
    [
        ("--preset", "gtc2024-hopper"),
        ("gtc2024",),
        ("lbnl-2024",),
    ],
    ids=["sizing", "plan", "projection"],
)
def test_report_json_to_stdout_is_clean(tmp_path, args):
    d = assert_clean_json(planner("report", *args, "--format", "json", cwd=tmp_path))
    assert d["report"]["kind"] == {"--preset": "sizing", "gtc2024": "plan"}.get(
        args[0], "projection"
    )


def test_report_of_an_infeasible_plan_json_is_clean_and_says_why_on_stderr(tmp_path):
    proc = planner("report", "gtc2024_10mw_h100", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["report"]["kind"] == "plan"
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("planner: no plan")


@pytest.mark.parametrize(
    ("name", "preset"),
    [(None, "gtc2024-hopper"), ("gtc2024", None), ("lbnl-2024", None)],
    ids=["sizing", "plan", "projection"],
)
def test_report_md_to_stdout_is_exactly_the_report(tmp_path, name, preset):
    """stdout equals the report rendered in-process, but for its generation time."""
    from planner.reports import build_report, render_report

    args = ["--preset", preset] if preset else [name]
    proc = planner("report", *args, "--format", "md", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    command = "planner report " + " ".join(args) + " --format md"
    report = build_report(resolve(name) if name else None, preset=preset, command=command)
    expected = render_report(report, "md").decode("utf-8")

    def mask(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if not ln.startswith("- generated (UTC):")]

    assert mask(proc.stdout) == mask(expected)


# -- usage errors, version, names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["size", "--foo"], "planner: error: no such option: --foo"),
        (["frobnicate"], "planner: error: no such command 'frobnicate'"),
        (["size", "--days"], "planner: error: option '--days' requires an argument"),
        (["optimize", "gtc2024", "--solver", "gurobi"], "planner: error: invalid value for"),
        (["optimize", "gtc2024", "--pricing", "lease"], "planner: error: invalid value for"),
    ],
)
def test_usage_errors_are_one_line_on_stderr_with_exit_2(tmp_path, args, line):
    proc = planner(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(line)


def test_version_is_the_installed_distributions(tmp_path):
    # a fresh interpreter running the installed console script itself
    proc = subprocess.run(
        [*PLANNER, "--version"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == f"planner {importlib.metadata.version('planner')}\n"


def test_python_dash_m_planner_is_the_same_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "planner", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("planner ")


@pytest.mark.parametrize(
    ("args", "known"),
    [
        (["optimize", "gtc2025"], ["gtc2024", "my_site"]),
        (["project", "iea-2030"], ["iea-2025-base", "lbnl-2024"]),
        (["report", "nope", "--format", "md"], ["gtc2024", "lbnl-2024"]),
    ],
)
def test_an_unknown_name_is_one_line_listing_the_known_names(tmp_path, args, known):
    proc = planner(*args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("planner: error: scenario = ")
    assert all(name in proc.stderr for name in known)


def test_app_without_streamlit_says_install_the_app_extra(tmp_path):
    # Hide streamlit from the import system, as in `pip install planner` without [app].
    code = (
        "import sys; sys.modules['streamlit'] = None\n"
        "from planner.cli import main\n"
        "sys.exit(main(['app']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == MISSING_APP_EXTRA + "\n"


# -- the pieces, in-process -----------------------------------------------------------------------


def test_every_shipped_name_resolves_to_its_file():
    assert set(scenario_names()) >= {"gtc2024", "gtc2024_10mw_h100", "my_site"}
    assert set(projection_names()) >= {"iea-2025-base", "lbnl-2024", "de-vries-2023"}
    assert "gtc2024-hopper" in preset_names()
    for example in list_examples():
        assert resolve(example.name) == example.path
        assert resolve(example.name + ".toml") == example.path
        assert example.title, f"{example.path} has no title"
    # the README's repository paths work for a wheel user too
    assert resolve("data/scenarios/gtc2024.toml").name == "gtc2024.toml"


def test_an_existing_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gtc2024").write_text("title = 'mine'\n")
    assert resolve("gtc2024") == Path("gtc2024")


def test_stdout_guard_sends_python_and_c_writes_to_stderr(capfd):
    import ctypes

    libc = ctypes.CDLL(None)
    with stdout_guard():
        print("python noise")
        os.write(1, b"fd noise\n")
        libc.printf(b"c noise\n")  # buffered by C stdio: the guard must flush it
    sys.stdout.write("answer\n")
    sys.stdout.flush()
    out, err = capfd.readouterr()
    assert out == "answer\n"
    assert "python noise" in err and "fd noise" in err and "c noise" in err


def test_progress_is_off_when_stderr_is_not_a_terminal_and_on_stderr_when_asked(capfd):
    with progress_reporter(None) as progress:
        assert progress is None  # pytest's stderr is not a terminal
    with progress_reporter(False) as progress:
        assert progress is None
    with progress_reporter(True) as progress:
        assert progress is not None
        progress("solve", 1, 3)
        progress("solve", 3, 3)
    out, _ = capfd.readouterr()
    assert out == ""
