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
    # 1e24 / (1,000 x 989e12 x 0.4 x 0.9) / 86,400 = 32.16 days
    r = size_training(RUN, "h100", gpus=1000)
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
    r = size_training(RUN, "h100", gpus=8000)
    assert r.average_facility_power_mw == pytest.approx(0.8 * r.facility_power_mw)
    assert r.energy_mwh == pytest.approx(r.average_facility_power_mw * r.days * 24)
    assert r.facility_power_mw == pytest.approx(r.it_power_mw * r.pue)


def test_rental_cost_includes_power_and_buy_cost_adds_electricity():
    buy = size_training(RUN, "h100", gpus=1000, pricing="buy")
    assert buy.cost_usd == pytest.approx(1000 * 30000 + buy.energy_mwh * 80)
    rent = size_training(RUN, "h100", gpus=1000, pricing="rent")
    assert rent.cost_usd == pytest.approx(rent.gpu_hours * 2.99)


def test_emissions_are_energy_times_intensity():
    r = size_training(RUN, "h100", gpus=1000, grid_gco2_per_kwh=400)
    assert r.emissions_tco2 == pytest.approx(r.energy_mwh * 0.4)


def test_unknown_price_is_reported_as_unknown_not_zero():
    r = size_training(RUN, "h200", gpus=1000)
    assert r.cost_usd != r.cost_usd  # NaN
    assert r.pricing == "unknown"
    assert r.to_dict()["cost_usd"] is None


def test_buying_a_chip_without_a_price_is_an_error():
    with pytest.raises(InputError, match="no purchase price for h200"):
        size_training(RUN, "h200", gpus=1000, pricing="buy")


def test_to_dict_has_the_contract_keys_and_is_json(contract_keys):
    r = size_training(
        TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1.3e13), "h100", days=90
    )
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert contract_keys <= set(d)
    assert d["assumptions"]["mfu"]["source"].startswith("default: Llama 3.1")
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


def test_size_frame_rejects_unknown_chip():
    with pytest.raises(InputError, match="accelerator = 'tpu'"):
        size_frame(pd.DataFrame({"accelerator": ["tpu"], "flops": [1e24], "gpus": [8]}))


def test_compare_marks_chips_without_the_precision(gtc_run):
    df = compare_accelerators(gtc_run, days=90, precision="fp8")
    assert df.loc["a100-80gb", "note"] == "no FP8 tensor mode"
    assert np.isnan(df.loc["a100-80gb", "gpus"])
    assert df.loc["gb200", "gpus"] < df.loc["h100", "gpus"]


def test_grid_fit_says_how_short_the_grid_is_and_what_fits():
    # GTC Hopper at PUE 1.35 needs 14.93 MW; a 10 MW grid powers 660 DGX H100 (5,280 GPUs).
    from planner.sizing import grid_fit

    r = size_training(
        TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1.3e13),
        "h100",
        days=90,
        precision="fp8",
        mfu=0.2,
        pue=1.35,
    )
    fit = grid_fit(r, 10.0)
    assert not fit.fits
    assert fit.short_mw == pytest.approx(r.facility_power_mw - 10.0)
    assert fit.max_gpus == 5280 and fit.max_systems == 660
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
    assert other.assumptions["rent_usd_per_gpu_hour"]["source"].startswith("catalog h100")
    assert other.mfu == same.mfu  # the run's utilisation assumption is kept
    # a chip with no rental price at all says so rather than pricing at zero
    with pytest.raises(InputError, match="no rental price for b200"):
        build_request(preset="gpt4-estimate", accelerator="b200").size()


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
