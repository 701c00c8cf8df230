"""A build-out site with a utility ramp limit: its design-day peak limit holds the grid-side
peak after the mitigation (GPU power smoothing + storage by default).

Hand check (H100, no network overhead, PUE 1.0, goodput 1, MFU 0.5): the grid sees the capped
step mean, 0.8 x (700 x 0.8175 + 345) + 0.2 x (700 x 0.40 + 345) = 858.8 W per GPU instead of
the 1,275 W nameplate (tests/test_grid_swing.py): 120 DGX H100 need 0.824 MW, not 1.224 MW.
"""

from __future__ import annotations

import copy

import pytest

from planner.errors import InputError
from planner.optimization.buildout import buildout_from_dict, plan_buildout

FLOPS = 960 * 989e12 * 0.5 * 30 * 86_400 * 119.5 / 120  # 119.5 systems for 30 days
DATA = {
    "start": "2026Q1",
    "quarters": 1,
    "chips": ["h100"],
    "network_overhead": 0.0,
    "sites": [
        {
            "name": "A",
            "pue": 1.0,
            "grid": [{"quarter": "2026Q1", "mw": 1.0}],
            "electricity_usd_per_mwh": 0.0,
        }
    ],
    "runs": [
        {
            "name": "r",
            "flops": FLOPS,
            "start": "2026Q1",
            "deadline": "2026Q1",
            "deadline_days": 30,
            "mfu": 0.5,
            "goodput": 1.0,
        }
    ],
}


def plan(**site):
    data = copy.deepcopy(DATA)
    data["sites"][0].update(site)
    return plan_buildout(buildout_from_dict(data), mip_rel_gap=1e-9)


def test_without_a_ramp_limit_the_nameplate_peak_does_not_fit():
    assert plan().status == "infeasible"


def test_with_a_ramp_limit_the_grid_side_mean_fits_120_systems():
    p = plan(ramp_limit_mw_per_s=1.0)
    assert p.feasible
    assert p.installs["systems"].sum() == 120
    assert p.power["facility_power_mw"].iloc[0] == pytest.approx(120 * 8 * 858.8 / 1e6, rel=1e-9)
    row = p.mitigations.iloc[0]
    assert row["mitigation"] == "smoothing+storage" and row["grid_peak_ratio"] == pytest.approx(
        858.8 / 1275, rel=1e-12
    )
    assert any("ramp limits" in n for n in p.notes)


def test_a_battery_keeps_the_nameplate_peak():
    assert plan(ramp_limit_mw_per_s=1.0, ramp_mitigation="battery").status == "infeasible"


def test_a_ramp_limit_of_zero_is_refused_naming_the_field():
    with pytest.raises(InputError) as err:
        plan(ramp_limit_mw_per_s=0)
    assert "sites[0].ramp_limit_mw_per_s" in str(err.value)
