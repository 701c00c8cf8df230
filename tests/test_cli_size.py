"""The `planner size`, `catalog` and `presets` commands: the scripted contract and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from planner._paths import data_dir
from planner.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_issue_example_h100_90_days(capsys, contract_keys):
    code, out, _ = run_cli(
        capsys,
        "size",
        "--accelerator",
        "h100",
        "--params",
        "1.8e12",
        "--active-params",
        "2.8e11",
        "--tokens",
        "1.3e13",
        "--days",
        "90",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    assert contract_keys <= set(d)
    assert d["flops"] == pytest.approx(2.184e25)
    assert d["days"] <= 90


#: Issue 10: the new top-level economics and carbon keys of `planner size --json`.
ECONOMICS_KEYS = {
    "amortized_cost_usd",
    "rental_cost_usd",
    "cluster_capex_usd",
    "electricity_cost_usd",
    "embodied_tco2",
    "pricing",
}


def test_size_without_mfu_uses_the_run_model_and_says_so(capsys):
    args = ["size", "--accelerator", "h100", "--params", "70e9", "--tokens", "15e12"]
    code, out, _ = run_cli(capsys, *args, "--gpus", "8192")
    assert code == 0
    assert "from the run model: H100, BF16, dense, 70B active, 8,192 GPUs" in out
    assert "cross-validated median error" in out
    assert "not part of the run's cost" in out and "tCO2 embodied" in out
    code, out, _ = run_cli(capsys, *args, "--gpus", "8192", "--json")
    d = json.loads(out)
    assert ECONOMICS_KEYS <= set(d)
    assert "from the run model" in d["assumptions"]["mfu"]["source"]
    # Published H100-era dense runs: effective MFU x goodput about 0.2-0.4 (issue 10)
    assert 0.15 < d["mfu"] * d["goodput"] < 0.45
    assert d["pricing"] == "amortized" and d["cost_usd"] == d["amortized_cost_usd"]
    assert d["amortized_cost_usd"] < d["cluster_capex_usd"]
    assert d["embodied_tco2"] > 0
    # --mfu overrides the model; --pricing capex charges the whole cluster + electricity
    code, out, _ = run_cli(
        capsys, *args, "--gpus", "8192", "--mfu", "0.4", "--pricing", "capex", "--json"
    )
    d = json.loads(out)
    assert d["mfu"] == 0.4 and d["assumptions"]["mfu"]["source"] == "user input"
    assert d["cost_usd"] == pytest.approx(d["cluster_capex_usd"] + d["electricity_cost_usd"])


def test_issue_example_gb200_with_2000_gpus_json(capsys):
    code, out, _ = run_cli(
        capsys, "size", "--accelerator", "gb200", "--flops", "2.15e25", "--gpus", "2000", "--json"
    )
    assert code == 0
    d = json.loads(out)
    assert d["gpus"] == 2000 and d["systems"] == 28
    assert d["assumptions"]["flops"]["source"] == "given as total FLOPs"


def test_preset_prints_published_comparison(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper")
    assert code == 0
    # 7,480 H100 at the failure model's goodput(N) 0.95 (NVIDIA states no goodput)
    assert "Published vs model" in out and "7,480" in out and "what the grid must supply" in out


def test_preset_json_carries_published_figures(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-blackwell", "--json")
    d = json.loads(out)
    assert d["preset"] == "gtc2024-blackwell"
    gpus_row = next(r for r in d["published"] if r["quantity"] == "gpus")
    assert abs(gpus_row["relative_difference"]) < 0.10


def test_user_option_overrides_the_preset(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--gpus", "4096", "--json")
    d = json.loads(out)
    assert d["gpus"] == 4096 and d["deadline_days"] is None and d["days"] > 90
    assert d["assumptions"]["mfu"]["source"].startswith("preset gtc2024-hopper")


def test_compare_lists_every_chip(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--compare", "--json")
    assert code == 0
    rows = json.loads(out)["comparison"]
    assert {r["accelerator"] for r in rows} >= {"h100", "gb200", "mi300x"}
    assert next(r for r in rows if r["accelerator"] == "a100-80gb")["note"] == "no FP8 tensor mode"


def test_catalog_command_lists_dense_tflops(capsys):
    code, out, _ = run_cli(capsys, "catalog")
    assert code == 0 and "DENSE" in out and "gb300" in out
    code, out, _ = run_cli(capsys, "catalog", "--json")
    assert {c["id"] for c in json.loads(out)["catalog"]} >= {"h100", "mi325x"}


def test_presets_command(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0 and "gpt3-patterson" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["size", "--accelerator", "h1000", "--flops", "1e24", "--gpus", "8"],
            "accelerator = 'h1000'",
        ),
        (["size", "--accelerator", "h100", "--flops", "1e24", "--gpus", "0"], "gpus = 0"),
        (["size", "--accelerator", "h100", "--flops", "-1e24", "--gpus", "8"], "flops = -1e+24"),
        (
            ["size", "--accelerator", "h100", "--flops", "1e24", "--days", "90", "--mfu", "1.5"],
            "mfu = 1.5",
        ),
        (
            ["size", "--accelerator", "h100", "--flops", "1e24", "--days", "90", "--goodput", "0"],
            "goodput = 0",
        ),
        (
            ["size", "--accelerator", "h100", "--flops", "1e24", "--gpus", "8", "--days", "9"],
            "exactly one of",
        ),
        (["size", "--accelerator", "h100", "--flops", "1e24"], "exactly one of"),
        (
            [
                "size",
                "--accelerator",
                "a100-80gb",
                "--flops",
                "1e24",
                "--days",
                "9",
                "--precision",
                "fp8",
            ],
            "no FP8",
        ),
        (["size", "--preset", "gtc2025"], "preset = 'gtc2025'"),
        (
            [
                "size",
                "--accelerator",
                "h100",
                "--flops",
                "1e24",
                "--days",
                "9",
                "--facility",
                "moon",
            ],
            "facility_profile",
        ),
        (
            ["size", "--accelerator", "h100", "--flops", "abc", "--days", "9"],
            "invalid value for '--flops'",
        ),
        (["size", "--bogus"], "no such option: --bogus"),
        (["size", "--days"], "option '--days' requires an argument"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, args, needle):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert needle in err
    # usage errors from click too: one line, no "Usage:"/"Try --help" block
    assert err.startswith("planner: error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out and out == ""


def test_malformed_catalog_file_exit_2_names_row_and_column(capsys, tmp_path):
    path = tmp_path / "cat.csv"
    shutil.copy(data_dir() / "accelerators.csv", path)
    path.write_text(path.read_text().replace(",700,DGX H100,", ",lots,DGX H100,"))
    code, _, err = run_cli(capsys, "catalog", "--catalog", str(path))
    assert code == 2
    assert "row 5" in err and "'tdp_w'" in err and len(err.strip().splitlines()) == 1


def test_console_script_runs_as_a_real_process():
    exe = shutil.which("planner", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the planner console script is installed"
    proc = subprocess.run(
        [exe, "size", "--accelerator", "h100", "--gpus", "-1", "--flops", "1e24"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("planner: error: gpus = -1")


# --- issue 10: two PUEs, the grid peak at the design-day PUE, energy at the annual PUE --------


def test_json_has_the_design_day_pue_top_level_beside_the_annual_pue(capsys):
    # GTC 2024 Hopper preset: hyperscale-air, annual 1.20 (energy), design-day 1.30 (the peak):
    # (7,480 + 80 hot spares) x 1,402.5 W x 1.30 = 13.78 MW against NVIDIA's 15 MW (-8.1%)
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--json")
    d = json.loads(out)
    assert code == 0
    assert d["pue"] == 1.2 and d["design_pue"] == 1.3
    assert d["facility_power_mw"] == pytest.approx(d["it_power_mw"] * 1.3)
    assert d["average_facility_power_mw"] == pytest.approx(d["average_it_power_mw"] * 1.2)
    assert d["assumptions"]["design_pue"]["source"].startswith("preset gtc2024-hopper")


def test_design_pue_option_moves_the_peak_only(capsys):
    args = ["size", "-a", "h100", "--flops", "1e24", "--gpus", "1000", "--pue", "1.2", "--json"]
    _, out, _ = run_cli(capsys, *args)
    derived = json.loads(out)
    code, out, _ = run_cli(capsys, *args, "--design-pue", "1.6")
    given = json.loads(out)
    assert code == 0 and derived["design_pue"] == pytest.approx(1.3) and given["design_pue"] == 1.6
    assert given["facility_power_mw"] == pytest.approx(derived["facility_power_mw"] * 1.6 / 1.3)
    for key in ("energy_mwh", "average_facility_power_mw", "emissions_tco2", "cost_usd"):
        assert given[key] == derived[key], key
    assert given["assumptions"]["design_pue"]["source"] == "user input"


@pytest.mark.parametrize("value", ["1.0", "1.19", "3.5", "nan", "-1"])
def test_a_design_pue_below_the_annual_or_out_of_range_exits_2_naming_the_field(capsys, value):
    code, out, err = run_cli(
        capsys, "size", "-a", "h100", "--flops", "1e24", "--gpus", "8", "--pue", "1.2",
        "--design-pue", value,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "design_pue = " in err


def test_a_facility_profile_sets_both_pues_and_a_user_pue_derives_its_own(capsys):
    base = ["size", "-a", "h100", "--flops", "1e24", "--gpus", "8", "--json"]
    _, out, _ = run_cli(capsys, *base, "--facility", "colocation-air")
    d = json.loads(out)
    assert (d["pue"], d["design_pue"]) == (1.35, 1.525)  # data/facility.csv
    assert "colocation-air" in d["assumptions"]["design_pue"]["source"]
    _, out, _ = run_cli(capsys, *base, "--facility", "colocation-air", "--pue", "1.4")
    d = json.loads(out)
    assert d["pue"] == 1.4 and d["design_pue"] == pytest.approx(1.6)  # 1 + 0.4 x 1.5


def test_human_output_names_both_pues_and_what_each_is_for(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper")
    text = " ".join(out.split())
    assert code == 0
    # the PUEs in the vocabulary's format (data/quantities.csv: .3g)
    assert "PUE 1.2 annual (energy), 1.3 design-day (grid peak)" in text
    assert "13.78 MW (design-day PUE 1.3) - what the grid must supply" in text
    assert "(annual PUE 1.2) - what the meter bills" in text
    assert "design-day (grid peak): preset gtc2024-hopper" in text
