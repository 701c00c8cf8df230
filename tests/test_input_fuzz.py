"""Every input the CLI fuzzer broke (issue 9, item 5), and its kin, is ONE line from the core.

Each test names the claim: the library raises a :class:`planner.errors.PlannerError` (the CLI
turns it into exit code 2) naming the input and what is allowed, never a traceback, a
``RecursionError``, an ``OSError``, an overflow to ``inf`` or a silently absurd answer.
"""

from __future__ import annotations

import errno
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from planner._paths import data_dir
from planner.assumptions import MIN_MFU_X_GOODPUT
from planner.catalog import MAX_PRICE_USD_PER_GPU, Accelerator, load_catalog
from planner.data_errors import (
    MAX_DATA_FILE_BYTES,
    MAX_TOML_DEPTH,
    check_input_path,
    read_text_file,
    read_toml,
    resolve_user_path,
)
from planner.errors import CatalogError, InputError, PlannerError, ResultOutOfRange
from planner.projection_scenarios import load_scenario as load_projection
from planner.scenarios import MAX_RUNS, load_scenario, scenario_from_dict
from planner.sizing import (
    MAX_FACILITY_POWER_MW,
    MAX_GPUS,
    MAX_RESULT_DAYS,
    MAX_USD,
    compare_accelerators,
    size_training,
)
from planner.workloads import MAX_FLOPS, TrainingRun

LONG_NAME = "a" * 300  # a file name longer than any file system allows (255 bytes)
SCENARIO = """\
[site]
grid_limit_mw = 50

[[runs]]
name = "r"
flops = 1e24
deadline_days = 30

[candidates]
chips = ["h100", "gb200"]
"""


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    assert len(text) < 600, text  # a 300-character path or a 10,000-entry array is shortened
    return text


def _catalog_text() -> str:
    return (data_dir() / "accelerators.csv").read_text(encoding="utf-8")


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "load",
    [load_scenario, load_projection, load_catalog, read_toml],
    ids=["site-scenario", "projection", "catalog", "read_toml"],
)
def test_a_300_character_path_is_one_line_saying_too_long_for_every_loader(load) -> None:
    with pytest.raises(PlannerError) as err:
        load(LONG_NAME + ".toml")
    text = _one_line(err.value)
    assert "too long" in text and "(305 characters)" in text


def test_an_unknown_user_in_tilde_is_refused_naming_the_user() -> None:
    with pytest.raises(InputError) as err:
        resolve_user_path("~nouser-xyz/x.md", "--out")
    text = _one_line(err.value)
    assert text.startswith("--out = '~nouser-xyz/x.md' is not allowed") and "'nouser-xyz'" in text


def test_an_unknown_user_in_a_scenario_path_is_an_error_not_a_runtime_error() -> None:
    with pytest.raises(InputError, match="unknown user 'nouser-xyz'"):
        load_scenario("~nouser-xyz/s.toml")


def test_a_known_tilde_expands_to_the_home_directory() -> None:
    assert resolve_user_path("~/x.toml") == Path.home() / "x.toml"


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_path_is_refused(path: str) -> None:
    with pytest.raises(InputError, match="expected a file path"):
        check_input_path(path)


def test_a_directory_is_not_a_data_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="is a directory: expected a catalog file"):
        load_catalog(tmp_path)


def test_a_device_is_not_a_regular_file() -> None:
    with pytest.raises(CatalogError, match="not a regular file"):
        read_toml("/dev/null")


def test_a_path_through_a_file_is_not_found(tmp_path: Path) -> None:
    f = _write(tmp_path, "f.toml", SCENARIO)
    with pytest.raises(CatalogError, match="a part of the path is a file"):
        read_toml(f / "x.toml")


def test_an_unreadable_file_says_permission_denied(tmp_path: Path, monkeypatch) -> None:
    # chmod 000 is no barrier to root (the CI user here), so the OS error is simulated
    path = _write(tmp_path, "s.toml", SCENARIO)

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CatalogError, match="permission denied"):
        load_scenario(path)


def test_a_file_larger_than_the_cap_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as f:
        f.truncate(MAX_DATA_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(CatalogError, match="bytes is not allowed"):
        read_toml(path)


def test_a_binary_file_is_not_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "b.toml", b"\x00\x01\x02title = 1")
    with pytest.raises(CatalogError, match="a binary file"):
        load_scenario(path)


def test_a_latin1_file_is_not_utf8_and_says_which_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.toml", "title = 'Z\u00fcrich'\n".encode("latin-1"))
    with pytest.raises(CatalogError, match=r"not UTF-8 text \(byte 10\)"):
        read_text_file(path, "scenario file")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "bom.toml", b"\xef\xbb\xbf" + SCENARIO.encode())
    assert load_scenario(path).runs[0].name == "r"


# --- empty and malformed files ------------------------------------------------------------


def test_an_empty_catalog_csv_asks_for_the_header_row(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, "empty.csv", ""))
    assert "the file is empty: expected a header row of id, name" in _one_line(err.value)


def test_a_catalog_with_only_a_header_has_no_rows(tmp_path: Path) -> None:
    header = _catalog_text().splitlines()[0]
    with pytest.raises(CatalogError, match="the catalog has no rows"):
        load_catalog(_write(tmp_path, "header.csv", header + "\n"))


def test_a_catalog_of_one_unterminated_quote_is_not_a_readable_csv(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, "q.csv", 'id,name\n"h100,x\n'))
    _one_line(err.value)


def test_an_empty_scenario_file_names_the_missing_field(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="site.*required field is missing"):
        load_scenario(_write(tmp_path, "e.toml", ""))


def test_toml_nested_2000_deep_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "deep.toml", "a = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(CatalogError) as err:
        load_scenario(path)
    assert f"at most {MAX_TOML_DEPTH} levels" in _one_line(err.value)


def test_toml_nested_just_past_the_limit_is_refused_by_the_tree_check(tmp_path: Path) -> None:
    depth = MAX_TOML_DEPTH + 1
    path = _write(tmp_path, "deep.toml", "a = " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(CatalogError, match="nested too deep"):
        read_toml(path)
    ok = _write(tmp_path, "ok.toml", "a = " + "[" * 8 + "]" * 8 + "\n")
    assert read_toml(ok)["a"]


@pytest.mark.parametrize("literal", ["inf", "-inf", "nan", "1e400", "-1e999"])
def test_toml_non_finite_numbers_are_refused_naming_the_field(tmp_path: Path, literal) -> None:
    path = _write(tmp_path, "s.toml", SCENARIO.replace("flops = 1e24", f"flops = {literal}"))
    with pytest.raises(CatalogError) as err:
        load_scenario(path)
    text = _one_line(err.value)
    assert "field 'runs[0].flops'" in text and "expected a finite number" in text


def test_toml_1e308_is_read_but_refused_by_the_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.toml", SCENARIO.replace("flops = 1e24", "flops = 1e308"))
    with pytest.raises(CatalogError, match=r"1e\+308 is not allowed: expected a number in"):
        load_scenario(path)


# --- catalog cells ------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["inf", "nan", "1e30", "1e400", "-1"])
def test_a_catalog_price_of_inf_or_1e30_is_refused_at_the_scenario_cap(tmp_path, cell) -> None:
    lines = _catalog_text().splitlines()
    header = lines[0].split(",")
    col = header.index("price_usd_per_gpu")
    row = next(i for i, line in enumerate(lines) if line.startswith("h100,"))
    cells = lines[row].split(",")
    assert cells[col] == "30000"  # the column layout this test relies on
    cells[col] = cell
    lines[row] = ",".join(cells)
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, "acc.csv", "\n".join(lines) + "\n"))
    text = _one_line(err.value)
    assert f"row {row + 1}, column 'price_usd_per_gpu'" in text
    assert f"{MAX_PRICE_USD_PER_GPU:g}" in text or "finite" in text


def test_duplicate_catalog_ids_are_refused(tmp_path: Path) -> None:
    lines = _catalog_text().splitlines()
    h100 = next(line for line in lines if line.startswith("h100,"))
    with pytest.raises(CatalogError, match="'h100' is not allowed: ids must be unique"):
        load_catalog(_write(tmp_path, "dup.csv", "\n".join([*lines, h100]) + "\n"))


def test_the_shipped_catalog_still_loads_from_a_copy(tmp_path: Path) -> None:
    copy = tmp_path / "acc.csv"
    shutil.copy(data_dir() / "accelerators.csv", copy)
    assert "h100" in load_catalog(copy)


# --- options and overflow -----------------------------------------------------------------

RUN = TrainingRun(flops=1e25)


@pytest.mark.parametrize("price", [1e308, float("inf"), 1e5])
def test_an_electricity_price_of_1e308_or_inf_is_refused(price: float) -> None:
    with pytest.raises(InputError, match="electricity_usd_per_mwh = .* is not allowed"):
        size_training(RUN, "h100", days=90, electricity_usd_per_mwh=price)


def test_a_purchase_price_of_1e30_is_refused_before_it_gives_a_capex_of_1e33() -> None:
    with pytest.raises(InputError, match=r"price_usd_per_gpu = 1e\+30 is not allowed"):
        size_training(RUN, "h100", days=90, price_usd_per_gpu=1e30)


def test_mfu_1e6_times_goodput_1e6_is_refused_as_a_product() -> None:
    with pytest.raises(InputError) as err:
        size_training(RUN, "h100", days=90, mfu=1e-6, goodput=1e-6)
    assert _one_line(err.value).startswith(
        f"mfu x goodput = 1e-12 is not allowed: expected at least {MIN_MFU_X_GOODPUT:g}"
    )


def test_too_few_flops_per_gpu_for_the_deadline_names_mfu_x_goodput() -> None:
    # 1e25 FLOPs in 90 days at 1% x 1% of the H100 peak: 1.3e7 GPUs, above MAX_GPUS
    with pytest.raises(ResultOutOfRange) as err:
        size_training(RUN, "h100", days=90, mfu=0.01, goodput=0.01)
    text = _one_line(err.value)
    assert text.startswith("gpus = 1.3")
    assert f"expected at most {MAX_GPUS:g}" in text
    assert "mfu x goodput = 0.0001 is too small for this run" in text


def test_a_capex_above_ten_trillion_usd_is_refused_naming_the_price() -> None:
    # 1e27 FLOPs in 30 days: ~1.1e6 H100s x USD 1e7 (the cap) = 1.1e13 > MAX_USD (goodput
    # stated: the failure model would refuse a million-GPU synchronous run first, in days)
    with pytest.raises(ResultOutOfRange) as err:
        size_training(TrainingRun(flops=1e27), "h100", days=30, price_usd_per_gpu=1e7, goodput=0.9)
    text = _one_line(err.value)
    assert text.startswith("capex_usd = ") and f"at most {MAX_USD:g}" in text
    assert "price_usd_per_gpu = 1e+07" in text


def test_a_run_above_100_gw_is_refused() -> None:
    # a fictitious 2 MW-per-GPU accelerator (the catalog's bounds allow it) x 100,000 GPUs
    chip = Accelerator(
        **{**load_catalog().get("h100").to_dict(), "system_power_kw": 2000.0, "gpus_per_system": 1}
    )
    with pytest.raises(ResultOutOfRange) as err:
        size_training(RUN, chip, gpus=100_000)
    assert _one_line(err.value).startswith("facility_power_mw = ")
    assert f"{MAX_FACILITY_POWER_MW:g}" in str(err.value)


def test_a_run_no_cluster_finishes_is_refused_in_days() -> None:
    with pytest.raises(ResultOutOfRange) as err:
        size_training(TrainingRun(flops=MAX_FLOPS), "h100", gpus=1, mfu=0.4, goodput=0.9)
    assert _one_line(err.value).startswith("days = 3.25")
    assert f"at most {MAX_RESULT_DAYS:g}" in str(err.value)


def test_the_gtc2024_hopper_run_is_still_sized_at_about_8000_gpus(gtc_run) -> None:
    # NVIDIA GTC 2024 keynote: 8,000 Hopper GPUs, 15 MW, 90 days (within 15% here)
    r = size_training(gtc_run, "h100", days=90, precision="fp8", mfu=0.2, goodput=0.9)
    assert r.gpus == pytest.approx(8000, rel=0.15)


def test_one_absurd_chip_in_a_comparison_is_a_note_not_a_failed_table() -> None:
    # 3e26 FLOPs in 10 days at MFU 0.05: ~9e6 GB200s (fits) but ~1e8 V100s (does not)
    frame = compare_accelerators(
        TrainingRun(flops=3e26), days=10, mfu=0.05, goodput=0.9, ids=["v100", "gb200"]
    )
    assert "gpus = " in frame.loc["v100", "note"] and "at most 1e+07" in frame.loc["v100", "note"]
    assert frame.loc["gb200", "note"] == "" and frame.loc["gb200", "gpus"] <= MAX_GPUS


def test_params_times_tokens_above_max_flops_is_refused() -> None:
    with pytest.raises(InputError, match=r"flops = 6e\+33 is not allowed: expected at most 1e\+32"):
        TrainingRun(params=1e16, tokens=1e17)


def test_a_400_digit_gpu_count_is_refused_not_an_overflow_error() -> None:
    with pytest.raises(InputError) as err:
        size_training(RUN, "h100", gpus=10**400)
    assert "(401 digits)" in _one_line(err.value)


def test_no_overflow_warning_reaches_stderr_for_in_range_inputs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = size_training(RUN, "h100", gpus=10_000_000, electricity_usd_per_mwh=10_000, goodput=0.9)
    assert np.isfinite(r.cost_usd)


def test_ten_million_gpus_under_the_failure_model_are_refused_in_days_without_a_warning() -> None:
    # goodput(1e7 H100) of the failure model is ~1e-14: refused, with no RuntimeWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ResultOutOfRange) as err:
            size_training(RUN, "h100", gpus=10_000_000)
    assert _one_line(err.value).startswith("days = ")


@pytest.mark.parametrize("days", [3650.0, np.array([3650.0, 3000.0])])
def test_a_deadline_whose_goodput_underflows_to_zero_is_refused_without_a_warning(days) -> None:
    # 1e30 FLOPs: goodput(N) of the GPUs it would need underflows to 0 (N / 0 was a
    # divide-by-zero RuntimeWarning); refused naming the deadline
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ResultOutOfRange) as err:
            size_training(TrainingRun(flops=1e30), "h100", days=days)
    assert _one_line(err.value).startswith("days = 3650 is not allowed: expected a deadline")


def test_vectorised_sizing_names_the_element_out_of_range() -> None:
    with pytest.raises(ResultOutOfRange, match="element 1"):
        size_training(RUN, "h100", days=np.array([90.0, 1e-3]))


# --- scenarios ----------------------------------------------------------------------------


def test_duplicate_candidate_chips_are_refused(tmp_path: Path) -> None:
    text = SCENARIO.replace('["h100", "gb200"]', '["h100", "gb200", "h100"]')
    with pytest.raises(CatalogError) as err:
        load_scenario(_write(tmp_path, "s.toml", text))
    text = _one_line(err.value)
    assert "field 'candidates.chips[2]': 'h100' is not allowed: expected each chip id once" in text


def test_duplicate_run_names_are_refused(tmp_path: Path) -> None:
    text = SCENARIO + '\n[[runs]]\nname = "r"\nflops = 1e24\ndeadline_days = 10\n'
    with pytest.raises(CatalogError, match=r"runs\[1\]\.name.*names must be unique"):
        load_scenario(_write(tmp_path, "s.toml", text))


def test_a_scenario_with_more_than_max_runs_is_refused_quickly_in_one_line() -> None:
    runs = [{"name": f"r{i}", "flops": 1e24, "deadline_days": 30} for i in range(10_000)]
    with pytest.raises(CatalogError) as err:
        scenario_from_dict({"site": {"grid_limit_mw": 50}, "runs": runs}, source="many.toml")
    text = _one_line(err.value)
    assert "an array of 10,000 entries is not allowed" in text
    assert f"with at most {MAX_RUNS} entries" in text


def test_a_scenario_with_max_runs_is_accepted() -> None:
    runs = [{"name": f"r{i}", "flops": 1e24, "deadline_days": 30} for i in range(MAX_RUNS)]
    scenario = scenario_from_dict({"site": {"grid_limit_mw": 50}, "runs": runs})
    assert len(scenario.runs) == MAX_RUNS


# --- projections --------------------------------------------------------------------------


def _projection(tmp_path: Path, old: str, new: str) -> Path:
    text = (data_dir() / "projections" / "de-vries-2023.toml").read_text(encoding="utf-8")
    assert old in text
    return _write(tmp_path, "p.toml", text.replace(old, new, 1))


def test_a_published_value_of_zero_is_refused_not_a_division_by_zero(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as err:
        load_projection(_projection(tmp_path, "value = 85.4", "value = 0"))
    assert "field 'published[0].value': 0 is not allowed: expected a number > 0" in _one_line(
        err.value
    )


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("2027 = 1.5e6", "2027 = 1e308", "shipments"),
        (
            "shipments_scale = { low = 0.5, value = 1.0, high = 1.0 }",
            "shipments_scale = { low = 0.5, value = 1.0, high = 1e308 }",
            "shipments_scale",
        ),
    ],
)
def test_projection_inputs_that_overflowed_to_inf_are_refused(tmp_path, old, new, field) -> None:
    with pytest.raises(CatalogError) as err:
        load_projection(_projection(tmp_path, old, new))
    assert field in _one_line(err.value)


@pytest.mark.parametrize("seed", [-1, 2**128, 1.5, "7", True])
def test_a_negative_or_huge_seed_is_refused_by_check_seed(seed) -> None:
    from planner.validation import check_seed

    with pytest.raises(InputError, match="seed = .* is not allowed: expected a whole number"):
        check_seed("seed", seed)


@pytest.mark.parametrize("seed", [None, 0, 7, 2**128 - 1, np.int64(3)])
def test_every_seed_numpy_accepts_passes_check_seed(seed) -> None:
    from planner.validation import check_seed

    check_seed("seed", seed)
    if seed is not None:
        np.random.default_rng(seed)


def test_toml_text_in_memory_gets_the_same_checks_as_a_file() -> None:
    from planner.data_errors import parse_toml

    with pytest.raises(CatalogError, match="upload: tables or arrays nested too deep"):
        parse_toml("a = " + "[" * 2000 + "]" * 2000, "upload")
    with pytest.raises(CatalogError, match="field 'site.grid_limit_mw': inf is not allowed"):
        parse_toml("[site]\ngrid_limit_mw = inf\n", "upload")
    assert parse_toml("[site]\ngrid_limit_mw = 1e3\n", "upload") == {"site": {"grid_limit_mw": 1e3}}


@pytest.mark.parametrize("cell", ["8", "8.0", "8e0", " 8 "])
def test_a_whole_gpus_per_system_cell_may_use_a_fraction_or_exponent(tmp_path, cell) -> None:
    lines = _catalog_text().splitlines()
    col = lines[0].split(",").index("gpus_per_system")
    row = next(i for i, line in enumerate(lines) if line.startswith("h100,"))
    cells = lines[row].split(",")
    assert cells[col] == "8"
    cells[col] = cell
    lines[row] = ",".join(cells)
    assert (
        load_catalog(_write(tmp_path, "acc.csv", "\n".join(lines) + "\n"))
        .get("h100")
        .gpus_per_system
        == 8
    )


@pytest.mark.parametrize("cell", ["8.5", "1e400", "inf", "9007199254740993e3"])
def test_a_gpus_per_system_cell_that_is_not_whole_is_refused(tmp_path, cell) -> None:
    lines = _catalog_text().splitlines()
    col = lines[0].split(",").index("gpus_per_system")
    row = next(i for i, line in enumerate(lines) if line.startswith("h100,"))
    cells = lines[row].split(",")
    cells[col] = cell
    lines[row] = ",".join(cells)
    with pytest.raises(CatalogError, match="column 'gpus_per_system'.*whole number"):
        load_catalog(_write(tmp_path, "acc.csv", "\n".join(lines) + "\n"))
