"""Sizing: the time equation, rounding to systems, costs, vectorisation and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planner.errors import InputError
from planner.sizing import compare_accelerators, size_frame, size_training
from planner.workloads import TrainingRun

RUN = TrainingRun(flops=1e24)


def test_days_follow_flops_over_sustained_throughput():
    # 1e24 / (1,000 x 989e12 x 0.4 x 0.9) / 86,400 = 32.16 days (a stated goodput)
    r = size_training(RUN, "h100", gpus=1000, mfu=0.4, goodput=0.9)
    assert r.days == pytest.approx(1e24 / (1000 * 989e12 * 0.4 * 0.9) / 86400)
    assert r.gpu_hours == pytest.approx(r.days * 24 * 1000)


def test_deadline_rounds_up_to_whole_servers_and_finishes_early():
    r = size_training(RUN, "h100", days=30)
    assert r.gpus % 8 == 0 and r.systems == r.gpus / 8
    assert r.days <= 30
    smaller = size_training(RUN, "h100", gpus=r.gpus - 8)
    assert smaller.days > 30


def test_partial_rack_counts_as_a_whole_system():
    r = size_training(RUN, "gb200", gpus=100)
    assert r.systems == 2


def test_moe_uses_active_parameters():
    dense = TrainingRun(params=1.8e12, tokens=1e12)
    moe = TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1e12)
    assert moe.total_flops() == pytest.approx(6 * 2.8e11 * 1e12)
    assert dense.total_flops() / moe.total_flops() == pytest.approx(1.8e12 / 2.8e11)


def test_peak_and_average_power_are_distinct():
    # Average draw is the measured ~76% of nameplate for H100 training (Newkirk et al. 2025,
    # arXiv 2506.14551), not the 80-82% peak reading of Latif et al. 2024.
    # a stated goodput: no hot spares (their idle draw is tested with the failure model)
    r = size_training(RUN, "h100", gpus=8000, goodput=0.9)
    assert r.assumptions["avg_load_fraction"]["value"] == pytest.approx(0.76)
    assert r.assumptions["avg_load_fraction"]["source"].startswith("measured for h100")
    # peak at the design-day PUE (1.30 from the annual 1.20), average at the annual PUE
    assert r.pue == pytest.approx(1.20) and r.design_pue == pytest.approx(1.30)
    assert r.average_facility_power_mw == pytest.approx(0.76 * r.facility_power_mw * 1.2 / 1.3)
    assert r.energy_mwh == pytest.approx(r.average_facility_power_mw * r.days * 24)
    assert r.facility_power_mw == pytest.approx(r.it_power_mw * r.design_pue)
    assert r.average_facility_power_mw == pytest.approx(r.average_it_power_mw * r.pue)


def test_a_given_design_pue_moves_the_peak_only():
    base = size_training(RUN, "h100", gpus=8000, pue=1.2)
    hot = size_training(RUN, "h100", gpus=8000, pue=1.2, design_pue=1.6)
    assert hot.design_pue == 1.6
    assert hot.facility_power_mw == pytest.approx(hot.it_power_mw * 1.6)
    for key in (
        "energy_mwh",
        "average_facility_power_mw",
        "electricity_cost_usd",
        "emissions_tco2",
    ):
        assert getattr(hot, key) == getattr(base, key), key
    assert hot.to_dict()["design_pue"] == 1.6
    assert "design_pue" in hot.assumptions and hot.assumptions["design_pue"]["value"] == 1.6


def test_a_design_pue_below_the_annual_pue_is_one_line_naming_the_field():
    with pytest.raises(InputError) as err:
        size_training(RUN, "h100", gpus=8000, pue=1.2, design_pue=1.0)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("design_pue = 1")
    assert "annual" in message


def test_the_derived_design_pue_is_listed_with_its_ratio_and_source():
    r = size_training(RUN, "h100", gpus=8000, pue=1.35)
    assert r.design_pue == pytest.approx(1.525)
    entry = r.assumptions["design_pue"]
    assert entry["value"] == pytest.approx(1.525)
    assert "derived" in entry["source"] and "design_pue_overhead_ratio" in entry["source"]


def test_a_new_annual_pue_derives_its_own_design_pue():
    # a preset's or profile's pair (1.10, 1.15) must not survive a user's --pue 1.4
    from planner.assumptions import SizingAssumptions

    a = SizingAssumptions.defaults().with_("profile", pue=1.1, design_pue=1.15)
    b = a.with_("user", pue=1.4)
    assert b.design_pue is None and float(b.grid_pue()) == pytest.approx(1.6)
    c = a.with_("user", pue=1.12, design_pue=1.2)
    assert c.design_pue == 1.2


def test_rental_cost_includes_power_and_capex_cost_adds_electricity():
    # Cluster capex = servers (DGX H100 ~USD 270k / 8 = 33,750 per GPU) + networking (19% of
    # servers + network, Cottier et al. 2024) + facility (USD 11.7M per MW of IT, Cushman &
    # Wakefield 2025); the capex pricing charges all of it plus electricity at USD 80/MWh.
    # (a stated goodput: no hot spares, whose purchase is tested with the failure model)
    buy = size_training(RUN, "h100", gpus=1000, pricing="capex", goodput=0.9)
    servers = 1000 * 33750
    capex = servers / (1 - 0.19) + 11.7e6 * buy.it_power_mw
    assert buy.cluster_capex_usd == pytest.approx(capex)
    assert buy.capex_usd == buy.cluster_capex_usd
    assert buy.cost_usd == pytest.approx(capex + buy.energy_mwh * 80)
    assert buy.pricing == "capex"
    rent = size_training(RUN, "h100", gpus=1000, pricing="rent", goodput=0.9)
    assert rent.cost_usd == pytest.approx(rent.gpu_hours * 2.99)
    # the default charges the run its share of the hardware life, never the whole cluster
    amortized = size_training(RUN, "h100", gpus=1000)
    assert amortized.pricing == "amortized"
    assert amortized.cost_usd == amortized.amortized_cost_usd
    assert amortized.electricity_cost_usd < amortized.cost_usd < amortized.cluster_capex_usd


def test_old_pricing_names_still_work():
    assert size_training(RUN, "h100", gpus=1000, pricing="buy").pricing == "capex"
    assert size_training(RUN, "h100", gpus=1000, pricing="auto").pricing == "amortized"


def test_emissions_are_energy_times_intensity():
    r = size_training(RUN, "h100", gpus=1000, grid_gco2_per_kwh=400)
    assert r.emissions_tco2 == pytest.approx(r.energy_mwh * 0.4)


def _own_catalog_chip(tmp_path):
    """A user's catalog with an H200 copy ('myh200') that has no price and no rent."""
    from planner.catalog import data_dir, load_catalog

    lines = (data_dir() / "accelerators.csv").read_text().splitlines()
    h200 = next(line for line in lines if line.startswith("h200,"))
    path = tmp_path / "own.csv"
    path.write_text(lines[0] + "\n" + "my" + h200 + "\n")
    return load_catalog(path)


def test_every_shipped_chip_is_priced_so_comparisons_never_mix_bought_and_rented():
    # H200 had no catalog price; data/chip_economics.csv now prices every shipped chip.
    r = size_training(RUN, "h200", gpus=1000)
    assert np.isfinite(r.cost_usd) and r.pricing == "amortized"
    assert r.assumptions["price_usd_per_gpu"]["source"].startswith("data/chip_economics.csv h200")


def test_a_chip_without_a_price_is_an_error_not_zero(tmp_path):
    cat = _own_catalog_chip(tmp_path)
    with pytest.raises(InputError) as err:
        size_training(RUN, "myh200", gpus=1000, mfu=0.4, catalog=cat)
    assert err.value.field == "price_usd_per_gpu"


def test_a_chip_of_ones_own_catalog_priced_by_hand_has_unknown_embodied_carbon(tmp_path):
    cat = _own_catalog_chip(tmp_path)
    r = size_training(
        RUN,
        "myh200",
        gpus=1000,
        mfu=0.4,
        catalog=cat,
        price_usd_per_gpu=30000,
        rent_usd_per_gpu_hour=3.0,
        pricing="rent",
    )
    assert r.cost_usd == pytest.approx(r.gpu_hours * 3.0)
    assert r.embodied_tco2 != r.embodied_tco2  # NaN: unknown, not zero
    assert r.to_dict()["embodied_tco2"] is None


def test_to_dict_has_the_contract_keys_and_is_json(contract_keys):
    r = size_training(
        TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1.3e13), "h100", days=90
    )
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert contract_keys <= set(d)
    assert "from the run model: H100, BF16" in d["assumptions"]["mfu"]["source"]
    assert d["pricing"] == "amortized"
    assert d["cost_usd"] == d["amortized_cost_usd"] < d["cluster_capex_usd"]
    assert d["assumptions"]["peak_dense_tflops"]["value"] == 989


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gpus": 0}, "gpus"),
        ({"gpus": -8}, "gpus"),
        ({"days": 0}, "days"),
        ({"days": 90, "mfu": 0}, "mfu"),
        ({"days": 90, "mfu": 1.5}, "mfu"),
        ({"days": 90, "goodput": 1.01}, "goodput"),
        ({"days": 90, "pue": 0.9}, "pue"),
        ({"days": 90, "precision": "fp16"}, "precision"),
        ({"days": 90, "mfu": float("nan")}, "mfu"),
        ({}, "gpus/days"),
        ({"gpus": 8, "days": 90}, "gpus/days"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(InputError) as err:
        size_training(RUN, "h100", **kwargs)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field} = ")


def test_bad_work_is_rejected():
    with pytest.raises(InputError, match="flops"):
        TrainingRun(flops=-1)
    with pytest.raises(InputError, match="tokens"):
        TrainingRun(params=1e9, tokens=0)
    with pytest.raises(InputError, match="work"):
        TrainingRun(params=1e9)
    with pytest.raises(InputError, match="active_params"):
        TrainingRun(params=1e9, active_params=2e9, tokens=1e9)


def test_vectorised_call_matches_scalar_calls():
    gpus = np.array([1000, 2000, 4096])
    mfu = np.array([0.3, 0.4, 0.5])
    vec = size_training(RUN, "h100", gpus=gpus, mfu=mfu)
    for i in range(3):
        one = size_training(RUN, "h100", gpus=int(gpus[i]), mfu=float(mfu[i]))
        assert vec.days[i] == pytest.approx(one.days)
        assert vec.energy_mwh[i] == pytest.approx(one.energy_mwh)
    assert len(vec.to_frame()) == 3


def test_vectorised_bad_value_names_how_many_are_bad():
    with pytest.raises(InputError, match=r"mfu = 1.2 .*2 of 3 values"):
        size_training(RUN, "h100", gpus=1000, mfu=np.array([0.4, 1.2, 2.0]))


def test_size_frame_mixes_chips_and_matches_single_calls():
    df = pd.DataFrame(
        {
            "accelerator": ["h100", "gb200", "mi300x"],
            "flops": [1e24, 2e24, 3e24],
            "days": [30.0, 60.0, 90.0],
            "mfu": [0.4, 0.35, 0.3],
        }
    )
    out = size_frame(df)
    for i, row in df.iterrows():
        one = size_training(
            TrainingRun(flops=row.flops), row.accelerator, days=row.days, mfu=row.mfu
        )
        assert out.loc[i, "gpus"] == one.gpus
        assert out.loc[i, "facility_power_mw"] == pytest.approx(one.facility_power_mw)
        assert out.loc[i, "energy_mwh"] == pytest.approx(one.energy_mwh)  # same measured load
        assert out.loc[i, "cost_usd"] == pytest.approx(one.cost_usd)


def test_size_frame_uses_the_run_model_like_single_calls():
    df = pd.DataFrame(
        {"accelerator": ["h100", "a100-80gb"], "flops": [1e24, 1e24], "gpus": [1024, 1024]}
    )
    out = size_frame(df)
    for i, row in df.iterrows():
        one = size_training(TrainingRun(flops=row.flops), row.accelerator, gpus=row.gpus)
        assert out.loc[i, "days"] == pytest.approx(one.days)
        assert out.loc[i, "energy_mwh"] == pytest.approx(one.energy_mwh)
        assert out.loc[i, "cost_usd"] == pytest.approx(one.cost_usd)


def test_size_frame_rejects_unknown_chip():
    with pytest.raises(InputError, match="accelerator = 'tpu'"):
        size_frame(pd.DataFrame({"accelerator": ["tpu"], "flops": [1e24], "gpus": [8]}))


def test_compare_marks_chips_without_the_precision(gtc_run):
    df = compare_accelerators(gtc_run, days=90, precision="fp8")
    assert df.loc["a100-80gb", "note"] == "no FP8 tensor mode"
    assert np.isnan(df.loc["a100-80gb", "gpus"])
    assert df.loc["gb200", "gpus"] < df.loc["h100", "gpus"]


def test_grid_fit_says_how_short_the_grid_is_and_what_fits():
    # GTC Hopper at annual PUE 1.20 (design-day 1.30) needs 7,888 x 1,402.5 W x 1.3 = 14.38 MW
    # at peak; a 10 MW grid powers floor(10e6 / (8 x 1,402.5 x 1.3)) = 685 DGX H100 (5,480 GPUs).
    from planner.sizing import grid_fit

    r = size_training(
        TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1.3e13),
        "h100",
        days=90,
        precision="fp8",
        mfu=0.2,
        pue=1.2,
        goodput=0.9,
    )
    fit = grid_fit(r, 10.0)
    assert not fit.fits
    assert r.facility_power_mw == pytest.approx(14.382, abs=1e-3)
    assert fit.short_mw == pytest.approx(r.facility_power_mw - 10.0)
    assert fit.max_gpus == 5480 and fit.max_systems == 685
    assert fit.max_gpus * r.facility_power_mw / r.gpus <= 10.0
    assert grid_fit(r, 20.0).fits
    with pytest.raises(InputError, match="grid_mw = -1"):
        grid_fit(r, -1)


def test_absurd_work_is_an_input_error_not_an_overflow():
    with pytest.raises(InputError, match="params = 1e"):
        TrainingRun(params=1e30, tokens=1e12)
    with pytest.raises(InputError, match="flops = 1e"):
        TrainingRun(flops=1e40)


def test_changing_the_chip_drops_the_presets_chip_specific_values():
    # gpt4-estimate rents A100s at $1/h; on an H100 that price would be silently wrong.
    from planner.request import build_request

    same = build_request(preset="gpt4-estimate").size()
    other = build_request(preset="gpt4-estimate", accelerator="h100").size()
    assert same.assumptions["rent_usd_per_gpu_hour"]["value"] == 1.0
    assert other.assumptions["rent_usd_per_gpu_hour"]["value"] == 2.99
    assert other.assumptions["rent_usd_per_gpu_hour"]["source"].startswith(
        "data/chip_economics.csv h100"
    )
    assert other.mfu == same.mfu  # the run's utilisation assumption is kept
    # a chip the catalog never priced gets its sourced estimate (marked), never zero
    b200 = build_request(preset="gpt4-estimate", accelerator="b200").size()
    assert b200.assumptions["rent_usd_per_gpu_hour"]["source"].startswith(
        "data/chip_economics.csv b200"
    )
    assert b200.cost_usd > 0


def test_a_tiny_run_still_needs_one_whole_system():
    # 1e11 FLOPs in a day rounds to 0 GPUs without a floor; the answer must be one server.
    r = size_training(TrainingRun(flops=1e11), "h100", days=1)
    assert r.gpus == 8 and r.systems == 1
    assert np.isfinite(r.days) and r.days > 0


def test_malformed_preset_file_names_the_field(tmp_path):
    from planner.errors import CatalogError
    from planner.presets import load_presets

    path = tmp_path / "presets.toml"
    path.write_text('[x]\ntitle = "t"\nsource = "s"\naccelerator = "h100"\nflops = -1\ngpus = 8\n')
    with pytest.raises(CatalogError, match=r"field 'x.flops'"):
        load_presets(path)


def test_the_derived_design_pue_reads_no_file_per_sizing(monkeypatch):
    # the ratio comes from the cached data/assumptions.csv table (default_table is lru_cached)
    import pandas as pd

    size_training(RUN, "h100", gpus=8)  # warm the caches
    reads = []
    real = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: reads.append(a) or real(*a, **k))
    for i in range(20):
        r = size_training(RUN, "h100", gpus=8, pue=1.1 + i / 100)
        assert r.design_pue == pytest.approx(1 + (1.1 + i / 100 - 1) * 1.5)
    assert reads == []


def test_size_frame_takes_a_design_pue_column_and_derives_it_otherwise():
    from planner.sizing import size_frame

    frame = pd.DataFrame(
        {"accelerator": ["h100", "h100"], "flops": [1e24, 1e24], "gpus": [8, 8], "pue": [1.2, 1.2]}
    )
    derived = size_frame(frame)
    assert list(derived["design_pue"]) == pytest.approx([1.3, 1.3])
    given = size_frame(frame.assign(design_pue=[1.3, 1.6]))
    assert given["facility_power_mw"].iloc[1] == pytest.approx(
        given["facility_power_mw"].iloc[0] * 1.6 / 1.3
    )
    assert list(given["energy_mwh"]) == list(derived["energy_mwh"])
    with pytest.raises(InputError, match="design_pue"):
        size_frame(frame.assign(design_pue=[1.3, 1.1]))


def test_a_design_day_pue_below_the_annual_one_is_one_line_naming_both() -> None:
    # the grid peak's PUE (hottest hours) can never be below the year's average
    with pytest.raises(InputError) as err:
        size_training(TrainingRun(flops=1e24), "h100", gpus=8, pue=1.4, design_pue=1.3)
    assert str(err.value).startswith(
        "design_pue = 1.3 is not allowed: expected at least the annual pue (1.4)"
    )
    assert "\n" not in str(err.value)
