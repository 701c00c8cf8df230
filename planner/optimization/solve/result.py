"""The one result type of every solver call, whatever the model and the solver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Statuses of a :class:`SolveResult`. ``optimal``: proven within the gap asked for;
#: ``time_limit``: a feasible point, the limit stopped the proof; ``infeasible``: proven;
#: ``no_solution``: no point and no proof (``detail`` says why); ``error``: the solver failed.
STATUSES: tuple[str, ...] = ("optimal", "time_limit", "infeasible", "no_solution", "error")

#: ``progress(stage, done, total)``: what an optimiser is doing, and how far it is in it.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SolveResult:
    """What one solver call returned.

    ``x`` is the point (array LP: one value per column; Pyomo: the values are loaded into the
    model and ``x`` is None), ``objective`` its objective in the model's own units (None
    without a point), ``mip_gap`` the relative gap the solver proved (None when it does not
    say, 0 for an LP), ``solve_s`` the wall-clock seconds of the call, ``solver`` the solver
    that ran (``highs`` or ``cbc``), ``bound`` the best proven bound (None when the solver does
    not say), ``build_s`` the seconds spent handing the model to the solver (Pyomo; 0 for the
    array LP, whose hand-over is part of ``solve_s``). The solver's log is never here and never on stdout: it
    goes to ``logging.getLogger("planner.optimization.solve")`` at DEBUG level.
    """

    status: str
    objective: float | None = None
    mip_gap: float | None = None
    solve_s: float = 0.0
    solver: str = ""
    detail: str = ""
    x: np.ndarray | None = None
    bound: float | None = None
    build_s: float = 0.0

    @property
    def gap(self) -> float | None:
        """The proven relative gap (``mip_gap``)."""
        return self.mip_gap

    @property
    def has_solution(self) -> bool:
        """A point is there to read (proven optimal, or the best found by the time limit)."""
        return self.status in ("optimal", "time_limit")
