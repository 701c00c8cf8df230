"""``planner size --uncertainty`` and ``planner serve --uncertainty``: P10 / P50 / P90 of one
answer from the ``--vary`` distributions and, for a sizing whose MFU comes from the run model,
that model's cross-validated error. ``--json`` and exit codes in real processes; the rest
in-process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import _forkserver as forkserver
import pytest

from planner import quantities
from planner.cli import main

_BIN = Path(sys.executable).parent
_SCRIPT = shutil.which("planner", path=str(_BIN))
PLANNER = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "planner"]
DEADLINE = ["-a", "h100", "--flops", "2.15e25", "--days", "90"]
PRESET = ["--preset", "gtc2024-hopper"]
SERVICE = ["--preset", "chatgpt-500m-users"]
SMALL = ["--draws", "2000"]


def planner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PLANNER_DEBUG", "FORCE_COLOR")}
    env["COLUMNS"] = "200"
    return forkserver.run(args, cwd=cwd, env=env)  # a real process (tests/_forkserver.py)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def band_of(capsys, *args: str) -> dict:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)["uncertainty"]


def flat(text: str) -> str:
    return " ".join(text.split())


# -- real processes: one JSON object, exit codes -----------------------------------------------


def test_size_json_carries_the_band_with_its_inputs_and_model_error(tmp_path: Path) -> None:
    proc = planner(
        "size", *DEADLINE, "--uncertainty", "--vary", "pue=triangular:1.1:1.2:1.4", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    u = d["uncertainty"]
    assert u["draws"] == 10_000 and u["seed"] == 0
    assert u["inputs"] == [
        {"name": "pue", "dist": "triangular", "min": 1.1, "mode": 1.2, "max": 1.4}
    ]
    assert u["model_error"] is True
    assert "cross_validated_band" in u["model_error_band"]["source"]
    for name in ("gpus", "facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2"):
        assert set(u["outputs"][name]) == {"p10", "p50", "p90"}
    assert isinstance(u["outputs"]["gpus"]["p50"], int)  # a whole count, as the vocabulary says


def test_serve_json_carries_the_band_without_model_error(tmp_path: Path) -> None:
    proc = planner("serve", *SERVICE, "--vary", "users=uniform:3e8:6e8", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    u = json.loads(proc.stdout)["uncertainty"]
    assert u["model_error"] is False and u["infeasible_share"] == 0.0
    assert [i["name"] for i in u["inputs"]] == ["users"]
    gpus = u["outputs"]["gpus"]
    assert gpus["p10"] < gpus["p50"] < gpus["p90"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--vary", "mfu=uniform:0.5:0.4"], "--vary mfu.min = 0.5"),
        (["--vary", "no_such_input=uniform:1:2"], "--vary no_such_input"),
        (["--uncertainty", "--draws", "0"], "--draws = 0"),
    ],
    ids=["min-above-max", "unknown-input", "no-draws"],
)
def test_bad_uncertainty_input_is_one_line_naming_the_field_exit_2(
    tmp_path: Path, args: list[str], field: str
) -> None:
    proc = planner("size", *PRESET, *args, "--json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"planner: error: {field}"), proc.stderr


def test_without_uncertainty_nothing_of_the_sweeps_is_imported(tmp_path: Path) -> None:
    probe = (
        "import contextlib, io, sys\n"
        "from planner.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['size', '--preset', 'gtc2024-hopper', '--json']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('planner.sweeps')"
        " or m == 'planner.cli._uncertainty'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- in-process ----------------------------------------------------------------------------------


def test_a_seeded_band_is_reproducible_and_another_seed_differs(capsys) -> None:
    args = ("size", *DEADLINE, *SMALL, "--vary", "pue=triangular:1.1:1.2:1.4")
    first = band_of(capsys, *args, "--seed", "7")
    again = band_of(capsys, *args, "--seed", "7")
    other = band_of(capsys, *args, "--seed", "8")
    assert first == again
    assert first["seed"] == 7 and first["draws"] == 2000
    assert other["outputs"]["energy_mwh"] != first["outputs"]["energy_mwh"]


@pytest.mark.parametrize(
    "args",
    [
        ("size", *DEADLINE, "--vary", "pue=triangular:1.1:1.2:1.4"),
        ("size", *PRESET, "--vary", "mfu=uniform:0.17:0.23", "--vary", "goodput=uniform:0.8:0.95"),
        (
            "serve",
            *SERVICE,
            "--vary",
            "users=uniform:3e8:6e8",
            "--vary",
            "decode_mfu=uniform:0.3:0.5",
        ),
    ],
    ids=["size-model-error", "size-preset-drawn", "serve"],
)
def test_every_percentile_band_is_ordered(capsys, args) -> None:
    u = band_of(capsys, *args, *SMALL)
    assert u["outputs"]
    for name, q in u["outputs"].items():
        assert q["p10"] <= q["p50"] <= q["p90"], name


def test_a_given_mfu_and_nothing_drawn_give_a_zero_width_band_at_the_answer(capsys) -> None:
    code, out, err = run_cli(capsys, "size", *DEADLINE, "--mfu", "0.4", "--uncertainty", "--json")
    assert code == 0, err
    d = json.loads(out)
    u = d["uncertainty"]
    assert u["model_error"] is False and u["inputs"] == []
    for name in ("gpus", "days", "facility_power_mw", "energy_mwh", "cost_usd"):
        q = u["outputs"][name]
        assert q["p10"] == q["p50"] == q["p90"] == pytest.approx(d[name]), name


def test_no_mfu_given_draws_the_run_models_error_and_widens_the_band(capsys) -> None:
    u = band_of(capsys, "size", *DEADLINE, "--uncertainty", *SMALL)
    assert u["model_error"] is True and u["inputs"] == []
    lo, hi = u["model_error_band"]["p10"], u["model_error_band"]["p90"]
    assert lo < 0 < hi
    gpus = u["outputs"]["gpus"]
    assert gpus["p90"] > 1.3 * gpus["p10"]


def test_with_model_error_the_median_is_the_answer(capsys) -> None:
    code, out, err = run_cli(capsys, "size", *DEADLINE, "--uncertainty", "--json")
    assert code == 0, err
    d = json.loads(out)
    u = d["uncertainty"]["outputs"]
    assert u["goodput"]["p50"] == pytest.approx(d["goodput"], rel=0.01)
    assert u["gpus"]["p50"] == pytest.approx(d["gpus"], rel=0.02)


def test_text_shows_the_band_table_in_the_vocabularys_labels_and_what_it_includes(capsys) -> None:
    code, out, err = run_cli(
        capsys, "size", *DEADLINE, *SMALL, "--vary", "pue=triangular:1.1:1.2:1.4"
    )
    assert code == 0, err
    text = flat(out)
    assert "Uncertainty (P10 / P50 / P90)" in text
    for name in ("gpus", "facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2"):
        assert quantities.label(name) in text, name
    assert "Band: 2,000 draws, seed 0; drawn: pue triangular(" in text
    assert "the run model's cross-validated error" in text
    assert "cross_validated_band()" in text


def test_text_of_a_gpus_given_sizing_bands_the_days(capsys) -> None:
    given = ("-a", "h100", "--flops", "2.15e25", "--gpus", "8000", "--mfu", "0.4")
    code, out, err = run_cli(capsys, "size", *given, "--uncertainty", *SMALL)
    assert code == 0, err
    table = flat(out.split("Uncertainty (P10 / P50 / P90)", 1)[1].split("Band:", 1)[0])
    assert quantities.label("days") in table and f"│ {quantities.label('gpus')} " not in table
    assert "no run-model error (the MFU is given" in flat(out)
    assert "so P10 = P50 = P90" in flat(out)


def test_serve_text_shows_the_serving_outputs(capsys) -> None:
    code, out, err = run_cli(capsys, "serve", *SERVICE, *SMALL, "--vary", "users=uniform:3e8:6e8")
    assert code == 0, err
    text = flat(out)
    for name in ("gpus", "systems", "facility_power_mw", "wh_per_query", "usd_per_million_tokens"):
        assert quantities.label(name) in text, name
    assert "drawn: users uniform(" in text and "no model error" in text


def test_vary_alone_asks_for_the_band(capsys) -> None:
    u = band_of(capsys, "size", *PRESET, *SMALL, "--vary", "mfu=uniform:0.17:0.23")
    assert u["inputs"][0]["name"] == "mfu"


def test_a_drawn_mfu_replaces_the_run_models_error(capsys) -> None:
    args = ("size", *DEADLINE, *SMALL, "--vary", "mfu=uniform:0.3:0.4")
    assert band_of(capsys, *args)["model_error"] is False
    code, out, _ = run_cli(capsys, *args)
    assert code == 0 and "no run-model error (the MFU is drawn instead)" in flat(out)


def test_without_uncertainty_the_json_has_no_band(capsys) -> None:
    code, out, _ = run_cli(capsys, "size", *PRESET, "--json")
    assert code == 0 and "uncertainty" not in json.loads(out)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("size", *PRESET, "--uncertainty", "--compare"), "--uncertainty"),
        (("serve", *SERVICE, "--uncertainty", "--compare"), "--uncertainty"),
        (("serve", *SERVICE, "--vary", "users=uniform:6e8:3e8"), "--vary users.min = 6"),
        (("size", *PRESET, "--seed", "-1"), "--seed = -1"),
        (
            ("size", *PRESET, "--vary", "mfu=uniform:0.1:0.2", "--vary", "mfu=uniform:0.1:0.3"),
            "--vary",
        ),
        (("size", *PRESET, "--vary", "accelerator=choice:h100,gb200"), "--vary accelerator"),
        (("size", *PRESET, "--uncertainty", "--hot-spare-fraction", "0.05"), "--uncertainty"),
    ],
    ids=[
        "size-compare",
        "serve-compare",
        "serve-min-above-max",
        "seed",
        "twice",
        "string",
        "failure-model-options",
    ],
)
def test_more_bad_input_exits_2_naming_the_field(capsys, args, field) -> None:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 2 and out == ""
    assert err.startswith(f"planner: error: {field}") and len(err.splitlines()) == 1, err


def test_the_help_states_the_cores_default_draws_and_seed(capsys) -> None:
    import inspect

    from planner.sweeps.uncertainty import DEFAULT_DRAWS, serve_uncertainty, size_uncertainty

    seeds = {
        inspect.signature(f).parameters["seed"].default
        for f in (size_uncertainty, serve_uncertainty)
    }
    assert seeds == {0}
    for command in ("size", "serve"):
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0
        text = flat(out.replace("│", " "))
        assert f"[default {DEFAULT_DRAWS:,}]" in text and "[default 0]" in text
