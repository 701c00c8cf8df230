"""Solve a :class:`~planner.optimization.solve.lp.LinearProgram`: HiGHS through ``highspy``
(the CSR arrays in one call) or CBC through PuLP, quiet (:func:`quiet_stdout`), every returned
point checked against the unscaled rows (:func:`solve_lp`).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pulp

from planner.errors import InputError
from planner.optimization.constants import MIP_ABS_GAP, MIP_REL_GAP, SOLVERS
from planner.optimization.solve.lp import INTEGRALITY_TOL, LinearProgram
from planner.optimization.solve.result import SolveResult
from planner.optimization.solve.stdout import quiet_stdout

_LOG = logging.getLogger("planner.optimization.solve")


def available_solvers() -> list[str]:
    """Solvers usable here, in order of preference (``highs``, ``cbc``)."""
    found = set(pulp.listSolvers(onlyAvailable=True))
    names = []
    if _highspy() is not None:
        names.append("highs")
    if "PULP_CBC_CMD" in found:
        names.append("cbc")
    return names


def _highspy() -> Any:
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency
        return None
    return highspy


def check_solver(solver: str) -> str:
    """The solver to use for ``solver``: itself if installed, else the first installed one
    (HiGHS missing -> CBC); bad input names the field when it is none of :data:`SOLVERS`."""
    if solver not in SOLVERS:
        raise InputError("solver", solver, "one of: " + ", ".join(SOLVERS))
    installed = available_solvers()
    if solver in installed:
        return solver
    if installed:
        return installed[0]  # the documented fallback (HiGHS missing -> CBC)
    raise InputError("solver", solver, "an installed solver (pip install highspy)")


def pulp_var(
    prob: pulp.LpProblem,
    name: str,
    low: float | None,
    up: float | None = None,
    cat: str = pulp.LpContinuous,
) -> pulp.LpVariable:
    """A variable attached to ``prob`` (PuLP >= 3.3 API; plain LpVariable on older PuLP)."""
    low = None if low is None or low == -math.inf else low
    up = None if up is None or up == math.inf else up
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def highs_solve(
    lp: LinearProgram,
    time_limit_s: float | None,
    tight: bool,
    start: np.ndarray | None = None,
    rel_gap: float = MIP_REL_GAP,
) -> SolveResult:
    """One HiGHS call on the scaled arrays (no check of the point: see :func:`solve_lp`)."""
    highspy = _highspy()
    began = time.perf_counter()
    starts, index, value, lower, upper, cost = lp.scaled()
    with quiet_stdout():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("log_to_console", False)
        h.setOptionValue("mip_rel_gap", rel_gap)
        h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
        if tight:
            h.setOptionValue("primal_feasibility_tolerance", 1e-9)
            h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        if time_limit_s is not None:
            h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
        model = highspy.HighsLp()
        model.num_col_ = lp.num_col
        model.num_row_ = len(lower)
        model.col_cost_ = cost
        model.col_lower_ = np.asarray(lp.lower, dtype=float)
        model.col_upper_ = np.asarray(lp.upper, dtype=float)
        model.row_lower_ = np.where(np.isfinite(lower), lower, -highspy.kHighsInf)
        model.row_upper_ = np.where(np.isfinite(upper), upper, highspy.kHighsInf)
        model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        model.a_matrix_.num_col_ = lp.num_col
        model.a_matrix_.num_row_ = len(lower)
        model.a_matrix_.start_ = starts
        model.a_matrix_.index_ = index
        model.a_matrix_.value_ = value
        kinds = highspy.HighsVarType
        model.integrality_ = [kinds.kInteger if i else kinds.kContinuous for i in lp.integer]
        h.passModel(model)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        has_point = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=float) if has_point else None
        gap = float(info.mip_gap) if any(lp.integer) else 0.0
        bound = float(info.mip_dual_bound) if any(lp.integer) else None
        reported = float(info.objective_function_value)
    elapsed = time.perf_counter() - began
    objective = float(cost @ x) if x is not None else None
    if (
        objective is not None
        and bound is not None
        and math.isfinite(bound)
        and abs(objective - reported) > 1e-9 * max(1.0, abs(objective))
    ):
        # HiGHS can report the optimum's objective and gap while handing back another point
        # (seen: the warm start, 2e-6 above the optimum, with gap 0): the gap of the point
        # returned
        gap = max(gap, (objective - bound) / max(abs(objective), 1e-12))
    if bound is None and status == highspy.HighsModelStatus.kOptimal:
        bound = objective  # an LP's optimum is its bound
    ms = highspy.HighsModelStatus
    done = SolveResult("no_solution", solver="highs", solve_s=elapsed)
    if status == ms.kOptimal and x is not None:
        return replace(done, status="optimal", objective=objective, mip_gap=gap, x=x, bound=bound)
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return replace(done, status="infeasible")
    if x is not None and status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt):
        return replace(
            done, status="time_limit", objective=objective, mip_gap=gap, x=x, bound=bound
        )
    return replace(done, detail=f"solver status {h.modelStatusToString(status)}")


def cbc_solve(
    lp: LinearProgram,
    time_limit_s: float | None,
    tight: bool,
    start: np.ndarray | None = None,
    rel_gap: float = MIP_REL_GAP,
) -> SolveResult:
    """One CBC call (PuLP carries the scaled rows; no check of the point: see
    :func:`solve_lp`). CBC reports no gap: ``mip_gap`` is None."""
    began = time.perf_counter()
    starts, index, value, lower, upper, cost = lp.scaled()
    prob = pulp.LpProblem("cluster_plan", pulp.LpMinimize)
    xs = [
        pulp_var(prob, f"x{j}", lo, up, pulp.LpInteger if integer else pulp.LpContinuous)
        for j, (lo, up, integer) in enumerate(zip(lp.lower, lp.upper, lp.integer, strict=True))
    ]
    for i in range(len(lower)):
        sl = slice(starts[i], starts[i + 1])
        expr = pulp.LpAffineExpression(
            [(xs[j], a) for j, a in zip(index[sl].tolist(), value[sl].tolist(), strict=True)]
        )
        lo, hi = float(lower[i]), float(upper[i])
        if lo == hi:
            prob += expr == lo, f"r{i}"
            continue
        if math.isfinite(lo):
            prob += expr >= lo, f"r{i}_lo"
        if math.isfinite(hi):
            prob += expr <= hi, f"r{i}_hi"
    prob.setObjective(
        pulp.LpAffineExpression([(xs[j], c) for j, c in enumerate(cost.tolist()) if c])
    )
    limit = None if time_limit_s is None else max(float(time_limit_s), 0.01)
    options = ["primalTolerance 1e-9", "integerTolerance 1e-9"] if tight else []
    with warnings.catch_warnings():  # PuLP 3.x: "use COIN_CMD" - but that needs a system CBC
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(
            msg=False, timeLimit=limit, gapRel=rel_gap, gapAbs=MIP_ABS_GAP, options=options
        )
    done: dict[str, Any] = {"solver": "cbc"}
    try:
        with quiet_stdout():
            prob.solve(solver)
    except pulp.PulpSolverError as exc:
        return SolveResult("error", detail=str(exc), solve_s=time.perf_counter() - began, **done)
    done["solve_s"] = time.perf_counter() - began
    status, sol = prob.status, prob.sol_status
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and all(
        v.varValue is not None for v in xs
    ):
        x = np.asarray([float(v.varValue) for v in xs])
        kind = "optimal" if sol == pulp.LpSolutionOptimal else "time_limit"
        return SolveResult(kind, float(cost @ x), None, x=x, **done)
    if status == pulp.LpStatusInfeasible:
        return SolveResult("infeasible", **done)
    return SolveResult("no_solution", detail=f"solver status {pulp.LpStatus[status]}", **done)


def solve_lp(
    lp: LinearProgram,
    solver: str = "highs",
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float = MIP_REL_GAP,
    start: np.ndarray | None = None,
) -> SolveResult:
    """Solve ``lp`` with ``solver`` (``highs`` or ``cbc``) and check the point.

    Every point is checked against every bound, integrality (``INTEGRALITY_TOL``) and
    UNSCALED row (:meth:`LinearProgram.violation`) before it is returned, with its integer
    columns rounded and every column clipped to its bounds. A point that fails is re-solved
    once with tight tolerances; if it still fails the result is ``no_solution`` naming what
    it breaks: the solver's status alone is never trusted. A solver crash is an ``error``
    result, never an exception. ``start`` is a warm start (HiGHS only).
    """
    began = time.perf_counter()
    problem = ""
    for tight in (False, True):
        call = highs_solve if solver == "highs" else cbc_solve  # looked up per call (tests)
        try:
            res = call(lp, time_limit_s, tight, start, mip_rel_gap)
        except Exception as exc:  # noqa: BLE001 - a solver crash is an answer, not a traceback
            return SolveResult(
                "error", detail=str(exc), solver=solver, solve_s=time.perf_counter() - began
            )
        x = res.x
        if x is None:
            return replace(res, solve_s=time.perf_counter() - began)
        integer = np.asarray(lp.integer, dtype=bool)
        off = np.abs(x - np.round(x))
        if integer.any() and off[integer].max() > INTEGRALITY_TOL:
            j = int(np.flatnonzero(integer)[np.argmax(off[integer])])
            problem = f"integer column {j} = {x[j]:.9g}"
            continue
        x = np.where(integer, np.round(x), x)
        x = np.clip(x, lp.lower, lp.upper)
        problem = lp.violation(x) or ""
        if not problem:
            return replace(res, x=x, solve_s=time.perf_counter() - began)
        _LOG.debug("solver point rejected (%s); re-solving with tight tolerances", problem)
    return SolveResult(
        "no_solution",
        solver=solver,
        solve_s=time.perf_counter() - began,
        detail=f"the solver's point breaks {problem}",
    )
