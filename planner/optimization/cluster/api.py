"""The public entry points: :func:`solve` and :func:`optimize`."""

from __future__ import annotations

import copy
import time
from typing import Any

import pandas as pd

from planner.catalog import Catalog
from planner.errors import InputError
from planner.optimization.cluster import diagnosis
from planner.optimization.cluster.algorithms import _Clock, _lexicographic, _time_plan
from planner.optimization.cluster.formulation import Outcome
from planner.optimization.cluster.model import ClusterModel, build_model
from planner.optimization.cluster.readback import (
    _RUN_COLUMNS,
    Plan,
    _constraints,
    _read_back,
    chip_comparison,
)
from planner.optimization.cluster.relaxations import _RELAX_COLUMNS, _relaxations
from planner.optimization.constants import OBJECTIVE_UNITS
from planner.optimization.messages import infeasible_message, plan_message, pricing_note
from planner.optimization.solve import Progress, check_solver
from planner.scenarios import (
    Scenario,
)


def solve(
    model: ClusterModel,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    relaxations: bool = True,
    comparison: bool = True,
    progress: Progress | None = None,
    time_tolerance: float | None = None,
    binding: bool = True,
) -> Plan:
    """Solve the cluster MILP and read the answer back into a :class:`Plan`, re-solving
    until the goodput stated for each run is goodput(N) of the failure model at the GPUs it
    got (:func:`planner.optimization.goodput_loop.solve_cluster`: at most
    :data:`~planner.optimization.goodput_loop.MAX_ITERATIONS` solves, sharing
    ``time_limit_s``; ``plan.goodput_loop`` and a note say how it ended). The arguments are
    those of one solve, below."""
    from planner.optimization.goodput_loop import solve_cluster

    return solve_cluster(
        model,
        _solve_once,
        solver=solver,
        time_limit_s=time_limit_s,
        relaxations=relaxations,
        comparison=comparison,
        progress=progress,
        time_tolerance=time_tolerance,
        binding=binding,
    )


def _solve_once(
    model: ClusterModel,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    relaxations: bool = True,
    comparison: bool = True,
    progress: Progress | None = None,
    time_tolerance: float | None = None,
    binding: bool = True,
    keep: dict[str, Any] | None = None,
    stated_limit_s: float | None = None,
) -> Plan:
    """Solve the cluster MILP once (goodputs as the model states them) and read it back.

    Parameters
    ----------
    model : ClusterModel
        From :func:`build_model`.
    solver : {"highs", "cbc"}
        HiGHS through ``highspy`` (default) or CBC bundled with PuLP; if the one asked for is
        not installed the other is used and the plan says so.
    time_limit_s : float, optional
        Wall-clock limit for all solver calls of this plan. When it is reached the best plan
        found so far is returned with ``status="time_limit"``.
    relaxations : bool
        When no plan fits, compute the minimal relaxations (a few more solves).
    comparison : bool
        Size every candidate chip alone for the side-by-side table.
    progress : callable, optional
        ``progress(stage, done, total)``, called before each step of a long solve: ``stage``
        says what runs next in words ("solving: cost", "tie-break: power", "testing whether
        grid binds", "relaxing: budget"...), ``done`` of ``total`` counts the steps of that
        stage (0-based), e.g. for a progress bar. Called from the solving thread; it should
        return quickly and must not raise.
    time_tolerance : float, optional
        ``time`` objective: the plan is the cheapest whose runs all end within this fraction
        of the earliest latest finish (default: the scenario's ``time_tolerance``, 0.01).

    Notes
    -----
    Solver output never reaches stdout: HiGHS and CBC run inside :func:`quiet_stdout`, and
    their log goes to ``logging.getLogger("planner.optimization")`` at DEBUG level. Every
    point a solver returns is checked against every bound, row and integrality before it is
    read (see :class:`~planner.optimization.solve.LinearProgram`).

    ``stated_limit_s``: the time limit the user asked for, in messages (default
    ``time_limit_s``; the goodput(N) re-solve passes each solve what is left of it).

    ``binding=False`` leaves the limits' binding tests out (the goodput(N) re-solve runs them
    once, on its last model); ``keep`` (a dict) receives the solver's outcome and the
    stages' notes, and when it already holds them (``keep["outcome"]``) they are read back
    without solving again (and without reading back again: ``keep["read_back"]``). With the
    ``time`` objective it also carries the latest finish
    found (``keep["finish_hint"]``) to the next solve's search (a narrower first bracket).
    """
    used_solver = check_solver(solver)
    clock = _Clock(time_limit_s, progress)
    notes = [] if used_solver == solver else [f"{solver} is not installed: used {used_solver}"]
    start = time.perf_counter()
    reuse = keep is not None and "outcome" in keep
    if reuse:
        assert keep is not None
        out = keep.pop("outcome")
        notes += keep.pop("notes", [])
    elif model.options.empty:
        out = Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
    elif model.objective == "time":
        if time_tolerance is not None and not 0 <= time_tolerance <= 1:
            raise InputError("time_tolerance", time_tolerance, "a fraction in [0, 1]")
        hint = None if keep is None else keep.get("finish_hint")
        out, _, stage_notes = _time_plan(model, used_solver, clock, time_tolerance, hint)
        notes += stage_notes
        if keep is not None and out.has_solution and out.primary is not None:
            keep["finish_hint"] = out.primary
    else:
        out, stage_notes = _lexicographic(model, used_solver, clock)
        notes += stage_notes
    if keep is not None and not reuse:
        keep["outcome"], keep["notes"] = copy.deepcopy(out), list(notes)
        keep.pop("read_back", None)
    unit_key, unit = OBJECTIVE_UNITS[model.objective]
    compare, compare_sizings = chip_comparison(model) if comparison else (pd.DataFrame(), {})
    frame = None
    if out.has_solution:
        if reuse and keep is not None and "read_back" in keep:
            frame, totals, sizings = keep.pop("read_back")  # the same outcome, read before
        else:
            frame, totals, sizings = _read_back(
                model, out, None if keep is None else keep.setdefault("sizings", {})
            )
            if keep is not None:
                keep["read_back"] = (frame.copy(), dict(totals), dict(sizings))
        if frame.empty:  # a point with no workload on any system is no plan
            out = Outcome("no_solution", {}, {}, None, {}, {}, out.solve_s, "an empty plan")
    if out.has_solution and frame is not None:
        base, tests = None, {}
        alternatives: dict[str, Outcome] = {}
        if out.status == "optimal" and binding:  # a plan not proven optimal: not tested
            base = out.primary
            tests = diagnosis._binding_tests(model, out, used_solver, clock, alternatives)
        binds_for = (
            {k: diagnosis._binds_for(model, out, alt) for k, alt in alternatives.items()}
            if model.services
            else None
        )
        constraints = _constraints(model, frame, base, tests, binds_for)
        value = totals[unit_key]
        if out.status == "time_limit":
            notes.append("the time limit stopped the solver: best plan found, maybe not optimal")
        untested = [c for c, row in constraints.iterrows() if row["binding"] is None]
        if untested and binding:
            why = (
                "the plan is not proven optimal"
                if out.status != "optimal"
                else "the time limit ran out before the re-solve with the limit 10% looser"
            )
            notes.append(f"binding not tested for {', '.join(untested)}: {why}")
        rented = frame[frame["pricing"] == "rent"]
        if not rented.empty:
            notes.append(
                f"rented systems are off site: {rented['facility_power_mw'].sum():,.2f} MW "
                "peak not counted against the site grid or racks; their energy and emissions "
                "(at the site's PUE and grid intensity) are in the totals"
            )
        notes.append(
            "the grid limit and peak power are at the design-day PUE ("
            + (
                "site.design_pue"
                if model.scenario.site.design_pue is not None
                else "derived from site.pue: 1 + (PUE - 1) x design_pue_overhead_ratio, or the "
                "facility profile's"
            )
            + "); energy, cost and emissions use the annual PUE (site.pue)"
        )
        message = plan_message(model, frame, totals, constraints, out.status)
        relax = pd.DataFrame(columns=_RELAX_COLUMNS).set_index("relax")
    else:
        frame = pd.DataFrame(columns=_RUN_COLUMNS).set_index(["run", "chip"])
        totals, sizings, value = {}, {}, None
        constraints = pd.DataFrame()
        if out.status == "infeasible" and relaxations and not model.options.empty:
            relax = _relaxations(model, used_solver, clock)
        else:
            relax = pd.DataFrame(columns=_RELAX_COLUMNS).set_index("relax")
        message = infeasible_message(
            model, relax, out, time_limit_s if stated_limit_s is None else stated_limit_s
        )
    timings = {
        "build_s": model.build_s,
        "solve_s": clock.solve_s,
        "total_s": model.build_s + time.perf_counter() - start,
        "solver_calls": float(clock.solves),
    }
    if out.has_solution and out.mip_gap is not None:  # the relative gap proven for the objective
        timings["mip_gap"] = float(out.mip_gap)
    notes.append(pricing_note(model))
    return Plan(
        status=out.status,
        objective=model.objective,
        objective_value=value,
        objective_unit=unit,
        solver=used_solver,
        allow_mixed_chips=model.allow_mixed_chips,
        message=message,
        runs=frame,
        totals=totals,
        constraints=constraints,
        comparison=compare,
        relaxations=relax,
        timings=timings,
        notes=notes,
        pricing=str(model.scenario.candidates.pricing),
        sizings=sizings,
        comparison_sizings=compare_sizings,
    )


def optimize(
    scenario: Scenario,
    *,
    objective: str | None = None,
    allow_mixed_chips: bool | None = None,
    solver: str = "highs",
    time_limit_s: float | None = None,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    time_tolerance: float | None = None,
) -> Plan:
    """Build and solve in one call: ``solve(build_model(scenario, ...), ...)``."""
    model = build_model(
        scenario, objective=objective, allow_mixed_chips=allow_mixed_chips, catalog=catalog
    )
    return solve(
        model,
        solver=solver,
        time_limit_s=time_limit_s,
        progress=progress,
        time_tolerance=time_tolerance,
    )
