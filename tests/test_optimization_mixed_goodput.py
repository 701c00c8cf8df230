"""Mixed chips with goodput(N): hot spares per run, the re-solve's fixed point, and the solves
it saves (solver counts and plan properties, never wall-clock times)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _many_runs import many_runs

from planner.catalog import load_catalog
from planner.optimization import build_model, solve
from planner.optimization.cluster import algorithms
from planner.optimization.cluster.algorithms import _Clock, _earliest_finish, _plan_finish
from planner.optimization.cluster.formulation import Outcome, _formulate
from planner.optimization.constants import MAKESPAN_REL_TOL, MIXED_TIE_BREAK_S


@pytest.fixture(scope="module")
def mixed_cost_plan():
    stages: list[str] = []
    model = build_model(many_runs(20), objective="cost", allow_mixed_chips=True)
    plan = solve(
        model,
        relaxations=False,
        comparison=False,
        progress=lambda stage, done, total: stages.append(stage),
    )
    return plan, stages


def _split_runs(plan) -> list[str]:
    counts = plan.runs.reset_index().groupby("run")["chip"].count()
    return [r for r, k in counts.items() if k > 1]


def test_the_mixed_goodput_loop_settles_on_twenty_runs(mixed_cost_plan):
    # one whole spare system per chip pool made the one-rack top-up pools move between
    # near-equal chips at every solve: 6 solves, not converged
    plan, _ = mixed_cost_plan
    assert plan.status == "optimal"
    assert plan.goodput_loop["converged"] is True
    assert plan.goodput_loop["iterations"] <= 3
    assert plan.timings["mip_gap"] <= 1e-3


def test_a_run_on_several_pools_keeps_one_set_of_spares_beside_its_largest_pool(
    mixed_cost_plan,
):
    plan, _ = mixed_cost_plan
    split = _split_runs(plan)
    assert split, "the benchmark scenario tops runs up with a second chip"
    rows = plan.runs.reset_index()
    cat = load_catalog()
    for run in split:
        pools = rows[rows["run"] == run].sort_values("gpus", ascending=False)
        main = pools.iloc[0]
        gps = cat.get(main["chip"]).gpus_per_system
        want = math.ceil(0.01 * float(pools["gpus"].sum()) / gps - 1e-9) * gps
        assert float(main["spare_gpus"]) == want, run
        assert (pools.iloc[1:]["spare_gpus"] == 0).all(), run


def test_every_pool_of_a_run_checkpoints_the_whole_model(mixed_cost_plan):
    # a pool trains a share of the FLOPs of the SAME model: its checkpoint is not smaller
    plan, _ = mixed_cost_plan
    for run in _split_runs(plan):
        sizes = {
            round(float(res.goodput_model["checkpoint_size_tb"]), 9)
            for (r, _), res in plan.sizings.items()
            if r == run
        }
        assert len(sizes) == 1, (run, sizes)


def test_the_limits_are_tested_once_after_the_goodput_loop(mixed_cost_plan):
    plan, stages = mixed_cost_plan
    tests = [s for s in stages if "testing whether" in s]
    assert tests == ["testing whether grid binds", "testing whether budget binds"]
    assert plan.constraints.loc["grid_limit_mw", "binding"] is not None
    assert plan.constraints.loc["budget_usd", "binding"] is not None


def test_a_tie_break_starts_from_a_plan_with_a_stray_share_on_an_empty_pool():
    # the cost optimum can leave a 1e-17 share on a pool with no systems: the next stage
    # must still take it as its warm start (a "pool used" binary of 1 would need a rack)
    model = build_model(many_runs(3, goodput=0.9), objective="cost", allow_mixed_chips=True)
    keys = list(model.options.index)
    n = {k: 0 for k in keys}
    f = {k: 0.0 for k in keys}
    for run in model.runs:
        mine = [k for k in keys if k[0] == run]
        need = model.options.loc[mine, "systems_needed"]
        best = need.idxmin()
        n[best] = max(int(np.ceil(need[best])), int(model.options.loc[best, "min_systems"]))
        f[best] = 1.0
        stray = next(k for k in mine if k != best)
        f[stray] = 1e-17
    out = Outcome("optimal", n, f, None, {}, {}, 0.0)
    form = _formulate(model, "power")
    form.start_from(out, model)
    assert form.start is not None


# --- the time objective with mixed chips ---------------------------------------------------


@pytest.fixture(scope="module")
def small_time_model():
    return build_model(many_runs(4, goodput=0.9), objective="time", allow_mixed_chips=True)


def test_a_finish_hint_ends_the_search_in_fewer_trials_at_the_same_finish(small_time_model):
    m = small_time_model
    cold = _Clock(None)
    plan, bound = _earliest_finish(m, "highs", cold)
    finish = _plan_finish(m, plan)
    warm = _Clock(None)
    hinted, hinted_bound = _earliest_finish(m, "highs", warm, hint=finish)
    assert plan.status == hinted.status == "optimal"
    assert _plan_finish(m, hinted) <= hinted_bound * (1 + MAKESPAN_REL_TOL)
    assert _plan_finish(m, hinted) == pytest.approx(finish, rel=MAKESPAN_REL_TOL)
    assert warm.solves < cold.solves


def test_the_time_objectives_cost_stage_is_a_capped_tie_break_and_trials_are_short(
    small_time_model, monkeypatch
):
    seen: list[tuple[str, float | None]] = []
    real = algorithms._solve_goal

    def spy(m, goal, solver, clock, **kw):
        seen.append((goal, kw.get("limit_s")))
        return real(m, goal, solver, clock, **kw)

    monkeypatch.setattr(algorithms, "_solve_goal", spy)
    plan = solve(small_time_model, relaxations=False, comparison=False)
    assert plan.status == "optimal"
    cost = [limit for goal, limit in seen if goal == "cost"]
    assert cost and all(limit == MIXED_TIE_BREAK_S for limit in cost)
    # the blocks answer a trial first (each exact in about 1 ms); a joint MILP asked first
    # (after a slow block trial) gets the short limit, one asked after the blocks the clock
    trials = [limit for goal, limit in seen if goal == "feasibility"]
    short = algorithms.trial_limit_s(small_time_model)
    assert all(limit in (short, None) for limit in trials)
    assert short < 1.0


def test_a_mixed_pool_never_holds_more_systems_than_its_run_needs_on_that_chip_alone():
    # the big-M of n <= U y was the limits' bound (thousands of systems); more systems than
    # the whole run needs on that chip only add cost, so U is that need (or the pool minimum)
    model = build_model(many_runs(3, goodput=0.9), objective="cost", allow_mixed_chips=True)
    form = _formulate(model, "cost")
    need = model.options["systems_needed"].to_numpy(dtype=float)
    low = model.options["min_systems"].to_numpy(dtype=float)
    upper = np.asarray(form.lp.upper)[form.n]
    assert (upper <= np.maximum(np.ceil(need), low)).all()
    assert (upper < model.options["max_systems"].to_numpy(dtype=float)).any()


def test_a_block_solved_before_under_another_objective_scale_is_not_solved_again(monkeypatch):
    from planner.optimization.solve import LinearProgram, blocks

    def two_blocks(scale: float) -> LinearProgram:
        lp = LinearProgram()
        for _ in range(2):  # each block: 3 x + 5 y >= 7.5, integers
            x, y = lp.var(0, 10, True), lp.var(0, 10, True)
            lp.row(f"need_{x}", {x: 3.0, y: 5.0}, 7.5, math.inf)
            lp.objective.update({x: 1.0 * scale, y: 1.6 * scale})
        lp.row("shared", {0: 1.0, 2: 1.0}, -math.inf, 20.0)
        return lp

    coupling = [False, False, True]
    first = blocks.solve_blocks(two_blocks(1.0), coupling)
    calls = []
    real = blocks.highs_solve
    monkeypatch.setattr(blocks, "highs_solve", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = blocks.solve_blocks(two_blocks(2.5), coupling)
    assert first is not None and again is not None
    assert calls == []
    assert again.bounds == pytest.approx(2.5 * first.bounds)


def test_a_search_asks_the_per_run_blocks_before_any_joint_milp(small_time_model, monkeypatch):
    # each block is solved exactly in about 1 ms (solve/covering.py): every trial asks the
    # blocks first and the joint MILP only when they settle nothing
    order: list[str] = []
    real_goal, real_blocks = algorithms._solve_goal, algorithms._block_trial

    def goal(m, name, solver, clock, **kw):
        if name == "feasibility":
            order.append("joint")
        return real_goal(m, name, solver, clock, **kw)

    def by_blocks(*a, **kw):
        order.append("blocks")
        return real_blocks(*a, **kw)

    monkeypatch.setattr(algorithms, "_solve_goal", goal)
    monkeypatch.setattr(algorithms, "_block_trial", by_blocks)
    plan, _ = _earliest_finish(small_time_model, "highs", _Clock(None))
    assert plan.status == "optimal"
    assert order and order[0] == "blocks"
    assert all(order[i - 1] == "blocks" for i, step in enumerate(order) if step == "joint")


def test_a_limits_use_by_blocks_is_the_same_with_the_chips_no_block_optimum_needs_left_out():
    # the dominance test (a chip whose cheapest use in a run's block costs more than the run's
    # best single-chip plan) prunes the blocks of a grid-use or budget-use trial: the bounds
    # and therefore the trial's answer are those of the full blocks
    from planner.optimization.solve import blocks

    model = build_model(many_runs(6, goodput=0.9), objective="time", allow_mixed_chips=True)
    scale = algorithms._finish_scale(model, 0.8 * max(model.deadline_days.values()))
    form = _formulate(model, "feasibility", deadline_scale=scale)
    assert form.dominated is not None
    lp = form.lp
    pruned_any = False
    for name in ("grid_limit", "budget"):
        i = lp.row_names.index(name)
        use = lp.with_objective(dict(lp.row_coeffs[i]))
        zero = form.dominated(use.objective)
        pruned_any |= bool(zero)
        full = blocks.solve_blocks(use, form.coupling())
        pruned = blocks.solve_blocks(use, form.coupling(), zero_in_blocks=zero)
        assert full is not None and pruned is not None
        assert pruned.bounds.tolist() == pytest.approx(full.bounds.tolist(), rel=1e-5)
    assert pruned_any


def test_a_search_puts_the_joint_milp_first_when_the_blocks_cost_more_than_it(small_time_model):
    # blocks first while a block trial is quick; one that took more than
    # BLOCKS_FIRST_MAX_RATIO joint limits puts the joint MILP first again
    limit = algorithms.trial_limit_s(small_time_model)
    search = algorithms._Search()
    assert search.blocks_first(small_time_model)
    search.block_s = 0.5 * limit
    assert search.blocks_first(small_time_model)
    search.block_s = (algorithms.BLOCKS_FIRST_MAX_RATIO + 0.5) * limit
    assert not search.blocks_first(small_time_model)


def test_a_block_rebuilt_with_rounding_noise_is_not_solved_again_but_a_changed_one_is(
    monkeypatch,
):
    # a rebuilt model's unchanged workload differs from its earlier block by 1e-16 (its
    # objective divided by its largest coefficient); a real change (1e-6) is a new block
    from planner.optimization.solve import LinearProgram, blocks

    def two_blocks(noise: float) -> LinearProgram:
        lp = LinearProgram()
        for need in (7.5, 8.5):  # two different blocks
            x, y = lp.var(0, 10, True), lp.var(0, 10, True)
            lp.row(f"need_{x}", {x: 3.0, y: 5.0}, need, math.inf)
            lp.objective.update({x: 1.0, y: 1.7 * (1 + noise)})
        lp.row("shared", {0: 1.0, 2: 1.0}, -math.inf, 20.0)
        return lp

    coupling = [False, False, True]
    monkeypatch.setattr(blocks, "_CACHE", {})
    first = blocks.solve_blocks(two_blocks(0.0), coupling)
    calls = []
    real = blocks.highs_solve
    monkeypatch.setattr(blocks, "highs_solve", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = blocks.solve_blocks(two_blocks(2.3e-16), coupling)
    assert first is not None and again is not None and calls == []
    assert again.bounds.tolist() == pytest.approx(first.bounds.tolist(), rel=1e-12)
    blocks.solve_blocks(two_blocks(1e-6), coupling)
    assert len(calls) == 2
