"""The joint optimiser: inference services beside training runs under one grid (issue 12).

Reference (tests/test_serving.py, a brute force over the same coefficient rows): the GTC 2024
run (NVIDIA GTC 2024 keynote: 1.8T GPT-MoE, 90 days) and a Llama 3.1 70B chat service for
100 million users, both at the whole cluster capex (``candidates.pricing = "capex"``, the
example's; the former name "buy")
with the prices of data/chip_economics.csv, except MI300X at a buyer's USD 12,500 per GPU
(Citi 2024: USD 10,000-15,000; at the listed USD 25,734 GB200 is the cheapest chip for the
service at any grid and nothing binds). Peaks on the grid at the design-day PUE, derived from
the annual one (1.10 -> 1.15 for the GB200 hall, 1.20 -> 1.30 for the service). Ample grid:
GB200 for the run, MI300X for the service, 4.25 + 7.62 = 11.87 MW. At 10 MW the grid binds
for the service, which moves to GB200: 4.25 + 5.32 = 9.57 MW at a higher cost. At 8 MW nothing
fits. Every installed solver must give the same answer.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from pathlib import Path

import pytest

from planner.errors import CatalogError
from planner.optimization import (
    available_solvers,
    build_model,
    coefficient_range,
    optimize,
    solve,
)
from planner.scenarios import load_scenario, scenario_from_dict

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "joint-training-serving.toml"
#: A buyer's MI300X price (Citi 2024 estimate USD 10,000-15,000 per GPU, midpoint).
MI300X_USD_PER_GPU = 12_500.0


def _data() -> dict:
    """The shipped example with the MI300X price above (see the module docstring)."""
    data = tomllib.loads(EXAMPLE.read_text())
    data["candidates"]["price_usd_per_gpu"] = {"mi300x": MI300X_USD_PER_GPU}
    return data


SOLVERS = available_solvers()
RUN, SERVICE = "gpt-moe-1.8t", "chat"


@pytest.fixture(scope="module")
def joint():
    return scenario_from_dict(_data(), source=str(EXAMPLE))


def _brute_force(m, grid_mw: float):
    """Cheapest (run chip, service chip) at whole systems for the peak/deadline, or None."""
    opt = m.options
    best = None
    run_chips = list(opt.loc[RUN].index)
    svc_chips = list(opt.loc[SERVICE].index)
    for c_run, c_svc in itertools.product(run_chips, svc_chips):
        t, s = opt.loc[(RUN, c_run)], opt.loc[(SERVICE, c_svc)]
        n_t = math.ceil(t["systems_needed"] * (1 - 1e-12))
        n_s = math.ceil(s["systems_needed"] * (1 - 1e-12))
        grid = n_t * t["grid_power_mw_per_system"] + n_s * s["grid_power_mw_per_system"]
        if grid > grid_mw:
            continue
        cost = (
            n_t * t["capex_usd_per_system"]
            + t["run_cost_usd"]
            + n_s * (s["capex_usd_per_system"] + s["cost_usd_per_system"])
            + s["run_cost_usd"]
        )
        if best is None or cost < best[0]:
            best = (cost, {RUN: c_run, SERVICE: c_svc}, grid)
    return best


def _chips(plan) -> dict[str, str]:
    return {run: chip for run, chip in plan.runs.index}


@pytest.mark.parametrize("solver", SOLVERS)
def test_ample_grid_puts_the_run_on_gb200_and_the_service_on_mi300x(joint, solver) -> None:
    plan = solve(build_model(joint.with_grid_limit(1_000.0)), solver=solver)
    assert plan.status == "optimal"
    assert _chips(plan) == {RUN: "gb200", SERVICE: "mi300x"}
    assert plan.totals["grid_power_mw"] == pytest.approx(11.87, abs=0.01)
    grid = plan.constraints.loc["grid_limit_mw"]
    assert grid["binding"] is False and grid["binds_for"] == ""


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_10_mw_grid_binds_for_the_service_which_moves_to_gb200(joint, solver) -> None:
    ample = solve(build_model(joint.with_grid_limit(1_000.0)), solver=solver)
    plan = solve(build_model(joint), solver=solver)
    assert plan.status == "optimal" and joint.site.grid_limit_mw == 10
    assert _chips(plan) == {RUN: "gb200", SERVICE: "gb200"}
    assert plan.totals["grid_power_mw"] == pytest.approx(9.57, abs=0.01)
    assert plan.totals["cost_usd"] > ample.totals["cost_usd"]
    grid = plan.constraints.loc["grid_limit_mw"]
    assert grid["binding"] is True
    assert grid["binds_for"] == SERVICE  # the run keeps its chip and count
    assert grid["objective_without_limit"] == pytest.approx(ample.totals["cost_usd"], rel=1e-9)
    assert "grid_limit_mw (for chat)" in plan.message
    service = plan.runs.loc[(SERVICE, "gb200")]
    assert service["workload"] == "service" and service["systems"] >= service["systems_needed"]
    assert plan.runs.loc[(RUN, "gb200"), "workload"] == "run"


@pytest.mark.parametrize("solver", SOLVERS)
def test_8_mw_fits_nothing_and_says_how_much_grid_is_missing(joint, solver) -> None:
    plan = solve(build_model(joint.with_grid_limit(8.0)), solver=solver)
    assert plan.status == "infeasible"
    grid = plan.relaxations.loc["grid_limit_mw"]
    assert grid["works"] and grid["needed"] == pytest.approx(9.57, abs=0.01)


@pytest.mark.parametrize("grid_mw", [8.0, 9.8, 10.0, 11.95, 50.0])
def test_the_milp_equals_a_brute_force_over_the_same_rows(joint, grid_mw) -> None:
    m = build_model(joint.with_grid_limit(grid_mw))
    best = _brute_force(m, grid_mw)
    for solver in SOLVERS:
        plan = solve(m, solver=solver, relaxations=False, comparison=False, binding=False)
        if best is None:
            assert plan.status == "infeasible"
            continue
        assert plan.status == "optimal"
        assert _chips(plan) == best[1]
        assert plan.totals["cost_usd"] == pytest.approx(best[0], rel=1e-9)
        assert plan.totals["grid_power_mw"] == pytest.approx(best[2], rel=1e-9)


def test_the_reference_rows_match_the_serving_plan_table(joint) -> None:
    """The service rows are planner.serving_plan's at the serving hall's PUE 1.2 and the
    scenario's pricing (capex) and prices, so the example reproduces
    tests/test_serving.py's reference."""
    from planner.serving import ServingAssumptions, ServingDemand
    from planner.serving_plan import ServiceSpec, service_options

    m = build_model(joint)
    spec = [ServiceSpec(SERVICE, ServingDemand(1e8, 10, 500, 400), model="llama-3.1-70b")]
    base = ServingAssumptions.defaults().with_("test", pricing="capex")
    for chip in ("h100", "gb200", "mi300x"):
        price = MI300X_USD_PER_GPU if chip == "mi300x" else None
        ref, _ = service_options(
            spec, [chip], assumptions=base.with_("test", price_usd_per_gpu=price)
        )
        ours, theirs = m.options.loc[(SERVICE, chip)], ref.loc[(SERVICE, chip)]
        for column in (
            "systems_needed",
            "grid_power_mw_per_system",
            "capex_usd_per_system",
            "cost_usd_per_system",
            "run_cost_usd",
        ):
            assert ours[column] == pytest.approx(theirs[column], rel=1e-12), column
        assert ours["pricing"] == "capex"


def test_each_pricing_charges_a_service_as_planner_serve_does(joint) -> None:
    """candidates.pricing amortized, capex, rent (and the former names auto = amortized,
    buy = capex): the plan's service row costs what `planner serve` says for a year
    (horizon_years = 1) at the fleet's systems."""
    from planner.serving import ServingDemand, serve

    for legacy, pricing in (
        ("amortized", "amortized"),
        ("capex", "capex"),
        ("rent", "rent"),
        ("auto", "amortized"),
        ("buy", "capex"),
    ):
        data = _data()
        data["candidates"]["pricing"] = legacy
        data["candidates"]["supply_gpus"] = {"h100": 1_000_000}
        data["candidates"]["chips"] = ["h100"]
        data["site"]["grid_limit_mw"] = 1_000
        plan = solve(
            build_model(scenario_from_dict(data)),
            relaxations=False,
            comparison=False,
            binding=False,
        )
        assert plan.status == "optimal"
        row = plan.runs.loc[(SERVICE, "h100")]
        ref = serve(
            "h100",
            ServingDemand(1e8, 10, 500, 400),
            model="llama-3.1-70b",
            pricing=pricing,
            pue=1.2,
        )
        assert row["pricing"] == pricing and row["systems"] == ref.systems
        assert row["cost_usd"] == pytest.approx(float(ref.cost_usd), rel=1e-9), pricing
        if pricing == "rent":  # off site: no grid, the rent holds the power
            assert row["grid_power_mw"] == 0 and row["electricity_usd"] == 0
        else:
            assert row["grid_power_mw"] == pytest.approx(float(ref.facility_power_mw))
            assert row["electricity_usd"] == pytest.approx(float(ref.electricity_cost_usd))


def test_services_use_the_site_halls_without_their_own_pue(joint) -> None:
    # without services[0].pue the service sits in the site's halls: MI300X (air) in
    # colocation-air (design-day 1.525), GB200 (liquid) in hyperscale-liquid (1.15), instead of
    # the serving hall's annual 1.20 (design-day 1 + 0.2 x 1.5 = 1.30) on the grid
    data = _data()
    del data["services"][0]["pue"]
    s = scenario_from_dict(data)
    m, ref = build_model(s), build_model(joint)
    for chip, design in (("mi300x", 1.525), ("gb200", 1.15)):
        ratio = (
            m.options.loc[(SERVICE, chip), "grid_power_mw_per_system"]
            / ref.options.loc[(SERVICE, chip), "grid_power_mw_per_system"]
        )
        assert ratio == pytest.approx(design / 1.30, rel=1e-9)


def test_the_design_day_pue_scales_a_service_on_the_grid_like_a_run(joint) -> None:
    # without site.design_pue the service's peak is at the DERIVED design-day PUE of its hall
    # (MI300X air 1.35 -> 1 + 0.35 x 1.5 = 1.525); with it, at the site's 1.5 (max(1.5, 1.35))
    data = _data()
    del data["services"][0]["pue"]
    derived = build_model(scenario_from_dict(data)).options.loc[(SERVICE, "mi300x")]
    data["site"]["design_pue"] = {"air": 1.5, "liquid": 1.2}
    given = build_model(scenario_from_dict(data)).options.loc[(SERVICE, "mi300x")]
    assert given["grid_power_mw_per_system"] == pytest.approx(
        derived["grid_power_mw_per_system"] * 1.5 / 1.525, rel=1e-12
    )
    assert given["facility_power_mw_per_system"] == given["grid_power_mw_per_system"]
    assert given["energy_mwh_per_system"] == derived["energy_mwh_per_system"]  # annual PUE


def test_the_joint_matrix_stays_within_the_scaled_range(joint) -> None:
    for goal in ("cost", "power", "energy", "emissions", "gpus"):
        r = coefficient_range(build_model(joint, objective=goal))
        assert 1e-4 <= r.matrix_min and r.matrix_max <= 1e4, (goal, r)
        assert 1e-4 <= r.objective_min and r.objective_max <= 1e4, (goal, r)


@pytest.mark.parametrize("objective", ["power", "energy", "gpus", "time"])
def test_every_objective_keeps_the_service_at_its_peak(joint, objective) -> None:
    plan = optimize(joint.with_grid_limit(50.0), objective=objective)
    assert plan.status == "optimal"
    service = plan.runs[plan.runs["workload"] == "service"]
    assert len(service) == 1
    row = service.iloc[0]
    assert row["systems"] >= math.ceil(row["systems_needed"] * (1 - 1e-12))
    if objective == "time":  # the run finishes early; the service is not scaled
        assert plan.totals["longest_fraction_of_deadline"] < 1


def test_mixed_chips_share_a_service_between_chips_and_keep_every_total(joint) -> None:
    plan = optimize(joint, allow_mixed_chips=True)
    assert plan.status == "optimal"
    served = plan.runs.xs(SERVICE, level="run")
    assert served["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert plan.totals["grid_power_mw"] <= 10 * (1 + 1e-9)


def test_a_scenario_without_services_has_the_old_columns() -> None:
    m = build_model(load_scenario(EXAMPLE.parent / "gtc2024.toml"))
    assert "workload" not in m.options.columns and m.services == ()
    plan = solve(m, relaxations=False)
    assert "workload" not in plan.runs.columns
    assert "binds_for" not in plan.constraints.columns


def test_json_holds_the_service_rows_and_binds_for(joint) -> None:
    payload = json.loads(json.dumps(optimize(joint).to_dict(), allow_nan=False))
    rows = {r["run"]: r for r in payload["runs"]}
    assert rows[SERVICE]["workload"] == "service" and rows[RUN]["workload"] == "run"
    grid = next(c for c in payload["constraints"] if c["constraint"] == "grid_limit_mw")
    assert grid["binds_for"] == SERVICE


def _with_service(**changes):
    data = _data()
    data["services"][0].update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"users": 0}, "services[0].users", "0 is not allowed: expected a number in [1, 1e+11]"),
        ({"model": "gpt-9"}, "services[0].model", "'gpt-9' is not allowed: expected an id"),
        ({"name": RUN}, "services[0].name", "names must be unique (runs and services)"),
        ({"params": 7e10}, "services[0]", "give model or params, not both"),
        ({"tpot_target_s": True}, "services[0].tpot_target_s", "is not allowed"),
        ({"pue": "no-such-hall"}, "services[0].pue", "'no-such-hall' is not allowed"),
    ],
)
def test_a_bad_service_names_the_field(changes, field, words) -> None:
    with pytest.raises(CatalogError) as err:
        scenario_from_dict(_with_service(**changes), source="joint.toml")
    text = str(err.value)
    assert f"field '{field}'" in text and words in text


def test_too_many_services_are_refused() -> None:
    data = _data()
    one = data["services"][0]
    data["services"] = [{**one, "name": f"s{i}"} for i in range(101)]
    with pytest.raises(CatalogError, match="services"):
        scenario_from_dict(data)


@pytest.mark.parametrize("solver", SOLVERS)
def test_time_with_mixed_chips_speeds_the_run_and_keeps_the_service_at_its_peak(
    joint, solver
) -> None:
    plan = optimize(joint, objective="time", allow_mixed_chips=True, solver=solver)
    assert plan.status == "optimal"
    assert plan.totals["longest_fraction_of_deadline"] < 1  # the run beats its 90 days
    assert plan.totals["grid_power_mw"] <= 10 * (1 + 1e-9)
    served = plan.runs[plan.runs["workload"] == "service"]
    assert served["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert (served["systems"] >= served["systems_needed"] * (1 - 1e-9)).all()


def test_a_longer_horizon_costs_more_running_energy(joint) -> None:
    data = _data()
    data["site"]["horizon_years"] = 3
    three = build_model(scenario_from_dict(data)).options.loc[(SERVICE, "mi300x")]
    one = build_model(joint).options.loc[(SERVICE, "mi300x")]
    assert three["energy_mwh_per_system"] == pytest.approx(3 * one["energy_mwh_per_system"])
    assert three["systems_needed"] == one["systems_needed"]  # the peak does not change


def test_an_infeasible_joint_plan_offers_a_share_of_the_users_that_fits(joint) -> None:
    # 8 MW: the run on GB200 takes 28 racks x 0.1518 MW = 4.25 MW at the design-day PUE 1.15,
    # leaving 3.75 MW, i.e. 21 of the 31.6 GB200 racks the service needs at its peak
    # (0.1716 MW each at the design-day 1.30): about two thirds of the users
    plan = optimize(joint.with_grid_limit(8.0))
    users = plan.relaxations.loc["services.chat.users"]
    assert users["works"] and 0.62 <= users["needed"] / 1e8 <= 0.70
    smaller = joint.with_grid_limit(8.0).with_service(0, users=float(users["needed"]))
    assert optimize(smaller).feasible  # the advice works as written
    tpot = plan.relaxations.loc["services.chat.tpot_target_s"]
    assert tpot["current"] == pytest.approx(0.05)  # data/assumptions.csv default TPOT
    assert "of chat's users" in plan.message


def _example_file(tmp_path: Path) -> Path:
    """The example with the MI300X price of :func:`_data`, as a scenario file."""
    from planner.data_errors import dump_toml

    path = tmp_path / "joint.toml"
    path.write_text(dump_toml(_data()))
    return path


def test_the_cli_prints_the_service_row_and_whom_the_grid_binds_for(capsys, tmp_path) -> None:
    from planner.cli import main

    assert main(["optimize", str(_example_file(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "service" in out and "binds for" in out
    assert "grid_limit_mw (for chat)" in out.replace("\n", " ")


def test_the_plan_report_lists_the_service_and_binds_for(tmp_path) -> None:
    from planner.reports.plan import build_plan_report

    report = build_plan_report(_example_file(tmp_path))
    tables = {t.name: t for t in report.tables}
    rows = {r["run"]: r for r in tables["runs"].rows}
    assert rows[SERVICE]["workload"] == "service" and rows[SERVICE]["wh_per_query"] > 0
    grid = next(r for r in tables["constraints"].rows if r["constraint"] == "grid_limit_mw")
    assert grid["binds_for"] == SERVICE


# --- pricing (issue 10): the shipped example as written, and the up-front spend ---------------


@pytest.mark.parametrize("pricing", ["capex", "amortized", "rent"])
def test_the_shipped_example_puts_both_workloads_on_gb200_in_every_pricing(pricing) -> None:
    """At data/chip_economics.csv's prices (MI300X USD 25,734 per GPU, not the buyer's
    12,500 above) GB200 is the cheapest chip for the run AND the service at any grid and in
    every pricing: 4.25 + 5.32 = 9.57 MW, so the 10 MW grid does not bind (the example's
    comments say so)."""
    data = tomllib.loads(EXAMPLE.read_text())
    assert data["candidates"]["pricing"] == "capex"
    data["candidates"]["pricing"] = pricing
    if pricing == "rent":
        data["candidates"]["supply_gpus"] = {"gb200": 100_000}
    for grid_mw in (1_000.0, 10.0):
        data["site"]["grid_limit_mw"] = grid_mw
        plan = solve(build_model(scenario_from_dict(data)), comparison=False, relaxations=False)
        assert plan.status == "optimal" and plan.pricing == pricing
        assert _chips(plan) == {RUN: "gb200", SERVICE: "gb200"}
        on_site = 0.0 if pricing == "rent" else 9.57
        assert plan.totals["grid_power_mw"] == pytest.approx(on_site, abs=0.01)
        assert plan.totals["facility_power_mw"] == pytest.approx(9.57, abs=0.01)
        assert plan.constraints.loc["grid_limit_mw", "binding"] is False
        # 59 systems x GB200 capex (USD 309.6M; USD 312.3M with the electricity under capex)
        assert plan.totals["cluster_capex_usd"] == pytest.approx(309.6e6, rel=1e-3)
        if pricing == "capex":
            assert plan.totals["cost_usd"] == pytest.approx(312.3e6, rel=1e-3)
        else:  # a run of 87 days and one year of serving: far below the whole purchase
            assert plan.totals["cost_usd"] < 0.35 * plan.totals["cluster_capex_usd"]


def test_a_service_row_reports_its_up_front_capex_under_every_pricing(joint) -> None:
    """cluster_capex_usd_per_system of a service equals the capex the capex pricing charges
    (the same servers, networking and facility share), so under amortized and rent the plan
    still shows the up-front spend."""
    capex = build_model(joint).options
    for pricing in ("amortized", "rent"):
        data = _data()
        data["candidates"]["pricing"] = pricing
        other = build_model(scenario_from_dict(data)).options
        for chip in ("h100", "gb200", "mi300x"):
            key = (SERVICE, chip)
            assert other.loc[key, "capex_usd_per_system"] == 0
            assert other.loc[key, "cluster_capex_usd_per_system"] == pytest.approx(
                capex.loc[key, "capex_usd_per_system"], rel=1e-9
            )
            assert capex.loc[key, "cluster_capex_usd_per_system"] == pytest.approx(
                capex.loc[key, "capex_usd_per_system"], rel=1e-9
            )
