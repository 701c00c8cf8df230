"""goodput(N) in the linear optimisers: the fixed-point re-solve of
:mod:`planner.optimization.goodput_loop`, in the single-site optimiser and the build-out."""

from __future__ import annotations

import dataclasses
import json

import pytest

from planner.optimization import build_model, optimize
from planner.optimization.goodput_loop import (
    DAMP_FROM,
    AssumedGoodput,
    fixed_point,
)
from planner.scenarios import load_scenario, scenario_from_dict
from planner.sizing import size_training


def g(value: float, gpus: float = 8.0) -> AssumedGoodput:
    return AssumedGoodput(value, 0.01, gpus, 10.0, 600.0, 0.0)


# --- the generic loop ----------------------------------------------------------------------


def test_a_step_that_confirms_its_inputs_converges_at_the_first_solve():
    calls = []

    def step(assumed):
        calls.append(dict(assumed))
        return "plan", {"r": assumed["r"]}

    plan, assumed, report = fixed_point(step, {"r": g(0.95)})
    assert (plan, report.iterations, report.converged, len(calls)) == ("plan", 1, True, 1)


def test_the_loop_follows_the_measured_goodput_until_it_stops_moving():
    # goodput falls with the count the plan takes: 0.97 -> 0.95 -> 0.95
    seq = iter([g(0.95), g(0.94), g(0.94)])

    def step(assumed):
        return assumed["r"].goodput, {"r": next(seq)}

    plan, assumed, report = fixed_point(step, {"r": g(0.97)})
    assert report.converged and report.iterations == 3 and assumed["r"].goodput == 0.94


def test_two_alternating_plans_are_damped_to_the_lower_goodput_and_converge():
    # a plan at 0.95 makes the next count want 0.97, and that one 0.95 again, for ever
    def step(assumed):
        nxt = 0.97 if assumed["r"].goodput < 0.96 else 0.95
        return assumed["r"].goodput, {"r": g(nxt)}

    plan, assumed, report = fixed_point(step, {"r": g(0.95)})
    assert report.converged and report.iterations <= DAMP_FROM + 1
    assert assumed["r"].goodput == 0.95  # the lower one: deadlines still met


def test_a_loop_stopped_at_the_cap_says_it_did_not_converge():
    values = iter(0.99 - 0.01 * k for k in range(10))

    def step(assumed):
        return "plan", {"r": g(next(values))}

    plan, assumed, report = fixed_point(step, {"r": g(1.0)}, max_iterations=2)
    assert not report.converged and report.iterations == 2
    assert report.note().startswith("NOT CONVERGED")
    assert report.to_dict()["converged"] is False


# --- the single-site optimiser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def gtc_h100_of_n():
    sc = load_scenario("data/scenarios/gtc2024.toml").with_candidates(["h100"])
    return sc.with_run(0, goodput=None)


def test_a_run_without_a_stated_goodput_gets_goodput_of_its_chosen_gpus(gtc_h100_of_n):
    plan = optimize(gtc_h100_of_n)
    row = plan.runs.reset_index().iloc[0]
    spec = gtc_h100_of_n.runs[0]
    # the core's sizing at the plan's GPUs, goodput from the failure model
    ref = size_training(
        spec.training_run(),
        "h100",
        gpus=row["gpus"],
        assumptions=gtc_h100_of_n.assumptions_for(spec, plan_chip(plan)),
    )
    assert row["goodput"] == pytest.approx(float(ref.goodput), rel=1e-12)
    assert row["mtbf_hours"] == pytest.approx(ref.goodput_model["mtbf_hours"], rel=1e-12)
    assert row["checkpoint_interval_s"] == pytest.approx(
        ref.goodput_model["checkpoint_interval_s"], rel=1e-12
    )
    assert row["spare_gpus"] == ref.goodput_model["spare_gpus"] > 0
    assert 0.9 < row["goodput"] < 1 and row["days"] <= 90
    # hot spares are installed hardware: in the peak power (the core's own sizing)
    assert row["facility_power_mw"] == pytest.approx(float(ref.facility_power_mw), rel=1e-12)
    assert plan.goodput_loop["converged"] and plan.goodput_loop["iterations"] >= 1
    assert any("goodput(N)" in n and "stable" in n for n in plan.notes)
    # GTC 2024: 8,000 H100, 15 MW, 90 days, within 10%
    assert row["gpus"] + row["spare_gpus"] == pytest.approx(8_000, rel=0.10)
    assert row["facility_power_mw"] == pytest.approx(15.0, rel=0.10)


def plan_chip(plan):
    from planner.catalog import load_catalog

    return load_catalog().get(plan.runs.index[0][1])


def test_one_more_gpu_count_than_the_deadline_needs_lowers_the_goodput(gtc_h100_of_n):
    # the time objective buys more systems than the deadline needs: goodput(N) falls with N,
    # and the loop re-solves until the goodput stated is that of the larger count
    sc = gtc_h100_of_n
    base = optimize(sc)
    data = sc.model_dump()
    data["objective"] = "time"
    data["candidates"]["supply_gpus"] = {"h100": 10_000}
    timed = optimize(scenario_from_dict(data, source="test"))
    b, t = base.runs.iloc[0], timed.runs.iloc[0]
    assert t["gpus"] > b["gpus"] and t["goodput"] < b["goodput"]
    assert timed.goodput_loop["converged"]
    spec = sc.runs[0]
    a = sc.assumptions_for(spec, plan_chip(timed))
    ref = size_training(spec.training_run(), "h100", gpus=t["gpus"], assumptions=a)
    assert t["goodput"] == pytest.approx(float(ref.goodput), rel=1e-12)


def test_a_stated_goodput_is_kept_and_takes_no_part_in_the_loop():
    sc = load_scenario("data/scenarios/gtc2024.toml").with_candidates(["h100"])  # 0.90 stated
    model = build_model(sc)
    assert model.goodput == {}
    plan = optimize(sc)
    row = plan.runs.iloc[0]
    assert row["goodput"] == 0.90 and row["spare_gpus"] == 0
    assert plan.goodput_loop == {**plan.goodput_loop, "iterations": 1, "converged": True}


def test_the_plan_json_carries_each_runs_goodput_and_the_loop(gtc_h100_of_n):
    payload = json.loads(json.dumps(optimize(gtc_h100_of_n).to_dict(), allow_nan=False))
    run = payload["runs"][0]
    assert {"goodput", "mtbf_hours", "checkpoint_interval_s", "spare_gpus"} <= set(run)
    assert payload["goodput_loop"]["converged"] is True


def test_the_model_states_the_deadline_goodput_per_pair_with_its_spares_per_system(
    gtc_h100_of_n,
):
    model = build_model(gtc_h100_of_n)
    entry = model.goodput[("gpt-moe-1.8t", "h100")]
    spec = gtc_h100_of_n.runs[0]
    ref = size_training(
        spec.training_run(),
        "h100",
        days=90,
        assumptions=gtc_h100_of_n.assumptions_for(spec, plan_chip_id("h100")),
    )
    assert entry.goodput == float(ref.goodput) and entry.gpus == float(ref.gpus)
    assert entry.spares_per_gpu == ref.goodput_model["spare_gpus"] / float(ref.gpus)
    # one system's coefficients carry its share of spares: power x (1 + spares per GPU)
    stated = build_model(gtc_h100_of_n.with_run(0, goodput=entry.goodput))
    with_spares = model.options.loc[("gpt-moe-1.8t", "h100")]
    without = stated.options.loc[("gpt-moe-1.8t", "h100")]
    assert with_spares["facility_power_mw_per_system"] > without["facility_power_mw_per_system"]
    assert with_spares["systems_needed"] == pytest.approx(without["systems_needed"], rel=1e-12)


def plan_chip_id(chip_id):
    from planner.catalog import load_catalog

    return load_catalog().get(chip_id)


def test_assumed_goodput_equality_is_relative():
    a = g(0.95)
    assert a.same(dataclasses.replace(a, goodput=0.95 * (1 + 1e-12)))
    assert not a.same(dataclasses.replace(a, goodput=0.951))
    assert not a.same(None)


def test_whole_system_spares_make_a_small_cluster_with_a_longer_deadline_cost_more():
    # as planner size: hot spares are whole systems, so 1 spare DGX beside 5 (15 days) is a
    # larger share of the hardware-hours than 1 beside 7 (10 days): amortised cost rises
    def plan(days):
        s = scenario_from_dict(
            {
                "site": {"grid_limit_mw": 1.0, "pue": 1.0},
                "runs": [{"name": "r0", "flops": 1e22, "deadline_days": days}],
                "candidates": {"chips": ["h100"]},
            }
        )
        return optimize(s, objective="cost")

    short, long = plan(10), plan(15)
    a, b = short.runs.iloc[0], long.runs.iloc[0]
    assert (a["spare_gpus"], b["spare_gpus"]) == (8, 8) and b["systems"] < a["systems"]
    assert long.objective_value > short.objective_value


def test_an_infeasible_build_out_with_goodput_of_n_reports_no_plan_not_an_error():
    from planner.optimization.buildout import from_scenario, plan_buildout

    sc = load_scenario("data/scenarios/gtc2024_10mw_h100.toml").with_run(0, goodput=None)
    p = plan_buildout(from_scenario(sc), relax=False)
    assert p.status == "infeasible" and p.goodput.empty
    assert p.goodput_loop["iterations"] == 1


def test_a_settled_pair_keeps_its_stated_goodput_while_another_pair_moves():
    # "a" is measured within REL_TOL of what was stated: it stays as stated (the next model
    # changes only where the plan moved); "b" follows its measured goodput
    seen = []

    def step(assumed):
        seen.append(dict(assumed))
        b = g(0.93) if assumed["b"].goodput > 0.935 else assumed["b"]
        return "plan", {"a": g(0.95 * (1 + 5e-4)), "b": b}

    plan, assumed, report = fixed_point(step, {"a": g(0.95), "b": g(0.97)})
    assert report.converged and report.iterations == 2
    assert [s["a"].goodput for s in seen] == [0.95, 0.95]
    assert assumed["b"].goodput == 0.93


# --- the time objective's first guess --------------------------------------------------------


def test_the_time_objectives_first_guess_is_goodput_at_the_systems_for_the_lp_finish():
    # hand check of goodput_loop.cluster_at_finish on the benchmark's 5 runs x 13 chips: each
    # pair's new guess is the failure model's goodput (and spares) at ceil(days on one system
    # / min(deadline, finish)) whole systems, as planner size at that GPU count gives it
    import math

    from _many_runs import many_runs

    from planner.optimization.goodput_loop import cluster_at_finish, from_sizing

    model = build_model(many_runs(5), objective="time")
    finish = 20.0
    guess = cluster_at_finish(model, finish)
    assert set(guess) == set(model.goodput)
    specs = {r.name: r for r in model.scenario.runs}
    checked = 0
    for (run, chip_id), row in model.options.iterrows():
        if (run, chip_id) not in model.goodput:
            continue
        chip = model.catalog.get(chip_id)
        systems = math.ceil(row["days_on_one_system"] / min(row["deadline_days"], finish))
        systems = min(max(systems, row["min_systems"], 1), row["ceiling_systems"])
        alone = size_training(
            specs[run].training_run(),
            chip,
            gpus=systems * chip.gpus_per_system,
            assumptions=model.scenario.assumptions_for(specs[run], chip),
        )
        want = from_sizing(alone)
        got = guess[(run, chip_id)]
        assert got.gpus == want.gpus
        assert got.goodput == pytest.approx(want.goodput, rel=1e-12)
        assert got.spares_per_gpu == pytest.approx(want.spares_per_gpu, rel=1e-12)
        checked += 1
    assert checked >= 40
    # the finish far beyond every deadline: the deadline counts, a goodput at least as high
    late = cluster_at_finish(model, 1e9)
    assert all(late[k].gpus <= guess[k].gpus for k in late)


@pytest.mark.parametrize("mixed", [False, True])
def test_the_time_objective_with_goodput_of_n_settles_in_three_solves(mixed):
    # 20 runs x 13 chips: with the first guess at the LP's earliest finish the loop settles in
    # at most 3 solves (7 and 4 before), and the plan's runs end by their deadlines at the
    # goodput(N) of their own GPUs
    from _many_runs import many_runs

    from planner.optimization import solve

    model = build_model(many_runs(20), objective="time", allow_mixed_chips=mixed)
    plan = solve(model, relaxations=False, comparison=False)
    assert plan.status == "optimal" and plan.goodput_loop["converged"]
    assert plan.goodput_loop["iterations"] <= 3
    runs = plan.runs
    assert (runs["days"] <= runs["deadline_days"] * (1 + 1e-9)).all()
    assert plan.timings["mip_gap"] <= 1e-3 + 1e-12


def test_a_solve_stopped_by_the_time_limit_returns_the_previous_plan_not_converged():
    # solve 2 is stopped before it finds a plan (measured None): the loop keeps solve 1's
    # plan and says it stopped at the time limit, never "converged"
    seq = iter([("plan 1", {"r": g(0.95)}), ("no plan", None)])

    def step(assumed):
        return next(seq)

    plan, assumed, report = fixed_point(step, {"r": g(0.97)})
    assert plan == "plan 1" and assumed["r"].goodput == 0.97
    assert (report.iterations, report.converged, report.stopped_by) == (1, False, "the time limit")
    # stopped at the first solve: that solve's (planless) answer, not converged either
    plan, _, report = fixed_point(lambda a: ("no plan", None), {"r": g(0.97)})
    assert plan == "no plan" and not report.converged and report.stopped_by == "the time limit"


def test_the_damping_holds_a_pair_first_used_later_at_its_first_guess_never_above_its_own():
    # pair "b" is first used at solve 2 and measured 0.96 there, above its first guess 0.90:
    # the damping keeps 0.90 (stated below the goodput(N) of its GPUs: its runs end no later
    # than planned), and the loop says the counts were stable
    seq = iter([{"a": g(0.95)}, {"a": g(0.95), "b": g(0.96)}, {"a": g(0.95), "b": g(0.96)}])
    stated = []

    def step(assumed):
        stated.append({k: v.goodput for k, v in assumed.items()})
        return "plan", next(seq)

    _, assumed, report = fixed_point(step, {"a": g(0.99), "b": g(0.90)})
    assert stated[1] == {"a": 0.95, "b": 0.90}
    assert report.converged and report.iterations == 2
    assert assumed["b"].goodput == 0.90 <= 0.96
