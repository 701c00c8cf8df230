"""The model-agnostic layers of the optimiser: the solver layer (:mod:`planner.optimization.solve`,
one :class:`SolveResult` for the array LP and for Pyomo models) and the diagnosis over the
:class:`~planner.optimization.diagnose.Diagnosable` protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest

import planner.optimization as optimization
from planner.optimization.diagnose import (
    Diagnosable,
    Limit,
    Trial,
    binding_tests,
    binds,
    least_relaxation,
)
from planner.optimization.solve import (
    LinearProgram,
    SolveResult,
    available_solvers,
    block_labels,
    pyomo_available,
    solve_lp,
    solve_lp_by_blocks,
    solve_pyomo,
)

needs_pyomo = pytest.mark.skipif(not pyomo_available(), reason="Pyomo's HiGHS is not installed")


def _tiny_pyomo(lower: float = 3.5):  # noqa: ANN202 - a pyomo ConcreteModel
    pyo = pytest.importorskip("pyomo.environ")
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.NonNegativeIntegers, bounds=(0, 10))
    m.y = pyo.Var(bounds=(0, 5))
    m.c = pyo.Constraint(expr=2 * m.x + m.y >= lower)
    m.obj = pyo.Objective(expr=3 * m.x + 2 * m.y)
    return m


@needs_pyomo
def test_solve_pyomo_returns_the_optimum_and_loads_the_point(capfd) -> None:
    m = _tiny_pyomo()
    res = solve_pyomo(m, time_limit_s=10, mip_rel_gap=1e-6)
    assert isinstance(res, SolveResult)
    assert res.status == "optimal" and res.solver == "highs"
    # x = 1, y = 1.5 (6.0) beats x = 2, y = 0 (6.0)? both 6: the optimum is 6
    assert res.objective == pytest.approx(6.0)
    assert 2 * m.x.value + m.y.value >= 3.5 - 1e-9
    assert res.mip_gap is not None and res.mip_gap <= 1e-6
    assert res.solve_s > 0
    assert capfd.readouterr().out == ""  # the solver's log never reaches stdout


@needs_pyomo
def test_solve_pyomo_answers_infeasible_with_a_status_not_an_exception() -> None:
    res = solve_pyomo(_tiny_pyomo(lower=100.0))  # 2 x 10 + 5 < 100
    assert res.status == "infeasible" and res.objective is None and not res.has_solution


@needs_pyomo
def test_solve_pyomo_sense_maximize_flips_the_objective() -> None:
    res = solve_pyomo(_tiny_pyomo(), sense="maximize")
    assert res.status == "optimal" and res.objective == pytest.approx(3 * 10 + 2 * 5)


def test_solve_pyomo_refuses_an_unknown_sense_with_a_status() -> None:
    res = solve_pyomo(object(), sense="sideways")
    assert res.status == "error" and "sideways" in res.detail


def _tiny_lp() -> LinearProgram:
    lp = LinearProgram()
    x = lp.var(0, 10, integer=True)
    y = lp.var(0, 5)
    lp.row("demand", {x: 2.0, y: 1.0}, 3.5, math.inf)
    lp.objective = {x: 3.0, y: 2.0}
    return lp


@pytest.mark.parametrize("solver", available_solvers())
def test_solve_lp_gives_one_result_type_for_every_solver(solver: str) -> None:
    res = solve_lp(_tiny_lp(), solver, time_limit_s=10)
    assert res.status == "optimal" and res.solver == solver
    assert res.objective == pytest.approx(6.0)
    assert res.x is not None and res.x[0] == round(res.x[0])


def test_solve_lp_answers_infeasible_with_a_status() -> None:
    lp = _tiny_lp()
    lp.row("cap", {0: 1.0, 1: 1.0}, -math.inf, 0.5)
    assert solve_lp(lp, "highs").status == "infeasible"


def _blocks_lp(shared_cap: float) -> tuple[LinearProgram, list[bool]]:
    """Three workloads, each covering a demand of 2.5 with whole units of a kind (integer
    x, cost 3 each, weight 1) or a costlier continuous y (cost 4 per unit, weight 0.1): each
    alone is best at x = 2, y = 0.5 (cost 8); a shared limit on the weight couples them."""
    lp = LinearProgram()
    coupling = []
    weight: dict[int, float] = {}
    for w in range(3):
        x = lp.var(0, 10, integer=True)
        y = lp.var(0, 5)
        lp.row(f"demand_{w}", {x: 1.0, y: 1.0}, 2.5, math.inf)
        coupling.append(False)
        lp.objective.update({x: 3.0, y: 4.0})
        weight.update({x: 1.0, y: 0.1})
    lp.row("shared", weight, -math.inf, shared_cap)
    coupling.append(True)
    return lp, coupling


def test_block_labels_group_columns_by_the_rows_that_do_not_couple() -> None:
    lp, coupling = _blocks_lp(100.0)
    assert block_labels(lp, coupling).tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("cap", [100.0, 5.2, 4.15, 0.5])
def test_solving_by_blocks_gives_the_plain_optimum_with_its_proof(cap: float) -> None:
    # 100: each block alone (x = 2) meets the shared row, no joint search; 5.2 and 4.15: it
    # breaks it, the joint MILP runs with the block bounds; 0.5: infeasible either way
    lp, coupling = _blocks_lp(cap)
    plain = solve_lp(lp, "highs", mip_rel_gap=1e-9)
    split = solve_lp_by_blocks(lp, coupling, "highs", mip_rel_gap=1e-9)
    assert split.status == plain.status
    if plain.has_solution:
        assert split.objective == pytest.approx(plain.objective, rel=1e-9)
        assert split.mip_gap is not None and split.mip_gap <= 1e-9
        assert split.x is not None and lp.violation(split.x) is None
    if cap == 100.0:
        assert split.objective == pytest.approx(24.0)


def test_the_public_solve_is_the_function_and_the_layer_imports_by_its_full_name() -> None:
    import sys

    assert callable(optimization.solve) and optimization.solve.__name__ == "solve"
    assert sys.modules["planner.optimization.solve"].solve_pyomo is solve_pyomo


# --- diagnosis over the protocol: a toy model ----------------------------------------------


@dataclass(frozen=True)
class Knapsack:
    """Buy whole units at 3 each (or 5 each beyond ``cheap`` of them); need ``need``; at most
    ``cap`` units (the one limit). Objective: cost; infeasible when need > cap."""

    need: float
    cap: float
    cheap: float = math.inf
    solves: list[int] | None = None

    def limits(self) -> list[Limit]:
        return [Limit("cap", self.cap, "the unit cap", "units")]

    def loosened(self, name: str, fraction: float | None) -> Knapsack:
        assert name == "cap"
        return replace(self, cap=math.inf if fraction is None else self.cap * (1 + fraction))

    def resolve(self) -> Trial:
        if self.solves is not None:
            self.solves.append(1)
        units = math.ceil(self.need)
        if units > self.cap:
            return Trial(None, infeasible=True)
        return Trial(3.0 * units, True, units)

    def improves(self, base: float, value: float) -> bool:
        return value < base * (1 - 1e-9)


def test_a_toy_model_is_diagnosable_by_its_shape_alone() -> None:
    assert isinstance(Knapsack(1, 2), Diagnosable)


def test_the_cluster_model_is_diagnosable() -> None:
    from planner.optimization.cluster.diagnosis import ClusterDiagnosis

    assert issubclass(ClusterDiagnosis, Diagnosable)


def test_binding_tests_report_each_limit_and_its_re_solve() -> None:
    toy = Knapsack(need=4, cap=5)
    tests, trials = binding_tests(toy, 12.0)
    assert tests == {"cap": (12.0, True)}
    assert binds(12.0, tests["cap"], toy.improves) is False  # proven: more cap buys nothing
    assert trials["cap"].solution == 4


def test_binding_tests_stop_when_told() -> None:
    assert binding_tests(Knapsack(4, 5), 12.0, stop=lambda: True) == ({}, {})


def test_binds_is_three_valued() -> None:
    better = lambda b, v: v < b  # noqa: E731
    assert binds(None, (1.0, True), better) is None
    assert binds(10.0, None, better) is None
    assert binds(10.0, (None, False), better) is None
    assert binds(10.0, (9.0, False), better) is True  # a better plan proves it
    assert binds(10.0, (10.0, False), better) is None  # not proven
    assert binds(10.0, (10.0, True), better) is False


def test_least_relaxation_finds_the_least_loosening_that_fits() -> None:
    solves: list[int] = []
    fraction = least_relaxation(
        Knapsack(need=7, cap=5, solves=solves), "cap", largest_fraction=1.0, rel_tol=1e-4
    )
    assert fraction is not None
    assert 5 * (1 + fraction) >= 7 and fraction == pytest.approx(0.4, rel=1e-3)
    assert len(solves) < 20


def test_least_relaxation_says_none_when_the_largest_is_not_enough() -> None:
    assert least_relaxation(Knapsack(need=20, cap=5), "cap", largest_fraction=1.0) is None
    assert least_relaxation(Knapsack(need=2, cap=5), "cap", largest_fraction=1.0) == 0.0
