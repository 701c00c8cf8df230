"""The build-out's solver call: the shared Pyomo solver layer
(:func:`planner.optimization.solve.solve_pyomo`, Pyomo's own HiGHS interface), kept
persistent so the relaxation search and the restricted second stage re-solve one model
by handing HiGHS only what changed.
"""

from __future__ import annotations

from typing import Any

from planner.optimization.solve import SolveResult
from planner.optimization.solve import solve_pyomo as _solve_pyomo

#: Relative MIP gap the build-out solves to by default (HiGHS ``mip_rel_gap``): 1%, about
#: the precision of the inputs (prices, lead times, deliveries are estimates).
MIP_REL_GAP = 0.01

#: The build-out reads the shared result type (status, objective, bound, gap, timings).
SolveOutcome = SolveResult


def solve_pyomo(
    model: Any, *, time_limit_s: float | None = None, mip_rel_gap: float = MIP_REL_GAP
) -> SolveResult:
    """Solve the build-out ``model`` with HiGHS and load its point (shared solver layer)."""
    return _solve_pyomo(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, persistent=True)
