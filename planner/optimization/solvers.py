"""Solver wrappers: HiGHS through ``highspy``, CBC through PuLP, quiet (:func:`quiet_stdout`),
every returned point checked against the unscaled rows.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pulp

from planner.errors import InputError
from planner.optimization.constants import MIP_ABS_GAP, MIP_REL_GAP, SOLVERS
from planner.optimization.formulation import (
    INTEGRALITY_TOL,
    _Formulation,
    _LinearProgram,
    _model_arrays,
    _objective_coefficients,
    _Outcome,
    _var,
)
from planner.optimization.model import ClusterModel


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


_LOG = logging.getLogger(__name__)
#: One solver call at a time may own file descriptor 1 (Streamlit runs sessions in threads).
_STDOUT_LOCK = threading.RLock()


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to flush
        pass


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep what C code writes on stdout (file descriptor 1) off the real stdout.

    HiGHS prints its banner from C when the first ``Highs`` object is made, before any
    option can stop it, and CBC writes from a child process. Inside this block file
    descriptor 1 points at a temporary file; at the end the text is forwarded to
    ``logging.getLogger("planner.optimization")`` at DEBUG level. Python's own ``sys.stdout``
    is flushed first, so nothing printed before the block is lost or reordered. A lock
    serialises the blocks of several threads (a thread printing while another holds the
    block has its C-level output logged instead of printed).
    """
    with _STDOUT_LOCK:
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        _flush_c_stdout()
        try:
            saved = os.dup(1)
        except OSError:  # no file descriptor 1 at all: nothing can leak
            saved = None
        if saved is None:
            yield
            return
        text = ""
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 1)
            try:
                yield
            finally:
                _flush_c_stdout()
                os.dup2(saved, 1)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", errors="replace")
        if text.strip():
            _LOG.debug("solver output:\n%s", text.rstrip())


def _highs_solve(
    lp: _LinearProgram,
    time_limit_s: float | None,
    tight: bool,
    start: np.ndarray | None = None,
    rel_gap: float = MIP_REL_GAP,
) -> tuple[str, np.ndarray | None, str]:
    highspy = _highspy()
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
        has_point = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=float) if has_point else None
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal and x is not None:
        return "optimal", x, ""
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return "infeasible", None, ""
    if x is not None and status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt):
        return "time_limit", x, ""
    return "no_solution", None, f"solver status {h.modelStatusToString(status)}"


def _cbc_solve(
    lp: _LinearProgram,
    time_limit_s: float | None,
    tight: bool,
    start: np.ndarray | None = None,
    rel_gap: float = MIP_REL_GAP,
) -> tuple[str, np.ndarray | None, str]:
    starts, index, value, lower, upper, cost = lp.scaled()
    prob = pulp.LpProblem("cluster_plan", pulp.LpMinimize)
    xs = [
        _var(prob, f"x{j}", lo, up, pulp.LpInteger if integer else pulp.LpContinuous)
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
    try:
        with quiet_stdout():
            prob.solve(solver)
    except pulp.PulpSolverError as exc:
        return "error", None, str(exc)
    status, sol = prob.status, prob.sol_status
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and all(
        v.varValue is not None for v in xs
    ):
        x = np.asarray([float(v.varValue) for v in xs])
        return ("optimal" if sol == pulp.LpSolutionOptimal else "time_limit"), x, ""
    if status == pulp.LpStatusInfeasible:
        return "infeasible", None, ""
    return "no_solution", None, f"solver status {pulp.LpStatus[status]}"


def _run(form: _Formulation, solver: str, time_limit_s: float | None) -> _Outcome:
    """Solve ``form``, check the point against every unscaled row, read it back.

    A point that breaks a bound, a row or integrality beyond the tolerances is re-solved once
    with tight tolerances; if it still does, the outcome is ``no_solution`` naming the row:
    the solver's status alone is never trusted.
    """
    start = time.perf_counter()
    if form.infeasible_bounds:
        return _Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
    call = _highs_solve if solver == "highs" else _cbc_solve
    problem = ""
    for tight in (False, True):
        try:
            status, x, detail = call(form.lp, time_limit_s, tight, form.start, form.rel_gap)
        except Exception as exc:  # noqa: BLE001 - a solver crash is an answer, not a traceback
            return _Outcome("error", {}, {}, None, {}, {}, time.perf_counter() - start, str(exc))
        if x is None:
            return _Outcome(status, {}, {}, None, {}, {}, time.perf_counter() - start, detail)
        integer = np.asarray(form.lp.integer)
        off = np.abs(x - np.round(x))
        if integer.any() and off[integer].max() > INTEGRALITY_TOL:
            j = int(np.flatnonzero(integer)[np.argmax(off[integer])])
            problem = f"integer column {j} = {x[j]:.9g}"
            continue
        x = np.where(integer, np.round(x), x)
        x = np.clip(x, form.lp.lower, form.lp.upper)
        problem = form.lp.violation(x) or ""
        if not problem:
            return _read_point(form, status, x, time.perf_counter() - start)
        _LOG.debug("solver point rejected (%s); re-solving with tight tolerances", problem)
    return _Outcome(
        "no_solution",
        {},
        {},
        None,
        {},
        {},
        time.perf_counter() - start,
        f"the solver's point breaks {problem}",
    )


def _read_point(form: _Formulation, status: str, x: np.ndarray, elapsed: float) -> _Outcome:
    n = np.rint(x[form.n]).astype(int)
    if form.f is not None:
        f = np.clip(x[form.f], 0.0, 1.0)
    else:
        assert form.g is not None and form.t is not None
        t = x[form.t]
        if t <= 0:
            return _Outcome("no_solution", {}, {}, None, {}, {}, elapsed, "zero speed")
        f = np.clip(x[form.g] / t, 0.0, 1.0)
        if form.service is not None and form.service.any():
            f[form.service] = np.clip(x[form.g][form.service], 0.0, 1.0)
    if form.f is None or not form.lp.integer[int(form.f[0])]:
        # shares: each run's sum is 1 up to the solver's tolerance; make it exactly 1 so
        # every FLOP is sized by the read-back (a 1e-6 shortfall would drop work)
        per_run = pd.Series(f, index=pd.MultiIndex.from_tuples(form.keys)).groupby(level=0)
        total = per_run.transform("sum").to_numpy()
        f = np.where(total > 0, f / np.where(total > 0, total, 1.0), f)
    z = None if form.t is None else float(x[form.t]) * form.speed_unit
    return _Outcome(
        status,
        n=dict(zip(form.keys, n.tolist(), strict=True)),
        f=dict(zip(form.keys, f.tolist(), strict=True)),
        z=z,
        totals={},
        elastic={name: float(x[j]) for name, j in form.elastic.items()},
        solve_s=elapsed,
    )


def _model_totals(m: ClusterModel, out: _Outcome) -> dict[str, float]:
    """Objective totals of a point in model units (cost in USD millions)."""
    if not out.n:
        return {}
    col = _model_arrays(m)
    coefs = _objective_coefficients(m, col)
    n = np.asarray([out.n[k] for k in m.options.index], dtype=float)
    f = np.asarray([out.f[k] for k in m.options.index], dtype=float)
    return {name: float(math.fsum(cn * n + cf * f)) for name, (cn, cf) in coefs.items()}


def _check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise InputError("solver", solver, "one of: " + ", ".join(SOLVERS))
    installed = available_solvers()
    if solver in installed:
        return solver
    if installed:
        return installed[0]  # the documented fallback (HiGHS missing -> CBC)
    raise InputError("solver", solver, "an installed solver (pip install highspy)")


#: ``progress(stage, done, total)``: what the optimiser is doing, and how far it is in it.
Progress = Callable[[str, int, int], None]
