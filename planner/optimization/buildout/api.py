"""The entry point: :func:`plan_buildout` -> :class:`BuildoutPlan` (DataFrames, status, the
binding limits in words and, when nothing fits, the minimal relaxations)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.optimization.buildout import diagnose, readback
from planner.optimization.buildout.formulation import build_model, set_objective
from planner.optimization.buildout.model import (
    OBJECTIVES,
    BuildoutData,
    BuildoutScenario,
    build_data,
    load_buildout,
)
from planner.optimization.buildout.solve import MIP_REL_GAP, SolveOutcome, solve_pyomo

_FRAMES = (
    "installs",
    "power",
    "runs",
    "schedule",
    "utilisation",
    "serving",
    "costs",
    "energy",
    "built",
    "binding",
    "relaxations",
)


@dataclass
class BuildoutPlan:
    """A build-out plan: one DataFrame per output, the solve's status and timings.

    ``status``: ``optimal`` (within ``mip_rel_gap``), ``time_limit`` (the best plan found),
    ``infeasible`` (then ``relaxations`` says what would fit), ``no_solution``, ``error``.
    """

    status: str
    objective: str
    objective_value: float | None
    gap: float | None
    installs: pd.DataFrame
    power: pd.DataFrame
    runs: pd.DataFrame
    schedule: pd.DataFrame
    utilisation: pd.DataFrame
    serving: pd.DataFrame
    costs: pd.DataFrame
    energy: pd.DataFrame
    built: pd.DataFrame
    binding: pd.DataFrame
    relaxations: pd.DataFrame
    totals: dict[str, float]
    timings: dict[str, float]
    quarters: list[str]
    notes: list[str] = field(default_factory=list)
    #: Per (run, chip) trained on with goodput(N): the GPUs, goodput, MTBF, checkpoint interval
    #: and hot spares its work was counted at (:mod:`planner.optimization.goodput_loop`).
    goodput: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: How the goodput(N) re-solve ended (:class:`~planner.optimization.goodput_loop.LoopReport`).
    goodput_loop: dict[str, Any] = field(default_factory=dict)
    #: Per (site, chip) of a site with a ramp limit: the mitigation, its grid-side peak ratio,
    #: its store and what it costs (:attr:`BuildoutData.mitigations`).
    mitigations: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "time_limit")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: frames as lists of records (NaN and inf -> None, whole counts as int)."""
        from planner._arrays import jsonable
        from planner.quantities import json_value

        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pd.DataFrame):
                out[f.name] = [
                    {k: json_value(str(k), jsonable(v)) for k, v in row.items()}
                    for row in value.to_dict(orient="records")
                ]
            elif isinstance(value, dict):
                out[f.name] = {k: jsonable(v) for k, v in value.items()}
            elif isinstance(value, list):
                out[f.name] = list(value)
            else:
                out[f.name] = jsonable(value)
        return out


#: Above this many install variables (site x chip x quarter), a cost plan is first solved on
#: the site-chip pairs its LP relaxation uses (see :func:`_solve_on_lp_support`).
SUPPORT_MIN_INSTALL_VARS = 2_000


def _solve_on_lp_support(
    m: Any, time_limit_s: float | None, mip_rel_gap: float
) -> list[SolveOutcome]:
    """A primal heuristic for large build-outs: solve the LP relaxation, then the MIP with
    installs allowed only on the (site, chip) pairs the LP uses. The LP optimum bounds the
    true optimum, so a restricted plan within ``mip_rel_gap`` of it is proven good enough
    (status ``optimal``); else its outcome says ``time_limit`` and the caller solves the full
    MIP. On large instances HiGHS finds the LP bound fast but good integer plans slowly.
    """
    import pyomo.environ as pyo

    relaxed = []
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        if v.is_binary():
            relaxed.append((v, v.domain))
            v.domain = pyo.UnitInterval
        elif v.is_integer():
            relaxed.append((v, v.domain))
            v.domain = pyo.NonNegativeReals
    try:
        lp = solve_pyomo(m, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        support = (
            {(s, c) for s, c, q in m.SCQ if (m.install[s, c, q].value or 0.0) > 1e-6}
            if lp.status == "optimal"
            else set()
        )
    finally:
        for v, domain in relaxed:
            v.domain = domain
    if lp.status != "optimal":
        return [lp]
    # an upper bound of 0, not a fixing: HiGHS gets new bounds only (a fixed variable is
    # substituted into every constraint, far slower to hand over)
    closed = []
    for s, c, q in m.SCQ:
        if (s, c) not in support:
            for var in (m.install[s, c, q], m.retire[s, c, q]):
                closed.append((var, var.ub))
                var.setub(0)
    try:
        sub = solve_pyomo(m, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    finally:
        for var, ub in closed:
            var.setub(ub)
    if sub.objective is None or lp.objective is None:
        return [lp, sub]
    gap = abs(sub.objective - lp.objective) / max(abs(sub.objective), 1e-9)
    status = "optimal" if gap <= mip_rel_gap else "time_limit"
    return [
        lp,
        SolveOutcome(
            status=status,
            objective=sub.objective,
            mip_gap=gap,
            solve_s=sub.solve_s,
            solver=sub.solver,
            bound=lp.objective,
            build_s=sub.build_s,
        ),
    ]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def plan_buildout(
    scenario: BuildoutScenario | BuildoutData | str | Path,
    *,
    objective: str | None = None,
    time_limit_s: float | None = 60.0,
    mip_rel_gap: float = MIP_REL_GAP,
    relax: bool = True,
    relax_time_limit_s: float = 60.0,
) -> BuildoutPlan:
    """Plan where and when to install which chips, and what power to build, re-solving until
    each run's goodput is goodput(N) of the failure model at the largest cluster it got
    (:func:`planner.optimization.goodput_loop.fixed_point`; ``plan.goodput`` and
    ``plan.goodput_loop`` say what it assumed and how the loop ended). The arguments are
    those of one solve (:func:`_plan_once`); ``time_limit_s`` limits each solve."""
    from planner.optimization import goodput_loop

    data = (
        scenario
        if isinstance(scenario, BuildoutData)
        else build_data(
            scenario if isinstance(scenario, BuildoutScenario) else load_buildout(scenario)
        )
    )
    options: dict[str, Any] = dict(
        objective=objective,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        relax=relax,
        relax_time_limit_s=relax_time_limit_s,
    )
    initial = {k: g for run in data.runs for k, g in run.get("goodput", {}).items()}
    if not initial:
        plan = _plan_once(data, **options)
        plan.goodput = goodput_loop.buildout_frame({}, set())
        plan.goodput_loop = goodput_loop.LoopReport(1, True, goodput_loop.MAX_ITERATIONS).to_dict()
        return _with_mitigations(plan, data)

    def step(assumed: dict[Any, Any]) -> tuple[BuildoutPlan, dict[Any, Any]]:
        d = data if assumed == initial else _with_goodput(data, assumed)
        plan = _plan_once(d, **options)
        measured = goodput_loop.buildout_measured(plan, d, assumed) if plan.feasible else {}
        return plan, measured

    plan, assumed, report = goodput_loop.fixed_point(step, initial)
    schedule = plan.schedule
    used = (
        set(zip(schedule["run"], schedule["chip"], strict=True))
        if "chip" in schedule.columns
        else set()
    )
    plan.goodput = goodput_loop.buildout_frame(assumed, used)
    plan.goodput_loop = report.to_dict()
    if used or not report.converged:
        plan.notes.append(report.note())
    return _with_mitigations(plan, data)


def _with_mitigations(plan: BuildoutPlan, data: BuildoutData) -> BuildoutPlan:
    """The plan with its sites' ramp-limit mitigations and a note saying what they change."""
    plan.mitigations = data.mitigations
    if not data.mitigations.empty:
        plan.notes.append(
            "ramp limits: at a site with site.ramp_limit_mw_per_s, a chip whose training "
            "cluster ramps faster takes site.ramp_mitigation and the design-day peak limit "
            "holds its grid-side peak after it (facility_power_mw is that peak); see "
            "mitigations for each store and its price (reported, not in the costs)"
        )
    return plan


def _with_goodput(data: BuildoutData, assumed: dict[Any, Any]) -> BuildoutData:
    """A copy of ``data`` whose runs' system-days are counted at the ``assumed`` goodputs
    (and hot spares) of their (run, chip) pairs."""
    from planner.optimization.buildout.model import _run_system_days

    d = data.copy()
    specs = {r.name: r for r in d.scenario.runs}
    for run in d.runs:
        spec = specs[run["name"]]
        for chip_id in list(run["system_days"]):
            key = (run["name"], chip_id)
            if key in assumed:
                days = _run_system_days(spec, chip_id, d.scenario.network_overhead, assumed[key])
                if days is not None:
                    run["system_days"][chip_id] = days
        run["goodput"] = {k: g for k, g in assumed.items() if k[0] == run["name"]}
    return d


def _plan_once(
    scenario: BuildoutScenario | BuildoutData | str | Path,
    *,
    objective: str | None = None,
    time_limit_s: float | None = 60.0,
    mip_rel_gap: float = MIP_REL_GAP,
    relax: bool = True,
    relax_time_limit_s: float = 60.0,
) -> BuildoutPlan:
    """One solve: where and when to install which chips, and what power to build.

    Parameters
    ----------
    scenario : BuildoutScenario, BuildoutData, name or path
        A validated scenario, its resolved data, a shipped example's name or a TOML file.
    objective : {"cost", "compute", "finish"}, optional
        Least discounted total cost; most compute (EFLOP-days) under the yearly budget; or
        the earliest finish of ``finish_run``. The last two break ties by cost (a second solve
        at the best value found). Default: the scenario's.
    time_limit_s : float, optional
        Wall-clock limit for each solve.
    relax : bool
        When nothing fits, find the minimal relaxation of each limit alone.
    """
    t0 = time.perf_counter()
    if isinstance(scenario, BuildoutData):
        data = scenario
    else:
        sc = scenario if isinstance(scenario, BuildoutScenario) else load_buildout(scenario)
        data = build_data(sc)
    goal = objective or data.objective
    if goal not in OBJECTIVES:
        raise InputError("objective", goal, "one of: " + ", ".join(OBJECTIVES))
    if goal == "compute" and data.budget_usd_per_year is None:
        raise InputError("budget_usd_per_year", "missing", "a budget with objective = compute")
    if goal == "finish" and data.finish_run not in [r["name"] for r in data.runs]:
        raise InputError(
            "finish_run",
            data.finish_run or "missing",
            "one of: " + ", ".join(r["name"] for r in data.runs),
        )
    t1 = time.perf_counter()
    m = build_model(data, objective=goal)
    formulate_s = time.perf_counter() - t1
    notes: list[str] = []
    outcomes: list[SolveOutcome] = []
    if goal == "cost" and len(m.SCQ) > SUPPORT_MIN_INSTALL_VARS:
        outcomes += _solve_on_lp_support(m, time_limit_s, mip_rel_gap)
        if outcomes[-1].status == "optimal":
            notes.append(
                "solved on the sites and chips the LP relaxation uses, within "
                f"{mip_rel_gap:.2%} of the LP bound"
            )
    if not outcomes or outcomes[-1].status != "optimal":
        full = solve_pyomo(m, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        if not full.has_solution and outcomes and outcomes[-1].has_solution:
            # keep the restricted plan: re-solve it (the full solve cleared nothing it can
            # give back, so the restricted model is solved again)
            outcomes.append(full)
            outcomes += _solve_on_lp_support(m, time_limit_s, mip_rel_gap)
        else:
            outcomes.append(full)
    first = outcomes[-1]
    if goal != "cost" and first.objective is not None:
        import pyomo.environ as pyo

        best = float(first.objective)
        if goal == "compute":
            m.keep_best = pyo.Constraint(expr=m.compute >= best * (1 - 1e-6))
            notes.append(f"most compute: {best:,.6g} EFLOP-days; cost breaks the tie")
        else:
            m.keep_best = pyo.Constraint(expr=m.quarters_to_finish <= round(best) + 1e-6)
            notes.append(
                f"{data.finish_run} finishes in {data.quarters[int(round(best))]}; cost breaks "
                "the tie"
            )
        set_objective(m, "cost")
        second = solve_pyomo(m, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        outcomes.append(second)
        if not second.has_solution:  # keep the first stage's plan
            m.del_component(m.keep_best)
            set_objective(m, goal)
            outcomes.append(solve_pyomo(m, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap))
    final = outcomes[-1]
    timings = {
        "data_s": data.build_s,
        "formulate_s": formulate_s,
        "solver_build_s": sum(o.build_s for o in outcomes),
        "solve_s": sum(o.solve_s for o in outcomes),
        "solver_calls": float(len(outcomes)),
    }
    status = final.status
    if status == "time_limit":
        notes.append("the time limit stopped the solver: the best plan found, maybe not optimal")
    if final.has_solution:
        power = readback.power(m, data)
        costs = readback.costs(m, data)
        energy = readback.energy(m, data)
        plan = BuildoutPlan(
            status=status,
            objective=goal,
            objective_value=first.objective if goal != "cost" else final.objective,
            gap=final.gap,
            installs=readback.installs(m, data),
            power=power,
            runs=readback.runs_summary(m, data),
            schedule=readback.run_schedule(m, data),
            utilisation=readback.utilisation(m, data),
            serving=readback.serving(m, data),
            costs=costs,
            energy=energy,
            built=readback.built_options(m, data),
            binding=readback.binding(m, data, power),
            relaxations=_empty(diagnose.RELAXATION_COLUMNS),
            totals=readback.totals(m, data, costs, energy),
            timings=timings,
            quarters=list(data.quarters),
            notes=notes,
        )
        if goal == "cost":
            plan.objective_value = plan.totals["discounted_cost_usd"]
    else:
        relaxed = _empty(diagnose.RELAXATION_COLUMNS)
        if status == "infeasible" and relax:
            t2 = time.perf_counter()
            relaxed = diagnose.relaxations(data, time_limit_s=relax_time_limit_s)
            timings["relax_s"] = time.perf_counter() - t2
        plan = BuildoutPlan(
            status=status,
            objective=goal,
            objective_value=None,
            gap=None,
            installs=_empty(["site", "chip", "quarter", "systems", "gpus"]),
            power=_empty(["site", "quarter"]),
            runs=_empty(["run"]),
            schedule=_empty(["run"]),
            utilisation=_empty(["site"]),
            serving=_empty(["service"]),
            costs=_empty(["component", "year", "cost_usd"]),
            energy=_empty(["site", "quarter"]),
            built=_empty(["site", "name"]),
            binding=diagnose.binding_of_infeasible(relaxed),
            relaxations=relaxed,
            totals={},
            timings=timings,
            quarters=list(data.quarters),
            notes=notes
            + (
                [diagnose.relaxation_note(relaxed, searched=relax)]
                if status == "infeasible"
                else []
            ),
        )
    timings["total_s"] = time.perf_counter() - t0 + data.build_s
    return plan


def from_scenario(scenario: Any, *, chips: list[str] | None = None) -> BuildoutScenario:
    """A one-site, one-quarter build-out of a site scenario (:mod:`planner.scenarios`): its
    grid, its runs (each within its ``deadline_days`` from the start), its chips, with the
    scenario's MFU, goodput and precision, and the site's PUE where one profile covers every
    chip. For comparing with the single-site optimiser (no plants, upgrades or serving)."""
    from planner.catalog import load_catalog
    from planner.optimization.buildout.model import buildout_from_dict

    cat = load_catalog()
    ids = chips or scenario.candidate_ids(cat)
    site = scenario.site
    pue: Any = "hyperscale-air"
    values = {scenario.hall_key(cat.get(c)) for c in ids}
    raw = site.pue
    if isinstance(raw, dict):
        picked = {raw.get(k) for k in values if k is not None}
        if len(picked) > 1:
            raise InputError(
                "site.pue",
                ", ".join(sorted(str(p) for p in picked)),
                "one PUE for every candidate chip (a one-site build-out has one cooling)",
            )
        if len(picked) == 1:
            pue = picked.pop()
    elif raw is not None:
        pue = raw
    runs = []
    for run in scenario.runs:
        entry: dict[str, Any] = {
            "name": run.name,
            "start": "2026Q1",
            "deadline": "2026Q1",
            "deadline_days": min(run.deadline_days, 91.3125),
            "precision": run.precision,
        }
        for key in ("flops", "params", "active_params", "tokens", "goodput"):
            if getattr(run, key) is not None:
                entry[key] = getattr(run, key)
        if run.mfu is not None:
            entry["mfu"] = (
                run.mfu
                if not isinstance(run.mfu, dict)
                else {k: v for k, v in run.mfu.items() if k in ids or k == "default"}
            )
        runs.append(entry)
    data = {
        "title": scenario.title,
        "start": "2026Q1",
        "quarters": 1,
        "chips": ids,
        "sites": [
            {
                "name": site.name,
                "pue": pue,
                "grid": [{"quarter": "2026Q1", "mw": site.grid_limit_mw}],
            }
        ],
        "runs": runs,
    }
    if site.design_pue is not None and not isinstance(site.design_pue, dict):
        data["sites"][0]["design_pue"] = site.design_pue
    return buildout_from_dict(data, source=scenario.source)
