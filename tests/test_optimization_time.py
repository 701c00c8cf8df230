"""The time objective as a new user meets it: the earliest latest finish, then the cheapest plan
within a tolerance; no run on more GPUs than it can use; mixed chips without slivers; every
count one the core accepts; advice that works when followed literally."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from planner.cli import main
from planner.optimization import (
    available_solvers,
    build_model,
    max_useful_gpus,
    optimize,
    solve,
)
from planner.scenarios import load_scenario, scenario_from_dict
from planner.sizing import MAX_GPUS

ROOT = Path(__file__).resolve().parents[1]
MY_SITE = ROOT / "data" / "scenarios" / "my_site.toml"


@pytest.fixture(params=available_solvers())
def solver(request) -> str:
    return request.param


def _site(grid_mw: float, flops: float, days: float, chips=None, **candidates):
    data = {
        "site": {"grid_limit_mw": grid_mw, "pue": 1.2},
        # a stated goodput: the time objective's MILP (goodput(N): tests/test_goodput_loop.py)
        "runs": [{"name": "gpt-moe-1.8t", "flops": flops, "deadline_days": days, "goodput": 0.9}],
        "candidates": {"pricing": "capex", **candidates},
    }
    if chips is not None:
        data["candidates"]["chips"] = chips
    return scenario_from_dict(data, source="test")


def _write(tmp_path: Path, grid_mw: float, flops: float, days: float, chips=None) -> Path:
    text = f'[site]\ngrid_limit_mw = {grid_mw}\n[[runs]]\nname = "gpt-moe-1.8t"\n'
    text += f"flops = {flops:g}\ndeadline_days = {days}\n"
    if chips:
        text += "[candidates]\nchips = [" + ", ".join(f'"{c}"' for c in chips) + "]\n"
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_batch_rule_gives_about_100_gpus_at_1e17_and_20000_at_1e24() -> None:
    assert max_useful_gpus(1e17) == pytest.approx(103, abs=2)
    assert max_useful_gpus(1e24) == pytest.approx(20_200, rel=0.01)
    assert max_useful_gpus(1e24, global_batch_tokens=4 * 2**20) == 4096
    assert max_useful_gpus(1.0) == 1


def test_a_1e17_flop_run_never_fills_a_15_mw_grid(solver) -> None:
    # it filled the grid with 8,224 H100 (USD 478M) to finish in minutes
    plan = optimize(_site(15, 1e17, 90), objective="time", allow_mixed_chips=True, solver=solver)
    assert plan.status == "optimal"
    assert plan.totals["gpus"] <= max(max_useful_gpus(1e17), 72)
    assert plan.totals["cluster_capex_usd"] < 10e6


def test_a_1e20_flop_run_on_three_chips_buys_what_it_can_use(solver) -> None:
    # it bought USD 268B of MI300X
    s = _site(15, 1e20, 90, chips=["h100", "gb200", "mi300x"])
    for mixed in (False, True):
        plan = optimize(s, objective="time", allow_mixed_chips=mixed, solver=solver)
        assert plan.status == "optimal"
        assert plan.totals["gpus"] <= max_useful_gpus(1e20) + 72
        assert plan.totals["cluster_capex_usd"] < 100e6


def test_a_run_may_be_allowed_more_gpus_by_name() -> None:
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 15, "pue": 1.2},
            "runs": [{"name": "a", "flops": 1e17, "deadline_days": 90, "max_gpus": 800}],
            "candidates": {"chips": ["h100"], "pricing": "capex"},
        }
    )
    plan = optimize(s, objective="time")
    assert plan.totals["gpus"] == 800


def test_a_tiny_site_with_mixed_chips_is_infeasible_not_an_internal_error(tmp_path, capsys):
    # 'planner: internal error: KeyError: longest_fraction_of_deadline' after divide-by-zero
    path = _write(tmp_path, 0.001, 1e15, 1, ["h100", "gb200", "mi300x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (divide by zero) either
        code = main(["optimize", str(path), "--objective", "time", "--allow-mixed-chips", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["status"] == "infeasible"


@pytest.mark.parametrize("mixed", [False, True])
def test_following_the_grid_advice_literally_gives_a_plan(mixed) -> None:
    # 'needs 0.03 MW ... Either 0.02 MW more grid': the second was 0.029 rounded down
    s = _site(0.001, 1e15, 1, chips=["h100", "gb200", "mi300x"], pricing="amortized")
    plan = optimize(s, objective="time", allow_mixed_chips=mixed)
    assert plan.status == "infeasible"
    grid = plan.relaxations.loc["grid_limit_mw"]
    assert grid["works"]
    for value in (grid["needed"], s.site.grid_limit_mw + grid["change"]):
        again = optimize(s.with_grid_limit(float(value)), objective="time", allow_mixed_chips=mixed)
        assert again.feasible, value
    assert f"{grid['change']:.2f} MW more grid" in plan.message
    assert f"needs {grid['needed']:.2f} MW" in plan.message


def test_a_huge_grid_gives_a_count_the_core_accepts(tmp_path, capsys) -> None:
    # exit 2 'gpus = 1.11888e+07 is not allowed': the optimiser's count, blamed on the user
    path = _write(tmp_path, 10_000, 1e17, 3650)
    code = main(["optimize", str(path), "--objective", "time", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "optimal"
    assert 1 <= out["totals"]["gpus"] <= MAX_GPUS


def test_every_option_is_capped_at_the_cores_largest_gpu_count() -> None:
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 10_000, "pue": 1.2},
            "runs": [{"name": "a", "flops": 1e17, "deadline_days": 3650, "max_gpus": 10**7}],
        }
    )
    m = build_model(s, objective="time")
    assert (m.options["ceiling_systems"] * m.options["gpus_per_system"] <= MAX_GPUS).all()


def _stated(path: Path) -> Path:
    """A copy of a scenario file whose runs state goodput 0.90 (one MILP per solve, no
    goodput(N) re-solve: its own tests are tests/test_goodput_loop.py)."""
    import tempfile

    text = path.read_text(encoding="utf-8").replace("[[runs]]\n", "[[runs]]\ngoodput = 0.9\n")
    out = Path(tempfile.mkdtemp()) / path.name
    out.write_text(text, encoding="utf-8")
    return out


def test_the_readme_time_example_is_proven_optimal_without_slivers() -> None:
    """Its speed is measured by benchmarks/bench_optimize.py, not asserted here."""
    s = load_scenario(_stated(MY_SITE))
    plan = optimize(s, objective="time", allow_mixed_chips=True)
    assert plan.status == "optimal"
    m = build_model(s, objective="time", allow_mixed_chips=True)
    for (run, chip), row in plan.runs.iterrows():
        # every pool is at least a whole rack (4 servers, or one NVL72)
        assert row["systems"] >= m.options.loc[(run, chip), "min_systems"], (run, chip)


def test_the_binding_deadline_names_the_run_in_words_whole() -> None:
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 15, "pue": 1.2},
            "runs": [{"name": "gpt-moe-1.8t-long-name", "flops": 2e25, "deadline_days": 90}],
            "candidates": {"chips": ["h100"], "pricing": "capex"},
        }
    )
    plan = optimize(s)
    assert "the deadline of gpt-moe-1.8t-long-name" in plan.message
    assert "deadline_days." not in plan.message


def test_a_time_tolerance_outside_0_1_is_an_input_error() -> None:
    from planner.errors import InputError

    m = build_model(load_scenario(MY_SITE), objective="time")
    with pytest.raises(InputError, match="time_tolerance"):
        solve(m, time_tolerance=2.0)


# --- brute force: every (chip, count) option of a small scenario -------------------------------

_BRUTE_OBJECTIVES = ("cost", "power", "energy", "gpus", "time")


def _brute_force(m, objective: str) -> float | None:
    """The best objective over every chip and whole count of a one-run model (model columns:
    the same numbers the MILP is built from), or None when no option fits."""
    import math as _math

    best = None
    for (_, _chip), o in m.options.iterrows():
        low = max(1, _math.ceil(o["systems_needed"] * (1 - 1e-12)))
        for n in range(low, int(o["ceiling_systems"]) + 1):
            if n * o["grid_power_mw_per_system"] > m.grid_limit_mw * (1 + 1e-9):
                break
            cost = n * o["capex_usd_per_system"] + o["run_cost_usd"]
            if m.budget_usd is not None and cost > m.budget_usd * (1 + 1e-9):
                break
            value = {
                "cost": cost,
                "power": n * o["facility_power_mw_per_system"],
                "energy": o["energy_mwh"],
                "gpus": n * o["gpus_per_system"],
                "time": o["days_on_one_system"] / n,
            }[objective]
            best = value if best is None else min(best, value)
    return best


@pytest.mark.parametrize("objective", _BRUTE_OBJECTIVES)
@pytest.mark.parametrize("seed", range(4))
def test_each_objective_equals_brute_force_over_chip_and_count(objective, seed) -> None:
    import random

    rnd = random.Random(seed * 7 + len(objective))
    chips = rnd.sample(["h100", "gb200", "mi300x", "b200"], 2)
    data = {
        "site": {"grid_limit_mw": rnd.choice([0.5, 2.0, 8.0, 30.0]), "pue": 1.2},
        "runs": [
            {
                "name": "r",
                "flops": 10 ** rnd.uniform(21, 24.5),
                "deadline_days": rnd.choice([10, 30, 90]),
                "goodput": 0.9,  # one MILP against brute force over its own coefficients
            }
        ],
        "candidates": {"chips": chips, "pricing": "capex"},
        "time_tolerance": 0.0,
    }
    budget = rnd.choice([None, 5e7, 3e8])
    if budget is not None:
        data["budget_usd"] = budget
    s = scenario_from_dict(data)
    m = build_model(s, objective=objective)
    expected = _brute_force(m, objective)
    plan = solve(m, relaxations=False, comparison=False, binding=False)
    if expected is None:
        assert plan.status == "infeasible"
        return
    assert plan.status == "optimal"
    value = plan.objective_value * (1e-6 if objective == "cost" else 1.0)
    model_value = expected * (1e-6 if objective == "cost" else 1.0)
    assert value == pytest.approx(model_value, rel=1e-6)


def test_the_sweep_deadlines_come_from_the_core_and_span_the_relaxed_deadline() -> None:
    from planner.optimization import pareto_days_values

    assert pareto_days_values(90) == (30.0, 45.0, 60.0, 75.0, 90.0, 120.0, 150.0, 180.0)
    plan = optimize(load_scenario(ROOT / "data" / "scenarios" / "gtc2024_10mw_h100.toml"))
    relaxed = plan.relaxations.loc[[k for k in plan.relaxations.index if "deadline" in k]]
    values = pareto_days_values(90, relaxations=plan.relaxations)
    assert max(values) >= float(relaxed["needed"].max())


# --- every relaxation the optimiser proposes works when followed literally ---------------------

SHIPPED = sorted((ROOT / "data" / "scenarios").glob("*.toml"))


def _follow(s, name: str, row):
    """The scenario with one relaxation applied exactly as shown."""
    data = s.model_dump()
    if name == "grid_limit_mw":
        return s.with_grid_limit(float(row["needed"]))
    if name.startswith("deadline_days."):
        # the deadline rows are one common stretch: this run's deadline as shown
        run = name.split(".", 1)[1]
        current = next(r.deadline_days for r in s.runs if r.name == run)
        return s.with_deadline_scale(float(row["needed"]) / current)
    if name == "budget_usd":
        return s.with_budget(float(row["needed"]))
    if name.startswith("supply_gpus."):
        data["candidates"]["supply_gpus"][name.split(".", 1)[1]] = int(row["needed"])
    elif name == "max_racks":
        data["site"]["max_racks"] = int(row["needed"])
    elif name.startswith("runs.") and name.endswith(".max_gpus"):
        run = name.split(".")[1]
        index = next(i for i, r in enumerate(s.runs) if r.name == run)
        return s.with_run(index, max_gpus=int(row["needed"]))
    elif name.startswith("add_chip."):
        return s.with_candidates([*s.candidate_ids(), name.split(".", 1)[1]])
    else:
        return None
    return scenario_from_dict(data, source=s.source)


#: The shipped scenarios that have no plan (the others are solved by the solver-agreement and
#: per-scenario tests): a grid of 10 MW for the GTC 2024 Hopper run.
SHIPPED_INFEASIBLE = [p for p in SHIPPED if p.name == "gtc2024_10mw_h100.toml"]


@pytest.mark.parametrize(
    "path", [p for p in SHIPPED if p not in SHIPPED_INFEASIBLE], ids=lambda p: p.name
)
def test_every_other_shipped_scenario_has_a_plan(path) -> None:
    """Cost objective, one chip per run: the objective does not change which plans fit, and
    mixed chips only add options, so a plan here means a plan for every objective and mode."""
    assert optimize(load_scenario(path), objective="cost", allow_mixed_chips=False).feasible


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("objective", ["cost", "time"])
@pytest.mark.parametrize("path", SHIPPED_INFEASIBLE, ids=[p.name for p in SHIPPED_INFEASIBLE])
def test_following_every_proposed_relaxation_gives_a_plan(path, objective, mixed) -> None:
    s = load_scenario(path)
    plan = optimize(s, objective=objective, allow_mixed_chips=mixed)
    assert plan.status == "infeasible"
    followed = 0
    for name, row in plan.relaxations.iterrows():
        if not row["works"]:
            continue
        relaxed = _follow(s, str(name), row)
        if relaxed is None:  # a service's share of users or TPOT: checked by its own tests
            continue
        again = optimize(relaxed, objective=objective, allow_mixed_chips=mixed)
        assert again.feasible, (name, row["detail"])
        followed += 1
    assert followed >= 1


def test_cli_time_tolerance_is_settable_and_checked(capsys) -> None:
    assert main(["optimize", str(MY_SITE), "--objective", "time", "--time-tolerance", "2"]) == 2
    assert "--time-tolerance" in capsys.readouterr().err
    args = ["optimize", str(_stated(MY_SITE)), "--objective", "time", "--json"]
    assert main([*args, "--time-tolerance", "0"]) == 0
    exact = json.loads(capsys.readouterr().out)
    assert main([*args, "--time-tolerance", "0.05"]) == 0
    loose = json.loads(capsys.readouterr().out)
    assert loose["totals"]["cost_usd"] <= exact["totals"]["cost_usd"]
    assert loose["objective_value"] <= exact["objective_value"] * 1.05 * (1 + 1e-9)
    assert any("within 5.0%" in n for n in loose["notes"])


def test_a_run_that_needs_more_gpus_than_its_batch_allows_is_told_so_and_the_advice_works():
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 1000, "pue": 1.2},
            # stated: with goodput(N) no cluster trains 2e25 FLOPs in 5 days (failures and
            # restarts cap it), so more parallelism would not be the advice
            "runs": [{"name": "rush", "flops": 2e25, "deadline_days": 5, "goodput": 0.9}],
            "candidates": {"chips": ["h100"], "pricing": "capex"},
        }
    )
    plan = optimize(s)
    assert plan.status == "infeasible"
    row = plan.relaxations.loc["runs.rush.max_gpus"]
    assert row["works"] and row["current"] == max_useful_gpus(2e25)
    assert "max_gpus" in plan.message
    for name, r in plan.relaxations.iterrows():
        if r["works"]:
            assert optimize(_follow(s, str(name), r)).feasible, name
