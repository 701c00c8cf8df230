"""Algorithms that re-solve: lexicographic objectives, the speed search of the ``time`` objective,
the time budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner.optimization import solvers
from planner.optimization.constants import (
    _USD_PER_MUSD,
    LOOSEN_FRACTION,
    SEARCH_REL_TOL,
    SPEED_BACKOFF,
)
from planner.optimization.formulation import CHECK_REL, _formulate, _Outcome
from planner.optimization.model import ClusterModel
from planner.optimization.solvers import Progress, _model_totals


class _Clock:
    def __init__(self, limit_s: float | None, progress: Progress | None = None) -> None:
        self.end = None if limit_s is None else time.perf_counter() + float(limit_s)
        self.solve_s = 0.0
        self.solves = 0
        self.progress = progress

    def remaining(self) -> float | None:
        return None if self.end is None else self.end - time.perf_counter()

    def out(self) -> bool:
        rem = self.remaining()
        return rem is not None and rem <= 0

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


def _solve_goal(
    m: ClusterModel,
    goal: str,
    solver: str,
    clock: _Clock,
    *,
    warm: _Outcome | None = None,
    **kw: Any,
) -> _Outcome:
    form = _formulate(m, goal, **kw)
    if warm is not None and warm.has_solution:
        form.start_from(warm, m)
    outcome = solvers._run(form, solver, clock.remaining())
    if outcome.has_solution:
        outcome.totals = _model_totals(m, outcome)
    clock.solve_s += outcome.solve_s
    clock.solves += 1
    return outcome


def _stages(m: ClusterModel) -> list[str]:
    rent_only = bool((m.options["capex_usd_per_system"] <= 0).any())
    order = {"cost": ["cost", "power"], "gpus": ["gpus", "cost"]}.get(
        m.objective, [m.objective, "cost"]
    )
    if rent_only and "gpus" not in order:
        # a run's rent or amortised hardware is fixed by its GPU-hours, not the count:
        # fewest systems next
        order.append("gpus")
    return order


def _lexicographic(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    deadline_scale: float = 1.0,
    stages: list[str] | None = None,
    warm: _Outcome | None = None,
) -> tuple[_Outcome, list[str]]:
    """Solve the objective, then each tie-break with the earlier optima held (each stage
    warm-started from the previous plan, which meets its bounds)."""
    notes: list[str] = []
    bounds: list[tuple[str, float]] = []
    best: _Outcome | None = None
    stages = stages or _stages(m)
    for i, goal in enumerate(stages):
        if i and (clock.out() or best is None or best.status != "optimal"):
            if clock.out():
                notes.append(f"time limit reached before the {goal} tie-break")
            break
        clock.report(f"solving: {goal}" if i == 0 else f"tie-break: {goal}", i, len(stages))
        out = _solve_goal(
            m,
            goal,
            solver,
            clock,
            bounds=tuple(bounds),
            deadline_scale=deadline_scale,
            warm=best or warm,
        )
        if not out.has_solution:
            if best is None:
                return out, notes
            break
        best = out
        bounds.append((goal, out.totals[goal]))
    assert best is not None
    best.primary = bounds[0][1]
    return best, notes


def _budget_ok(m: ClusterModel, out: _Outcome, loosen: frozenset[str]) -> bool:
    """Whether a point's true cost (shares f, not the linearised g / t) fits the budget."""
    if m.budget_usd is None:
        return True
    limit = m.budget_usd / _USD_PER_MUSD * (1 + LOOSEN_FRACTION if "budget" in loosen else 1)
    return out.totals["cost"] <= limit * (1 + CHECK_REL)


def _max_speed_mixed(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    *,
    loosen: frozenset[str] = frozenset(),
    deadlines: bool = True,
    speed_floor: float | None = None,
) -> _Outcome:
    """:func:`_max_speed` with mixed chips: one MILP in ``g = f z`` with the budget's
    run costs taken at ``z = 1`` in speed units (a relaxation); when its point also fits the
    true budget it is optimal, else the speed is searched downwards with the run costs taken
    conservatively at a trial speed ``t0`` (every answer is a plan at least that fast), until
    the relaxation's bound and the best plan agree within ``SEARCH_REL_TOL``.
    """
    goal = "time" if deadlines else "speedup"
    kw: dict[str, Any] = {"loosen": loosen, "speed_floor": speed_floor}
    first = _solve_goal(m, goal, solver, clock, **kw)
    if not first.has_solution or _budget_ok(m, first, loosen):
        return first
    assert first.z is not None
    unit = _formulate(m, goal, loosen=loosen).speed_unit
    hi = first.z / unit  # upper bound of t (relaxation)
    floor = (1.0 / unit) if deadlines else 0.0  # slower plans are not wanted
    if speed_floor is not None:
        floor = max(floor, speed_floor / unit)
    lo = floor
    best: _Outcome | None = None
    step = 1e-4
    while not clock.out() and step < 1e12:
        if best is not None and hi <= lo * (1 + SEARCH_REL_TOL):
            break
        trial = max(hi / (1 + step), floor) if best is None else math.sqrt(lo * hi)
        out = _solve_goal(m, goal, solver, clock, linearise_at=trial, **kw)
        if out.has_solution:
            assert out.z is not None
            best, lo = out, max(out.z / unit, trial)
        elif out.status == "infeasible":
            if best is None and trial <= floor:
                return out  # not even the slowest wanted speed has a plan
            hi = trial
            step *= 10
        else:
            break
    if best is None:
        return _Outcome("infeasible", {}, {}, None, {}, {}, 0.0, "no plan fits the budget")
    if best.status == "optimal" and hi > lo * (1 + SEARCH_REL_TOL):
        best.status = "time_limit"  # stopped by the clock before the bound was reached
    return best


def _plan_speed(m: ClusterModel, out: _Outcome) -> float:
    """Speed-up z of a plan's slowest run: each pool finishes its share ``f`` of run ``r``
    in ``T N f / n``, so run ``r`` runs ``min over its pools of n / (N f)`` times faster than
    its deadline ``T``."""
    need = m.options["systems_needed"].to_numpy(dtype=float)
    n = np.asarray([out.n[k] for k in m.options.index], dtype=float)
    f = np.asarray([out.f[k] for k in m.options.index], dtype=float)
    used = (f > 1e-12) & (n > 0) & ~m.is_service()
    speed = np.full(len(n), math.inf)
    speed[used] = n[used] / (need[used] * f[used])
    per_run = pd.Series(speed, index=m.options.index).groupby(level="run").min()
    return float(per_run.min())


def _speed_bound(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    goal: str,
    loosen: frozenset[str],
    speed_floor: float | None,
) -> _Outcome:
    """An upper bound of the speed-up z: the LP relaxation of the speed form (``out.z``)."""
    form = _formulate(m, goal, loosen=loosen, speed_floor=speed_floor)
    form.lp.integer = [False] * form.lp.num_col
    out = solvers._run(form, solver, clock.remaining())
    clock.solve_s += out.solve_s
    clock.solves += 1
    return out


def _max_speed(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    *,
    loosen: frozenset[str] = frozenset(),
    deadlines: bool = True,
    speed_floor: float | None = None,
) -> _Outcome:
    """Largest speed-up ``z`` of the slowest run (``out.z``), deadlines met or not.

    One chip per run: the speed form's LP relaxation bounds z from above; then plans are asked for at trial
    speeds (each a feasibility MILP with every deadline scaled by ``1 / trial``: quick, as
    the system counts are then forced), first stepping down from the bound, then bisecting
    between the fastest plan found (whose own speed may exceed the trial) and the slowest
    trial without a plan, until they agree within ``SEARCH_REL_TOL``. The first trial is the
    slowest wanted speed, so a plan exists early even when the clock stops the search. The plan returned was
    solved and checked; its ``z`` is its own speed. With ``deadlines`` only plans with
    z >= 1 count; ``speed_floor`` asks for at least that z. ``status`` is ``time_limit`` when
    the clock stopped the search before the bound was reached.
    """
    if m.allow_mixed_chips:  # plans sit exactly at any trial speed: one MILP is quicker
        out = _max_speed_mixed(
            m, solver, clock, loosen=loosen, deadlines=deadlines, speed_floor=speed_floor
        )
        if out.has_solution:
            out.z = _plan_speed(m, out)  # the plan's own speed, not the solver's t
        return out
    goal = "time" if deadlines else "speedup"
    bound = _speed_bound(m, solver, clock, goal, loosen, speed_floor)
    if not bound.has_solution or bound.z is None:
        return bound
    hi = bound.z * (1 + 1e-9)
    floor = max(1.0 if deadlines else hi * 1e-12, speed_floor or 0.0)
    lo = floor
    best: _Outcome | None = None
    step = 1e-4
    tries = 0
    while not clock.out():
        if best is not None and hi <= lo * (1 + SEARCH_REL_TOL):
            break
        # first the slowest wanted speed (a plan early, even if the clock stops the search),
        # then down from the bound in growing steps, never below the bisection midpoint
        trial = floor if tries == 0 else max(hi / (1 + step), math.sqrt(lo * hi))
        tries += 1
        clock.report("searching the fastest plan", min(tries, 59), 60)
        out = _solve_goal(
            m, "feasibility", solver, clock, loosen=loosen, deadline_scale=1.0 / trial
        )
        if out.has_solution:
            out.z = _plan_speed(m, out)
            best, lo = out, max(out.z, trial)
        elif out.status == "infeasible":
            if best is None:
                return out  # not even the slowest wanted speed has a plan
            hi = trial
            step *= 8
        else:
            return best or out
    if best is None:
        return _Outcome("no_solution", {}, {}, None, {}, {}, 0.0, "the time limit ran out")
    if hi > lo * (1 + SEARCH_REL_TOL):
        best.status = "time_limit"
    return best


def _time_plan(
    m: ClusterModel, solver: str, clock: _Clock
) -> tuple[_Outcome, float | None, list[str]]:
    """The ``time`` objective: the largest speed-up z, then the least cost at that speed.

    The cost stage runs every deadline at ``1 / z`` backed off by ``SPEED_BACKOFF`` (a
    scale the speed solve showed feasible, with a margin so the boundary is not re-tested at
    the solver's tolerance). If the cost stage finds nothing, the speed solve's own (checked)
    plan is returned. Returns the outcome, the common deadline scale, and notes.
    """
    notes: list[str] = []
    clock.report("solving: time (fastest plan)", 0, 2)
    speed = _max_speed(m, solver, clock)
    if not speed.has_solution or speed.z is None:
        return speed, None, notes
    z = speed.z
    scale = (1.0 / z) * (1 + SPEED_BACKOFF)
    if clock.out() or speed.status != "optimal":
        if clock.out():
            notes.append("time limit reached before the cost tie-break")
        speed.primary = z
        return speed, scale, notes
    clock.report("tie-break: cost at the fastest speed", 1, 2)
    cost_model = replace(m, objective="cost")
    out, stage_notes = _lexicographic(
        cost_model, solver, clock, deadline_scale=scale, stages=_stages(m)[1:], warm=speed
    )
    notes += stage_notes
    if not out.has_solution:
        notes.append("the cost tie-break found no plan at the fastest speed: fastest plan shown")
        out = speed
        out.status = "optimal"
    out.primary = z
    return out, scale, notes
