"""Swing-aware grid limits: a site with a utility ramp limit holds each cluster's grid-side
peak AFTER the mitigation :mod:`planner.training.transients` sizes, and counts its cost.

Hand check (H100, no network overhead, PUE 1.0 annual and design-day, goodput 1, MFU 0.5):
per GPU the server draws 700 W x phase fraction + 575 W (non-GPU nameplate) x 0.60 = 345 W.
Nameplate 1,275 W; compute (0.95 TDP) 1,010 W; communication (0.40 TDP) 625 W. GPU power
smoothing with storage caps the compute phase at 0.8175 TDP (the GB300 calibration): 917.25 W,
and the grid sees the step's mean, 0.8 x 917.25 + 0.2 x 625 = 858.8 W per GPU: 6.8704 kW per
DGX H100 instead of 10.2 kW. A 1 MW grid then powers 145 systems instead of 98.
"""

from __future__ import annotations

import pytest

from planner.errors import CatalogError
from planner.optimization import optimize
from planner.scenarios import scenario_from_dict
from planner.training.transients import grid_mitigation, training_power_profile

PER_GPU_MEAN_W = 0.8 * (700 * 0.8175 + 345) + 0.2 * (700 * 0.40 + 345)
# 960 GPUs at 989 TFLOP/s x MFU 0.5 for 30 days, times 119.5 / 120: 119.5 systems -> 120
FLOPS = 960 * 989e12 * 0.5 * 30 * 86_400 * 119.5 / 120


def site(**extra):
    return {
        "site": {
            "grid_limit_mw": 1.0,
            "pue": 1.0,
            "design_pue": 1.0,
            "network_overhead": 0.0,
            **extra,
        },
        "runs": [{"name": "r", "flops": FLOPS, "deadline_days": 30, "mfu": 0.5, "goodput": 1.0}],
        "candidates": {"chips": ["h100"], "pricing": "capex"},
    }


def test_the_hand_checked_mean_is_the_grid_side_peak_of_smoothing_with_storage():
    assert PER_GPU_MEAN_W == pytest.approx(858.8)
    profile = training_power_profile(960, "h100", network_overhead=0.0, pue=1.0)
    mit = grid_mitigation(profile, ramp_limit_mw_per_s=1.0)
    assert mit.mitigation == "smoothing+storage" and mit.meets_limit
    assert mit.grid_peak_ratio == pytest.approx(858.8 / 1275, rel=1e-12)
    # the cluster's own ramp: 960 x 385 W over 0.1 s = 3.70 MW/s, above the 1 MW/s limit
    assert mit.ramp_rate_mw_per_s == pytest.approx(960 * 385 / 0.1 / 1e6, rel=1e-12)


def test_without_a_ramp_limit_the_nameplate_does_not_fit_a_1_mw_grid():
    plan = optimize(scenario_from_dict(site()))
    assert plan.status == "infeasible"  # 120 x 10.2 kW = 1.224 MW


def test_a_ramp_limit_with_smoothing_and_storage_fits_120_systems_at_their_grid_side_mean():
    plan = optimize(scenario_from_dict(site(ramp_limit_mw_per_s=1.0)))
    assert plan.feasible
    row = plan.runs.iloc[0]
    assert row["systems"] == 120 and row["mitigation"] == "smoothing+storage"
    assert row["grid_power_mw"] == pytest.approx(120 * 8 * PER_GPU_MEAN_W / 1e6, rel=1e-9)
    assert plan.constraints.loc["grid_limit_mw", "used"] == pytest.approx(0.824448, rel=1e-6)
    # the floor stays at the communication level: nothing burnt, no store to buy
    assert row["extra_energy_mwh"] == 0 and row["mitigation_cost_usd"] == 0
    assert any("ramp limit 1 MW/s" in n for n in plan.notes)


def test_a_battery_tames_the_ramp_but_keeps_the_connection_and_its_price_is_counted():
    plan = optimize(scenario_from_dict(site(ramp_limit_mw_per_s=1.0, ramp_mitigation="battery")))
    assert plan.status == "infeasible"  # the store does not lower the 1.224 MW peak
    data = site(ramp_limit_mw_per_s=1.0, ramp_mitigation="battery")
    data["site"]["grid_limit_mw"] = 2.0
    plan = optimize(scenario_from_dict(data))
    row = plan.runs.iloc[0]
    profile = training_power_profile(row["gpus"], "h100", network_overhead=0.0, pue=1.0)
    mit = grid_mitigation(profile, ramp_limit_mw_per_s=1.0, mitigation="battery")
    assert row["mitigation"] == "battery" and mit.meets_limit
    assert row["battery_mwh"] == pytest.approx(mit.battery_mwh) and row["battery_mwh"] > 0
    # USD 165 per kWh of storage (data/transients.csv)
    assert row["mitigation_cost_usd"] == pytest.approx(mit.battery_mwh * 1e3 * 165, rel=1e-9)
    assert row["grid_power_mw"] == pytest.approx(120 * 8 * 1275 / 1e6, rel=1e-9)


def test_a_ramp_limit_the_cluster_already_meets_needs_no_mitigation():
    plan = optimize(scenario_from_dict(site(grid_limit_mw=2.0, ramp_limit_mw_per_s=100.0)))
    row = plan.runs.iloc[0]
    assert row["mitigation"] == "none"
    assert row["grid_power_mw"] == pytest.approx(120 * 8 * 1275 / 1e6, rel=1e-9)


@pytest.mark.parametrize("value", [0, -1.0])
def test_a_ramp_limit_of_zero_or_below_is_refused_naming_the_field(value):
    with pytest.raises(CatalogError) as err:
        scenario_from_dict(site(ramp_limit_mw_per_s=value))
    assert "site.ramp_limit_mw_per_s" in str(err.value) and "\n" not in str(err.value)
