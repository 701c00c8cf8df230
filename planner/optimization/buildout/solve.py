"""The one place the build-out calls a solver: :func:`solve_pyomo` (Pyomo's own HiGHS
interface, ``appsi_highs``). Swappable for a shared solver layer: everything else reads only
the :class:`SolveOutcome` and the model's variable values.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger("planner.optimization.buildout")

#: Relative MIP gap the build-out solves to by default (HiGHS ``mip_rel_gap``): 1%, about
#: the precision of the inputs (prices, lead times, deliveries are estimates).
MIP_REL_GAP = 0.01


@dataclass(frozen=True)
class SolveOutcome:
    """What one solve gave.

    ``status``: ``optimal`` (within the gap), ``time_limit`` (stopped with a solution: the
    best found), ``no_solution`` (stopped before any), ``infeasible``, ``error``.
    ``objective`` and ``bound`` in the model's units (None without a solution); ``gap`` the
    relative gap HiGHS reports. ``build_s``: handing the Pyomo model to HiGHS; ``solve_s``:
    HiGHS itself.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    build_s: float
    solve_s: float

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")


def _quiet() -> Any:
    try:
        from planner.optimization.solvers import quiet_stdout
    except ImportError:  # pragma: no cover - the shared layer moved it
        return contextlib.nullcontext()
    return quiet_stdout()


def solve_pyomo(
    model: Any, *, time_limit_s: float | None = None, mip_rel_gap: float = MIP_REL_GAP
) -> SolveOutcome:
    """Solve the Pyomo ``model`` with HiGHS; load the solution into it when there is one.

    The HiGHS log goes to ``logging.getLogger("planner.optimization.buildout")`` at DEBUG
    level, never to stdout.
    """
    from pyomo.contrib.appsi.base import TerminationCondition
    from pyomo.contrib.appsi.solvers import Highs

    fd, log_path = tempfile.mkstemp(prefix="buildout-highs-", suffix=".log")
    os.close(fd)
    t0 = time.perf_counter()
    try:
        with _quiet():
            opt = getattr(model, "_highs", None)
            reuse = opt is not None
            if opt is None:
                opt = Highs()
                opt.config.load_solution = False
                opt.config.stream_solver = False
            opt.highs_options.update(
                {
                    "mip_rel_gap": float(mip_rel_gap),
                    "log_to_console": False,
                    "output_flag": True,
                    "log_file": log_path,
                    "threads": 1,
                }
            )
            opt.config.time_limit = None if time_limit_s is None else float(time_limit_s)
            # A model solved before keeps its HiGHS copy: only what changed is handed over
            # (variable domains, bounds and fixings; a new constraint or objective).
            for key in (
                "check_for_new_or_removed_constraints",
                "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params",
                "check_for_new_objective",
                "update_vars",
                "update_objective",
            ):
                setattr(opt.update_config, key, reuse)
            for key in ("update_constraints", "update_params", "update_named_expressions"):
                setattr(opt.update_config, key, False)
            if reuse:
                opt.update()
            else:
                opt.set_instance(model)
                model._highs = opt
            built = time.perf_counter()
            for key in (
                "check_for_new_or_removed_constraints",
                "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params",
                "check_for_new_objective",
                "update_vars",
                "update_objective",
            ):
                setattr(opt.update_config, key, False)
            res = opt.solve(model)
            done = time.perf_counter()
    finally:
        try:
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            if text.strip():
                LOG.debug("HiGHS log:\n%s", text)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(log_path)
    tc = res.termination_condition
    has = res.best_feasible_objective is not None
    if tc == TerminationCondition.optimal:
        status = "optimal"
    elif tc == TerminationCondition.infeasible:
        status = "infeasible"
    elif tc in (TerminationCondition.maxTimeLimit, TerminationCondition.interrupted):
        status = "time_limit" if has else "no_solution"
    elif tc == TerminationCondition.infeasibleOrUnbounded:
        status = "infeasible"
    else:
        status = "time_limit" if has else "error"
    if has:
        res.solution_loader.load_vars()
    obj = float(res.best_feasible_objective) if has else None
    bound = res.best_objective_bound
    bound = float(bound) if bound is not None and abs(bound) != float("inf") else None
    gap = None
    if obj is not None and bound is not None:
        gap = abs(obj - bound) / max(abs(obj), 1e-9)
    return SolveOutcome(
        status=status,
        objective=obj,
        bound=bound,
        gap=gap,
        build_s=built - t0,
        solve_s=done - built,
    )
