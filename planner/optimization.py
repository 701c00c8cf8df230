"""Optimisation: which chips, and how many systems, for a site's training runs.

Build, solve, read back (PyPSA/linopy style):

1. :func:`build_model` turns a validated :class:`planner.scenarios.Scenario` into a
   :class:`ClusterModel`: a plain table of coefficients per (run, chip), every one of them
   computed by the core (:func:`planner.sizing.size_training` for ONE system of that chip), plus
   the limits. No solver object is created here.
2. :func:`solve` formulates the mixed-integer programme in PuLP from that table, solves it with
   HiGHS (``highspy``, default) or CBC (bundled with PuLP), and reads the solution back into a
   :class:`Plan`: per-run rows re-sized by :func:`planner.sizing.size_training` for the chosen
   chip and count (so the numbers are the core's, not re-derived), totals, the binding limits
   with their slack, the side-by-side of every candidate chip alone, and, when nothing fits,
   the minimal relaxations found by re-solving the model. Nothing downstream touches a solver
   object; infeasible is a Plan, never an exception.
3. :func:`pareto` re-solves over a deadline or grid sweep; :func:`solve_pyomo` builds the same
   MILP independently in Pyomo as a cross-check.

The model
---------
Indices: runs ``r``, candidate chips ``c`` (pairs where the chip lacks the run's precision are
left out). For one system of chip ``c`` running all of run ``r`` the core gives: days
``D1[r,c]``, peak facility power ``P[r,c]`` (MW: nameplate x (1 + network) x PUE), energy
``E[r,c]`` (MWh), emissions, electricity and rental cost, and capex per system. Two facts make
the model linear: the systems needed to meet the deadline ``T[r]`` are ``N[r,c] = D1 / T``;
and a run's energy, electricity, rental cost and emissions do not depend on the number of
systems (more systems draw more power for proportionally fewer hours).

Variables: ``n[r,c]`` integer systems; ``f[r,c]`` the share of run ``r``'s FLOPs done on chip
``c`` (binary: one chip per run, how synchronous clusters are built; continuous in [0, 1] with
``allow_mixed_chips``, where each chip's pool trains its share and idle pools are not charged).

Constraints::

    sum_c f[r,c] = 1                                  every run is done
    n[r,c] >= ceil(N[r,c]) f[r,c]                     by its deadline (one chip per run)
    n[r,c] >= N[r,c] f[r,c],  n[r,c] >= f[r,c]        (mixed chips: a used pool has a system)
    n[r,c] <= U[r,c] f[r,c]                           (one chip per run only)
    sum_on-site n[r,c] G[r,c] <= grid_limit_mw        peak draw on the site grid, all at once
    sum n capex + sum f (electricity or rental) <= budget_usd
    sum_r n[r,c] gpus_per_system[c] <= supply_gpus[c]
    racks[r,c] >= n[r,c] / systems_per_rack[c], sum racks <= max_racks   (on site; integer)

``G`` is the peak facility power of one system at the site's design-day PUE
(``site.design_pue``, default the annual ``site.pue``): ``P x design_pue / pue``. Writing the
deadline as ``ceil(N) f`` (and ``n >= f``) keeps a tiny run (``N`` far below the solver's
feasibility tolerance) at one system or more: the core never sizes a run on zero systems.

Runs are concurrent (each on its own cluster, all drawing power at the same time) and bought
hardware is charged in full to its run. Rented systems (``pricing = "rent"``) are cloud
capacity off site: they count against no site limit (grid, racks), only against supply and
budget, and their energy and emissions are still in the totals. They are not limited by the
grid, so the ``time`` objective needs a supply cap for every rented chip.

Objectives: ``cost`` (USD), ``power`` (peak facility MW of every system, rented ones off site
included; the grid limit counts only the on-site ones), ``energy`` (MWh), ``emissions``
(tCO2), ``gpus``; ties are broken lexicographically (then cost, then GPUs).
``time`` minimises the longest run measured against its own deadline, ``max_r days[r] /
T[r]``. For a fixed chip, a run's speed is proportional to its systems, so with one chip per
run this is linear: maximise ``z`` subject to ``sum_c n[r,c] / N[r,c] >= z`` for every run
(``z`` = how many times faster than its deadline the slowest run finishes, ``z >= 1``), then
minimise cost at that ``z``. With mixed chips the speed-up multiplies the shares (``z f``,
bilinear), so the same ``min max days/T`` is found by bisection on a common deadline scale,
each step a linear feasibility solve.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pulp

from planner._arrays import to_python
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError, PlannerError
from planner.scenarios import MAX_GRID_MW, Scenario
from planner.sizing import MAX_DAYS, MIN_DAYS, SizingResult, size_training
from planner.workloads import TrainingRun

OBJECTIVES: tuple[str, ...] = ("cost", "power", "energy", "emissions", "gpus", "time")
SOLVERS: tuple[str, ...] = ("highs", "cbc")
SWEEP_PARAMETERS: tuple[str, ...] = ("days", "grid_mw")
#: Relative MIP gap asked of the solver (the defaults, 1e-4 for HiGHS, would let two solvers
#: disagree in the fourth digit).
MIP_REL_GAP = 1e-7
#: Tolerance of the lexicographic bounds (relative, plus the same absolute).
LEX_TOL = 1e-6
#: A limit "binds" when loosening it by this fraction improves the optimum (re-solve).
LOOSEN_FRACTION = 0.10
#: Relative precision of the deadline-scale bisection (mixed chips, time objective).
BISECT_REL_TOL = 1e-5
#: Largest number of points of a ``--pareto`` sweep.
MAX_SWEEP_POINTS = 1000
#: Relaxation amounts are rounded UP to these decimals (shown as is): following the advice
#: literally gives a plan. Grid: 0.01 MW (10 kW); budget: USD 0.1M; GPUs and racks: whole.
GRID_DECIMALS = 2
BUDGET_MUSD_DECIMALS = 1
_USD_PER_MUSD = 1e6
#: Column of each objective in the totals, and its unit.
_OBJECTIVE_UNITS = {
    "cost": ("cost_usd", "USD"),
    "power": ("facility_power_mw", "MW"),
    "energy": ("energy_mwh", "MWh"),
    "emissions": ("emissions_tco2", "tCO2"),
    "gpus": ("gpus", "GPUs"),
    "time": ("longest_fraction_of_deadline", "fraction of deadline"),
}


# --- 1. build ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterModel:
    """The optimisation model as plain data (no solver objects).

    Attributes
    ----------
    options : DataFrame
        One row per (run, chip) pair, indexed by ``run, chip``. Columns: ``systems_needed``
        (fractional systems to meet the deadline, N), ``max_systems`` (U), ``gpus_per_system``,
        ``facility_power_mw_per_system`` (peak, after the annual PUE),
        ``grid_power_mw_per_system`` (peak on the site grid at the design-day PUE; 0 for
        rented systems, which are off site), ``on_site`` (bought), ``capex_usd_per_system``,
        ``run_cost_usd`` (electricity, or rental, for the whole run: independent of the count),
        ``energy_mwh``, ``emissions_tco2``, ``days_on_one_system``, ``deadline_days``,
        ``pricing``, ``systems_per_rack``, ``mfu``, ``pue``.
    excluded : DataFrame
        (run, chip) pairs left out, with the reason (no tensor mode at the run's precision).
    """

    scenario: Scenario
    objective: str
    allow_mixed_chips: bool
    options: pd.DataFrame
    excluded: pd.DataFrame
    grid_limit_mw: float
    budget_usd: float | None
    supply_gpus: dict[str, int]
    max_racks: int | None
    deadline_days: dict[str, float]
    catalog: Catalog = field(repr=False)
    build_s: float = 0.0

    @property
    def runs(self) -> list[str]:
        return list(self.deadline_days)

    @property
    def chips(self) -> list[str]:
        return list(dict.fromkeys(self.options.index.get_level_values("chip")))

    def assumptions(self, run: str, chip: str):  # noqa: ANN201 - SizingAssumptions
        """The core assumptions of ``run`` on ``chip`` (for re-sizing)."""
        spec = self.scenario.runs[self.runs.index(run)]
        return self.scenario.assumptions_for(spec, self.catalog.get(chip))


def build_model(
    scenario: Scenario,
    *,
    objective: str | None = None,
    allow_mixed_chips: bool | None = None,
    catalog: Catalog | None = None,
) -> ClusterModel:
    """Coefficients and limits of the cluster MILP for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`planner.scenarios.load_scenario`.
    objective : {"cost", "power", "energy", "emissions", "gpus", "time"}, optional
        Default: the scenario's ``objective`` (itself ``cost`` by default).
    allow_mixed_chips : bool, optional
        Let a run use several chip types. Default: the scenario's ``allow_mixed_chips``.
    """
    start = time.perf_counter()
    cat = catalog or load_catalog()
    objective = objective or scenario.objective
    if objective not in OBJECTIVES:
        raise InputError("objective", objective, "one of: " + ", ".join(OBJECTIVES))
    mixed = scenario.allow_mixed_chips if allow_mixed_chips is None else bool(allow_mixed_chips)
    grid = scenario.site.grid_limit_mw
    budget = scenario.budget_usd
    supply = {c: int(v) for c, v in scenario.candidates.supply_gpus.items()}
    rows, excluded = [], []
    for spec in scenario.runs:
        run = spec.training_run()
        for chip_id in scenario.candidate_ids(cat):
            chip = cat.get(chip_id)
            if chip.dense_tflops_or_none(spec.precision) is None:
                excluded.append(
                    {
                        "run": spec.name,
                        "chip": chip_id,
                        "reason": f"no {spec.precision.upper()} tensor mode",
                    }
                )
                continue
            a = scenario.assumptions_for(spec, chip)
            one = size_training(run, chip, gpus=chip.gpus_per_system, assumptions=a)
            on_site = one.pricing != "rent"
            capex = float(one.capex_usd) if one.pricing == "buy" else 0.0
            need = float(one.days) / spec.deadline_days
            power_mw = float(one.facility_power_mw)
            grid_mw = _grid_power_per_system_mw(scenario, chip, one) if on_site else 0.0
            if not on_site and objective == "time" and chip_id not in supply:
                raise InputError(
                    f"candidates.supply_gpus.{chip_id}",
                    "missing",
                    "a whole number of GPUs for a rented chip with the time objective",
                    detail="rented cloud capacity is off the site grid, so without a cap the "
                    "fastest plan would rent without limit",
                )
            bounds = []
            if on_site:
                bounds.append(math.floor(grid / grid_mw * (1 + 1e-12)))
            if budget is not None and capex > 0:
                bounds.append(math.floor(budget / capex * (1 + 1e-12)))
            if chip_id in supply:
                bounds.append(supply[chip_id] // chip.gpus_per_system)
            at_deadline = _whole_systems(need)
            rows.append(
                {
                    "run": spec.name,
                    "chip": chip_id,
                    "systems_needed": need,
                    "max_systems": max(at_deadline, min(bounds, default=at_deadline)),
                    "gpus_per_system": chip.gpus_per_system,
                    "facility_power_mw_per_system": power_mw,
                    "grid_power_mw_per_system": grid_mw,
                    "on_site": on_site,
                    "capex_usd_per_system": capex,
                    "run_cost_usd": float(one.cost_usd) - capex,
                    "energy_mwh": float(one.energy_mwh),
                    "emissions_tco2": float(one.emissions_tco2),
                    "days_on_one_system": float(one.days),
                    "deadline_days": spec.deadline_days,
                    "pricing": one.pricing,
                    "systems_per_rack": scenario.systems_per_rack(chip),
                    "mfu": float(one.mfu),
                    "pue": float(one.pue),
                }
            )
    options = pd.DataFrame(rows).set_index(["run", "chip"])
    return ClusterModel(
        scenario=scenario,
        objective=objective,
        allow_mixed_chips=mixed,
        options=options,
        excluded=pd.DataFrame(excluded, columns=["run", "chip", "reason"]),
        grid_limit_mw=grid,
        budget_usd=budget,
        supply_gpus=supply,
        max_racks=scenario.site.max_racks,
        deadline_days={r.name: r.deadline_days for r in scenario.runs},
        catalog=cat,
        build_s=time.perf_counter() - start,
    )


def _whole_systems(needed: float, scale: float = 1.0) -> int:
    """Whole systems that meet ``needed / scale`` fractional systems: at least one.

    Relative tolerance only (7.0000000001 -> 7): an absolute one would round a tiny run's
    1e-10 systems down to zero.
    """
    return max(1, math.ceil(needed / scale * (1 - 1e-12)))


def _grid_power_per_system_mw(scenario: Scenario, chip: Any, one: SizingResult) -> float:
    """Peak power one bought system draws on the site grid: the core's facility power at the
    annual PUE, rescaled to the design-day PUE when ``site.design_pue`` is given."""
    if scenario.site.design_pue is None:
        return float(one.facility_power_mw)
    design, _ = scenario.design_pue_for(chip)
    return float(one.facility_power_mw) * design / float(one.pue)


# --- 2. formulate and solve ------------------------------------------------------------------


@dataclass
class _Formulation:
    problem: pulp.LpProblem
    n: dict[tuple[str, str], pulp.LpVariable]
    f: dict[tuple[str, str], pulp.LpVariable]
    z: pulp.LpVariable | None
    totals: dict[str, Any]
    elastic: dict[str, pulp.LpVariable]


def _var(
    prob: pulp.LpProblem,
    name: str,
    low: float | None,
    up: float | None = None,
    cat: str = pulp.LpContinuous,
) -> pulp.LpVariable:
    """A variable attached to ``prob`` (PuLP >= 3.3 API; plain LpVariable on older PuLP)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def _constraint_list(prob: pulp.LpProblem) -> list[Any]:
    cons = prob.constraints
    return list(cons()) if callable(cons) else list(cons.values())


def _formulate(
    m: ClusterModel,
    goal: str,
    *,
    elastic: str | None = None,
    bounds: tuple[tuple[str, float], ...] = (),
    deadline_scale: float = 1.0,
    loosen: frozenset[str] = frozenset(),
) -> _Formulation:
    """The PuLP problem for ``goal``.

    ``goal`` is an objective name; ``"speedup"`` (max z, deadlines not enforced: z may be < 1);
    ``"feasibility"``; or ``"elastic"`` (minimise the violation of the limit named ``elastic``:
    ``grid``, ``budget``, ``supply`` or ``racks``). ``bounds`` fixes earlier lexicographic
    stages; ``deadline_scale`` multiplies every deadline; ``loosen`` raises limits
    (``grid``, ``budget``, ``supply:<chip>``, ``racks``) by ``LOOSEN_FRACTION`` to test
    whether they bind.
    """
    prob = pulp.LpProblem("cluster_plan", pulp.LpMinimize)
    opt = m.options.to_dict(orient="index")  # (run, chip) -> {column: value}; fast lookups
    keys = list(opt)
    n, f = {}, {}
    for i, key in enumerate(keys):
        row = opt[key]
        upper = max(int(row["max_systems"]), _whole_systems(row["systems_needed"], deadline_scale))
        if loosen:  # the bounds came from the limits: let the count grow with them
            upper = math.ceil(upper * (1 + LOOSEN_FRACTION)) + 1
        n[key] = _var(prob, f"n_{i}", 0, upper, pulp.LpInteger)
        f[key] = _var(
            prob, f"f_{i}", 0, 1, pulp.LpContinuous if m.allow_mixed_chips else pulp.LpBinary
        )
        if not m.allow_mixed_chips:
            prob += n[key] <= upper * f[key], f"one_chip_{i}"
        prob += n[key] >= f[key], f"a_used_pool_has_a_system_{i}"
    for r, run in enumerate(m.runs):
        prob += pulp.lpSum(f[k] for k in keys if k[0] == run) == 1, f"work_{r}"
    z = None
    if goal in ("time", "speedup") or any(name == "time" for name, _ in bounds):
        if m.allow_mixed_chips:
            raise AssertionError("speed-up with mixed chips is solved by bisection")
        z = _var(prob, "z", 0.0 if goal == "speedup" else 1.0)
        for r, run in enumerate(m.runs):
            prob += (
                pulp.lpSum(n[k] * (1.0 / opt[k]["systems_needed"]) for k in keys if k[0] == run)
                >= z,
                f"speed_{r}",
            )
    else:
        for i, k in enumerate(keys):
            need = opt[k]["systems_needed"] / deadline_scale
            if not m.allow_mixed_chips:  # f binary: ceil(N) f is the same set, and exact
                need = _whole_systems(opt[k]["systems_needed"], deadline_scale)
            prob += n[k] >= need * f[k], f"deadline_{i}"

    totals = {
        "power": pulp.lpSum(n[k] * opt[k]["facility_power_mw_per_system"] for k in keys),
        "cost": pulp.lpSum(
            n[k] * (opt[k]["capex_usd_per_system"] / _USD_PER_MUSD)
            + f[k] * (opt[k]["run_cost_usd"] / _USD_PER_MUSD)
            for k in keys
        ),
        "energy": pulp.lpSum(f[k] * opt[k]["energy_mwh"] for k in keys),
        "emissions": pulp.lpSum(f[k] * opt[k]["emissions_tco2"] for k in keys),
        "gpus": pulp.lpSum(n[k] * int(opt[k]["gpus_per_system"]) for k in keys),
    }
    ev: dict[str, pulp.LpVariable] = {}

    def slack(name: str) -> Any:
        if elastic == name:
            ev[name] = _var(prob, f"extra_{name}", 0)
            return ev[name]
        return 0

    def limit(name: str, value: float) -> float:
        return value * (1 + LOOSEN_FRACTION) if name in loosen else value

    on_site = {k for k in keys if opt[k]["on_site"]}  # rented systems are off the site grid
    if on_site:
        site_power = pulp.lpSum(
            n[k] * opt[k]["grid_power_mw_per_system"] for k in keys if k in on_site
        )
        prob += site_power <= limit("grid", m.grid_limit_mw) + slack("grid"), "grid_limit"
    if m.budget_usd is not None:
        prob += (
            totals["cost"] <= limit("budget", m.budget_usd / _USD_PER_MUSD) + slack("budget"),
            "budget",
        )
    for chip, cap in m.supply_gpus.items():
        chip_keys = [k for k in keys if k[1] == chip]
        if chip_keys:
            extra = 0
            if elastic == "supply":
                ev[f"supply:{chip}"] = extra = _var(prob, f"extra_supply_{chip}", 0)
            prob += (
                pulp.lpSum(n[k] * int(opt[k]["gpus_per_system"]) for k in chip_keys)
                <= limit(f"supply:{chip}", cap) + extra,
                f"supply_{chip}",
            )
    if m.max_racks is not None and on_site:
        racks = {
            k: _var(prob, f"racks_{i}", 0, None, pulp.LpInteger)
            for i, k in enumerate(keys)
            if k in on_site
        }
        for i, k in enumerate(keys):
            if k in racks:
                prob += racks[k] * int(opt[k]["systems_per_rack"]) >= n[k], f"rack_fill_{i}"
        prob += (
            pulp.lpSum(racks.values()) <= limit("racks", m.max_racks) + slack("racks"),
            "max_racks",
        )

    for name, value in bounds:
        if name == "time":
            assert z is not None  # a time bound creates the speed-up variable z above
            prob += z >= value * (1 - LEX_TOL), "lex_time"
        else:
            prob += totals[name] <= value * (1 + LEX_TOL) + LEX_TOL, f"lex_{name}"

    if goal == "elastic":
        prob.setObjective(pulp.lpSum(ev.values()))
    elif goal in ("time", "speedup"):
        assert z is not None  # created above for these goals
        prob.setObjective(-1 * z)
    elif goal == "feasibility":
        prob.setObjective(pulp.lpSum([]))
    else:
        prob.setObjective(totals[goal])
    return _Formulation(prob, n, f, z, totals, ev)


def available_solvers() -> list[str]:
    """Solvers PuLP can use here, in order of preference (``highs``, ``cbc``)."""
    found = set(pulp.listSolvers(onlyAvailable=True))
    return [s for s, cls in (("highs", "HiGHS"), ("cbc", "PULP_CBC_CMD")) if cls in found]


def _solver(name: str, time_limit_s: float | None) -> pulp.LpSolver:
    limit = None if time_limit_s is None else max(float(time_limit_s), 0.01)
    if name == "highs":
        return pulp.HiGHS(msg=False, timeLimit=limit, gapRel=MIP_REL_GAP, threads=1)
    with warnings.catch_warnings():  # PuLP 3.x: "use COIN_CMD" - but that needs a system CBC
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, gapRel=MIP_REL_GAP)


@dataclass
class _Outcome:
    status: str  # optimal | time_limit | infeasible | no_solution | error
    n: dict[tuple[str, str], int]
    f: dict[tuple[str, str], float]
    z: float | None
    totals: dict[str, float]
    elastic: dict[str, float]
    solve_s: float
    detail: str = ""
    primary: float | None = None  # optimum of the first lexicographic stage

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")


def _run(form: _Formulation, solver: str, time_limit_s: float | None) -> _Outcome:
    start = time.perf_counter()
    try:
        form.problem.solve(_solver(solver, time_limit_s))
    except pulp.PulpSolverError as exc:
        return _Outcome("error", {}, {}, None, {}, {}, time.perf_counter() - start, str(exc))
    elapsed = time.perf_counter() - start
    status, sol = form.problem.status, form.problem.sol_status
    decisions = [*form.n.values(), *form.f.values(), *form.elastic.values()]
    valid = all(v.varValue is not None for v in decisions) and all(
        c.valid(1e-5) for c in _constraint_list(form.problem)
    )
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and valid:
        kind = "optimal" if sol == pulp.LpSolutionOptimal else "time_limit"
    elif status == pulp.LpStatusInfeasible:
        return _Outcome("infeasible", {}, {}, None, {}, {}, elapsed)
    else:
        return _Outcome(
            "no_solution", {}, {}, None, {}, {}, elapsed, f"solver status {pulp.LpStatus[status]}"
        )
    return _Outcome(
        kind,
        n={k: int(round(v.varValue)) for k, v in form.n.items()},
        f={k: min(max(float(v.varValue), 0.0), 1.0) for k, v in form.f.items()},
        z=None if form.z is None else float(form.z.varValue),
        totals={k: float(pulp.value(e)) for k, e in form.totals.items()},
        elastic={k: float(v.varValue) for k, v in form.elastic.items()},
        solve_s=elapsed,
    )


def _check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise InputError("solver", solver, "one of: " + ", ".join(SOLVERS))
    installed = available_solvers()
    if solver in installed:
        return solver
    if installed:
        return installed[0]  # the documented fallback (HiGHS missing -> CBC)
    raise InputError("solver", solver, "an installed solver (pip install highspy)")


class _Clock:
    def __init__(self, limit_s: float | None) -> None:
        self.end = None if limit_s is None else time.perf_counter() + float(limit_s)
        self.solve_s = 0.0
        self.solves = 0

    def remaining(self) -> float | None:
        return None if self.end is None else self.end - time.perf_counter()

    def out(self) -> bool:
        rem = self.remaining()
        return rem is not None and rem <= 0


def _solve_goal(m: ClusterModel, goal: str, solver: str, clock: _Clock, **kw: Any) -> _Outcome:
    form = _formulate(m, goal, **kw)
    outcome = _run(form, solver, clock.remaining())
    clock.solve_s += outcome.solve_s
    clock.solves += 1
    return outcome


def _stages(m: ClusterModel) -> list[str]:
    rent_only = bool((m.options["capex_usd_per_system"] <= 0).any())
    order = {"cost": ["cost", "power"], "gpus": ["gpus", "cost"]}.get(
        m.objective, [m.objective, "cost"]
    )
    if rent_only and "gpus" not in order:
        order.append("gpus")  # rental cost does not depend on the count: fewest systems next
    return order


def _lexicographic(
    m: ClusterModel, solver: str, clock: _Clock, deadline_scale: float = 1.0
) -> tuple[_Outcome, list[str]]:
    """Solve the objective, then each tie-break with the earlier optima held."""
    notes: list[str] = []
    bounds: list[tuple[str, float]] = []
    best: _Outcome | None = None
    for i, goal in enumerate(_stages(m)):
        if i and (clock.out() or best is None or best.status != "optimal"):
            if clock.out():
                notes.append(f"time limit reached before the {goal} tie-break")
            break
        out = _solve_goal(
            m, goal, solver, clock, bounds=tuple(bounds), deadline_scale=deadline_scale
        )
        if not out.has_solution:
            if best is None:
                return out, notes
            break
        best = out
        if goal == "time":
            assert out.z is not None  # a solved time stage has the speed-up variable z
            bounds.append((goal, out.z))
        else:
            bounds.append((goal, out.totals[goal]))
    assert best is not None
    best.primary = bounds[0][1]
    return best, notes


def _bisect_scale(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    lo: float,
    hi: float,
    loosen: frozenset[str] = frozenset(),
) -> float | None:
    """Smallest common deadline scale in [lo, hi] with a feasible plan (mixed chips).

    ``loosen``: limits raised by ``LOOSEN_FRACTION`` (binding tests). ``None`` when ``hi``
    itself has no plan (or the solver found none).
    """

    def feasible(s: float) -> bool | None:
        out = _solve_goal(m, "feasibility", solver, clock, deadline_scale=s, loosen=loosen)
        return None if out.status in ("no_solution", "error") else out.has_solution

    if not feasible(hi):
        return None
    while hi / lo > 1 + BISECT_REL_TOL and not clock.out():
        mid = math.sqrt(lo * hi)
        ok = feasible(mid)
        if ok is None:
            break
        lo, hi = (lo, mid) if ok else (mid, hi)
    return hi


# --- 3. read back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The answer: a plan, or why none fits and what would make one fit.

    Attributes
    ----------
    status : str
        ``optimal``; ``time_limit`` (the solver stopped at the time limit: best plan found);
        ``infeasible`` (no plan fits: see ``relaxations``); ``no_solution`` (the time limit
        ran out, or the solver stopped without a plan and without proving that none exists).
    runs : DataFrame
        One row per (run, chip) in the plan: systems, GPUs, share of the run's FLOPs, days,
        deadline_days, facility_power_mw (peak, annual PUE), grid_power_mw (peak on the site
        grid: design-day PUE, 0 for rented systems), energy_mwh, cost_usd,
        capex/electricity/rental, emissions_tco2, pricing. Every number is
        :func:`planner.sizing.size_training`'s for that chip and count.
    totals : dict
        Sums over the runs, and ``longest_days`` / ``longest_fraction_of_deadline`` (the
        largest days / deadline over the runs: :attr:`slowest_run` names that run).
    constraints : DataFrame
        Each limit: limit, used, slack, unit, ``binding`` and ``objective_if_10pct_looser``.
        A grid, budget, supply or rack limit binds when re-solving with it 10% looser gives a
        better objective (for ``time`` with mixed chips: a smaller common deadline scale).
        ``binding`` is True, False, or None = not tested (the time limit ran out before the
        re-solve, or the re-solve was stopped before it could prove anything). A deadline
        binds when one system fewer would miss it.
    comparison : DataFrame
        Every candidate chip alone for each run at its deadline, and whether it fits each limit.
    relaxations : DataFrame
        When infeasible: the least change of each limit alone that gives a plan (extra MW,
        more budget, more supply, more racks, another chip), found by re-solving; amounts are
        rounded UP at the shown precision, so the shown value works as written. The deadline
        rows are ONE common stretch of every deadline (the ratios between runs kept).
    sizings : dict
        ``(run, chip) -> SizingResult`` of each plan row (the core's numbers behind ``runs``).
    comparison_sizings : dict
        ``(run, chip) -> SizingResult`` behind ``comparison`` (each chip alone at the deadline).
    """

    status: str
    objective: str
    objective_value: float | None
    objective_unit: str
    solver: str
    allow_mixed_chips: bool
    message: str
    runs: pd.DataFrame
    totals: dict[str, float]
    constraints: pd.DataFrame
    comparison: pd.DataFrame
    relaxations: pd.DataFrame
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)
    sizings: dict[tuple[str, str], SizingResult] = field(default_factory=dict, repr=False)
    comparison_sizings: dict[tuple[str, str], SizingResult] = field(
        default_factory=dict, repr=False
    )

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "time_limit")

    @property
    def slowest_run(self) -> str | None:
        """The run with the largest days / deadline (``longest_fraction_of_deadline``)."""
        if self.runs.empty:
            return None
        part = self.runs.groupby(level="run")[["days", "deadline_days"]].max()
        return str((part["days"] / part["deadline_days"]).idxmax())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        return {
            "status": self.status,
            "objective": self.objective,
            "objective_value": to_python(self.objective_value),
            "objective_unit": self.objective_unit,
            "solver": self.solver,
            "allow_mixed_chips": self.allow_mixed_chips,
            "message": self.message,
            "runs": _records(self.runs),
            "totals": {k: to_python(v) for k, v in self.totals.items()},
            "constraints": _records(self.constraints),
            "comparison": _records(self.comparison),
            "relaxations": _records(self.relaxations),
            "timings": {k: to_python(v) for k, v in self.timings.items()},
            "notes": list(self.notes),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    flat = frame.reset_index() if frame.index.names[0] is not None else frame
    return [{k: to_python(v) for k, v in row.items()} for row in flat.to_dict(orient="records")]


_RUN_COLUMNS = [
    "run",
    "chip",
    "systems",
    "gpus",
    "share",
    "days",
    "deadline_days",
    "facility_power_mw",
    "grid_power_mw",
    "average_facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "capex_usd",
    "electricity_usd",
    "rental_usd",
    "emissions_tco2",
    "pricing",
    "mfu",
    "pue",
]


def _read_back(
    m: ClusterModel, out: _Outcome
) -> tuple[pd.DataFrame, dict[str, float], dict[tuple[str, str], SizingResult]]:
    rows, sizings = [], {}
    runs = {r.name: r for r in m.scenario.runs}
    for (run_name, chip_id), systems in out.n.items():
        share = out.f[(run_name, chip_id)]
        if systems <= 0 or (m.allow_mixed_chips and share <= 1e-9):
            continue
        spec = runs[run_name]
        run = spec.training_run()
        if m.allow_mixed_chips and share < 1 - 1e-9:
            run = TrainingRun(flops=float(run.total_flops()) * share, name=run_name)
        else:
            share = 1.0
        chip = m.catalog.get(chip_id)
        res = size_training(
            run,
            chip,
            gpus=systems * chip.gpus_per_system,
            assumptions=m.assumptions(run_name, chip_id),
        )
        sizings[(run_name, chip_id)] = res
        option = m.options.loc[(run_name, chip_id)]
        grid_share = (
            option["grid_power_mw_per_system"] / option["facility_power_mw_per_system"]
            if option["on_site"]
            else 0.0
        )
        rows.append(
            {
                "run": run_name,
                "chip": chip_id,
                "systems": systems,
                "gpus": res.gpus,
                "share": share,
                "days": res.days,
                "deadline_days": spec.deadline_days,
                "facility_power_mw": res.facility_power_mw,
                "grid_power_mw": float(res.facility_power_mw) * grid_share,
                "average_facility_power_mw": res.average_facility_power_mw,
                "energy_mwh": res.energy_mwh,
                "cost_usd": res.cost_usd,
                "capex_usd": res.capex_usd if res.pricing == "buy" else 0.0,
                "electricity_usd": res.electricity_cost_usd if res.pricing == "buy" else 0.0,
                "rental_usd": res.rental_cost_usd if res.pricing == "rent" else 0.0,
                "emissions_tco2": res.emissions_tco2,
                "pricing": res.pricing,
                "mfu": res.mfu,
                "pue": res.pue,
            }
        )
    frame = pd.DataFrame(rows, columns=_RUN_COLUMNS).set_index(["run", "chip"])
    totals = _totals(frame, m)
    return frame, totals, sizings


def _totals(frame: pd.DataFrame, m: ClusterModel) -> dict[str, float]:
    if frame.empty:
        return {}
    per_run_days = frame.groupby(level="run")["days"].max()
    fraction = max(per_run_days[r] / m.deadline_days[r] for r in per_run_days.index)
    return {
        "systems": float(frame["systems"].sum()),
        "gpus": float(frame["gpus"].sum()),
        "facility_power_mw": float(frame["facility_power_mw"].sum()),
        "grid_power_mw": float(frame["grid_power_mw"].sum()),
        "energy_mwh": float(frame["energy_mwh"].sum()),
        "cost_usd": float(frame["cost_usd"].sum()),
        "capex_usd": float(frame["capex_usd"].sum()),
        "electricity_usd": float(frame["electricity_usd"].sum()),
        "rental_usd": float(frame["rental_usd"].sum()),
        "emissions_tco2": float(frame["emissions_tco2"].sum()),
        "longest_days": float(per_run_days.max()),
        "longest_fraction_of_deadline": float(fraction),
    }


def _limit_names(m: ClusterModel) -> list[str]:
    names = ["grid"]
    if m.budget_usd is not None:
        names.append("budget")
    names += [f"supply:{c}" for c in m.supply_gpus if c in m.chips]
    if m.max_racks is not None:
        names.append("racks")
    return names


#: A binding test: the objective with the limit 10% looser (model units; the speed-up ``z``
#: for ``time``), and whether that re-solve was proven optimal.
_Test = tuple[float | None, bool]


def _binding_tests(m: ClusterModel, out: _Outcome, solver: str, clock: _Clock) -> dict[str, _Test]:
    """Objective with each limit loosened by ``LOOSEN_FRACTION`` (re-solve, one at a time).

    A limit missing from the result was not tested (the time limit ran out first); a value
    ``None`` means the re-solve found no plan in the time left (also: not tested).
    """
    goal = m.objective
    results: dict[str, _Test] = {}
    for name in _limit_names(m):
        if clock.out():
            break
        alt = _solve_goal(m, goal, solver, clock, loosen=frozenset([name]))
        if alt.has_solution:
            value = alt.z if goal == "time" else alt.totals[goal]
            results[name] = (value, alt.status == "optimal")
        else:
            results[name] = (None, False)
    return results


def _binding_tests_scale(
    m: ClusterModel, scale: float, solver: str, clock: _Clock
) -> dict[str, _Test]:
    """Binding tests for ``time`` with mixed chips (bisection on a common deadline scale).

    With a limit 10% looser, a plan at ``scale / (1 + 2 tol)`` (beyond the bisection's
    precision) means the limit binds; the new least scale is then bisected. Values are
    reported as the speed-up ``1 / scale``, like the one-chip time objective.
    """
    results: dict[str, _Test] = {}
    below = scale / (1 + 2 * BISECT_REL_TOL)
    lo = _fastest_scale_bound(m)
    for name in _limit_names(m):
        if clock.out():
            break
        loosen = frozenset([name])
        out = _solve_goal(m, "feasibility", solver, clock, deadline_scale=below, loosen=loosen)
        if out.status in ("no_solution", "error"):
            results[name] = (None, False)
        elif not out.has_solution:
            results[name] = (1.0 / scale, True)  # no better scale: does not bind
        else:
            found = _bisect_scale(m, solver, clock, min(lo, below), below, loosen=loosen)
            results[name] = (None, False) if found is None else (1.0 / found, not clock.out())
    return results


def _improves(m: ClusterModel, base: float, without: float) -> bool:
    if m.objective == "time":  # speed-up z: larger is better
        return without > base * (1 + 1e-5) + 1e-9
    return without < base * (1 - 1e-5) - 1e-9


def _binds(m: ClusterModel, base: float | None, test: _Test | None) -> bool | None:
    """True / False, or None when the binding status was not tested (or not proven).

    A better objective with the limit looser proves it binds, even from a re-solve stopped
    at the time limit; "does not bind" needs both solves proven optimal.
    """
    if test is None or base is None:
        return None
    value, proven = test
    if value is None:
        return None
    if _improves(m, base, value):
        return True
    return False if proven else None


def _constraints(
    m: ClusterModel,
    frame: pd.DataFrame,
    base: float | None,
    tests: dict[str, _Test],
) -> pd.DataFrame:
    """Each limit with its use, slack and whether it binds.

    A grid, budget, supply or rack limit *binds* when re-solving with it 10% looser gives a
    better objective (``objective_if_10pct_looser``): with integer systems a limit can bind
    with slack left (the next system would not fit) or decide the chip choice. ``binding`` is
    None when that re-solve was not done or proved nothing (see :func:`_binds`). ``base`` is
    the optimum in model units (the speed-up ``z`` for ``time``), None when it is not proven
    optimal. A deadline binds when one system fewer would miss it. The grid counts only the
    systems on site (bought), at the design-day PUE; the racks likewise.
    """
    opt = m.options
    rows = []
    goal = m.objective

    def add(
        name: str,
        key: str | None,
        limit: float,
        used: float,
        unit: str,
        binding: bool | None = None,
    ) -> None:
        slack = limit - used
        test = tests.get(key) if key else None
        value = test[0] if test else None
        if key is not None:
            binding = _binds(m, base, test)
        if value is not None and goal == "time":
            value = 1.0 / value if value > 0 else None
        elif value is not None and goal == "cost":
            value = value * _USD_PER_MUSD
        rows.append(
            {
                "constraint": name,
                "limit": limit,
                "used": used,
                "slack": slack,
                "slack_fraction": slack / limit if limit else float("nan"),
                "unit": unit,
                "binding": None if binding is None else bool(binding),
                "objective_if_10pct_looser": value,
            }
        )

    add("grid_limit_mw", "grid", m.grid_limit_mw, float(frame["grid_power_mw"].sum()), "MW")
    if m.budget_usd is not None:
        add("budget_usd", "budget", m.budget_usd, float(frame["cost_usd"].sum()), "USD")
    chips_used = set(frame.index.get_level_values("chip"))
    for chip, cap in m.supply_gpus.items():
        if chip in m.chips:
            used = float(frame.xs(chip, level="chip")["gpus"].sum()) if chip in chips_used else 0.0
            add(f"supply_gpus.{chip}", f"supply:{chip}", float(cap), used, "GPUs")
    if m.max_racks is not None:
        racks = sum(
            math.ceil(frame.loc[k, "systems"] / opt.loc[k, "systems_per_rack"])
            for k in frame.index
            if opt.loc[k, "on_site"]
        )
        add("max_racks", "racks", float(m.max_racks), float(racks), "racks")
    runs_used = set(frame.index.get_level_values("run"))
    for run in m.runs:
        if run not in runs_used:
            continue
        part = frame.xs(run, level="run")
        days = float(part["days"].max())
        systems = float(part["systems"].sum())
        # One system fewer would stretch the run to about days x systems / (systems - 1).
        fewer = days * systems / (systems - 1) if systems > 1 else float("inf")
        add(
            f"deadline_days.{run}",
            None,
            m.deadline_days[run],
            days,
            "days",
            binding=fewer > m.deadline_days[run] * (1 + 1e-9),
        )
    frame_out = pd.DataFrame(rows).set_index("constraint")
    frame_out["binding"] = frame_out["binding"].astype(object)
    return frame_out


def _comparison(
    m: ClusterModel,
) -> tuple[pd.DataFrame, dict[tuple[str, str], SizingResult]]:
    """Every candidate chip alone, per run, sized by the core at the run's deadline.

    ``fits_grid`` compares the peak on the site grid (design-day PUE; rented: off site).
    """
    rows = []
    sizings: dict[tuple[str, str], SizingResult] = {}
    runs = {r.name: r for r in m.scenario.runs}
    for run_name, chip_id in m.options.index:
        spec = runs[run_name]
        res = size_training(
            spec.training_run(),
            m.catalog.get(chip_id),
            days=spec.deadline_days,
            assumptions=m.assumptions(run_name, chip_id),
        )
        sizings[(run_name, chip_id)] = res
        option = m.options.loc[(run_name, chip_id)]
        grid_mw = (
            float(res.facility_power_mw)
            * option["grid_power_mw_per_system"]
            / option["facility_power_mw_per_system"]
            if option["on_site"]
            else 0.0
        )
        cap = m.supply_gpus.get(chip_id)
        rows.append(
            {
                "run": run_name,
                "chip": chip_id,
                "gpus": res.gpus,
                "systems": res.systems,
                "days": res.days,
                "facility_power_mw": res.facility_power_mw,
                "energy_mwh": res.energy_mwh,
                "cost_usd": res.cost_usd,
                "emissions_tco2": res.emissions_tco2,
                "mfu": res.mfu,
                "pue": res.pue,
                "fits_grid": bool(grid_mw <= m.grid_limit_mw * (1 + 1e-9)),
                "fits_budget": bool(m.budget_usd is None or res.cost_usd <= m.budget_usd),
                "fits_supply": bool(cap is None or res.gpus <= cap),
                "note": "off site (rented)" if not option["on_site"] else "",
            }
        )
    for item in m.excluded.to_dict(orient="records"):
        rows.append({"run": item["run"], "chip": item["chip"], "note": item["reason"]})
    return pd.DataFrame(rows).set_index(["run", "chip"]), sizings


# --- infeasibility: minimal relaxations ------------------------------------------------------

_RELAX_COLUMNS = ["relax", "current", "needed", "change", "unit", "works", "detail"]


def ceil_at(value: float, decimals: int = 0) -> float:
    """``value`` rounded UP at ``decimals`` (14.935 -> 14.94 at 2): an amount shown this way
    is never less than what is needed. A relative 1e-12 absorbs float noise (4.94000000001)."""
    factor = 10.0**decimals
    return math.ceil(value * factor * (1 - 1e-12)) / factor


def _relaxations(m: ClusterModel, solver: str, clock: _Clock) -> pd.DataFrame:
    """The least change of each limit on its own that lets a plan exist (re-solves)."""
    rows: list[dict[str, Any]] = []

    def elastic(kind: str) -> _Outcome:
        return _solve_goal(m, "elastic", solver, clock, elastic=kind)

    out = elastic("grid")
    if out.has_solution:
        grid_extra = ceil_at(out.elastic.get("grid", 0.0), GRID_DECIMALS)
        needed = ceil_at(m.grid_limit_mw + grid_extra, GRID_DECIMALS)
        rows.append(
            {
                "relax": "grid_limit_mw",
                "current": m.grid_limit_mw,
                "needed": needed,
                "change": grid_extra,
                "unit": "MW",
                "works": True,
                "detail": f"{grid_extra:,.{GRID_DECIMALS}f} MW more grid",
            }
        )
    else:
        rows.append(
            {
                "relax": "grid_limit_mw",
                "current": m.grid_limit_mw,
                "works": False,
                "unit": "MW",
                "detail": "more grid alone is not enough",
            }
        )
    scale = _min_deadline_scale(m, solver, clock)
    together = len(m.runs) > 1
    for run in m.runs:
        t = m.deadline_days[run]
        if scale is None:
            rows.append(
                {
                    "relax": f"deadline_days.{run}",
                    "current": t,
                    "works": False,
                    "unit": "days",
                    "detail": "a longer deadline alone is not enough",
                }
            )
        else:
            days = ceil_at(t * scale)
            rows.append(
                {
                    "relax": f"deadline_days.{run}",
                    "current": t,
                    "needed": days,
                    "change": days - t,
                    "unit": "days",
                    "works": True,
                    "detail": f"{days:,.0f} days for {run}"
                    + (f" (every deadline x{ceil_at(scale, 2):.2f} together)" if together else ""),
                }
            )
    if m.budget_usd is not None:
        out = elastic("budget")
        extra = (
            ceil_at(out.elastic.get("budget", 0.0), BUDGET_MUSD_DECIMALS) * _USD_PER_MUSD
            if out.has_solution
            else None
        )
        rows.append(
            {
                "relax": "budget_usd",
                "current": m.budget_usd,
                "needed": None if extra is None else m.budget_usd + extra,
                "change": extra,
                "unit": "USD",
                "works": extra is not None,
                "detail": "a larger budget alone is not enough"
                if extra is None
                else f"USD {extra / 1e6:,.{BUDGET_MUSD_DECIMALS}f}M more budget",
            }
        )
    if any(c in m.chips for c in m.supply_gpus):
        out = elastic("supply")
        for chip, cap in m.supply_gpus.items():
            if chip not in m.chips:
                continue
            extra = out.elastic.get(f"supply:{chip}") if out.has_solution else None
            if extra is not None and extra <= 1e-6:
                continue
            extra = None if extra is None else ceil_at(extra)
            rows.append(
                {
                    "relax": f"supply_gpus.{chip}",
                    "current": float(cap),
                    "needed": None if extra is None else cap + extra,
                    "change": extra,
                    "unit": "GPUs",
                    "works": extra is not None,
                    "detail": "more supply alone is not enough"
                    if extra is None
                    else f"{extra:,.0f} more {chip} GPUs",
                }
            )
    if m.max_racks is not None:
        out = elastic("racks")
        extra = out.elastic.get("racks") if out.has_solution else None
        extra = None if extra is None else ceil_at(extra)
        rows.append(
            {
                "relax": "max_racks",
                "current": float(m.max_racks),
                "needed": None if extra is None else m.max_racks + extra,
                "change": extra,
                "unit": "racks",
                "works": extra is not None,
                "detail": "more racks alone is not enough"
                if extra is None
                else f"{extra:,.0f} more racks",
            }
        )
    rows.extend(_other_chips(m, solver, clock))
    return pd.DataFrame(rows, columns=_RELAX_COLUMNS).set_index("relax")


def _min_deadline_scale(m: ClusterModel, solver: str, clock: _Clock) -> float | None:
    """Least common stretch of every deadline that makes a plan feasible (>= 1)."""
    if not m.allow_mixed_chips:
        out = _solve_goal(m, "speedup", solver, clock)
        if not out.has_solution or out.z is None or out.z <= 1e-12:
            return None
        return max(1.0, 1.0 / out.z)
    hi = max(1.0, float(m.options["systems_needed"].max()) * 1.001)
    return _bisect_scale(m, solver, clock, 1.0, hi)


def _other_chips(m: ClusterModel, solver: str, clock: _Clock) -> list[dict[str, Any]]:
    """Each priced catalog chip not among the candidates, added on its own."""
    s = m.scenario
    current = s.candidate_ids(m.catalog)
    rows: list[dict[str, Any]] = []
    for chip in m.catalog:
        if chip.id in current or not s.has_price(chip) or clock.out():
            continue
        if any(chip.dense_tflops_or_none(r.precision) is None for r in s.runs):
            continue
        if not s.covers(chip):  # the site's PUE table has no hall for it
            continue
        try:
            alt = build_model(
                s.with_candidates([*current, chip.id]),
                objective=m.objective,
                allow_mixed_chips=m.allow_mixed_chips,
                catalog=m.catalog,
            )
        except PlannerError:  # e.g. a rented chip without a supply cap for `time`
            continue
        out, _ = (
            _lexicographic(alt, solver, clock)
            if not _needs_bisection(alt)
            else (_time_mixed(alt, solver, clock)[0], [])
        )
        if not out.has_solution:
            continue
        frame, totals, _ = _read_back(alt, out)
        used = sorted(set(frame.index.get_level_values("chip")))
        if chip.id not in used:
            continue
        rows.append(
            {
                "relax": f"add_chip.{chip.id}",
                "current": None,
                "needed": totals["facility_power_mw"],
                "change": None,
                "unit": "MW",
                "works": True,
                "detail": f"{chip.id.upper()}s ({totals['facility_power_mw']:,.1f} MW, "
                f"USD {totals['cost_usd'] / 1e6:,.0f}M)",
            }
        )
    rows.sort(key=lambda r: r["needed"])
    return rows


def _fastest_scale_bound(m: ClusterModel) -> float:
    """A lower bound of the common deadline scale: every run on all its chips at their most
    systems (``max_systems``: grid, budget, supply) finishes at ``1 / sum_c U / N`` of its
    deadline at best. Halved for safety; never 0 (a tiny run may reach 1e-12)."""
    opt = m.options
    speed = (opt["max_systems"] / opt["systems_needed"]).groupby(level="run").sum()
    return max(0.5 * float((1.0 / speed).max()), 1e-300)


def _needs_bisection(m: ClusterModel) -> bool:
    return m.objective == "time" and m.allow_mixed_chips


def _time_mixed(m: ClusterModel, solver: str, clock: _Clock) -> tuple[_Outcome, float | None]:
    """Time objective with mixed chips: least common deadline scale, then least cost there."""
    lo = _fastest_scale_bound(m)
    scale = _bisect_scale(m, solver, clock, lo, 1.0)
    if scale is None:
        return _solve_goal(m, "feasibility", solver, clock), None
    cost_model = replace(m, objective="cost")
    out, _ = _lexicographic(cost_model, solver, clock, deadline_scale=scale)
    return out, scale


# --- the public entry points ----------------------------------------------------------------


def solve(
    model: ClusterModel,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    relaxations: bool = True,
    comparison: bool = True,
) -> Plan:
    """Solve the cluster MILP and read the answer back into a :class:`Plan`.

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
    """
    used_solver = _check_solver(solver)
    clock = _Clock(time_limit_s)
    notes = [] if used_solver == solver else [f"{solver} is not installed: used {used_solver}"]
    start = time.perf_counter()
    scale = None
    if model.options.empty:
        out = _Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
    elif _needs_bisection(model):
        out, scale = _time_mixed(model, used_solver, clock)
    else:
        out, stage_notes = _lexicographic(model, used_solver, clock)
        notes += stage_notes
    unit_key, unit = _OBJECTIVE_UNITS[model.objective]
    compare, compare_sizings = _comparison(model) if comparison else (pd.DataFrame(), {})
    if out.has_solution:
        frame, totals, sizings = _read_back(model, out)
        base, tests = None, {}
        if out.status == "optimal":  # limits of a plan not proven optimal are not tested
            if scale is not None:
                base = 1.0 / scale
                tests = _binding_tests_scale(model, scale, used_solver, clock)
            else:
                base = out.primary
                tests = _binding_tests(model, out, used_solver, clock)
        constraints = _constraints(model, frame, base, tests)
        value = totals[unit_key]
        if out.status == "time_limit":
            notes.append("the time limit stopped the solver: best plan found, maybe not optimal")
        untested = [c for c, row in constraints.iterrows() if row["binding"] is None]
        if untested:
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
        if model.scenario.site.design_pue is not None:
            notes.append(
                "the grid limit is checked at the design-day PUE (site.design_pue); energy, "
                "cost and emissions use the annual PUE (site.pue)"
            )
        message = _plan_message(model, frame, totals, constraints, out.status)
        relax = pd.DataFrame(columns=_RELAX_COLUMNS).set_index("relax")
    else:
        frame = pd.DataFrame(columns=_RUN_COLUMNS).set_index(["run", "chip"])
        totals, sizings, value = {}, {}, None
        constraints = pd.DataFrame()
        if out.status == "infeasible" and relaxations and not model.options.empty:
            relax = _relaxations(model, used_solver, clock)
        else:
            relax = pd.DataFrame(columns=_RELAX_COLUMNS).set_index("relax")
        message = _infeasible_message(model, relax, out, time_limit_s)
    timings = {
        "build_s": model.build_s,
        "solve_s": clock.solve_s,
        "total_s": model.build_s + time.perf_counter() - start,
        "solver_calls": float(clock.solves),
    }
    if scale is not None:
        notes.append(f"mixed chips, time objective: deadlines scaled by {scale:.4f} (bisection)")
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
) -> Plan:
    """Build and solve in one call: ``solve(build_model(scenario, ...), ...)``."""
    model = build_model(
        scenario, objective=objective, allow_mixed_chips=allow_mixed_chips, catalog=catalog
    )
    return solve(model, solver=solver, time_limit_s=time_limit_s)


def _chips_text(frame: pd.DataFrame) -> str:
    parts = [
        f"{run}: {int(r.gpus):,} {chip.upper()} ({int(r.systems):,} systems)"
        for (run, chip), r in frame.iterrows()
    ]
    return "; ".join(parts)


def _plan_message(
    m: ClusterModel,
    frame: pd.DataFrame,
    totals: dict[str, float],
    constraints: pd.DataFrame,
    status: str,
) -> str:
    binding = [c for c, row in constraints.iterrows() if row["binding"] is True]
    untested = [c for c, row in constraints.iterrows() if row["binding"] is None]
    off_site = totals["facility_power_mw"] - float(
        frame.loc[frame["pricing"] != "rent", "facility_power_mw"].sum()
    )
    power = f"Peak {totals['grid_power_mw']:,.2f} MW of {m.grid_limit_mw:g} MW on the site grid"
    if off_site > 0:
        power += f" (plus {off_site:,.2f} MW rented off site)"
    text = (
        f"{_chips_text(frame)}. {power}, USD {totals['cost_usd'] / 1e6:,.1f}M, "
        f"{totals['energy_mwh']:,.0f} MWh, {totals['emissions_tco2']:,.0f} tCO2. "
        f"Binding: {', '.join(binding) if binding else 'none'}"
        + (f"; not tested: {', '.join(untested)}." if untested else ".")
    )
    return ("Time limit reached, best plan found: " if status == "time_limit" else "") + text


def _infeasible_message(
    m: ClusterModel, relax: pd.DataFrame, out: _Outcome, time_limit_s: float | None
) -> str:
    if out.status == "no_solution":
        if time_limit_s is not None:
            return (
                f"No plan found within the time limit of {time_limit_s:g} s (the solver found "
                "no feasible plan yet); allow more time with --time-limit-s."
            )
        return (
            f"The solver stopped without a plan and without proving that none exists "
            f"({out.detail or 'no status'}): usually numerical trouble from extreme numbers "
            "(prices, FLOPs or limits many orders of magnitude apart); check the scenario."
        )
    if out.status == "error":
        return f"The solver failed: {out.detail}"
    if relax.empty:
        return "No plan fits the limits."
    chips = ", ".join(c.upper() for c in m.chips)
    deadlines = ", ".join(f"{t:g} days" for t in m.deadline_days.values())
    head = f"No plan fits: {deadlines} on {chips}"
    grid = relax.loc["grid_limit_mw"] if "grid_limit_mw" in relax.index else None
    if grid is not None and grid["works"]:
        head += (
            f" needs {grid['needed']:,.{GRID_DECIMALS}f} MW; the grid gives {m.grid_limit_mw:g} MW"
        )
    options = [row["detail"] for _, row in relax.iterrows() if row["works"]]
    deadline_rows = [(k, r) for k, r in relax.iterrows() if k.startswith("deadline_days.")]
    if len(deadline_rows) > 1 and all(r["works"] for _, r in deadline_rows):
        joined = ", ".join(
            f"{r['needed']:,.0f} days for {k.split('.', 1)[1]}" for k, r in deadline_rows
        )
        options = [o for o in options if o not in {r["detail"] for _, r in deadline_rows}]
        options.insert(
            1 if options else 0, f"every deadline stretched by one common factor: {joined}"
        )
    if not options:
        return head + ". No single limit can be relaxed enough on its own."
    return head + ". Either " + ", or ".join(options) + "."


# --- Pareto sweeps ---------------------------------------------------------------------------


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``"days=30:180:10"`` -> ``("days", [30, 40, ..., 180])`` (stop included).

    Raises
    ------
    InputError
        Naming ``--pareto``: an unknown parameter, a value that is not a finite number, a
        range outside the scenario's own bounds (``days`` in [MIN_DAYS, MAX_DAYS], ``grid_mw``
        in (0, MAX_GRID_MW]) or more than ``MAX_SWEEP_POINTS`` points.
    """
    allowed = "days=START:STOP:STEP or grid_mw=START:STOP:STEP (e.g. days=30:180:10)"
    name, _, spec = text.partition("=")
    name = name.strip()
    if name not in SWEEP_PARAMETERS:
        raise InputError("--pareto", text, allowed)
    try:
        start, stop, step = (float(x) for x in spec.split(":"))
    except ValueError:
        raise InputError("--pareto", text, allowed) from None
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise InputError("--pareto", text, allowed, detail="START, STOP and STEP must be finite")
    if name == "days":
        lo, hi, bounds = MIN_DAYS, MAX_DAYS, f"days in [{MIN_DAYS:g}, {MAX_DAYS:g}]"
    else:
        lo, hi, bounds = 0.0, MAX_GRID_MW, f"grid_mw in (0, {MAX_GRID_MW:g}]"
    if not (start > 0 and start >= lo and stop <= hi):
        raise InputError("--pareto", text, bounds)
    if not (stop >= start and step > 0) or (stop - start) / step > MAX_SWEEP_POINTS - 1:
        raise InputError(
            "--pareto",
            text,
            f"START > 0, STOP >= START, STEP > 0, at most {MAX_SWEEP_POINTS:,} points",
        )
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    return name, [min(round(start + i * step, 10), stop) for i in range(count)]


def pareto(
    scenario: Scenario,
    parameter: str,
    values: list[float],
    *,
    objective: str | None = None,
    allow_mixed_chips: bool | None = None,
    solver: str = "highs",
    time_limit_s: float | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Re-solve over a sweep: the objective against deadline (``days``) or grid (``grid_mw``).

    ``days`` sets the longest deadline to each value and scales the others in proportion (one
    run: its deadline). ``grid_mw`` sets the grid limit. Returns one row per value: status,
    objective value, totals, the chips used, and ``efficient`` (no other point is at least as
    good in both the swept value, smaller being better, and the objective).
    """
    if parameter not in SWEEP_PARAMETERS:
        raise InputError("parameter", parameter, "one of: " + ", ".join(SWEEP_PARAMETERS))
    cat = catalog or load_catalog()
    rows = []
    for value in values:
        s = (
            scenario.with_longest_deadline(value)
            if parameter == "days"
            else scenario.with_grid_limit(value)
        )
        model = build_model(
            s, objective=objective, allow_mixed_chips=allow_mixed_chips, catalog=cat
        )
        plan = solve(
            model, solver=solver, time_limit_s=time_limit_s, relaxations=False, comparison=False
        )
        t = plan.totals
        rows.append(
            {
                parameter: value,
                "status": plan.status,
                "objective": plan.objective,
                "objective_value": plan.objective_value,
                "cost_usd": t.get("cost_usd"),
                "facility_power_mw": t.get("facility_power_mw"),
                "energy_mwh": t.get("energy_mwh"),
                "emissions_tco2": t.get("emissions_tco2"),
                "gpus": t.get("gpus"),
                "longest_days": t.get("longest_days"),
                "plan": _chips_text(plan.runs) if plan.feasible else "",
            }
        )
    frame = pd.DataFrame(rows)
    frame["efficient"] = _efficient(frame, parameter)
    return frame


def _efficient(frame: pd.DataFrame, parameter: str) -> list[bool]:
    x = frame[parameter].to_numpy(dtype=float)
    y = pd.to_numeric(frame["objective_value"], errors="coerce").to_numpy(dtype=float)
    result = []
    for i in range(len(frame)):
        if np.isnan(y[i]):
            result.append(False)
            continue
        tol = 1e-9 * max(abs(y[i]), 1.0)
        dominated = any(
            j != i
            and not np.isnan(y[j])
            and x[j] <= x[i]
            and y[j] <= y[i] + tol
            and (x[j] < x[i] or y[j] < y[i] - tol)
            for j in range(len(frame))
        )
        result.append(not dominated)
    return result


# --- Pyomo cross-check -----------------------------------------------------------------------


def pyomo_available() -> bool:
    """Whether Pyomo and its HiGHS interface (appsi_highs) work here."""
    try:
        import pyomo.environ as pyo
        from pyomo.contrib.appsi.solvers import Highs

        return bool(Highs().available()) and pyo is not None
    except Exception:  # noqa: BLE001 - any import or plugin failure means "not available"
        return False


def solve_pyomo(model: ClusterModel, *, time_limit_s: float | None = None) -> float | None:
    """Optimum of the same MILP built independently in Pyomo (HiGHS via appsi), or None.

    Only the primary objective (no tie-breaks), one chip per run or mixed shares; for
    ``time`` (one chip per run) the value is the longest fraction of deadline, ``1 / z``.
    Returned in the plan's units (USD, MW, MWh, tCO2, GPUs, fraction of deadline); ``None``
    when infeasible.
    """
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.base import TerminationCondition
    from pyomo.contrib.appsi.solvers import Highs

    opt = model.options
    keys = list(opt.index)
    idx = range(len(keys))
    mixed = model.allow_mixed_chips
    goal = model.objective
    pm = pyo.ConcreteModel()
    pm.n = pyo.Var(
        idx,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, i: (0, int(opt.iloc[i]["max_systems"])),
    )
    pm.f = pyo.Var(idx, domain=pyo.UnitInterval if mixed else pyo.Binary)
    pm.cons = pyo.ConstraintList()
    col = {name: opt[name].to_numpy() for name in opt.columns}
    for i in idx:
        if not mixed:
            pm.cons.add(pm.n[i] <= int(col["max_systems"][i]) * pm.f[i])
        pm.cons.add(pm.n[i] >= pm.f[i])
    for run in model.runs:
        pm.cons.add(sum(pm.f[i] for i in idx if keys[i][0] == run) == 1)
    if goal == "time":
        if mixed:
            raise InputError(
                "objective",
                "time",
                "cost, power, energy, emissions or gpus",
                detail="the Pyomo cross-check covers time with one chip per run",
            )
        pm.z = pyo.Var(bounds=(1.0, None))
        for run in model.runs:
            pm.cons.add(
                sum(pm.n[i] / col["systems_needed"][i] for i in idx if keys[i][0] == run) >= pm.z
            )
    else:
        for i in idx:
            need = col["systems_needed"][i]
            pm.cons.add(pm.n[i] >= (need if mixed else _whole_systems(need)) * pm.f[i])
    power = sum(pm.n[i] * col["facility_power_mw_per_system"][i] for i in idx)
    cost = sum(
        pm.n[i] * col["capex_usd_per_system"][i] / _USD_PER_MUSD
        + pm.f[i] * col["run_cost_usd"][i] / _USD_PER_MUSD
        for i in idx
    )
    exprs = {
        "power": power,
        "cost": cost,
        "energy": sum(pm.f[i] * col["energy_mwh"][i] for i in idx),
        "emissions": sum(pm.f[i] * col["emissions_tco2"][i] for i in idx),
        "gpus": sum(pm.n[i] * int(col["gpus_per_system"][i]) for i in idx),
    }
    site = [i for i in idx if bool(col["on_site"][i])]
    if site:
        pm.cons.add(
            sum(pm.n[i] * col["grid_power_mw_per_system"][i] for i in site) <= model.grid_limit_mw
        )
    if model.budget_usd is not None:
        pm.cons.add(cost <= model.budget_usd / _USD_PER_MUSD)
    for chip, cap in model.supply_gpus.items():
        members = [i for i in idx if keys[i][1] == chip]
        if members:
            pm.cons.add(sum(pm.n[i] * int(col["gpus_per_system"][i]) for i in members) <= cap)
    if model.max_racks is not None and site:
        pm.racks = pyo.Var(site, domain=pyo.NonNegativeIntegers)
        for i in site:
            pm.cons.add(pm.racks[i] * int(col["systems_per_rack"][i]) >= pm.n[i])
        pm.cons.add(sum(pm.racks[i] for i in site) <= model.max_racks)
    if goal == "time":
        pm.obj = pyo.Objective(expr=pm.z, sense=pyo.maximize)
    else:
        pm.obj = pyo.Objective(expr=exprs[goal], sense=pyo.minimize)
    solver = Highs()
    solver.config.load_solution = False
    solver.highs_options["mip_rel_gap"] = MIP_REL_GAP
    if time_limit_s is not None:
        solver.config.time_limit = time_limit_s
    results = solver.solve(pm)
    if results.termination_condition != TerminationCondition.optimal:
        return None
    value = float(results.best_feasible_objective)
    if goal == "time":
        return 1.0 / value
    return value * _USD_PER_MUSD if goal == "cost" else value
