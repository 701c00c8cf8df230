"""Solve a Pyomo model with HiGHS through Pyomo's own HiGHS interface (``appsi_highs``).

The same contract as the array LP (:func:`~planner.optimization.solve.arrays.solve_lp`): one
:class:`SolveResult`, explicit gaps and time limit, the solver's log routed to ``logging``
(never stdout, :func:`quiet_stdout`), infeasible as a status, never an exception. Pyomo is
imported only when a Pyomo model is solved.
"""

from __future__ import annotations

import math
import time
from typing import Any

from planner.optimization.constants import MIP_ABS_GAP, MIP_REL_GAP
from planner.optimization.solve.result import SolveResult
from planner.optimization.solve.stdout import quiet_stdout

#: Values of ``sense`` in :func:`solve_pyomo`.
SENSES: tuple[str, ...] = ("minimize", "maximize")


def pyomo_available() -> bool:
    """Whether Pyomo and its HiGHS interface (``appsi_highs``) work here."""
    try:
        from pyomo.contrib.appsi.solvers import Highs

        return bool(Highs().available())
    except Exception:  # noqa: BLE001 - any import or plugin failure means "not available"
        return False


def solve_pyomo(
    model: Any,
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float = MIP_REL_GAP,
    mip_abs_gap: float = MIP_ABS_GAP,
    sense: str | None = None,
    load_solution: bool = True,
) -> SolveResult:
    """Solve the Pyomo ``model`` (one active objective) with HiGHS.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        Built by the caller; nothing about its meaning is assumed.
    time_limit_s : float, optional
        Wall-clock limit of the HiGHS call; the best point found by then is returned with
        status ``time_limit``.
    mip_rel_gap, mip_abs_gap : float
        The proven gap that stops the search (relative, absolute).
    sense : {"minimize", "maximize"}, optional
        Sets the sense of the model's active objective before solving (default: as built).
    load_solution : bool
        Load the point into the model's variables when there is one (``x`` of the result is
        always None for a Pyomo model: read the variables).

    Returns
    -------
    SolveResult
        ``objective``: the best point's objective (None without one); ``mip_gap``: the
        relative gap HiGHS proved (``|best - bound| / max(|best|, 1e-10)``); ``solver``
        ``"highs"``. A model with no active objective, or an unknown ``sense``, is an
        ``error`` result.
    """
    began = time.perf_counter()
    if sense is not None and sense not in SENSES:
        return SolveResult("error", solver="highs", detail=f"sense {sense!r} not in {SENSES}")
    try:
        import pyomo.environ as pyo
        from pyomo.contrib.appsi.base import TerminationCondition
        from pyomo.contrib.appsi.solvers import Highs
    except ImportError as exc:  # pragma: no cover - pyomo is a dependency
        return SolveResult("error", solver="highs", detail=f"Pyomo is not installed: {exc}")
    objectives = list(model.component_data_objects(pyo.Objective, active=True))
    if len(objectives) != 1:
        return SolveResult(
            "error", solver="highs", detail=f"{len(objectives)} active objectives, not 1"
        )
    if sense is not None:
        objectives[0].sense = pyo.minimize if sense == "minimize" else pyo.maximize
    try:
        with quiet_stdout():
            opt = Highs()  # what pyo.SolverFactory("appsi_highs") wraps, with its full results
            if not opt.available():
                return SolveResult(
                    "error", solver="highs", detail="Pyomo's HiGHS interface is not available"
                )
            opt.config.load_solution = False
            opt.config.stream_solver = False
            opt.config.mip_gap = mip_rel_gap
            if time_limit_s is not None:
                opt.config.time_limit = max(float(time_limit_s), 0.01)
            opt.highs_options["output_flag"] = False
            opt.highs_options["mip_rel_gap"] = mip_rel_gap
            opt.highs_options["mip_abs_gap"] = mip_abs_gap
            results = opt.solve(model)
            best = results.best_feasible_objective
            if best is not None and load_solution:
                results.solution_loader.load_vars()
    except Exception as exc:  # noqa: BLE001 - a solver crash is an answer, not a traceback
        return SolveResult(
            "error", solver="highs", detail=str(exc), solve_s=time.perf_counter() - began
        )
    elapsed = time.perf_counter() - began
    tc = results.termination_condition
    bound = results.best_objective_bound
    gap = None
    if best is not None and bound is not None and math.isfinite(bound):
        gap = abs(best - bound) / max(abs(best), 1e-10)
    done: dict[str, Any] = {"solver": "highs", "solve_s": elapsed}
    if tc == TerminationCondition.optimal and best is not None:
        return SolveResult("optimal", float(best), gap, **done)
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return SolveResult("infeasible", **done)
    if best is not None and tc in (
        TerminationCondition.maxTimeLimit,
        TerminationCondition.maxIterations,
        TerminationCondition.interrupted,
    ):
        return SolveResult("time_limit", float(best), gap, **done)
    return SolveResult("no_solution", detail=f"solver status {tc.name}", **done)
