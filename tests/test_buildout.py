"""Build-out planner: hand-computed optima on small instances, consistency with the single-site
optimiser, one-line errors for bad input, and the minimal relaxations.

Hand numbers: an H100 DGX is 10.2 kW nameplate (data/accelerators.csv); with the default
network overhead its IT load per system is ``d.it_mw_per_system`` and its design-day peak that
x the site's design-day PUE. A quarter is 91.3125 days.
"""

from __future__ import annotations

import copy
import math
import tomllib
from typing import Any

import pytest

from planner._paths import data_dir
from planner.catalog import load_catalog
from planner.errors import InputError
from planner.optimization.buildout import (
    build_data,
    buildout_from_dict,
    example_names,
    from_scenario,
    limits,
    load_buildout,
    plan_buildout,
    with_limit,
)
from planner.optimization.buildout.diagnose import is_feasible
from planner.optimization.buildout.model import DAYS_PER_QUARTER
from planner.optimization.buildout.solve import solve_pyomo

TIGHT = 1e-9  # solve to optimality: the tests compare exact optima
H100 = load_catalog().get("h100")
SECONDS_PER_SYSTEM_DAY = 86_400 * H100.gpus_per_system * H100.bf16_dense_tflops * 1e12


CAMPUS = data_dir() / "buildout" / "campus-2026-2030.toml"


def flops_for(system_quarters: float, mfu: float = 0.5) -> float:
    """FLOPs of a run that takes ``system_quarters`` H100 systems x quarters at ``mfu``."""
    return system_quarters * DAYS_PER_QUARTER * SECONDS_PER_SYSTEM_DAY * mfu


def base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": "2026Q1",
        "quarters": 4,
        "chips": ["h100"],
        "sites": [
            {"name": "A", "pue": 1.2, "design_pue": 1.3, "grid": [{"quarter": "2026Q1", "mw": 100}]}
        ],
        "runs": [],
    }
    data.update(changes)
    return data


def run(name: str, system_quarters: float, start: str, deadline: str, **extra: Any) -> dict:
    return {
        "name": name,
        "flops": flops_for(system_quarters),
        "start": start,
        "deadline": deadline,
        "mfu": 0.5,
        "goodput": 1.0,
        **extra,
    }


def plan(data: dict[str, Any], **kw: Any):
    return plan_buildout(buildout_from_dict(copy.deepcopy(data)), mip_rel_gap=TIGHT, **kw)


def installs_by(p, *keys: str) -> dict:
    frame = p.installs[p.installs["systems"] > 0]
    return frame.groupby(list(keys))["systems"].sum().to_dict()


# --- hand-computed optima -----------------------------------------------------------------


def test_a_run_gets_whole_systems_for_its_work_inside_its_window():
    # 10.5 system-quarters over two quarters: 5 systems give 10, so 6 systems (5 from Q1 and
    # one more from Q2 draw less idle power than 6 from Q1: both buy 6)
    p = plan(base(runs=[run("r", 10.5, "2026Q1", "2026Q2")]))
    assert p.status == "optimal"
    assert installs_by(p, "quarter") == {"2026Q1": 5, "2026Q2": 1}
    assert p.runs.set_index("run").loc["r", "finish_quarter"] == "2026Q2"


def test_the_cheap_site_fills_first_up_to_its_grid():
    cheap = {
        "name": "cheap",
        "pue": 1.2,
        "design_pue": 1.3,
        "electricity_usd_per_mwh": 40,
        "grid": [{"quarter": "2026Q1", "mw": 0.2}],
    }
    dear = {
        "name": "dear",
        "pue": 1.2,
        "design_pue": 1.3,
        "electricity_usd_per_mwh": 200,
        "grid": [{"quarter": "2026Q1", "mw": 100}],
    }
    svc = {
        "name": "chat",
        "model": "llama-3.1-70b",
        "users": 2e6,
        "queries_per_user_day": 10,
        "input_tokens": 1000,
        "output_tokens": 500,
    }
    data = base(quarters=1, sites=[cheap, dear], serving=[svc])
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    need = d.serving[0]["systems_at_reference"]["h100"]
    fits = math.floor(0.2 / (d.it_mw_per_system[0] * 1.3))
    assert need > fits > 0  # the instance is what the test says
    p = plan(data)
    got = installs_by(p, "site")
    assert got["cheap"] == fits
    assert got["dear"] == math.ceil(need - fits - 1e-9)
    power = p.power.set_index("site")
    assert power.loc["cheap", "facility_power_mw"] <= 0.2 + 1e-9
    assert "site cheap's power in 2026Q1" in " ".join(p.binding["words"])


def turbine_site(grid_quarter: str, lead: int) -> dict[str, Any]:
    return {
        "name": "A",
        "pue": 1.2,
        "design_pue": 1.3,
        "grid": [{"quarter": grid_quarter, "mw": 100}],
        "plants": [
            {
                "name": "turbines",
                "unit_mw": 0.05,
                "capex_usd_per_unit": 50_000,
                "max_units": 100,
                "lead_quarters": lead,
                "fuel_usd_per_mmbtu": 4.0,
                "heat_rate_btu_per_kwh": 9000,
            }
        ],
    }


def test_no_turbine_when_the_grid_arrives_in_time():
    p = plan(base(sites=[turbine_site("2026Q1", 1)], runs=[run("r", 10.5, "2026Q1", "2026Q2")]))
    assert p.status == "optimal"
    assert p.built.empty


def test_a_turbine_is_built_when_the_grid_is_too_late_and_only_after_its_lead_time():
    # grid from 2026Q3, run due by 2026Q2, turbines online one quarter after the decision:
    # nothing can run in 2026Q1, so all 10.5 system-quarters run in 2026Q2: 11 systems, and
    # turbines for their design-day peak: ceil(11 x IT MW x 1.3 / 0.05) units, online 2026Q2
    data = base(sites=[turbine_site("2026Q3", 1)], runs=[run("r", 10.5, "2026Q1", "2026Q2")])
    p = plan(data)
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    assert p.status == "optimal"
    assert installs_by(p, "quarter") == {"2026Q2": 11}
    units = math.ceil(11 * d.it_mw_per_system[0] * 1.3 / 0.05 - 1e-9)
    built = p.built.set_index("name").loc["turbines"]
    assert (built["units"], built["decided_quarter"], built["online_quarter"]) == (
        units,
        "2026Q1",
        "2026Q2",
    )
    assert p.energy["onsite_mwh"].sum() > 0


def test_all_units_of_a_plant_built_is_a_binding_limit_in_words():
    site = turbine_site("2026Q3", 1)
    site["plants"][0]["max_units"] = 10  # 10 x 0.01 MW: less than 11 systems' 0.16 MW peak
    site["plants"][0]["unit_mw"] = 0.01
    data = base(sites=[site], runs=[run("r", 10.5, "2026Q1", "2026Q2")])
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    assert 10 * 0.01 < 11 * d.it_mw_per_system[0] * 1.3
    p = plan(data)
    assert p.status == "infeasible"
    relax = p.relaxations.set_index("limit")
    units = math.ceil(11 * d.it_mw_per_system[0] * 1.3 / 0.01 - 1e-9)
    assert relax.loc["site A's turbines units", "needed"] == units
    site["plants"][0]["max_units"] = units
    p = plan(base(sites=[site], runs=[run("r", 10.5, "2026Q1", "2026Q2")]))
    assert "site A's turbines: all " + str(units) + " units built" in list(p.binding["words"])


def test_a_turbine_longer_than_the_deadline_allows_makes_it_infeasible_with_relaxations():
    data = base(sites=[turbine_site("2026Q3", 2)], runs=[run("r", 10.5, "2026Q1", "2026Q2")])
    p = plan(data, relax_time_limit_s=60)
    assert p.status == "infeasible"
    relax = p.relaxations.set_index("limit")
    assert relax.loc["site A's turbines lead time", "needed"] == 1
    assert relax.loc["site A's grid from 2026Q3", "words"] == (
        "site A's grid date from 2026Q3 to 2026Q2 (100 MW)"
    )
    assert relax.loc["run r's deadline", "needed"] == 2
    # following each piece of advice as written works
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    for name, row in relax.iterrows():
        assert is_feasible(with_limit(d, name, row["needed"]), 30), name


def test_systems_retire_after_their_service_life():
    # a constant service over 4 quarters on chips that last 2 quarters: bought twice
    svc = {"name": "chat", "model": "llama-3.1-70b", "users": 1e6}
    data = base(serving=[svc], supply={"h100": {"service_life_years": 0.5}})
    p = plan(data)
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    n = math.ceil(d.serving[0]["systems_at_reference"]["h100"] - 1e-9)
    rows = p.installs.set_index("quarter")
    assert rows.loc["2026Q1", "systems"] == n
    assert rows.loc["2026Q3", "systems"] == n
    assert rows.loc["2026Q3", "retired_systems"] == n
    assert (rows["running_systems"] == n).all()


def test_a_delivery_limit_binds_and_shifts_installs_to_later_quarters():
    # 59.5 system-quarters over 4 quarters: unlimited, 15 systems in 2026Q1 (4 x 15 >= 59.5).
    # 80 GPUs (10 systems) a quarter: 10 in Q1 give 40, the other 19.5 need 7 more systems from
    # Q2 (3 x 7 = 21) or 6 in Q2 + 1 in Q3 (18 + 2 = 20): 17 systems either way.
    data = base(runs=[run("r", 59.5, "2026Q1", "2026Q4")])
    free = plan(data)
    assert installs_by(free, "quarter") == {"2026Q1": 15}
    limited = plan({**data, "supply": {"h100": {"deliveries_gpus": 80}}})
    got = installs_by(limited, "quarter")
    assert got["2026Q1"] == 10
    assert sum(got.values()) == 17
    assert set(got) - {"2026Q1"}
    assert "h100 deliveries by 2026Q1" in " ".join(limited.binding["words"])


@pytest.mark.parametrize(("ratio", "served"), [(0.5, 0.0), (2.0, 1.0)])
def test_unmet_demand_appears_only_when_its_price_is_below_the_cost_of_serving(ratio, served):
    svc = {
        "name": "chat",
        "model": "llama-3.1-70b",
        "users": 1e6,
        "queries_per_user_day": 10,
        "input_tokens": 1000,
        "output_tokens": 500,
    }
    data = base(
        quarters=1,
        serving=[svc],
        sites=[
            {
                "name": "A",
                "pue": 1.2,
                "design_pue": 1.3,
                "electricity_usd_per_mwh": 0,
                "grid": [{"quarter": "2026Q1", "mw": 100}],
            }
        ],
    )
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    systems = math.ceil(d.serving[0]["systems_at_reference"]["h100"] - 1e-9)
    serving_usd = systems * d.price_usd_per_system[0, 0]  # free electricity
    mtokens = d.serving[0]["tokens_per_quarter_at_reference"] / 1e6
    svc["unmet_usd_per_million_tokens"] = ratio * serving_usd / mtokens
    p = plan(data)
    assert p.serving["served_share"].iloc[0] == pytest.approx(served, abs=1e-6)


# --- consistency with the single-site optimiser ------------------------------------------


@pytest.mark.parametrize("stated", [True, False], ids=["goodput-stated", "goodput-of-N"])
def test_one_site_one_quarter_matches_the_single_site_optimiser_on_gtc2024_h100(stated):
    from planner.optimization import optimize
    from planner.scenarios import load_scenario

    sc = load_scenario("data/scenarios/gtc2024.toml")  # states goodput 0.90
    if not stated:
        sc = sc.with_run(0, goodput=None)  # goodput(N) of the failure model, hot spares bought
    single = optimize(sc.with_candidates(["h100"]))
    p = plan_buildout(from_scenario(sc, chips=["h100"]), mip_rel_gap=TIGHT)
    row = single.runs.reset_index().iloc[0]
    spare_systems = int(row["spare_gpus"]) // 8
    assert (spare_systems == 0) == stated
    got = p.installs.iloc[0]
    assert (got["chip"], got["systems"], got["gpus"]) == (
        "h100",
        int(row["systems"]) + spare_systems,
        int(row["gpus"] + row["spare_gpus"]),
    )
    assert p.power["facility_power_mw"].iloc[0] == pytest.approx(row["facility_power_mw"], 1e-9)
    assert p.goodput_loop["converged"] and single.goodput_loop["converged"]
    if not stated:  # the same goodput(N) at the same GPUs in both
        g = p.goodput.iloc[0]
        assert g["gpus"] == row["gpus"] and g["goodput"] == pytest.approx(row["goodput"], 1e-12)
    # GTC 2024: 8,000 H100 and 15 MW for 90 days, within 10%
    assert got["gpus"] == pytest.approx(8_000, rel=0.10)
    assert p.power["facility_power_mw"].iloc[0] == pytest.approx(15.0, rel=0.10)


def test_a_grid_too_small_is_infeasible_in_both_and_the_relaxation_covers_the_optimisers():
    from planner.optimization import optimize
    from planner.scenarios import load_scenario

    sc = load_scenario("data/scenarios/gtc2024_10mw_h100.toml")
    single = optimize(sc)
    p = plan_buildout(from_scenario(sc), mip_rel_gap=TIGHT)
    assert single.status == p.status == "infeasible"
    grid = p.relaxations.set_index("limit").loc["site 10 MW site's grid MW from 2026Q1"]
    needed = single.relaxations.loc["grid_limit_mw"]["needed"]
    assert needed <= grid["needed"] <= needed * 1.1
    assert grid["words"] == "site 10 MW site's grid from 2026Q1: 10 MW to 15 MW"


# --- diagnosis protocol ------------------------------------------------------------------


def test_limits_have_plain_names_and_with_limit_changes_only_a_copy():
    d = build_data(load_buildout("small-hand-checkable"))
    names = [lim.name for lim in limits(d)]
    assert "site B's grid from 2026Q3" in names
    assert "run model-a's deadline" in names
    changed = with_limit(d, "site B's grid from 2026Q3", 0)
    assert changed.grid_mw()[1, 0] == 25.0
    assert d.grid_mw()[1, 0] == 5.0


def hundredfold_small_example() -> dict[str, Any]:
    """The shipped small example with its run's FLOPs x100: neither its sites' grid, nor its
    chip deliveries, nor its deadline alone can carry it."""
    data = load_buildout("small-hand-checkable").model_dump(exclude_none=True)
    data["runs"][0]["flops"] *= 100
    return data


def test_a_run_of_100x_the_flops_names_what_binds_and_following_every_relaxation_fits():
    data = hundredfold_small_example()
    p = plan_buildout(buildout_from_dict(copy.deepcopy(data)), relax_time_limit_s=120)
    assert p.status == "infeasible"
    relax = p.relaxations
    assert not relax.empty, p.notes
    # no limit alone is enough: one combination, to be followed together
    assert relax["together"].all()
    assert "all are followed together" in " ".join(p.notes)
    assert set(p.binding["limit"]) == set(relax["limit"])
    assert all(w.endswith("(with the others listed, no plan exists)") for w in p.binding["words"])
    # following every relaxation as written (the rounded amounts) gives a plan
    d = build_data(buildout_from_dict(copy.deepcopy(data)))
    for row in relax.itertuples():
        d = with_limit(d, row.limit, row.needed)
    assert is_feasible(d, 60)
    # and each part is needed: without any one of them (the others followed), no plan
    for left_out in relax["limit"]:
        d = build_data(buildout_from_dict(copy.deepcopy(data)))
        for row in relax.itertuples():
            if row.limit != left_out:
                d = with_limit(d, row.limit, row.needed)
        assert is_feasible(d, 60) is False, left_out


def test_the_buildout_is_relaxable_through_the_shared_diagnosis_protocol():
    from planner.optimization.buildout.diagnose import BuildoutDiagnosis
    from planner.optimization.diagnose import Diagnosable, Relaxable, binding_tests, binds

    d = build_data(load_buildout("small-hand-checkable"))
    model = BuildoutDiagnosis(d, objective="cost", mip_rel_gap=TIGHT)
    assert isinstance(model, Diagnosable) and isinstance(model, Relaxable)
    base_cost = model.resolve().objective
    tests, _ = binding_tests(model, base_cost)
    # a deadline one quarter later lets the GB200 deliveries of 2026Q3 carry the run cheaper;
    # 10% more of any grid or delivery is proven to buy nothing
    assert binds(base_cost, tests["run model-a's deadline"], model.improves) is True
    assert binds(base_cost, tests["site A's grid MW from 2026Q1"], model.improves) is False
    assert binds(base_cost, tests["h100 deliveries"], model.improves) is False
    # setting a factor twice sets it, it does not multiply
    twice = model.with_value("h100 deliveries", 10.0).with_value("h100 deliveries", 1.0)
    assert (twice.data.deliveries_gpus == d.deliveries_gpus).all()


# --- read-back --------------------------------------------------------------------------------


def test_solver_noise_below_zero_reads_back_as_zero_power_after_the_run_ends():
    from planner.optimization.buildout import readback
    from planner.optimization.buildout.formulation import build_model

    d = build_data(load_buildout("small-hand-checkable"))
    m = build_model(d)
    assert solve_pyomo(m, mip_rel_gap=TIGHT).status == "optimal"
    a, h100 = d.sites.index("A"), d.chips.index("h100")
    assert m.running[a, h100, 2].value == pytest.approx(0.0, abs=1e-9)  # the run has ended
    # what HiGHS may return within its tolerances: 45.000001 systems retired of 45
    m.running[a, h100, 2].set_value(-1e-6, skip_validation=True)
    m.running[a, h100, 3].set_value(-0.0, skip_validation=True)
    power = readback.power(m, d)
    after = power[(power["site"] == "A") & power["quarter"].isin(["2026Q3", "2026Q4"])]
    assert (after[["it_power_mw", "facility_power_mw", "sustained_power_mw"]] == 0.0).all().all()
    assert not (power.select_dtypes("number") < 0).any().any()
    # a value far below zero is not noise: it is left for the tests to see
    m.running[a, h100, 2].set_value(-0.5, skip_validation=True)
    assert readback.power(m, d).loc[2, "it_power_mw"] < 0


# --- shipped examples ---------------------------------------------------------------------


def test_examples_are_shipped_by_name():
    assert {"campus-2026-2030", "small-hand-checkable"} <= set(example_names())


def test_small_hand_checkable_example_solves_to_whole_systems():
    p = plan_buildout("small-hand-checkable", mip_rel_gap=TIGHT)
    assert p.status == "optimal"
    # 2e24 FLOPs at MFU 0.4 x goodput 0.9 on H100 (989 TFLOP/s x 8): 8,127 system-days over
    # 182.6 days = 44.5 -> 45 DGX H100 at the cheap site A (10 MW grid) in 2026Q1
    assert installs_by(p, "site", "chip", "quarter") == {("A", "h100", "2026Q1"): 45}
    payload = p.to_dict()
    assert payload["status"] == "optimal" and payload["installs"][0]["systems"] == 45


# --- bad input: one line naming the field ------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda d: d["sites"][0]["grid"].extend(
                [{"quarter": "2026Q3", "mw": 5}, {"quarter": "2026Q2", "mw": 5}]
            ),
            "sites[0].grid[2].quarter",
        ),
        (lambda d: d["runs"].append(run("r", 1, "2026Q3", "2026Q2")), "runs[0].deadline"),
        (lambda d: d["sites"][0]["grid"][0].update(mw=-5), "sites[0].grid[0].mw"),
        (lambda d: d.update(chips=["h100", "h999"]), "chips[1]"),
        (
            lambda d: d["sites"][0].update(
                plants=[
                    {
                        "name": "t",
                        "unit_mw": 50,
                        "capex_usd_per_unit": 1,
                        "max_units": 1,
                        "lead_quarters": 9,
                        "fuel_usd_per_mmbtu": 4,
                        "heat_rate_btu_per_kwh": 9000,
                    }
                ]
            ),
            "sites[0].plants[0].lead_quarters",
        ),
        (lambda d: d.update(quarters=41), "quarters"),
        (lambda d: d.update(start="2026Q5"), "start"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(change, field):
    data = base()
    change(data)
    with pytest.raises(InputError) as info:
        buildout_from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{field} = "), message


def test_a_negative_mw_is_shown_as_given():
    data = base()
    data["sites"][0]["grid"][0]["mw"] = -5.25
    with pytest.raises(InputError, match=r"= -5\.25 is not allowed"):
        buildout_from_dict(data)


# --- objectives -----------------------------------------------------------------------------


def test_finish_brings_the_named_run_forward_and_cost_keeps_it_cheap():
    # 10.5 system-quarters, window 2026Q1-2026Q4: the cheapest plan buys 3 systems (2 x 4
    # quarters = 8 is too little) and finishes in 2026Q4; the earliest finish is 2026Q1 with
    # 11 systems (10.5 system-quarters inside one quarter)
    data = base(runs=[run("r", 10.5, "2026Q1", "2026Q4")], finish_run="r")
    cheap = plan(data)
    assert sum(installs_by(cheap, "quarter").values()) == 3
    assert cheap.runs.set_index("run").loc["r", "finish_quarter"] == "2026Q4"
    fast = plan(data, objective="finish")
    assert fast.status == "optimal"
    assert installs_by(fast, "quarter") == {"2026Q1": 11}
    assert fast.runs.set_index("run").loc["r", "finish_quarter"] == "2026Q1"


def test_compute_under_a_yearly_budget_buys_what_the_budget_allows_at_once():
    d = build_data(buildout_from_dict(base()))
    price = d.price_usd_per_system[0, 0]
    p = plan(base(budget_usd_per_year=10.5 * price), objective="compute")
    assert p.status == "optimal"
    assert installs_by(p, "quarter") == {"2026Q1": 10}
    assert any(w.startswith("the yearly budget in year 1") for w in p.binding["words"])
    expected = 10 * d.pflops_per_system[0] * 4 * DAYS_PER_QUARTER / 1e3
    assert p.totals["compute_eflop_days"] == pytest.approx(expected, rel=1e-9)


def test_the_campus_example_bridges_the_late_texas_grid_with_turbines():
    p = plan_buildout("campus-2026-2030")
    assert p.status == "optimal"
    assert p.gap is not None and p.gap <= 0.01
    built = p.built.set_index("site")
    assert built.loc["TX", "kind"] == "gas-turbine"
    # the frontier-2028 run is due by 2028Q3 at TX, whose big grid step arrives in 2028Q3
    assert built.loc["TX", "online_quarter"] <= "2028Q1"
    assert (p.runs["finish_quarter"] <= p.runs["deadline_quarter"]).all()
    # and the bridge is needed: without TX's turbines no plan meets every deadline
    data = tomllib.loads(CAMPUS.read_text(encoding="utf-8"))
    for site in data["sites"]:
        if site["name"] == "TX":
            for plant in site.get("plants", []):
                plant["max_units"] = 0
    assert plan_buildout(buildout_from_dict(data), relax=False).status == "infeasible"


def test_serving_from_named_regions_uses_only_their_sites():
    # the cheap site is in the wrong region: the service is served from the dear one
    cheap = {
        "name": "cheap",
        "region": "eu",
        "pue": 1.2,
        "electricity_usd_per_mwh": 20,
        "grid": [{"quarter": "2026Q1", "mw": 100}],
    }
    dear = {
        "name": "dear",
        "region": "us",
        "pue": 1.2,
        "electricity_usd_per_mwh": 200,
        "grid": [{"quarter": "2026Q1", "mw": 100}],
    }
    svc = {"name": "chat", "model": "llama-3.1-70b", "users": 1e6, "regions": ["us"]}
    p = plan(base(quarters=1, sites=[cheap, dear], serving=[svc]))
    assert set(installs_by(p, "site")) == {"dear"}
    with pytest.raises(InputError, match=r"^serving\[0\]\.regions\[0\] = 'asia'"):
        buildout_from_dict(base(sites=[cheap], serving=[{**svc, "regions": ["asia"]}]))
