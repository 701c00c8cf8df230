"""The catalog: every required chip, dense figures, units, sources, and a validating loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from planner._paths import data_dir
from planner.catalog import load_catalog
from planner.data_errors import show_path
from planner.errors import CatalogError, InputError

REQUIRED_IDS = [
    "v100",
    "a100-40gb",
    "a100-80gb",
    "h100",
    "h100-pcie",
    "h800",
    "h200",
    "b200",
    "gb200",
    "b300",
    "gb300",
    "mi300x",
    "mi325x",
]


def test_catalog_has_every_required_chip(catalog):
    assert set(REQUIRED_IDS) <= set(catalog.ids)


def test_h100_sxm_uses_dense_not_sparse_tflops(catalog):
    # NVIDIA H100 datasheet: 1,979 BF16 TFLOPS "with sparsity" = 989 dense; FP8 3,958 -> 1,979.
    h100 = catalog.get("h100")
    assert h100.bf16_dense_tflops == pytest.approx(989, rel=0.01)
    assert h100.fp8_dense_tflops == pytest.approx(1979, rel=0.01)
    assert h100.fp4_dense_tflops is None


def test_system_nameplates_match_the_datasheets(catalog):
    # DGX A100 6.5 kW, DGX H100 10.2 kW, DGX B200 14.3 kW per 8 GPUs; GB200 NVL72 120-132 kW per 72.
    assert catalog.get("a100-80gb").system_power_kw == 6.5
    assert catalog.get("h100").system_power_kw == 10.2
    assert catalog.get("b200").system_power_kw == 14.3
    gb200 = catalog.get("gb200")
    assert gb200.gpus_per_system == 72
    assert 120 <= gb200.system_power_kw <= 132


def test_a100_has_no_fp8_and_asking_for_it_names_the_allowed_precisions(catalog):
    with pytest.raises(InputError, match=r"precision = 'fp8'.*bf16.*a100-80gb has no FP8"):
        catalog.get("a100-80gb").dense_tflops("fp8")


def test_unknown_chip_lists_the_valid_ids(catalog):
    with pytest.raises(InputError) as err:
        catalog.get("h1000")
    assert "h1000" in str(err.value) and "gb200" in str(err.value)


def test_every_row_has_a_source_and_every_price_a_price_source(catalog):
    for chip in catalog:
        assert chip.source.strip()
        if chip.price_usd_per_gpu is not None or chip.rent_usd_per_gpu_hour is not None:
            assert chip.price_source


def test_every_column_is_described_with_a_unit(catalog):
    attributes = pd.read_csv(data_dir() / "accelerators.attributes.csv")
    columns = pd.read_csv(data_dir() / "accelerators.csv", nrows=0).columns
    assert list(attributes["attribute"]) == list(columns)
    numeric = attributes[attributes["type"].isin(["float", "int"])]
    assert numeric["unit"].notna().all()


def test_server_share_per_gpu_is_never_below_the_gpu_tdp(catalog):
    for chip in catalog:
        assert chip.system_power_per_gpu_w >= chip.tdp_w


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "accelerators.csv"
    shutil.copy(data_dir() / "accelerators.csv", path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def test_malformed_catalog_row_names_file_row_and_column(tmp_path):
    path = _broken_copy(
        tmp_path,
        "h100,NVIDIA H100 SXM5 80GB,NVIDIA,2022,989",
        "h100,NVIDIA H100 SXM5 80GB,NVIDIA,2022,-989",
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    message = str(err.value)
    assert show_path(path) in message and "row 5" in message and "'bf16_dense_tflops'" in message


def test_catalog_with_a_sparse_fp8_typo_is_rejected(tmp_path):
    # An FP8 figure below the BF16 one means someone mixed dense and sparse columns.
    path = _broken_copy(tmp_path, "989,1979,,80", "989,500,,80")
    with pytest.raises(CatalogError, match="dense vs sparse"):
        load_catalog(path)


def test_catalog_with_an_unknown_column_is_rejected(tmp_path):
    path = tmp_path / "accelerators.csv"
    df = pd.read_csv(data_dir() / "accelerators.csv")
    df["power"] = 1
    df.to_csv(path, index=False)
    with pytest.raises(CatalogError, match="'power'.*unknown column"):
        load_catalog(path)


def test_catalog_prices_are_capped_at_the_scenario_validators_caps(catalog):
    # the loader and the scenario validator share one cap, so a catalog price a scenario
    # override could not state (1e30, inf) never reaches the optimiser
    from planner import scenarios
    from planner.catalog import MAX_PRICE_USD_PER_GPU, MAX_RENT_USD_PER_GPU_HOUR

    assert scenarios.MAX_PRICE_USD_PER_GPU == MAX_PRICE_USD_PER_GPU == 1e7
    assert scenarios.MAX_RENT_USD_PER_GPU_HOUR == MAX_RENT_USD_PER_GPU_HOUR == 1e4
    for chip in catalog:
        assert chip.price_usd_per_gpu is None or chip.price_usd_per_gpu <= MAX_PRICE_USD_PER_GPU
        assert chip.rent_usd_per_gpu_hour is None or chip.rent_usd_per_gpu_hour <= 100


def test_an_empty_catalog_file_is_one_line_not_a_pandas_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CatalogError, match="the file is empty: expected a header row"):
        load_catalog(path)
