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
    persistent: bool = False,
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
    persistent : bool
        Keep the solver's copy of the model on the model (``model._planner_highs``) so that
        the next call hands over only what changed (variable bounds and fixings, a new
        objective): for algorithms that re-solve one model many times (the build-out's
        relaxations and its restricted second stage). Constraints added or removed between
        calls are picked up too.

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
            opt = getattr(model, "_planner_highs", None) if persistent else None
            reuse = opt is not None
            if opt is None:
                opt = Highs()  # what SolverFactory("appsi_highs") wraps, with its full results
                if not opt.available():
                    return SolveResult(
                        "error", solver="highs", detail="Pyomo's HiGHS interface is not available"
                    )
                opt.config.load_solution = False
                opt.config.stream_solver = False
            opt.config.mip_gap = mip_rel_gap
            opt.config.time_limit = None if time_limit_s is None else max(float(time_limit_s), 0.01)
            # no "threads" option: HiGHS refuses to change its thread count once its scheduler
            # runs in this process (an array-LP solve before), and the solve then fails
            opt.highs_options.update(
                {
                    "output_flag": False,
                    "mip_rel_gap": mip_rel_gap,
                    "mip_abs_gap": mip_abs_gap,
                }
            )
            if persistent:
                _set_updates(opt, reuse)
                if reuse:
                    opt.update()
                else:
                    opt.set_instance(model)
                    model._planner_highs = opt
                _set_updates(opt, False)
            built = time.perf_counter()
            results = opt.solve(model)
            best = results.best_feasible_objective
            if best is not None and load_solution:
                results.solution_loader.load_vars()
    except Exception as exc:  # noqa: BLE001 - a solver crash is an answer, not a traceback
        return SolveResult(
            "error", solver="highs", detail=str(exc), solve_s=time.perf_counter() - began
        )
    done_at = time.perf_counter()
    tc = results.termination_condition
    bound = results.best_objective_bound
    bound = float(bound) if bound is not None and math.isfinite(bound) else None
    gap = None
    if best is not None and bound is not None:
        gap = abs(best - bound) / max(abs(best), 1e-10)
    done: dict[str, Any] = {
        "solver": "highs",
        "solve_s": done_at - built,
        "build_s": built - began,
        "bound": bound,
    }
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


#: Pyomo's persistent-interface switches that make ``update()`` hand over what changed.
_UPDATE_KEYS = (
    "check_for_new_or_removed_constraints",
    "check_for_new_or_removed_vars",
    "check_for_new_or_removed_params",
    "check_for_new_objective",
    "update_vars",
    "update_objective",
)


def _set_updates(opt: Any, on: bool) -> None:
    """Turn the persistent interface's change detection on (before ``update``) or off (so
    ``solve`` does not re-scan the whole model on every call)."""
    for key in _UPDATE_KEYS:
        setattr(opt.update_config, key, on)
    for key in ("update_constraints", "update_params", "update_named_expressions"):
        setattr(opt.update_config, key, False)
