"""The solver layer: one result type for every model and solver.

Any model that can be written as a :class:`LinearProgram` (arrays) is solved by
:func:`solve_lp` with HiGHS (``highspy``) or CBC (through PuLP); any Pyomo model by
:func:`solve_pyomo` with HiGHS (Pyomo's ``appsi_highs`` interface). Both return a
:class:`SolveResult` (status, objective, proven MIP gap, seconds, solver), take a time limit
and explicit gaps, keep the solver's output off stdout (:func:`quiet_stdout`: it goes to
``logging.getLogger("planner.optimization.solve")`` at DEBUG level) and answer infeasible or
a crash with a status, never an exception. :func:`check_solver` picks the installed fallback
(HiGHS missing -> CBC). :func:`solve_lp_by_blocks` solves a MILP whose rows split into
independent blocks once the caller's coupling rows are set aside: each block's own optimum
bounds its part of the objective, and a Lagrangian bound over the coupling row the blocks'
optima break tightens that (:mod:`.blocks`). A block of the covering shape (a unit of work
split over pools of whole units, each with a minimum) is solved exactly by
:func:`solve_covering` (:mod:`.covering`, about 0.4 ms against HiGHS's 25-45 ms), any other
by HiGHS. Nothing here knows what a model means.
"""

from __future__ import annotations

from planner.optimization.solve.arrays import (
    available_solvers,
    cbc_solve,
    check_solver,
    highs_solve,
    pulp_var,
    solve_lp,
)
from planner.optimization.solve.blocks import (
    BlockBounds,
    LagrangeBound,
    block_labels,
    lagrange_bound,
    solve_blocks,
    solve_lp_by_blocks,
)
from planner.optimization.solve.covering import CoveringBlock, recognise, solve_covering
from planner.optimization.solve.lp import (
    CHECK_REL,
    CLEAN_REL,
    INTEGRALITY_TOL,
    CoefficientRange,
    LinearProgram,
)
from planner.optimization.solve.pyomo import SENSES, pyomo_available, solve_pyomo
from planner.optimization.solve.result import STATUSES, Progress, SolveResult
from planner.optimization.solve.stdout import quiet_stdout

__all__ = [
    "SolveResult",
    "STATUSES",
    "Progress",
    "LinearProgram",
    "CoefficientRange",
    "CLEAN_REL",
    "CHECK_REL",
    "INTEGRALITY_TOL",
    "solve_lp",
    "solve_lp_by_blocks",
    "solve_blocks",
    "block_labels",
    "BlockBounds",
    "LagrangeBound",
    "lagrange_bound",
    "CoveringBlock",
    "recognise",
    "solve_covering",
    "highs_solve",
    "cbc_solve",
    "check_solver",
    "available_solvers",
    "pulp_var",
    "solve_pyomo",
    "pyomo_available",
    "SENSES",
    "quiet_stdout",
]
