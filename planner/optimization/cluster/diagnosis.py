"""The cluster model as a :class:`~planner.optimization.diagnose.Diagnosable`: its limits
(site grid, budget, supply per chip, racks), a copy with one loosened, a re-solve.

:func:`_binding_tests` runs :func:`planner.optimization.diagnose.binding_tests` over it;
:func:`_binds_for` names the workloads a limit holds back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as _copy

from planner.optimization.cluster import algorithms
from planner.optimization.cluster.algorithms import _Clock
from planner.optimization.cluster.formulation import Outcome
from planner.optimization.cluster.model import ClusterModel
from planner.optimization.constants import (
    BINDING_FINISH_REL_TOL,
    DROPPED,
    LOOSEN_FRACTION,
    MAKESPAN_REL_TOL,
)
from planner.optimization.diagnose import Limit, Test, Trial, binding_tests


@dataclass(frozen=True)
class ClusterDiagnosis:
    """One cluster model, its plan's primary optimum, and the limits loosened so far.

    The formulation loosens a limit by ``LOOSEN_FRACTION`` or removes it (``loosen``, see
    :func:`~planner.optimization.cluster.formulation._formulate`): :meth:`loosened` takes
    those two; any other fraction is a ``ValueError`` (the cluster's least relaxations come
    from elastic rows, exactly, in :mod:`.relaxations`).
    """

    m: ClusterModel
    solver: str
    clock: _Clock
    primary: float | None = None
    loosen: frozenset[str] = field(default_factory=frozenset)

    def limits(self) -> list[Limit]:
        m = self.m
        out = [Limit("grid", m.grid_limit_mw, "the site grid limit", "MW")]
        if m.budget_usd is not None:
            out.append(Limit("budget", m.budget_usd, "the budget", "USD"))
        out += [
            Limit(f"supply:{c}", float(m.supply_gpus[c]), f"the supply of {c}", "GPUs")
            for c in m.supply_gpus
            if c in m.chips
        ]
        if m.max_racks is not None:
            out.append(Limit("racks", float(m.max_racks), "the site's racks", "racks"))
        return out

    def loosened(self, name: str, fraction: float | None) -> ClusterDiagnosis:
        if fraction is None:
            return _copy(self, loosen=self.loosen | {f"{name}{DROPPED}"})
        if fraction != LOOSEN_FRACTION:
            raise ValueError(f"the cluster model loosens a limit by {LOOSEN_FRACTION} only")
        return _copy(self, loosen=self.loosen | {name})

    def resolve(self) -> Trial:
        m, goal = self.m, self.m.objective
        if goal == "time" and self.primary is not None:
            # a plan finishing earlier at all? (a feasibility solve, often quick)
            earlier = self.primary / (1 + 2 * MAKESPAN_REL_TOL)
            # where a plan limited by what was loosened would finish: sooner in proportion
            # (a limit dropped: no guess)
            dropped = any(name.endswith(DROPPED) for name in self.loosen)
            alt, _ = algorithms._earliest_finish(
                m,
                self.solver,
                self.clock,
                loosen=self.loosen,
                below=earlier,
                rel_tol=BINDING_FINISH_REL_TOL,
                hint=None if dropped else self.primary / (1 + LOOSEN_FRACTION),
            )
            if alt.status == "infeasible":
                return Trial(self.primary, True)  # no earlier plan: does not bind
            value = algorithms._plan_finish(m, alt) if alt.has_solution else None
        else:
            alt = algorithms._solve_goal(m, goal, self.solver, self.clock, loosen=self.loosen)
            value = alt.totals.get(goal)
        if not alt.has_solution or value is None:
            return Trial(None, infeasible=alt.status == "infeasible")
        return Trial(value, alt.status == "optimal", alt)

    def improves(self, base: float, value: float) -> bool:
        return self.m.improves(base, value)


def _binding_tests(
    m: ClusterModel,
    out: Outcome,
    solver: str,
    clock: _Clock,
    alternatives: dict[str, Outcome] | None = None,
) -> dict[str, Test]:
    """Objective with each limit loosened by ``LOOSEN_FRACTION`` (re-solve, one at a time).

    A limit missing from the result was not tested (the time limit ran out first); a value
    ``None`` means the re-solve found no plan in the time left (also: not tested). For
    ``time`` the value is the latest finish in days (to ``BINDING_FINISH_REL_TOL``).
    ``alternatives`` (if given) receives each re-solve's plan, to say for which workloads a
    limit binds. With services a limit that does not bind at 10% looser is also re-solved
    without the limit (a service often changes chip only beyond 10%).
    """
    model = ClusterDiagnosis(m, solver, clock, out.primary)
    tests, trials = binding_tests(
        model,
        out.primary,
        drop_unless_binding=bool(m.services) and m.objective != "time",
        stop=clock.out,
        report=clock.report,
    )
    if alternatives is not None:
        alternatives.update({k: t.solution for k, t in trials.items() if t.solution is not None})
    return tests


def _binds_for(m: ClusterModel, out: Outcome, alt: Outcome | None) -> str:
    """Workloads whose chip or system count differs in the re-solve with a limit looser
    (comma-separated, in scenario order): the ones that limit holds back."""
    if alt is None or not alt.n:
        return ""

    def plan(o: Outcome, w: str) -> dict[str, int]:
        return {c: int(n) for (r, c), n in o.n.items() if r == w and n > 0}

    return ", ".join(w for w in m.workloads if plan(out, w) != plan(alt, w))
