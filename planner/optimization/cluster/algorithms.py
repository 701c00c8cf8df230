"""Algorithms that re-solve: lexicographic objectives, the speed search of the ``time`` objective,
the time budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from planner.optimization.cluster import solving
from planner.optimization.cluster.formulation import Outcome, _formulate
from planner.optimization.cluster.model import ClusterModel
from planner.optimization.cluster.solving import _model_totals
from planner.optimization.constants import (
    MAKESPAN_REL_TOL,
    MIXED_TIE_BREAK_S,
    SEARCH_REL_TOL,
)
from planner.optimization.solve import Progress, solve_blocks


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
    warm: Outcome | None = None,
    limit_s: float | None = None,
    **kw: Any,
) -> Outcome:
    form = _formulate(m, goal, **kw)
    if warm is not None and warm.has_solution:
        form.start_from(warm, m)
    remaining = clock.remaining()
    if limit_s is not None:
        remaining = limit_s if remaining is None else min(remaining, limit_s)
    outcome = solving._run(form, solver, remaining)
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
    deadline_scale: float | np.ndarray = 1.0,
    stages: list[str] | None = None,
    warm: Outcome | None = None,
    primary: str | None = None,
) -> tuple[Outcome, list[str]]:
    """Solve the objective, then each tie-break with the earlier optima held (each stage
    warm-started from the previous plan, which meets its bounds).

    ``primary``: the objective already settled before these stages (the ``time``
    objective's latest finish, held by the deadlines): then every stage is a tie-break,
    and with mixed chips the first too gets ``MIXED_TIE_BREAK_S`` from its warm start."""
    notes: list[str] = []
    bounds: list[tuple[str, float]] = []
    best: Outcome | None = None
    primary_gap: float | None = None
    stages = stages or _stages(m)
    if m.allow_mixed_chips and warm is None and not m.services:
        # a plan with one chip per run is a mixed plan (its pools are whole runs): its optimum,
        # quick to find, starts the mixed search near the optimum
        single = _solve_goal(
            replace(m, allow_mixed_chips=False),
            stages[0],
            solver,
            clock,
            deadline_scale=deadline_scale,
        )
        warm = single if single.has_solution else None
    for i, goal in enumerate(stages):
        if i and (clock.out() or best is None or best.status != "optimal"):
            if clock.out():
                notes.append(f"time limit reached before the {goal} tie-break")
            break
        clock.report(f"solving: {goal}" if i == 0 else f"tie-break: {goal}", i, len(stages))
        # mixed chips: a tie-break (among plans proven within the gap on the objective) gets
        # a few seconds; its best plan is kept, the objective's proof stands
        tie_break = bool(i) or primary is not None
        tie_break_limit = MIXED_TIE_BREAK_S if tie_break and m.allow_mixed_chips else None
        out = _solve_goal(
            m,
            goal,
            solver,
            clock,
            bounds=tuple(bounds),
            deadline_scale=deadline_scale,
            warm=best or warm,
            limit_s=tie_break_limit,
        )
        if not out.has_solution:
            if best is None:
                return out, notes
            break
        if tie_break_limit is not None and out.status == "time_limit" and not clock.out():
            notes.append(
                f"the {goal} tie-break stopped after {tie_break_limit:g} s: the best plan it "
                f"found, not proven the least {goal} among the plans of least "
                f"{stages[0] if i else primary}"
            )
            out.status = "optimal"
            best = out
            if not bounds:
                bounds.append((goal, out.totals[goal]))
            break
        best = out
        if i == 0:
            primary_gap = out.mip_gap
        bounds.append((goal, out.totals[goal]))
    assert best is not None
    best.primary = bounds[0][1]
    best.mip_gap = primary_gap
    return best, notes


def _plan_speed(m: ClusterModel, out: Outcome) -> float:
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
) -> Outcome:
    """An upper bound of the speed-up z: the LP relaxation of the speed form (``out.z``)."""
    form = _formulate(m, goal, loosen=loosen, speed_floor=speed_floor)
    form.lp.integer = [False] * form.lp.num_col
    out = solving._run(form, solver, clock.remaining())
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
) -> Outcome:
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
    goal = "time" if deadlines else "speedup"
    bound = _speed_bound(m, solver, clock, goal, loosen, speed_floor)
    if not bound.has_solution or bound.z is None:
        return bound
    if not bound.z > 0 or not math.isfinite(bound.z):
        return Outcome("infeasible", {}, {}, None, {}, {}, 0.0, "no speed-up at all fits")
    hi = bound.z * (1 + 1e-9)
    floor = max(1.0 if deadlines else hi * 1e-12, speed_floor or 0.0)
    lo = floor
    best: Outcome | None = None
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
        return Outcome("no_solution", {}, {}, None, {}, {}, 0.0, "the time limit ran out")
    if hi > lo * (1 + SEARCH_REL_TOL):
        best.status = "time_limit"
    return best


def _finish_scale(m: ClusterModel, finish_days: float) -> np.ndarray:
    """Per row of ``options``: the deadline scale that gives run ``r`` the deadline
    ``min(T_r, finish_days)`` (a service's rows: 1, its peak does not scale)."""
    deadline = m.options["deadline_days"].to_numpy(dtype=float)
    scale = np.minimum(deadline, finish_days) / deadline
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def _plan_finish(m: ClusterModel, out: Outcome) -> float:
    """Latest finish of a plan's runs, days: each pool does its share ``f`` of run ``r`` in
    ``D1 f / n`` days (``D1``: days on one system); a run ends with its slowest pool."""
    one = m.options["days_on_one_system"].to_numpy(dtype=float)
    n = np.asarray([out.n[k] for k in m.options.index], dtype=float)
    f = np.asarray([out.f[k] for k in m.options.index], dtype=float)
    used = (f > 1e-12) & (n > 0) & ~m.is_service()
    days = np.zeros(len(n))
    days[used] = one[used] * f[used] / n[used]
    return float(days.max()) if days.size else math.nan


def _finish_bound(m: ClusterModel, solver: str, clock: _Clock, loosen: frozenset[str]) -> float:
    """A lower bound of the latest finish, days: the LP relaxation of the speed form with every
    run measured against the longest deadline (0 when the relaxation gives nothing)."""
    reference = max(m.deadline_days.values())
    one = m.options["days_on_one_system"].to_numpy(dtype=float)
    need = one / reference
    form = _formulate(m, "speedup", loosen=loosen, speed_need=need)
    form.lp.integer = [False] * form.lp.num_col
    out = solving._run(form, solver, clock.remaining())
    clock.solve_s += out.solve_s
    clock.solves += 1
    if not out.has_solution or out.z is None or not out.z > 0:
        return 0.0
    return reference / out.z * (1 - 1e-9)


def finish_lower_bound(m: ClusterModel, solver: str, time_limit_s: float | None = None) -> float:
    """A lower bound of the model's earliest latest finish, days (:func:`_finish_bound`, the
    LP relaxation; 0 when it gives nothing): the goodput(N) re-solve's first guess of the
    time objective's finish (:func:`planner.optimization.goodput_loop.solve_cluster`)."""
    return _finish_bound(m, solver, _Clock(time_limit_s), frozenset())


#: Seconds (wall clock) a feasibility trial of the ``time`` objective with mixed chips gives
#: the joint MILP when it is asked before the per-run bounds (:func:`_block_trial`; only
#: after a block trial slower than :data:`BLOCKS_FIRST_MAX_RATIO` of this), plus
#: :data:`TRIAL_S_PER_WORKLOAD` per run or service: 0.6 s for 20 runs, 1.5 s for 200. A trial
#: the joint MILP has not answered by then lies near the earliest finish, where it needs far
#: longer.
TRIAL_S = 0.5
TRIAL_S_PER_WORKLOAD = 0.005


def trial_limit_s(m: ClusterModel) -> float:
    """The joint MILP's time in one mixed-chip feasibility trial (:data:`TRIAL_S`)."""
    return TRIAL_S + TRIAL_S_PER_WORKLOAD * len(m.workloads)


#: A search asks the per-run blocks before the joint MILP while the blocks answered its last
#: trial in at most this many times :func:`trial_limit_s`. Each block is solved exactly by
#: :mod:`planner.optimization.solve.covering` (about 1 ms), so a block trial takes 0.03 s
#: at 20 runs x 13 chips and 0.25 s at 200 (most of it formulating), while near the
#: earliest finish the joint MILP rarely answers within its limit (0.6 s, 1.5 s). With
#: HiGHS for every block (25-45 ms each) the blocks came first only after a joint timeout.
BLOCKS_FIRST_MAX_RATIO = 2.0


@dataclass
class _Search:
    """What one search has learnt about its trials (:data:`BLOCKS_FIRST_MAX_RATIO`)."""

    block_s: float = 0.0  # the last block trial's time, s

    def blocks_first(self, m: ClusterModel) -> bool:
        return self.block_s <= BLOCKS_FIRST_MAX_RATIO * trial_limit_s(m)


def _trial(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    *,
    loosen: frozenset[str],
    deadline_scale: np.ndarray,
    warm: Outcome | None = None,
    search: _Search | None = None,
) -> Outcome:
    """Is there a plan with these deadlines? A feasibility MILP; with mixed chips the
    per-run blocks answer first (:func:`_block_trial`) while they are quick (``search``,
    :data:`BLOCKS_FIRST_MAX_RATIO`), else after the joint MILP found no answer within
    :func:`trial_limit_s`; when the blocks settle nothing the MILP gets the rest of the
    clock."""

    def joint(limit_s: float | None = None) -> Outcome:
        return _solve_goal(
            m,
            "feasibility",
            solver,
            clock,
            loosen=loosen,
            deadline_scale=deadline_scale,
            warm=warm,
            limit_s=limit_s,
        )

    if not m.allow_mixed_chips:
        return joint()
    if search is None or not search.blocks_first(m):
        out = joint(trial_limit_s(m))
        if out.status in ("optimal", "infeasible") or clock.out():
            return out
    by_blocks = _block_trial(m, clock, loosen, deadline_scale, search)
    return by_blocks if by_blocks is not None else joint()


def _block_trial(
    m: ClusterModel,
    clock: _Clock,
    loosen: frozenset[str],
    deadline_scale: np.ndarray,
    search: _Search | None = None,
) -> Outcome | None:
    """Mixed chips: answer a feasibility trial from each run alone. For the site grid, then
    the budget: every run's least use of it (its block MILP, other runs and limits aside)
    summed is a lower bound of any plan's use, so a sum above the limit proves that no plan
    fits; and the runs' least-use plans side by side, if they meet every row, are a plan.
    None when neither settles it."""
    form = _formulate(m, "feasibility", loosen=loosen, deadline_scale=deadline_scale)
    if form.infeasible_bounds:
        return None
    lp, coupling = form.lp, form.coupling()
    integer = np.asarray(lp.integer, dtype=bool)
    began = time.perf_counter()
    answer: Outcome | None = None
    for name in ("grid_limit", "budget"):
        if name not in lp.row_names:
            continue
        i = lp.row_names.index(name)
        use = lp.with_objective(dict(lp.row_coeffs[i]))
        zero = form.dominated(use.objective) if form.dominated is not None else []
        limit = lp.row_upper[i]
        blocks = solve_blocks(
            use,
            coupling,
            time_limit_s=clock.remaining(),
            zero_in_blocks=zero,
            stop_above=limit + 1e-9 * max(abs(limit), 1.0),
        )
        if blocks is None:
            break
        if float(blocks.bounds.sum()) > limit + 1e-9 * max(abs(limit), 1.0):
            answer = Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
            break
        if blocks.point is not None:
            x = np.clip(np.where(integer, np.round(blocks.point), blocks.point), lp.lower, lp.upper)
            if not lp.violation(x):
                answer = solving._read_point(form, "optimal", x, 0.0)
                answer.totals = _model_totals(m, answer)
                break
    elapsed = time.perf_counter() - began
    clock.solve_s += elapsed
    clock.solves += 1
    if search is not None:
        search.block_s = elapsed
    if answer is not None:
        answer.solve_s = elapsed
    return answer


#: With a hint, the search walks from it in steps of this many ``rel_tol`` (growing 4x a
#: step) until a trial with a plan and one without bracket the earliest finish.
HINT_STEP_TOLS = 0.999
#: Walk trials from a hint before the search falls back to the LP bound and the deadlines.
HINT_WALK_TRIALS = 4


def _earliest_finish(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    *,
    loosen: frozenset[str] = frozenset(),
    below: float | None = None,
    rel_tol: float = MAKESPAN_REL_TOL,
    hint: float | None = None,
) -> tuple[Outcome, float]:
    """The plan with the earliest latest finish, every deadline met: ``(plan, lower bound)``.

    Each step is a feasibility MILP with run ``r``'s deadline ``min(T_r, M)`` for a trial
    latest finish ``M`` (the counts are then forced, so each solve is quick, with one chip per
    run or mixed chips alike). First the deadlines as given (no plan: infeasible; ``below``
    asks for a finish below that instead); then up from the LP relaxation's bound in growing
    steps, never above the geometric midpoint, until the best plan's own latest finish and
    the largest trial without a plan agree within ``rel_tol`` (``MAKESPAN_REL_TOL``).
    ``status`` is ``time_limit`` when the clock stopped the search first. The lower bound
    returned is the LP bound or the largest trial shown to have no plan, whichever is later.

    ``hint``: a latest finish expected near the optimum (the goodput(N) re-solve's previous
    plan: the same model with slightly different goodputs). The search then starts there
    and walks (down from a plan, up from no plan) in steps of :data:`HINT_STEP_TOLS`
    ``rel_tol``, growing 4x a step, until two trials bracket the earliest finish: when the
    optimum moved by a fraction of a percent that takes 2-3 trials and no LP bound (the
    search without a hint starts 1% or more below the optimum at the LP bound). After
    :data:`HINT_WALK_TRIALS` trials without a bracket it goes on as without a hint. The
    result is the same search's (the bracket only starts narrower). With ``below`` (a
    binding test) the first trial is still at ``below`` (one trial tells a limit that does
    not bind), and the walk from the hint follows only when that trial found a plan.
    """
    top = max(m.deadline_days.values()) if below is None else below
    search = _Search()

    def trial_at(finish: float, warm: Outcome | None = None) -> Outcome:
        return _trial(
            m,
            solver,
            clock,
            loosen=loosen,
            deadline_scale=_finish_scale(m, finish),
            warm=warm,
            search=search,
        )

    best: Outcome | None = None
    hi = math.inf  # the earliest finish of a plan found
    lo = 0.0  # a latest finish shown to have no plan

    def walk(at: float) -> None:
        """From ``at``, down from a plan or up from none, in steps of HINT_STEP_TOLS
        rel_tol growing 4x, until a trial with a plan and one without bracket the finish."""
        nonlocal best, hi, lo
        step = HINT_STEP_TOLS * rel_tol
        for _ in range(HINT_WALK_TRIALS):
            if clock.out():
                return
            probe = trial_at(at, best)
            if probe.has_solution:
                best, hi = probe, min(_plan_finish(m, probe), at)
                if lo > 0:
                    return
                at = hi / (1 + step)
            elif probe.status == "infeasible":
                lo = max(lo, at)
                if best is not None:
                    return
                at = lo * (1 + step)
                if at >= top:
                    return
            else:
                return
            step *= 4

    if hint is not None and below is None and 0 < hint < top:
        walk(hint)
    if best is None:
        first = trial_at(top)
        if not first.has_solution:
            return first, math.nan
        best, hi = first, _plan_finish(m, first)
        if below is not None and hint is not None and 0 < hint < hi:
            walk(hint)  # a plan finishes earlier than asked: walk from the hint
    # first just above the LP bound: with one chip per run often tight (then the optimum is
    # exact); with mixed chips 1% or more below the optimum (a trial 1e-6 above it is wasted),
    # and a search to a coarser tolerance than the makespan's (a binding test's) wants no
    # exact optimum: one rel_tol above the bound settles it when the bound is that close
    exact = not m.allow_mixed_chips and rel_tol <= MAKESPAN_REL_TOL
    step = 1e-6 if exact else rel_tol
    if lo <= 0 or hi > lo * (1 + HINT_STEP_TOLS * rel_tol * 4**HINT_WALK_TRIALS):
        lo = min(max(_finish_bound(m, solver, clock, loosen), lo), hi)
    else:
        step = math.inf  # lo and hi are both trials: bisect
        lo = min(lo, hi)  # (a trial without a plan above a plan found: solver tolerances)
    tries = 0
    while hi > lo * (1 + rel_tol) and not clock.out():
        trial = min(lo * (1 + step), math.sqrt(lo * hi)) if lo > 0 else hi / 2
        tries += 1
        clock.report("searching the earliest finish", min(tries, 59), 60)
        out = trial_at(trial, best)
        if out.has_solution:
            best, hi = out, min(_plan_finish(m, out), trial)
        elif out.status == "infeasible":
            lo = trial
            step *= 16
        else:
            break
    if hi > lo * (1 + rel_tol):
        best.status = "time_limit"
    return best, lo


def _time_plan(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    tolerance: float | None = None,
    hint: float | None = None,
) -> tuple[Outcome, float | None, list[str]]:
    """The ``time`` objective: the earliest latest finish ``M`` (every deadline met), then the
    least cost (and the later tie-breaks) among the plans whose runs all end by
    ``M (1 + tolerance)`` (``scenario.time_tolerance``, default 1%): not the last minute bought
    at any price. Returns the outcome (``primary`` = ``M``, days), ``M (1 + tolerance)`` and
    notes.
    """
    tol = float(m.scenario.time_tolerance if tolerance is None else tolerance)
    notes: list[str] = []
    clock.report("solving: time (earliest latest finish)", 0, 2)
    fastest, bound = _earliest_finish(m, solver, clock, hint=hint)
    if not fastest.has_solution:
        return fastest, None, notes
    finish = _plan_finish(m, fastest)
    fastest.primary = finish
    fastest.mip_gap = max(0.0, (finish - bound) / finish) if bound > 0 else None
    allowed = finish * (1 + tol) * (1 + 1e-9)
    if clock.out() or fastest.status != "optimal":
        if clock.out():
            notes.append("time limit reached before the cost tie-break")
        return fastest, allowed, notes
    clock.report("tie-break: cost within the time tolerance", 1, 2)
    cost_model = replace(m, objective="cost")
    out, stage_notes = _lexicographic(
        cost_model,
        solver,
        clock,
        deadline_scale=_finish_scale(m, allowed),
        stages=_stages(m)[1:],
        warm=fastest,
        primary="time",
    )
    notes += stage_notes
    if not out.has_solution:
        notes.append("the cost tie-break found no plan within the time tolerance: fastest shown")
        out = fastest
        out.status = "optimal"
    out.primary = finish
    out.mip_gap = fastest.mip_gap
    notes.append(
        f"time objective: earliest latest finish {finish:,.4g} days; the cheapest plan whose "
        f"runs all end within {tol:.1%} of it (time_tolerance)"
    )
    return out, allowed, notes
