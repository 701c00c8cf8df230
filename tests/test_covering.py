"""The exact covering-block solver (planner/optimization/solve/covering.py) against HiGHS, and
the Lagrangian block bound (planner/optimization/solve/blocks.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planner.optimization.solve import LinearProgram, blocks
from planner.optimization.solve.arrays import highs_solve, solve_lp
from planner.optimization.solve.covering import fill, recognise, recognise_roles, solve_covering


def covering_lp(options: list[dict], cap: float | None = None) -> LinearProgram:
    """A block as the cluster formulation writes it: counts n, shares f, a binary y per
    option with a minimum above one, ``sum f = 1``, ``n >= D f``, the pool rows, and the
    useful-parallelism row ``sum g n <= cap``."""
    lp = LinearProgram()
    n = [lp.var(0, o["U"], True) for o in options]
    f = [lp.var(0, o.get("smax", 1.0)) for o in options]
    lp.row("work", {j: 1.0 for j in f}, 1.0, 1.0)
    if cap is not None:
        lp.row("useful", {n[k]: o["g"] for k, o in enumerate(options)}, -math.inf, cap)
    for k, o in enumerate(options):
        if o["L"] > 1 and o["U"] < o["L"]:  # as the formulation: a pool that cannot be used
            lp.upper[n[k]] = lp.upper[f[k]] = 0.0
        elif o["L"] > 1:
            y = lp.var(0, 1, True)
            lp.row(f"pool_min_{k}", {n[k]: 1.0, y: -o["L"]}, 0.0, math.inf)
            lp.row(f"pool_max_{k}", {n[k]: 1.0, y: -o["U"]}, -math.inf, 0.0)
            lp.row(f"pool_share_{k}", {f[k]: 1.0, y: -1.0}, -math.inf, 0.0)
    for k, o in enumerate(options):
        lp.row(f"deadline_{k}", {n[k]: 1.0, f[k]: -o["D"]}, 0.0, math.inf)
    lp.objective = {n[k]: o["a"] for k, o in enumerate(options)}
    for k, o in enumerate(options):
        if o["b"]:
            lp.objective[f[k]] = o["b"]
    return lp


option = st.fixed_dictionaries(
    {
        "a": st.floats(0.0, 10.0),
        "b": st.floats(-5.0, 50.0),
        "D": st.floats(0.3, 60.0),
        "L": st.integers(1, 6),
        "U": st.integers(0, 200),
        "g": st.sampled_from([1.0, 8.0, 72.0]),
        "smax": st.sampled_from([1.0, 1.0, 1.0, 0.0]),
    }
)


def _check(lp: LinearProgram) -> str:
    """Compare the covering solver with HiGHS (gap 1e-9) on ``lp``; 'gave up' when it did."""
    blk = recognise(lp)
    assert blk is not None
    ours = solve_covering(blk)
    ref = highs_solve(lp, None, True, None, 1e-9)
    if ours is None:
        return "gave up"
    status, bound, x = ours
    if ref.status == "infeasible":
        assert status == "infeasible" and bound == math.inf and x is None
        return "infeasible"
    assert ref.status == "optimal" and ref.objective is not None
    assert status == "optimal" and x is not None
    assert lp.violation(x) is None
    value = sum(c * x[j] for j, c in lp.objective.items())
    # HiGHS sees the objective without terms below 1e-11 of its largest (LinearProgram.scaled)
    reach = max((abs(c) * max(abs(lp.upper[j]), 1.0) for j, c in lp.objective.items()), default=0)
    scale = max(abs(ref.objective), reach, 1e-9)
    assert value <= ref.objective + 1e-7 * scale  # as good as HiGHS's plan
    assert bound <= value + 1e-9 * scale  # a bound below its own plan
    assert bound >= value - 1e-7 * scale  # and proves it optimal
    return "optimal"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=st.lists(option, min_size=1, max_size=6), cap=st.none() | st.floats(1.0, 3000.0))
def test_the_covering_solver_matches_highs_on_random_blocks(options, cap):
    event(_check(covering_lp(options, cap)))


def test_hand_checked_block_tops_up_the_cheap_pool_with_a_small_one():
    # option 0: 10.5 units of work per share, 1 per unit, minimum 1: alone 11 units = 11;
    # option 1: 100 per share (1 per unit, D = 100), minimum 1: 10 units of 0 and a
    # top-up of 0.5/10.5 of the work on option 1 needs ceil(100 * 0.5 / 10.5) = 5 units:
    # 10 + 5 = 15 > 11, so option 0 alone (11) is the optimum
    lp = covering_lp(
        [
            {"a": 1.0, "b": 0.0, "D": 10.5, "L": 1, "U": 50, "g": 1.0},
            {"a": 1.0, "b": 0.0, "D": 100.0, "L": 1, "U": 50, "g": 1.0},
        ]
    )
    assert _check(lp) == "optimal"
    blk = recognise(lp)
    assert blk is not None
    result = solve_covering(blk)
    assert result is not None
    status, bound, x = result
    assert (status, x[0], x[1]) == ("optimal", 11.0, 0.0)
    assert bound == pytest.approx(11.0)
    # option 1 at 0.12 a unit (12 a share against 10.5, and at most 50 units): 10 units of
    # option 0 and a top-up of ceil(100 * 0.5 / 10.5) = 5 of option 1: 10.6 (9 + 15: 10.8)
    lp.objective[1] = 0.12
    assert _check(lp) == "optimal"
    result = solve_covering(recognise(lp))
    assert result is not None
    assert result[2][0] == 10.0 and result[2][1] == 5.0
    assert result[1] == pytest.approx(10.6)


def test_a_minimum_pool_above_the_need_is_paid_whole():
    # one option: D = 2.2 units, but a used pool has at least 8 (whole racks): 8 units
    lp = covering_lp([{"a": 3.0, "b": 1.0, "D": 2.2, "L": 8, "U": 20, "g": 8.0}])
    result = solve_covering(recognise(lp))
    assert result is not None
    assert result[2][0] == 8.0 and result[1] == pytest.approx(25.0)


def test_an_option_too_small_for_its_share_makes_the_block_infeasible():
    lp = covering_lp([{"a": 1.0, "b": 0.0, "D": 50.0, "L": 1, "U": 10, "g": 1.0}])
    assert solve_covering(recognise(lp)) == ("infeasible", math.inf, None)
    assert highs_solve(lp, None, True).status == "infeasible"


def test_other_shapes_are_not_recognised():
    base = [{"a": 1.0, "b": 0.0, "D": 5.0, "L": 1, "U": 10, "g": 1.0}] * 2
    lp = covering_lp(base)
    assert recognise(lp) is not None
    extra = covering_lp(base)
    extra.row("other", {0: 1.0, 1: -1.0}, 0.0, 0.0)  # a row of another shape
    assert recognise(extra) is None
    negative = covering_lp(base)
    negative.objective[0] = -1.0  # a negative per-unit cost: fewer units are not better
    assert recognise(negative) is None
    shifted = covering_lp(base)
    shifted.lower[0] = 1.0  # a count bounded away from zero
    assert recognise(shifted) is None
    racks = [{"a": 1.0, "b": 0.0, "D": 3.0, "L": 2, "U": 10, "g": 1.0}] * 2
    off = covering_lp(racks)
    assert recognise(off) is not None
    off.upper[4] = 0.0  # the first option's "pool used" fixed off: that option is unusable
    assert _check(off) == "optimal"
    result = solve_covering(recognise(off))
    assert result is not None and result[2][0] == 0.0 and result[2][1] == 3.0


def _two_workloads_one_grid(grid: float) -> tuple[LinearProgram, list[bool]]:
    """Two covering blocks (a cheap, power-hungry option and a dear, frugal one each) and
    one coupling row: their power together at most ``grid``."""
    lp = LinearProgram()
    power = {}
    for w, d in enumerate((12.3, 7.6)):
        n_cheap, n_frugal = lp.var(0, 40, True), lp.var(0, 40, True)
        f_cheap, f_frugal = lp.var(0, 1), lp.var(0, 1)
        lp.row(f"work_{w}", {f_cheap: 1.0, f_frugal: 1.0}, 1.0, 1.0)
        lp.row(f"d_cheap_{w}", {n_cheap: 1.0, f_cheap: -d}, 0.0, math.inf)
        lp.row(f"d_frugal_{w}", {n_frugal: 1.0, f_frugal: -d}, 0.0, math.inf)
        lp.objective.update({n_cheap: 1.0, n_frugal: 1.6})
        power.update({n_cheap: 1.0, n_frugal: 0.5})
    lp.row("grid", power, -math.inf, grid)
    return lp, [name == "grid" for name in lp.row_names]


def test_the_lagrangian_bound_lies_between_the_block_bound_and_the_optimum():
    lp, coupling = _two_workloads_one_grid(grid=13.0)
    plain = blocks.solve_blocks(lp, coupling)
    assert plain is not None and plain.point is not None
    assert lp.violation(plain.point) is not None  # the cheap option alone breaks the grid
    optimum = highs_solve(lp, None, True, None, 1e-9)
    assert optimum.status == "optimal" and optimum.objective is not None
    lagrange = blocks.lagrange_bound(lp, coupling, plain, rel_gap=1e-9)
    assert lagrange is not None and lagrange.multiplier > 0
    assert plain.bounds.sum() < lagrange.bound <= optimum.objective * (1 + 1e-9)
    # and the solve through blocks finds the optimum, its gap proven
    res = blocks.solve_lp_by_blocks(lp, coupling, mip_rel_gap=1e-6)
    assert res.status == "optimal" and res.objective == pytest.approx(optimum.objective)
    assert lp.violation(res.x) is None


@pytest.mark.parametrize("grid", [9.0, 11.0, 13.0, 16.0, 30.0])
def test_the_solve_through_blocks_matches_the_joint_milp(grid):
    lp, coupling = _two_workloads_one_grid(grid)
    joint = solve_lp(lp, "highs", mip_rel_gap=1e-9)
    res = blocks.solve_lp_by_blocks(lp, coupling, mip_rel_gap=1e-6)
    assert res.status == joint.status
    if joint.status == "optimal":
        assert res.objective == pytest.approx(joint.objective, rel=1e-6)
        assert lp.violation(np.asarray(res.x)) is None


def test_the_optimisers_own_blocks_get_the_same_bounds_as_from_highs(monkeypatch):
    # every block of the benchmark's mixed-chip model (3 runs x 13 chips), for its cost and
    # for the grid and budget uses a time trial asks: the same bounds as HiGHS's, and the
    # blocks' point meets each block's rows
    from _many_runs import many_runs

    from planner.optimization import build_model
    from planner.optimization.cluster import algorithms
    from planner.optimization.cluster.formulation import _formulate

    model = build_model(many_runs(3, goodput=0.9), objective="cost", allow_mixed_chips=True)
    programmes = [_formulate(model, "cost")]
    for finish in (25.0, 80.0):
        scale = algorithms._finish_scale(model, finish)
        programmes.append(_formulate(model, "feasibility", deadline_scale=scale))
    checked = 0
    for form in programmes:
        lp, coupling = form.lp, form.coupling()
        goals = [lp.objective] if form.goal == "cost" else []
        goals += [dict(lp.row_coeffs[lp.row_names.index(n)]) for n in ("grid_limit", "budget")]
        for objective in goals:
            use = lp.with_objective(objective)
            blocks._CACHE.clear()
            ours = blocks.solve_blocks(use, coupling)
            blocks._CACHE.clear()
            with monkeypatch.context() as patch:
                patch.setattr(blocks, "_covering", lambda *_args: None)
                ref = blocks.solve_blocks(use, coupling)
            assert ours is not None and ref is not None
            assert ours.bounds.tolist() == pytest.approx(ref.bounds.tolist(), rel=1e-5)
            checked += len(ours.bounds)
    assert checked >= 20


def _same_block(one, two) -> bool:
    return one is not None and two is not None and vars(one) == vars(two)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(option, min_size=1, max_size=5),
    st.lists(option, min_size=5, max_size=5),
    st.one_of(st.none(), st.floats(1.0, 2000.0)),
    st.one_of(st.none(), st.floats(1.0, 2000.0)),
)
def test_a_block_read_with_the_roles_of_one_of_the_same_shape_is_the_block_recognised(
    options, others, cap, other_cap
):
    # the same shape with other numbers (another deadline, objective, pool size): fill() with
    # the first block's roles either refuses or gives exactly what recognise() finds
    lp = covering_lp(options, cap)
    roles = recognise_roles(lp)
    if roles is None:
        event("not a covering block")
        return
    assert _same_block(fill(lp, roles), recognise(lp))
    # other numbers, the same pool minima (a y column and its rows or none, as before)
    again = covering_lp(
        [
            {**new, "L": old["L"], "U": new["U"] if new["U"] >= old["L"] else old["U"]}
            for old, new in zip(options, others, strict=False)
        ],
        None if cap is None else other_cap,
    )
    if len(again.row_coeffs) != len(lp.row_coeffs) or again.num_col != lp.num_col:
        event("another shape")
        return
    read = fill(again, roles)
    if read is None:
        event("refused")
        return
    event("read")
    assert _same_block(read, recognise(again))


def test_a_trial_at_another_deadline_reads_the_blocks_without_classifying_them_again():
    # the benchmark's mixed-chip model (3 runs x 13 chips) formulated at two trial finishes:
    # the same shape, so the second solve of the blocks reads each block with the roles the
    # first found, and gets exactly the blocks recognise() finds
    from _many_runs import many_runs

    from planner.optimization import build_model
    from planner.optimization.cluster import algorithms
    from planner.optimization.cluster.formulation import _formulate

    model = build_model(many_runs(3, goodput=0.9), objective="time", allow_mixed_chips=True)
    forms = [
        _formulate(model, "feasibility", deadline_scale=algorithms._finish_scale(model, finish))
        for finish in (25.0, 80.0)
    ]
    (one, coupling), (two, _) = ((f.lp, f.coupling()) for f in forms)
    assert blocks._shape_key(one, coupling) == blocks._shape_key(two, coupling)
    grid = one.row_names.index("grid_limit")
    first = blocks._layout(one.with_objective(dict(one.row_coeffs[grid])), coupling, None)
    blocks.solve_blocks(one.with_objective(dict(one.row_coeffs[grid])), coupling)
    assert any(isinstance(r, blocks.Roles) for r in first.known)
    use = two.with_objective(dict(two.row_coeffs[grid]))
    layout = blocks._layout(use, coupling, None)
    assert layout is first
    read = 0
    for b in range(layout.k):
        if not isinstance(layout.known[b], blocks.Roles):
            continue
        cols = layout.cols_of[b]
        part = {int(j): use.objective[j] for j in cols if j in use.objective}
        sub, _ = blocks._sub_programme(use, cols, layout.rows_of[b], part)
        assert _same_block(fill(sub, layout.known[b]), recognise(sub))
        read += 1
    assert read >= 3
