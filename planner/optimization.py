"""Optimisation: which chips, and how many systems, for a site's training runs and services.

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

``G`` is the peak facility power of one system at the site's design-day PUE (``site.design_pue``;
else the facility profile's; else derived from the annual PUE by
:func:`planner.power.design_day_pue`): the core's sizing already carries it, so ``G = P``. Writing the
deadline as ``ceil(N) f`` (and ``n >= f``) keeps a tiny run (``N`` far below the solver's
feasibility tolerance) at one system or more: the core never sizes a run on zero systems.

Runs are concurrent (each on its own cluster, all drawing power at the same time) and bought
hardware is charged in full to its run. Rented systems (``pricing = "rent"``) are cloud
capacity off site: they count against no site limit (grid, racks), only against supply and
budget, and their energy and emissions are still in the totals. They are not limited by the
grid, so the ``time`` objective needs a supply cap for every rented chip.

Inference services (``[[services]]`` of the scenario, issue 12) are rows beside the runs,
from :func:`planner.serving_plan.service_options` (``options["workload"] == "service"``; the
column and the service columns exist only when the scenario has services, so a scenario
without them builds exactly the old table). A service's ``N`` is the systems whose replicas
carry its PEAK demand at its latency targets: ``n >= ceil(N) f`` like a run, but a deadline
scale (the ``time`` objective, the deadline relaxation) never scales it. Its energy and
emissions have a fixed part (busy draw of the work served, times ``f``) and a part per
installed system (idle draw, times ``n``), over ``site.horizon_years``; its cost is capex per
system plus a running cost per system (rent, idle electricity) times ``n`` plus the fixed
electricity times ``f``. Its grid power is scaled by design / annual PUE like a run's, and the
grid, budget, supply and rack rows hold runs and services together. With services, a limit
that does not bind at 10% looser is also re-solved without the limit at all (a service often
changes chip only beyond 10%), and ``constraints["binds_for"]`` names the workloads whose chip
or count changes in that re-solve; an infeasible joint plan also lists, per service, a TPOT
target 1.5x longer and the largest share of its users that fits. With mixed chips, the speed
form's share of a service is its own ``g`` (``sum_c g = 1``, not the speed).

Objectives: ``cost`` (USD), ``power`` (peak facility MW of every system, rented ones off site
included; the grid limit counts only the on-site ones), ``energy`` (MWh), ``emissions``
(tCO2), ``gpus``; ties are broken lexicographically (then cost, then GPUs).
``time`` minimises the longest run measured against its own deadline, ``max_r days[r] /
T[r]``. For a fixed chip, a run's speed is proportional to its systems, so with one chip per
run this is linear: maximise ``z`` subject to ``sum_c n[r,c] / N[r,c] >= z`` for every run
(``z`` = how many times faster than its deadline the slowest run finishes, ``z >= 1``), then
minimise cost at that ``z``. That max-min MILP is slow to prove optimal, so its LP relaxation
only bounds ``z``, and plans are asked for at trial speeds (deadlines scaled by ``1 / z``: the
counts are then forced and each solve is quick) until the fastest plan found and the bound
agree within ``SEARCH_REL_TOL``. With mixed chips the speed-up multiplies the shares (``z f``,
bilinear); with ``g[r,c] = f[r,c] z`` it is one linear MILP (only the budget's run-cost term
``f = g / z`` is not: taken at an upper bound of ``z``, a relaxation, and re-solved
conservatively when its plan breaks the true budget). The cost stage then runs at the fastest
speed backed off by ``SPEED_BACKOFF``.

Numerics
--------
The MILP is built as arrays (:class:`_LinearProgram`) in units that keep it O(1): speed in
units of the fastest any plan could be (so ``z`` has a finite bound from the data and the speed
rows' coefficients are at most 1), cost in USD millions, each objective divided by its own
reference scale (every run on its best chip at the deadline), terms below ``CLEAN_REL`` of
their row dropped, each row scaled by a power of two around 1 (:func:`coefficient_range`
reports the result; the tests keep every shipped scenario within 1e-4..1e4). The MIP gaps are
explicit (``MIP_REL_GAP``, ``MIP_ABS_GAP``) for HiGHS and CBC, and every point a solver
returns is checked against every bound, integrality and UNSCALED row at ``CHECK_REL`` of the
row's size before it is read; a point that fails is re-solved with tight tolerances, then
reported as no solution. Solvers are quiet: their output goes to ``logging`` at DEBUG level,
never to stdout (:func:`quiet_stdout`). Long solves report their steps through
``solve(..., progress=callable)``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import math
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pulp

from planner._arrays import to_python
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError, PlannerError, ResultOutOfRange
from planner.scenarios import (
    MAX_BUDGET_USD,
    MAX_GRID_MW,
    MAX_SUPPLY_GPUS,
    Scenario,
    Site,
)
from planner.sizing import MAX_DAYS, MIN_DAYS, SizingResult, size_training
from planner.workloads import TrainingRun

OBJECTIVES: tuple[str, ...] = ("cost", "power", "energy", "emissions", "gpus", "time")
SOLVERS: tuple[str, ...] = ("highs", "cbc")
SWEEP_PARAMETERS: tuple[str, ...] = ("days", "grid_mw")
#: Relative MIP gap asked of every solver (the defaults, 1e-4 for HiGHS, would let two solvers
#: disagree in the fourth digit).
MIP_REL_GAP = 1e-7
#: Absolute MIP gap, in units of the scaled objective (each objective is divided by its
#: reference scale, so it is about 1 per run; HiGHS' default 1e-6 in model units let a
#: 1e15-FLOP run's 1e-9 MWh differences through).
MIP_ABS_GAP = 1e-9
#: Tolerance of the lexicographic bounds (relative, plus the same times the objective's
#: reference scale).
LEX_TOL = 1e-6
#: The cost stage of the ``time`` objective runs at the fastest speed found, every deadline
#: stretched by this fraction: a speed shown feasible, with a margin off the boundary.
SPEED_BACKOFF = 1e-6
#: A limit "binds" when loosening it by this fraction improves the optimum (re-solve).
LOOSEN_FRACTION = 0.10
#: Relative precision of the search for the fastest plan (``time`` objective, deadline
#: relaxations): as tight as the MIP gap, so every solver reports the same optimum.
SEARCH_REL_TOL = 1e-7
#: Largest number of points of a ``--pareto`` sweep.
MAX_SWEEP_POINTS = 1000
#: Relaxation amounts are rounded UP to these decimals (shown as is): following the advice
#: literally gives a plan. Grid: 0.01 MW (10 kW); budget: USD 0.1M; GPUs and racks: whole.
GRID_DECIMALS = 2
BUDGET_MUSD_DECIMALS = 1
#: Largest rack count the scenario validator accepts (``Site.max_racks``).
MAX_RACKS = int(next(c.le for c in Site.model_fields["max_racks"].metadata if hasattr(c, "le")))
_USD_PER_MUSD = 1e6
#: Pricing modes of the core that charge the whole purchase to the run ("buy" is the former
#: name of "capex", :data:`planner.assumptions.LEGACY_PRICING`); "amortized" charges the
#: hardware's share of its service life, which like rent depends on GPU-hours, not the count.
_WHOLE_PURCHASE = ("buy", "capex")
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
        ``facility_power_mw_per_system`` (peak, at the design-day PUE),
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
    #: Names of the inference services (``scenario.services``), after the runs in ``options``.
    services: tuple[str, ...] = ()
    #: Years of serving the services' energy and running costs cover (``site.horizon_years``).
    horizon_years: float = 1.0

    @property
    def runs(self) -> list[str]:
        """The training runs (the services are in :attr:`services`)."""
        return list(self.deadline_days)

    @property
    def workloads(self) -> list[str]:
        """Runs, then services: every name of the ``run`` level of ``options``."""
        return [*self.deadline_days, *self.services]

    def is_service(self) -> np.ndarray:
        """Per row of ``options``: whether it is an inference service."""
        if not self.services:
            return np.zeros(len(self.options), dtype=bool)
        return (self.options["workload"] == "service").to_numpy(dtype=bool)

    @property
    def chips(self) -> list[str]:
        return list(dict.fromkeys(self.options.index.get_level_values("chip")))

    def assumptions(self, run: str, chip: str):  # noqa: ANN201 - SizingAssumptions
        """The core assumptions of ``run`` on ``chip`` (for re-sizing)."""
        spec = next(r for r in self.scenario.runs if r.name == run)
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
    chip_ids = scenario.candidate_ids(cat)
    sized = _one_system_sizings(scenario, cat, chip_ids)
    for r, spec in enumerate(scenario.runs):
        for chip_id in chip_ids:
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
            one = sized[(r, chip_id)]
            if isinstance(one, ResultOutOfRange):  # e.g. decades on one system
                excluded.append(
                    {"run": spec.name, "chip": chip_id, "reason": one.detail or str(one)}
                )
                continue
            on_site = one.pricing != "rent"
            capex = float(one.capex_usd) if one.pricing in _WHOLE_PURCHASE else 0.0
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
    if scenario.services:
        service_rows, service_excluded = _service_options(scenario, cat, chip_ids, supply)
        options = _join_workloads(options, service_rows)
        excluded.extend(service_excluded)
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
        services=tuple(s.name for s in scenario.services),
        horizon_years=float(scenario.site.horizon_years),
    )


def _service_options(
    scenario: Scenario, cat: Catalog, chip_ids: list[str], supply: dict[str, int]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the scenario's inference services (:func:`planner.serving_plan.service_options`,
    one call per service and chip with the site's assumptions for that chip), on the site's
    grid at the design-day PUE like a run (:meth:`Scenario.service_design_pue_for`; the
    service's ``facility_power_mw`` is already that peak). Services are priced like the runs (``candidates.pricing`` through
    :data:`planner.assumptions.LEGACY_PRICING`): ``"buy"`` = capex charges the whole cluster
    capex, ``"auto"`` = amortized the hardware's share of its service life for the horizon,
    ``"rent"`` GPU-hours at rent; prices from data/chip_economics.csv unless the scenario
    gives its own, and the site's networking share and facility cost per MW."""
    from planner.serving import ServingAssumptions, ServingDemand
    from planner.serving_plan import ServiceSpec, _max_systems, service_options

    frames, excluded = [], []
    for i, svc in enumerate(scenario.services):
        spec = ServiceSpec(
            svc.name,
            ServingDemand(svc.users, svc.queries_per_user_day, svc.input_tokens, svc.output_tokens),
            model=svc.model,
            params=svc.params,
            active_params=svc.active_params,
            overrides=svc.overrides(),
        )
        for chip_id in chip_ids:
            chip = cat.get(chip_id)
            a = ServingAssumptions.defaults()
            for key, (value, where) in scenario.service_sizing_for(i, chip).items():
                a = a.with_(where, **{key: value})
            for key in ("networking_share", "facility_usd_per_mw"):  # as a run's economics
                if getattr(scenario.site, key) is not None:
                    a = a.with_(
                        f"{scenario.source}: site.{key}", **{key: getattr(scenario.site, key)}
                    )
            # the grid peak at the hall's design-day PUE (Scenario.service_design_pue_for)
            design, _ = scenario.service_design_pue_for(i, chip)
            a = a.with_(
                f"{scenario.source}: design-day PUE of the service's hall", design_pue=design
            )
            rows, out = service_options(
                [spec],
                [chip_id],
                horizon_years=scenario.site.horizon_years,
                systems_per_rack={chip_id: scenario.systems_per_rack(chip)},
                assumptions=a,
                catalog=cat,
            )
            excluded.extend(out.to_dict(orient="records"))
            if not rows.empty:
                frames.append(rows)
    if not frames:
        return pd.DataFrame(), excluded
    options = pd.concat(frames)
    grid = scenario.site.grid_limit_mw
    options["max_systems"] = [
        _max_systems(options.loc[k], grid, scenario.budget_usd, supply.get(k[1]))
        for k in options.index
    ]
    return options, excluded


def _join_workloads(runs: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """Training rows then service rows, with a ``workload`` column (``run`` / ``service``);
    a run has no per-system running cost, energy or emissions (all in its fixed part)."""
    from planner.serving_plan import OPTION_COLUMNS, SERVICE_COLUMNS

    runs = runs.copy()
    runs["workload"] = "run"
    for name in SERVICE_COLUMNS[1:]:
        runs[name] = 0.0 if name.endswith("_per_system") else math.nan
    if services.empty:
        return runs
    joined = pd.concat([runs, services[[*OPTION_COLUMNS, *SERVICE_COLUMNS]]])
    joined.index.names = ["run", "chip"]
    return joined


@dataclass(frozen=True)
class _OneSystem:
    """The core's numbers for ONE system of a chip running a whole run (scalars)."""

    days: float
    facility_power_mw: float
    energy_mwh: float
    emissions_tco2: float
    cost_usd: float
    capex_usd: float
    pricing: str
    mfu: float
    pue: float


def _one_system_sizings(
    scenario: Scenario, cat: Catalog, chip_ids: list[str]
) -> dict[tuple[int, str], _OneSystem | ResultOutOfRange]:
    """:func:`size_training` for one system of every (run, chip): ONE vectorised call per chip
    and set of assumptions (the runs' FLOPs as an array), instead of one call per pair. A
    group the core rejects (one run out of range) is sized run by run, and the rejected
    pairs carry the core's error."""
    out: dict[tuple[int, str], _OneSystem | ResultOutOfRange] = {}
    for chip_id in chip_ids:
        chip = cat.get(chip_id)
        groups: dict[str, tuple[Any, list[int]]] = {}
        for r, spec in enumerate(scenario.runs):
            if chip.dense_tflops_or_none(spec.precision) is None:
                continue
            a = scenario.assumptions_for(spec, chip)
            groups.setdefault(_numbers_key(a), (a, []))[1].append(r)
        for a, members in groups.values():
            flops = np.asarray(
                [float(scenario.runs[r].training_run().total_flops()) for r in members]
            )
            try:
                res = size_training(
                    TrainingRun(flops=flops), chip, gpus=chip.gpus_per_system, assumptions=a
                )
            except ResultOutOfRange:
                for r in members:
                    try:
                        one = size_training(
                            TrainingRun(flops=float(flops[members.index(r)])),
                            chip,
                            gpus=chip.gpus_per_system,
                            assumptions=a,
                        )
                        out[(r, chip_id)] = _pick(one, 0, 1)
                    except ResultOutOfRange as exc:
                        out[(r, chip_id)] = exc
                continue
            for i, r in enumerate(members):
                out[(r, chip_id)] = _pick(res, i, len(members))
    return out


def _numbers_key(a: Any) -> str:
    """The assumptions' values without their provenance (``sources`` names the run)."""
    if dataclasses.is_dataclass(a):
        return repr(
            [(f.name, getattr(a, f.name)) for f in dataclasses.fields(a) if f.name != "sources"]
        )
    return repr(a)


def _pick(res: SizingResult, i: int, size: int) -> _OneSystem:
    def at(name: str) -> Any:
        return np.broadcast_to(np.asarray(getattr(res, name)), (size,))[i]

    return _OneSystem(
        days=float(at("days")),
        facility_power_mw=float(at("facility_power_mw")),
        energy_mwh=float(at("energy_mwh")),
        emissions_tco2=float(at("emissions_tco2")),
        cost_usd=float(at("cost_usd")),
        capex_usd=float(at("capex_usd")),
        pricing=str(at("pricing")),
        mfu=float(at("mfu")),
        pue=float(at("pue")),
    )


def _whole_systems(needed: float, scale: float = 1.0) -> int:
    """Whole systems that meet ``needed / scale`` fractional systems: at least one.

    Relative tolerance only (7.0000000001 -> 7): an absolute one would round a tiny run's
    1e-10 systems down to zero.
    """
    return max(1, math.ceil(needed / scale * (1 - 1e-12)))


def _grid_power_per_system_mw(scenario: Scenario, chip: Any, one: Any) -> float:
    """Peak power one bought system draws on the site grid: the core's facility power, which
    :meth:`planner.scenarios.Scenario.assumptions_for` already sizes at the hall's design-day
    PUE (energy stays at the annual PUE)."""
    return float(one.facility_power_mw)


# --- 2. formulate and solve ------------------------------------------------------------------
#
# The MILP is built as plain arrays (:class:`_LinearProgram`: columns with bounds and
# integrality, rows as {column: coefficient} with lower/upper bounds, a minimised objective),
# scaled, handed to HiGHS directly (``highspy``) or to CBC through PuLP, and the returned point
# is checked against the UNSCALED rows before anything reads it.


@dataclass(frozen=True)
class CoefficientRange:
    """Smallest and largest ``|a_ij|`` over the nonzeros of a formulated model.

    ``matrix_*`` over the constraint matrix, ``objective_*`` over the objective, ``rhs_*``
    over the finite nonzero row bounds: as handed to the solver (after scaling) unless
    :func:`coefficient_range` was asked for ``scaled=False``. ``rows`` and ``columns`` give the
    size. NaN when a part has no nonzero.
    """

    matrix_min: float
    matrix_max: float
    objective_min: float
    objective_max: float
    rhs_min: float
    rhs_max: float
    rows: int
    columns: int

    @property
    def matrix_ratio(self) -> float:
        return self.matrix_max / self.matrix_min


def _abs_range(values: np.ndarray) -> tuple[float, float]:
    a = np.abs(np.asarray(values, dtype=float))
    a = a[(a > 0) & np.isfinite(a)]
    return (float(a.min()), float(a.max())) if a.size else (math.nan, math.nan)


@dataclass
class _LinearProgram:
    """min c x, rows lo <= A x <= hi, bounds, integrality (model units, unscaled)."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_names: list[str] = field(default_factory=list)
    row_coeffs: list[dict[int, float]] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    _scaled: tuple[Any, ...] | None = None

    def var(self, low: float, up: float, integer: bool = False) -> int:
        self.lower.append(float(low))
        self.upper.append(float(up))
        self.integer.append(bool(integer))
        return len(self.lower) - 1

    def row(self, name: str, coeffs: dict[int, float], low: float, up: float) -> None:
        coeffs = {j: float(a) for j, a in coeffs.items() if a != 0.0}
        if coeffs:
            self.row_names.append(name)
            self.row_coeffs.append(coeffs)
            self.row_lower.append(float(low))
            self.row_upper.append(float(up))

    @property
    def num_col(self) -> int:
        return len(self.lower)

    def _magnitudes(self) -> np.ndarray:
        """Largest |value| each column can take (inf when unbounded)."""
        return np.maximum(np.abs(np.asarray(self.lower)), np.abs(np.asarray(self.upper)))

    def scaled(self) -> tuple[Any, ...]:
        """Row-wise CSR arrays after cleaning and scaling, and the scaled objective.

        Cleaning: a term that can move its row by at most ``CLEAN_REL`` of the row's largest
        term (or bound) is dropped (e.g. a tiny run's USD 1e-6 of electricity in a USD 1e9
        budget). Scaling: each row is multiplied by the power of two nearest to
        ``1 / sqrt(max |a| min |a|)``, so its coefficients are centred on 1.
        """
        if self._scaled is not None:
            return self._scaled
        mag = self._magnitudes()
        starts, index, value = [0], [], []
        lower, upper = [], []
        for coeffs, lo, hi in zip(self.row_coeffs, self.row_lower, self.row_upper, strict=True):
            cols = np.fromiter(coeffs.keys(), dtype=np.int64, count=len(coeffs))
            vals = np.fromiter(coeffs.values(), dtype=float, count=len(coeffs))
            reach = np.abs(vals) * mag[cols]
            finite = np.isfinite(reach)
            bounds = [abs(b) for b in (lo, hi) if math.isfinite(b)]
            size = max([*reach[finite].tolist(), *bounds, 0.0])
            keep = ~finite | (reach > CLEAN_REL * size)
            cols, vals = cols[keep], vals[keep]
            absv = np.abs(vals)
            factor = 2.0 ** -round(0.5 * math.log2(float(absv.max()) * float(absv.min())))
            index.extend(cols.tolist())
            value.extend((vals * factor).tolist())
            starts.append(len(index))
            lower.append(lo * factor)
            upper.append(hi * factor)
        cost = np.zeros(self.num_col)
        for j, c in self.objective.items():
            cost[j] = c
        reach = np.abs(cost) * np.where(np.isfinite(mag), mag, 1.0)
        if reach.size and reach.max() > 0:
            cost[reach <= CLEAN_REL * reach.max()] = 0.0
        self._scaled = (
            np.asarray(starts, dtype=np.int32),
            np.asarray(index, dtype=np.int32),
            np.asarray(value, dtype=float),
            np.asarray(lower, dtype=float),
            np.asarray(upper, dtype=float),
            cost,
        )
        return self._scaled

    def coefficient_range(self, scaled: bool = True) -> CoefficientRange:
        if scaled:
            _, _, value, lower, upper, cost = self.scaled()
        else:
            value = np.array([a for c in self.row_coeffs for a in c.values()])
            lower, upper = np.asarray(self.row_lower), np.asarray(self.row_upper)
            cost = np.fromiter(self.objective.values(), dtype=float)
        a_lo, a_hi = _abs_range(value)
        c_lo, c_hi = _abs_range(cost)
        b_lo, b_hi = _abs_range(np.concatenate([lower, upper]))
        return CoefficientRange(
            a_lo, a_hi, c_lo, c_hi, b_lo, b_hi, len(self.row_names), self.num_col
        )

    def violation(self, x: np.ndarray) -> str | None:
        """The first bound or row the point ``x`` breaks (unscaled rows), or None.

        Tolerance: ``CHECK_REL`` of the row's size, max(sum |a_ij x_j|, |bound|, min |a_ij|):
        relative to the row, so MW, USD millions and GPUs rows are checked alike.
        """
        low, up = np.asarray(self.lower), np.asarray(self.upper)
        tol = CHECK_REL * np.maximum(1.0, np.abs(np.where(np.isfinite(low), low, 0.0)))
        if (x < low - tol).any() or (x > up + CHECK_REL * np.maximum(1.0, np.abs(x))).any():
            j = int(np.argmax((x < low - tol) | (x > up + CHECK_REL * np.maximum(1.0, np.abs(x)))))
            return f"column {j} = {x[j]:g} outside [{low[j]:g}, {up[j]:g}]"
        for name, coeffs, lo, hi in zip(
            self.row_names, self.row_coeffs, self.row_lower, self.row_upper, strict=True
        ):
            terms = [a * x[j] for j, a in coeffs.items()]
            act = math.fsum(terms)
            size = max(
                sum(abs(t) for t in terms),
                *(abs(b) for b in (lo, hi) if math.isfinite(b)),
                min(abs(a) for a in coeffs.values()),
            )
            if act < lo - CHECK_REL * size or act > hi + CHECK_REL * size:
                return f"row {name}: {act:.9g} not in [{lo:.9g}, {hi:.9g}]"
        return None


#: Terms moving their row by less than this fraction of the row's size are dropped.
CLEAN_REL = 1e-11
#: A returned point must meet every row within this fraction of the row's size.
CHECK_REL = 1e-6
#: Integer columns must be within this of a whole number.
INTEGRALITY_TOL = 1e-5


@dataclass
class _Formulation:
    """The linear programme of one goal and where its decision variables are."""

    lp: _LinearProgram
    goal: str
    keys: list[tuple[str, str]]
    n: np.ndarray  # column of n[r,c] per key
    f: np.ndarray | None  # column of f[r,c] (None in the mixed-chip speed form)
    g: np.ndarray | None  # column of g[r,c] = f[r,c] t (mixed-chip speed form)
    t: int | None  # column of the normalised speed t = z / speed_unit
    speed_unit: float  # z per unit of t
    elastic: dict[str, int]
    objective_unit: float  # model units per unit of the scaled objective
    infeasible_bounds: bool = False
    racks: dict[int, int] = field(default_factory=dict)  # key position -> rack column
    start: np.ndarray | None = None  # a known feasible point (warm start), if any
    service: np.ndarray | None = None  # per key: an inference service (its g is its share)

    def start_from(self, out: _Outcome, m: ClusterModel) -> None:
        """Warm start from an earlier plan's systems and shares (if it fits this form)."""
        if not out.n or self.f is None:
            return
        x = np.asarray(self.lp.lower, dtype=float).copy()
        x[self.n] = [out.n[k] for k in self.keys]
        x[self.f] = [out.f[k] for k in self.keys]
        spr = m.options["systems_per_rack"].to_numpy(dtype=float)
        for i, j in self.racks.items():
            x[j] = math.ceil(x[self.n[i]] / spr[i])
        if not self.lp.violation(np.clip(x, self.lp.lower, self.lp.upper)):
            self.start = x

    @property
    def problem(self) -> _LinearProgram:  # kept for old callers (benchmarks)
        return self.lp


def _model_arrays(m: ClusterModel) -> dict[str, np.ndarray]:
    opt = m.options
    return {c: opt[c].to_numpy() for c in opt.columns}


def _objective_coefficients(
    m: ClusterModel, col: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per goal: (coefficient of n, coefficient of f) per key, in model units (cost: USD M)."""
    zero = np.zeros(len(m.options))

    def per_system(name: str) -> np.ndarray:  # a service's running part (0 for a run)
        return col[name].astype(float) if name in col else zero

    return {
        "power": (col["facility_power_mw_per_system"].astype(float), zero),
        "cost": (
            (col["capex_usd_per_system"].astype(float) + per_system("cost_usd_per_system"))
            / _USD_PER_MUSD,
            col["run_cost_usd"].astype(float) / _USD_PER_MUSD,
        ),
        "energy": (per_system("energy_mwh_per_system"), col["energy_mwh"].astype(float)),
        "emissions": (
            per_system("emissions_tco2_per_system"),
            col["emissions_tco2"].astype(float),
        ),
        "gpus": (col["gpus_per_system"].astype(float), zero),
    }


def _reference_scale(
    m: ClusterModel, goal: str, col: dict[str, np.ndarray], coef: tuple[np.ndarray, np.ndarray]
) -> float:
    """The data's own scale of an objective: each run on its cheapest (least-power, ...) chip
    at its deadline, summed. Dividing by it puts the objective near 1..#runs."""
    per_key = coef[0] * _whole_array(col["systems_needed"]) + coef[1]
    per_run = pd.Series(per_key, index=m.options.index).groupby(level="run").min()
    ref = float(per_run.sum())
    return ref if math.isfinite(ref) and ref > 0 else 1.0


def _whole_array(needed: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """:func:`_whole_systems` for an array."""
    return np.maximum(1.0, np.ceil(np.asarray(needed, dtype=float) / scale * (1 - 1e-12)))


def _formulate(
    m: ClusterModel,
    goal: str,
    *,
    elastic: str | None = None,
    bounds: tuple[tuple[str, float], ...] = (),
    deadline_scale: float = 1.0,
    loosen: frozenset[str] = frozenset(),
    linearise_at: float | None = None,
    speed_floor: float | None = None,
    maximise: bool = True,
) -> _Formulation:
    """The scaled linear programme for ``goal``.

    ``goal`` is an objective name; ``"time"`` (maximise the speed-up z of the slowest run,
    z >= 1: deadlines met); ``"speedup"`` (the same without z >= 1); ``"feasibility"``; or
    ``"elastic"`` (minimise the violation of the limit named ``elastic``: ``grid``,
    ``budget``, ``supply`` or ``racks``). ``bounds`` holds earlier lexicographic optima (model
    units); ``deadline_scale`` multiplies every deadline; ``loosen`` raises limits (``grid``,
    ``budget``, ``supply:<chip>``, ``racks``) by ``LOOSEN_FRACTION`` to test whether they bind.

    Speed (``time``/``speedup``) is measured in units of ``speed_unit`` = the fastest any
    plan could be (every run on all its systems up to the limits), so ``t = z / speed_unit``
    lies in (0, 1] and the rows' coefficients are at most 1. With mixed chips the speed
    multiplies the shares; the form then uses ``g[r,c] = f[r,c] t`` (linear); only the
    budget's run-cost term ``f = g / t`` is not, and is taken at ``t = linearise_at``
    (exact for plans at least that fast: conservative) or, with ``linearise_at=None``, at
    ``t = 1`` (a relaxation: an upper bound of the speed). ``speed_floor`` keeps only plans
    with a speed-up of at least that; ``maximise=False`` only asks for a plan.
    """
    lp = _LinearProgram()
    mixed = m.allow_mixed_chips
    keys = list(m.options.index)
    col = _model_arrays(m)
    k = len(keys)
    need = col["systems_needed"].astype(float)
    position = {w: i for i, w in enumerate(m.workloads)}
    run_of = np.asarray([position[r] for r, _ in keys], dtype=np.int64)
    service = m.is_service()
    n_runs = len(m.runs)
    upper = np.maximum(col["max_systems"].astype(float), _whole_array(need, deadline_scale))
    if loosen:  # the bounds came from the limits: let the count grow with them
        upper = np.ceil(upper * (1 + LOOSEN_FRACTION)) + 1
    speed_form = goal in ("time", "speedup")
    n = np.asarray([lp.var(0, u, True) for u in upper])
    f = g = None
    t = None
    speed_unit = 1.0
    infeasible_bounds = False
    if speed_form:
        per_key = upper / need
        per_run = pd.Series(per_key[~service]).groupby(run_of[~service])
        speed_unit = float((per_run.sum() if mixed else per_run.max()).min())
        floor = 1.0 / speed_unit if goal == "time" else 0.0
        if speed_floor is not None:  # only plans at least this fast (speed-up z)
            floor = max(floor, speed_floor / speed_unit)
        if linearise_at is not None:
            floor = max(floor, linearise_at)
        infeasible_bounds = floor > 1.0
        t = lp.var(min(floor, 1.0), 1.0)
    if speed_form and mixed:
        assert t is not None
        g = np.asarray(
            [
                lp.var(0.0, min(1.0, u / (max(nd, 1.0) if svc else nd * speed_unit)))
                for u, nd, svc in zip(upper, need, service, strict=True)
            ]
        )
        coef = np.maximum(need * speed_unit, 1.0)
        # a service's share is g itself (its peak is served at any speed): n >= max(N, 1) g
        coef[service] = np.maximum(need[service], 1.0)
        for i in range(k):  # n >= N z f = N speed_unit g; n >= 1 when g > 0 (see docs)
            lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(g[i]): -coef[i]}, 0.0, math.inf)
        for r in range(len(m.workloads)):
            members = np.flatnonzero(run_of == r)
            if r < n_runs:
                lp.row(f"work_{r}", {**{int(g[i]): 1.0 for i in members}, t: -1.0}, 0.0, 0.0)
            else:
                lp.row(f"work_{r}", {int(g[i]): 1.0 for i in members}, 1.0, 1.0)
    else:
        f = np.asarray([lp.var(0, 1, not mixed) for _ in range(k)])
        for r in range(len(m.workloads)):
            members = np.flatnonzero(run_of == r)
            lp.row(f"work_{r}", {int(f[i]): 1.0 for i in members}, 1.0, 1.0)
        if not mixed:
            for i in range(k):
                lp.row(f"one_chip_{i}", {int(n[i]): 1.0, int(f[i]): -upper[i]}, -math.inf, 0.0)
        if speed_form:
            assert t is not None
            coef = np.minimum(1.0, 1.0 / (need * speed_unit))
            for i in range(k):
                lp.row(f"used_pool_{i}", {int(n[i]): 1.0, int(f[i]): -1.0}, 0.0, math.inf)
            peak = _whole_array(need)
            for i in np.flatnonzero(service).tolist():  # a service meets its peak at any speed
                lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(f[i]): -peak[i]}, 0.0, math.inf)
            for r in range(n_runs):
                members = np.flatnonzero(run_of == r)
                lp.row(
                    f"speed_{r}",
                    {**{int(n[i]): coef[i] for i in members}, t: -1.0},
                    0.0,
                    math.inf,
                )
        else:
            # one chip per run: ceil(N) f is the same set as N f (f binary), and exact;
            # mixed: n >= N f and n >= f (a used pool has a system) are n >= max(N, 1) f.
            dl = (
                _whole_array(need, deadline_scale)
                if not mixed
                else np.maximum(need / deadline_scale, 1.0)
            )
            if service.any():  # deadlines scale; a service's peak does not
                dl[service] = (
                    _whole_array(need[service]) if not mixed else np.maximum(need[service], 1.0)
                )
            for i in range(k):
                lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(f[i]): -dl[i]}, 0.0, math.inf)

    coefs = _objective_coefficients(m, col)
    share = f if f is not None else g
    assert share is not None
    share_weight = np.ones(k)
    if f is None:  # mixed speed form: f = g / t, taken at t = linearise_at (or 1)
        share_weight[~service] = 1.0 / (linearise_at if linearise_at is not None else 1.0)

    def expression(name: str) -> dict[int, float]:
        cn, cf = coefs[name]
        out: dict[int, float] = {}
        for i in range(k):
            if cn[i]:
                out[int(n[i])] = cn[i]
            if cf[i]:
                out[int(share[i])] = cf[i] * share_weight[i]
        return out

    ev: dict[str, int] = {}
    whole = _whole_array(need)

    def extra(name: str, cap: float) -> dict[int, float]:
        if elastic is None or not (elastic == name or name.startswith(f"{elastic}:")):
            return {}
        ev[name] = lp.var(0.0, max(cap, 1.0))
        return {ev[name]: -1.0}

    def limit(name: str, value: float) -> float:
        if f"{name}{_DROPPED}" in loosen:  # the limit removed (joint plans' binding test)
            return math.inf
        return value * (1 + LOOSEN_FRACTION) if name in loosen else value

    on_site = col["on_site"].astype(bool)
    grid_mw = col["grid_power_mw_per_system"].astype(float)
    if on_site.any():  # rented systems are off the site grid
        row = {int(n[i]): grid_mw[i] for i in np.flatnonzero(on_site)}
        row.update(extra("grid", float((whole * grid_mw).sum())))
        lp.row("grid_limit", row, -math.inf, limit("grid", m.grid_limit_mw))
    if m.budget_usd is not None:
        row = expression("cost")
        total = coefs["cost"][0] * whole + coefs["cost"][1]
        row.update(extra("budget", float(total.sum())))
        lp.row("budget", row, -math.inf, limit("budget", m.budget_usd / _USD_PER_MUSD))
    gps = col["gpus_per_system"].astype(float)
    chip_of = np.asarray([c for _, c in keys])
    for chip, cap in m.supply_gpus.items():
        members = np.flatnonzero(chip_of == chip)
        if members.size:
            row = {int(n[i]): gps[i] for i in members}
            row.update(extra(f"supply:{chip}", float((whole[members] * gps[members]).sum())))
            lp.row(f"supply_{chip}", row, -math.inf, limit(f"supply:{chip}", float(cap)))
    racks: dict[int, int] = {}
    if m.max_racks is not None and on_site.any():
        spr = col["systems_per_rack"].astype(float)
        for i in np.flatnonzero(on_site).tolist():
            racks[i] = lp.var(0, math.ceil(upper[i] / spr[i]), True)
            lp.row(f"rack_fill_{i}", {racks[i]: spr[i], int(n[i]): -1.0}, 0.0, math.inf)
        row = {j: 1.0 for j in racks.values()}
        row.update(extra("racks", float(np.ceil(whole / spr)[on_site].sum())))
        lp.row("max_racks", row, -math.inf, float(limit("racks", m.max_racks)))

    refs = {name: _reference_scale(m, name, col, coefs[name]) for name in coefs}
    for name, value in bounds:
        lp.row(
            f"lex_{name}",
            expression(name),
            -math.inf,
            value * (1 + LEX_TOL) + LEX_TOL * refs[name],
        )

    unit = 1.0
    if goal == "elastic":
        lp.objective = {j: 1.0 / max(lp.upper[j], 1.0) for j in ev.values()}
    elif speed_form:
        assert t is not None
        lp.objective = {t: -1.0} if maximise else {}
    elif goal != "feasibility":
        unit = refs[goal]
        lp.objective = {j: a / unit for j, a in expression(goal).items()}
    return _Formulation(
        lp,
        goal,
        keys,
        n,
        f,
        g,
        t,
        speed_unit,
        ev,
        unit,
        infeasible_bounds=infeasible_bounds,
        racks=racks if m.max_racks is not None and on_site.any() else {},
        service=service,
    )


def coefficient_range(
    model: ClusterModel, goal: str | None = None, *, scaled: bool = True
) -> CoefficientRange:
    """Coefficient range of the matrix, objective and right-hand sides of a formulated model.

    Parameters
    ----------
    model : ClusterModel
        From :func:`build_model`.
    goal : str, optional
        An objective name, ``"speedup"``, ``"feasibility"``; default the model's objective
        (``time`` with mixed chips is the speed form the solver sees).
    scaled : bool
        The programme as handed to the solver (cleaned and row-scaled, default) or as built
        in model units (MW, USD millions, GPUs, shares).

    A well-scaled model keeps every ``|a_ij|`` within about 1e-4..1e4 (linopy's rule of thumb):
    the tests check every shipped scenario against that.
    """
    return _formulate(model, goal or model.objective).lp.coefficient_range(scaled)


def _var(
    prob: pulp.LpProblem,
    name: str,
    low: float | None,
    up: float | None = None,
    cat: str = pulp.LpContinuous,
) -> pulp.LpVariable:
    """A variable attached to ``prob`` (PuLP >= 3.3 API; plain LpVariable on older PuLP)."""
    low = None if low is None or low == -math.inf else low
    up = None if up is None or up == math.inf else up
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def available_solvers() -> list[str]:
    """Solvers usable here, in order of preference (``highs``, ``cbc``)."""
    found = set(pulp.listSolvers(onlyAvailable=True))
    names = []
    if _highspy() is not None:
        names.append("highs")
    if "PULP_CBC_CMD" in found:
        names.append("cbc")
    return names


def _highspy() -> Any:
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency
        return None
    return highspy


# --- quiet solvers -----------------------------------------------------------------------

_LOG = logging.getLogger(__name__)
#: One solver call at a time may own file descriptor 1 (Streamlit runs sessions in threads).
_STDOUT_LOCK = threading.RLock()


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to flush
        pass


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep what C code writes on stdout (file descriptor 1) off the real stdout.

    HiGHS prints its banner from C when the first ``Highs`` object is made, before any
    option can stop it, and CBC writes from a child process. Inside this block file
    descriptor 1 points at a temporary file; at the end the text is forwarded to
    ``logging.getLogger("planner.optimization")`` at DEBUG level. Python's own ``sys.stdout``
    is flushed first, so nothing printed before the block is lost or reordered. A lock
    serialises the blocks of several threads (a thread printing while another holds the
    block has its C-level output logged instead of printed).
    """
    with _STDOUT_LOCK:
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        _flush_c_stdout()
        try:
            saved = os.dup(1)
        except OSError:  # no file descriptor 1 at all: nothing can leak
            saved = None
        if saved is None:
            yield
            return
        text = ""
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 1)
            try:
                yield
            finally:
                _flush_c_stdout()
                os.dup2(saved, 1)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", errors="replace")
        if text.strip():
            _LOG.debug("solver output:\n%s", text.rstrip())


# --- solver calls --------------------------------------------------------------------------


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
    primary: float | None = None  # optimum of the first lexicographic stage (model units)

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")


def _highs_solve(
    lp: _LinearProgram, time_limit_s: float | None, tight: bool, start: np.ndarray | None = None
) -> tuple[str, np.ndarray | None, str]:
    highspy = _highspy()
    starts, index, value, lower, upper, cost = lp.scaled()
    with quiet_stdout():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("log_to_console", False)
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
        if tight:
            h.setOptionValue("primal_feasibility_tolerance", 1e-9)
            h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        if time_limit_s is not None:
            h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
        model = highspy.HighsLp()
        model.num_col_ = lp.num_col
        model.num_row_ = len(lower)
        model.col_cost_ = cost
        model.col_lower_ = np.asarray(lp.lower, dtype=float)
        model.col_upper_ = np.asarray(lp.upper, dtype=float)
        model.row_lower_ = np.where(np.isfinite(lower), lower, -highspy.kHighsInf)
        model.row_upper_ = np.where(np.isfinite(upper), upper, highspy.kHighsInf)
        model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        model.a_matrix_.num_col_ = lp.num_col
        model.a_matrix_.num_row_ = len(lower)
        model.a_matrix_.start_ = starts
        model.a_matrix_.index_ = index
        model.a_matrix_.value_ = value
        kinds = highspy.HighsVarType
        model.integrality_ = [kinds.kInteger if i else kinds.kContinuous for i in lp.integer]
        h.passModel(model)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        status = h.getModelStatus()
        has_point = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=float) if has_point else None
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal and x is not None:
        return "optimal", x, ""
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return "infeasible", None, ""
    if x is not None and status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt):
        return "time_limit", x, ""
    return "no_solution", None, f"solver status {h.modelStatusToString(status)}"


def _cbc_solve(
    lp: _LinearProgram, time_limit_s: float | None, tight: bool, start: np.ndarray | None = None
) -> tuple[str, np.ndarray | None, str]:
    starts, index, value, lower, upper, cost = lp.scaled()
    prob = pulp.LpProblem("cluster_plan", pulp.LpMinimize)
    xs = [
        _var(prob, f"x{j}", lo, up, pulp.LpInteger if integer else pulp.LpContinuous)
        for j, (lo, up, integer) in enumerate(zip(lp.lower, lp.upper, lp.integer, strict=True))
    ]
    for i in range(len(lower)):
        sl = slice(starts[i], starts[i + 1])
        expr = pulp.LpAffineExpression(
            [(xs[j], a) for j, a in zip(index[sl].tolist(), value[sl].tolist(), strict=True)]
        )
        lo, hi = float(lower[i]), float(upper[i])
        if lo == hi:
            prob += expr == lo, f"r{i}"
            continue
        if math.isfinite(lo):
            prob += expr >= lo, f"r{i}_lo"
        if math.isfinite(hi):
            prob += expr <= hi, f"r{i}_hi"
    prob.setObjective(
        pulp.LpAffineExpression([(xs[j], c) for j, c in enumerate(cost.tolist()) if c])
    )
    limit = None if time_limit_s is None else max(float(time_limit_s), 0.01)
    options = ["primalTolerance 1e-9", "integerTolerance 1e-9"] if tight else []
    with warnings.catch_warnings():  # PuLP 3.x: "use COIN_CMD" - but that needs a system CBC
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(
            msg=False, timeLimit=limit, gapRel=MIP_REL_GAP, gapAbs=MIP_ABS_GAP, options=options
        )
    try:
        with quiet_stdout():
            prob.solve(solver)
    except pulp.PulpSolverError as exc:
        return "error", None, str(exc)
    status, sol = prob.status, prob.sol_status
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and all(
        v.varValue is not None for v in xs
    ):
        x = np.asarray([float(v.varValue) for v in xs])
        return ("optimal" if sol == pulp.LpSolutionOptimal else "time_limit"), x, ""
    if status == pulp.LpStatusInfeasible:
        return "infeasible", None, ""
    return "no_solution", None, f"solver status {pulp.LpStatus[status]}"


def _run(form: _Formulation, solver: str, time_limit_s: float | None) -> _Outcome:
    """Solve ``form``, check the point against every unscaled row, read it back.

    A point that breaks a bound, a row or integrality beyond the tolerances is re-solved once
    with tight tolerances; if it still does, the outcome is ``no_solution`` naming the row:
    the solver's status alone is never trusted.
    """
    start = time.perf_counter()
    if form.infeasible_bounds:
        return _Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
    call = _highs_solve if solver == "highs" else _cbc_solve
    problem = ""
    for tight in (False, True):
        try:
            status, x, detail = call(form.lp, time_limit_s, tight, form.start)
        except Exception as exc:  # noqa: BLE001 - a solver crash is an answer, not a traceback
            return _Outcome("error", {}, {}, None, {}, {}, time.perf_counter() - start, str(exc))
        if x is None:
            return _Outcome(status, {}, {}, None, {}, {}, time.perf_counter() - start, detail)
        integer = np.asarray(form.lp.integer)
        off = np.abs(x - np.round(x))
        if integer.any() and off[integer].max() > INTEGRALITY_TOL:
            j = int(np.flatnonzero(integer)[np.argmax(off[integer])])
            problem = f"integer column {j} = {x[j]:.9g}"
            continue
        x = np.where(integer, np.round(x), x)
        x = np.clip(x, form.lp.lower, form.lp.upper)
        problem = form.lp.violation(x) or ""
        if not problem:
            return _read_point(form, status, x, time.perf_counter() - start)
        _LOG.debug("solver point rejected (%s); re-solving with tight tolerances", problem)
    return _Outcome(
        "no_solution",
        {},
        {},
        None,
        {},
        {},
        time.perf_counter() - start,
        f"the solver's point breaks {problem}",
    )


def _read_point(form: _Formulation, status: str, x: np.ndarray, elapsed: float) -> _Outcome:
    n = np.rint(x[form.n]).astype(int)
    if form.f is not None:
        f = np.clip(x[form.f], 0.0, 1.0)
    else:
        assert form.g is not None and form.t is not None
        t = x[form.t]
        if t <= 0:
            return _Outcome("no_solution", {}, {}, None, {}, {}, elapsed, "zero speed")
        f = np.clip(x[form.g] / t, 0.0, 1.0)
        if form.service is not None and form.service.any():
            f[form.service] = np.clip(x[form.g][form.service], 0.0, 1.0)
    if form.f is None or not form.lp.integer[int(form.f[0])]:
        # shares: each run's sum is 1 up to the solver's tolerance; make it exactly 1 so
        # every FLOP is sized by the read-back (a 1e-6 shortfall would drop work)
        per_run = pd.Series(f, index=pd.MultiIndex.from_tuples(form.keys)).groupby(level=0)
        total = per_run.transform("sum").to_numpy()
        f = np.where(total > 0, f / np.where(total > 0, total, 1.0), f)
    z = None if form.t is None else float(x[form.t]) * form.speed_unit
    return _Outcome(
        status,
        n=dict(zip(form.keys, n.tolist(), strict=True)),
        f=dict(zip(form.keys, f.tolist(), strict=True)),
        z=z,
        totals={},
        elastic={name: float(x[j]) for name, j in form.elastic.items()},
        solve_s=elapsed,
    )


def _model_totals(m: ClusterModel, out: _Outcome) -> dict[str, float]:
    """Objective totals of a point in model units (cost in USD millions)."""
    if not out.n:
        return {}
    col = _model_arrays(m)
    coefs = _objective_coefficients(m, col)
    n = np.asarray([out.n[k] for k in m.options.index], dtype=float)
    f = np.asarray([out.f[k] for k in m.options.index], dtype=float)
    return {name: float(math.fsum(cn * n + cf * f)) for name, (cn, cf) in coefs.items()}


def _check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise InputError("solver", solver, "one of: " + ", ".join(SOLVERS))
    installed = available_solvers()
    if solver in installed:
        return solver
    if installed:
        return installed[0]  # the documented fallback (HiGHS missing -> CBC)
    raise InputError("solver", solver, "an installed solver (pip install highspy)")


#: ``progress(stage, done, total)``: what the optimiser is doing, and how far it is in it.
Progress = Callable[[str, int, int], None]


class _Clock:
    def __init__(self, limit_s: float | None, progress: Progress | None = None) -> None:
        self.end = None if limit_s is None else time.perf_counter() + float(limit_s)
        self.solve_s = 0.0
        self.solves = 0
        self.progress = progress

    def remaining(self) -> float | None:
        return None if self.end is None else self.end - time.perf_counter()

    def out(self) -> bool:
        rem = self.remaining()
        return rem is not None and rem <= 0

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


def _solve_goal(
    m: ClusterModel,
    goal: str,
    solver: str,
    clock: _Clock,
    *,
    warm: _Outcome | None = None,
    **kw: Any,
) -> _Outcome:
    form = _formulate(m, goal, **kw)
    if warm is not None and warm.has_solution:
        form.start_from(warm, m)
    outcome = _run(form, solver, clock.remaining())
    if outcome.has_solution:
        outcome.totals = _model_totals(m, outcome)
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
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    deadline_scale: float = 1.0,
    stages: list[str] | None = None,
    warm: _Outcome | None = None,
) -> tuple[_Outcome, list[str]]:
    """Solve the objective, then each tie-break with the earlier optima held (each stage
    warm-started from the previous plan, which meets its bounds)."""
    notes: list[str] = []
    bounds: list[tuple[str, float]] = []
    best: _Outcome | None = None
    stages = stages or _stages(m)
    for i, goal in enumerate(stages):
        if i and (clock.out() or best is None or best.status != "optimal"):
            if clock.out():
                notes.append(f"time limit reached before the {goal} tie-break")
            break
        clock.report(f"solving: {goal}" if i == 0 else f"tie-break: {goal}", i, len(stages))
        out = _solve_goal(
            m,
            goal,
            solver,
            clock,
            bounds=tuple(bounds),
            deadline_scale=deadline_scale,
            warm=best or warm,
        )
        if not out.has_solution:
            if best is None:
                return out, notes
            break
        best = out
        bounds.append((goal, out.totals[goal]))
    assert best is not None
    best.primary = bounds[0][1]
    return best, notes


def _budget_ok(m: ClusterModel, out: _Outcome, loosen: frozenset[str]) -> bool:
    """Whether a point's true cost (shares f, not the linearised g / t) fits the budget."""
    if m.budget_usd is None:
        return True
    limit = m.budget_usd / _USD_PER_MUSD * (1 + LOOSEN_FRACTION if "budget" in loosen else 1)
    return out.totals["cost"] <= limit * (1 + CHECK_REL)


def _max_speed_mixed(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    *,
    loosen: frozenset[str] = frozenset(),
    deadlines: bool = True,
    speed_floor: float | None = None,
) -> _Outcome:
    """:func:`_max_speed` with mixed chips: one MILP in ``g = f z`` with the budget's
    run costs taken at ``z = 1`` in speed units (a relaxation); when its point also fits the
    true budget it is optimal, else the speed is searched downwards with the run costs taken
    conservatively at a trial speed ``t0`` (every answer is a plan at least that fast), until
    the relaxation's bound and the best plan agree within ``SEARCH_REL_TOL``.
    """
    goal = "time" if deadlines else "speedup"
    kw: dict[str, Any] = {"loosen": loosen, "speed_floor": speed_floor}
    first = _solve_goal(m, goal, solver, clock, **kw)
    if not first.has_solution or _budget_ok(m, first, loosen):
        return first
    assert first.z is not None
    unit = _formulate(m, goal, loosen=loosen).speed_unit
    hi = first.z / unit  # upper bound of t (relaxation)
    floor = (1.0 / unit) if deadlines else 0.0  # slower plans are not wanted
    if speed_floor is not None:
        floor = max(floor, speed_floor / unit)
    lo = floor
    best: _Outcome | None = None
    step = 1e-4
    while not clock.out() and step < 1e12:
        if best is not None and hi <= lo * (1 + SEARCH_REL_TOL):
            break
        trial = max(hi / (1 + step), floor) if best is None else math.sqrt(lo * hi)
        out = _solve_goal(m, goal, solver, clock, linearise_at=trial, **kw)
        if out.has_solution:
            assert out.z is not None
            best, lo = out, max(out.z / unit, trial)
        elif out.status == "infeasible":
            if best is None and trial <= floor:
                return out  # not even the slowest wanted speed has a plan
            hi = trial
            step *= 10
        else:
            break
    if best is None:
        return _Outcome("infeasible", {}, {}, None, {}, {}, 0.0, "no plan fits the budget")
    if best.status == "optimal" and hi > lo * (1 + SEARCH_REL_TOL):
        best.status = "time_limit"  # stopped by the clock before the bound was reached
    return best


def _plan_speed(m: ClusterModel, out: _Outcome) -> float:
    """Speed-up z of a plan's slowest run: each pool finishes its share ``f`` of run ``r``
    in ``T N f / n``, so run ``r`` runs ``min over its pools of n / (N f)`` times faster than
    its deadline ``T``."""
    need = m.options["systems_needed"].to_numpy(dtype=float)
    n = np.asarray([out.n[k] for k in m.options.index], dtype=float)
    f = np.asarray([out.f[k] for k in m.options.index], dtype=float)
    used = (f > 1e-12) & (n > 0) & ~m.is_service()
    speed = np.full(len(n), math.inf)
    speed[used] = n[used] / (need[used] * f[used])
    per_run = pd.Series(speed, index=m.options.index).groupby(level="run").min()
    return float(per_run.min())


def _speed_bound(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    goal: str,
    loosen: frozenset[str],
    speed_floor: float | None,
) -> _Outcome:
    """An upper bound of the speed-up z: the LP relaxation of the speed form (``out.z``)."""
    form = _formulate(m, goal, loosen=loosen, speed_floor=speed_floor)
    form.lp.integer = [False] * form.lp.num_col
    out = _run(form, solver, clock.remaining())
    clock.solve_s += out.solve_s
    clock.solves += 1
    return out


def _max_speed(
    m: ClusterModel,
    solver: str,
    clock: _Clock,
    *,
    loosen: frozenset[str] = frozenset(),
    deadlines: bool = True,
    speed_floor: float | None = None,
) -> _Outcome:
    """Largest speed-up ``z`` of the slowest run (``out.z``), deadlines met or not.

    One chip per run: the speed form's LP relaxation bounds z from above; then plans are asked for at trial
    speeds (each a feasibility MILP with every deadline scaled by ``1 / trial``: quick, as
    the system counts are then forced), first stepping down from the bound, then bisecting
    between the fastest plan found (whose own speed may exceed the trial) and the slowest
    trial without a plan, until they agree within ``SEARCH_REL_TOL``. The first trial is the
    slowest wanted speed, so a plan exists early even when the clock stops the search. The plan returned was
    solved and checked; its ``z`` is its own speed. With ``deadlines`` only plans with
    z >= 1 count; ``speed_floor`` asks for at least that z. ``status`` is ``time_limit`` when
    the clock stopped the search before the bound was reached.
    """
    if m.allow_mixed_chips:  # plans sit exactly at any trial speed: one MILP is quicker
        out = _max_speed_mixed(
            m, solver, clock, loosen=loosen, deadlines=deadlines, speed_floor=speed_floor
        )
        if out.has_solution:
            out.z = _plan_speed(m, out)  # the plan's own speed, not the solver's t
        return out
    goal = "time" if deadlines else "speedup"
    bound = _speed_bound(m, solver, clock, goal, loosen, speed_floor)
    if not bound.has_solution or bound.z is None:
        return bound
    hi = bound.z * (1 + 1e-9)
    floor = max(1.0 if deadlines else hi * 1e-12, speed_floor or 0.0)
    lo = floor
    best: _Outcome | None = None
    step = 1e-4
    tries = 0
    while not clock.out():
        if best is not None and hi <= lo * (1 + SEARCH_REL_TOL):
            break
        # first the slowest wanted speed (a plan early, even if the clock stops the search),
        # then down from the bound in growing steps, never below the bisection midpoint
        trial = floor if tries == 0 else max(hi / (1 + step), math.sqrt(lo * hi))
        tries += 1
        clock.report("searching the fastest plan", min(tries, 59), 60)
        out = _solve_goal(
            m, "feasibility", solver, clock, loosen=loosen, deadline_scale=1.0 / trial
        )
        if out.has_solution:
            out.z = _plan_speed(m, out)
            best, lo = out, max(out.z, trial)
        elif out.status == "infeasible":
            if best is None:
                return out  # not even the slowest wanted speed has a plan
            hi = trial
            step *= 8
        else:
            return best or out
    if best is None:
        return _Outcome("no_solution", {}, {}, None, {}, {}, 0.0, "the time limit ran out")
    if hi > lo * (1 + SEARCH_REL_TOL):
        best.status = "time_limit"
    return best


def _time_plan(
    m: ClusterModel, solver: str, clock: _Clock
) -> tuple[_Outcome, float | None, list[str]]:
    """The ``time`` objective: the largest speed-up z, then the least cost at that speed.

    The cost stage runs every deadline at ``1 / z`` backed off by ``SPEED_BACKOFF`` (a
    scale the speed solve showed feasible, with a margin so the boundary is not re-tested at
    the solver's tolerance). If the cost stage finds nothing, the speed solve's own (checked)
    plan is returned. Returns the outcome, the common deadline scale, and notes.
    """
    notes: list[str] = []
    clock.report("solving: time (fastest plan)", 0, 2)
    speed = _max_speed(m, solver, clock)
    if not speed.has_solution or speed.z is None:
        return speed, None, notes
    z = speed.z
    scale = (1.0 / z) * (1 + SPEED_BACKOFF)
    if clock.out() or speed.status != "optimal":
        if clock.out():
            notes.append("time limit reached before the cost tie-break")
        speed.primary = z
        return speed, scale, notes
    clock.report("tie-break: cost at the fastest speed", 1, 2)
    cost_model = replace(m, objective="cost")
    out, stage_notes = _lexicographic(
        cost_model, solver, clock, deadline_scale=scale, stages=_stages(m)[1:], warm=speed
    )
    notes += stage_notes
    if not out.has_solution:
        notes.append("the cost tie-break found no plan at the fastest speed: fastest plan shown")
        out = speed
        out.status = "optimal"
    out.primary = z
    return out, scale, notes


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
    "design_pue",
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
        if run_name not in runs:  # an inference service
            rows.append(_service_row(m, run_name, chip_id, systems, share))
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
                "capex_usd": res.capex_usd if res.pricing in _WHOLE_PURCHASE else 0.0,
                "electricity_usd": res.electricity_cost_usd if res.pricing != "rent" else 0.0,
                "rental_usd": res.rental_cost_usd if res.pricing == "rent" else 0.0,
                "emissions_tco2": res.emissions_tco2,
                "pricing": res.pricing,
                "mfu": res.mfu,
                "pue": res.pue,
                "design_pue": res.design_pue,
            }
        )
    columns = [*_RUN_COLUMNS, *_SERVICE_PLAN_COLUMNS] if m.services else _RUN_COLUMNS
    frame = pd.DataFrame(rows, columns=columns).set_index(["run", "chip"])
    if m.services:
        frame["workload"] = frame["workload"].fillna("run")
    totals = _totals(frame, m)
    return frame, totals, sizings


#: Columns a plan's rows gain when the scenario has services (NaN for a run's rows, except
#: ``workload``): the service's peak systems, its replicas' GPUs, its decode batch, TPOT and
#: Wh per query (from :func:`planner.serving.serve` on that chip).
_SERVICE_PLAN_COLUMNS = [
    "workload",
    "systems_needed",
    "gpus_per_replica",
    "batch_size",
    "tpot_s",
    "wh_per_query",
]


def _service_row(
    m: ClusterModel, name: str, chip_id: str, systems: int, share: float
) -> dict[str, Any]:
    """A plan row of a service from its coefficients (:mod:`planner.serving_plan`): the fixed
    part (busy draw of the work served) times its share, plus the per-system part (idle draw,
    running cost) times the installed systems, as :func:`planner.serving_plan.plan_totals`."""
    o = m.options.loc[(name, chip_id)]
    share = 1.0 if not m.allow_mixed_chips or share >= 1 - 1e-9 else float(share)
    energy = share * o["energy_mwh"] + systems * o["energy_mwh_per_system"]
    buy = o["pricing"] != "rent"
    capex = systems * o["capex_usd_per_system"]
    hardware = systems * o["hardware_usd_per_system"]  # amortised hardware (pricing amortized)
    electricity = (
        share * o["run_cost_usd"] + systems * o["cost_usd_per_system"] - hardware if buy else 0.0
    )
    rental = systems * o["cost_usd_per_system"] if not buy else 0.0
    return {
        "run": name,
        "chip": chip_id,
        "systems": systems,
        "gpus": systems * int(o["gpus_per_system"]),
        "share": share,
        "days": math.nan,
        "deadline_days": math.nan,
        "facility_power_mw": systems * o["facility_power_mw_per_system"],
        "grid_power_mw": systems * o["grid_power_mw_per_system"],
        "average_facility_power_mw": energy / (m.horizon_years * _HOURS_PER_YEAR),
        "energy_mwh": energy,
        "cost_usd": capex + hardware + electricity + rental,
        "capex_usd": capex,
        "electricity_usd": electricity,
        "rental_usd": rental,
        "emissions_tco2": share * o["emissions_tco2"] + systems * o["emissions_tco2_per_system"],
        "pricing": o["pricing"],
        "mfu": math.nan,
        "pue": o["pue"],
        "workload": "service",
        "systems_needed": o["systems_needed"] * share,
        "gpus_per_replica": o["gpus_per_replica"],
        "batch_size": o["batch_size"],
        "tpot_s": o["tpot_s"],
        "wh_per_query": o["wh_per_query"],
    }


#: Hours in a year of serving (365 days; :data:`planner.serving.HOURS_PER_YEAR`).
_HOURS_PER_YEAR = 8760.0


def _totals(frame: pd.DataFrame, m: ClusterModel) -> dict[str, float]:
    if frame.empty:
        return {}
    training = frame[frame["workload"] == "run"] if "workload" in frame.columns else frame
    per_run_days = training.groupby(level="run")["days"].max()
    fraction = max(
        (per_run_days[r] / m.deadline_days[r] for r in per_run_days.index), default=math.nan
    )
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


#: Suffix of a ``loosen`` name that removes the limit instead of loosening it by 10%.
_DROPPED = "!"

#: A binding test: the objective with the limit 10% looser (model units; the speed-up ``z``
#: for ``time``), and whether that re-solve was proven optimal.
_Test = tuple[float | None, bool]


def _binding_tests(
    m: ClusterModel,
    out: _Outcome,
    solver: str,
    clock: _Clock,
    alternatives: dict[str, _Outcome] | None = None,
) -> dict[str, _Test]:
    """Objective with each limit loosened by ``LOOSEN_FRACTION`` (re-solve, one at a time).

    A limit missing from the result was not tested (the time limit ran out first); a value
    ``None`` means the re-solve found no plan in the time left (also: not tested). For
    ``time`` the value is the speed-up ``z`` (larger is better). ``alternatives`` (if given)
    receives each re-solve's plan, to say for which workloads a limit binds.
    """
    goal = m.objective
    results: dict[str, _Test] = {}
    names = _limit_names(m)
    for i, name in enumerate(names):
        if clock.out():
            break
        clock.report(f"testing whether {name} binds", i, len(names))
        loosen = frozenset([name])
        if goal == "time" and out.primary is not None:
            # a plan faster than the optimum at all? (a feasibility solve, often quick)
            faster = out.primary * (1 + 2 * SEARCH_REL_TOL)
            check = _solve_goal(
                m, "feasibility", solver, clock, loosen=loosen, deadline_scale=1.0 / faster
            )
            if check.status == "infeasible":
                results[name] = (out.primary, True)  # no faster plan: does not bind
                continue
            alt = _max_speed(m, solver, clock, loosen=loosen, speed_floor=faster)
            value = alt.z
        else:
            alt = _solve_goal(m, goal, solver, clock, loosen=loosen)
            value = alt.totals.get(goal)
        if alt.has_solution and value is not None:
            results[name] = (value, alt.status == "optimal")
            if alternatives is not None:
                alternatives[name] = alt
            if (
                m.services
                and goal != "time"
                and out.primary is not None
                and not _improves(m, out.primary, value)
                and not clock.out()
            ):
                # with services a limit often decides a chip only beyond 10% (a service
                # moves to a denser chip): re-solve without the limit at all
                dropped = f"{name}{_DROPPED}"
                alt = _solve_goal(m, goal, solver, clock, loosen=frozenset([dropped]))
                value = alt.totals.get(goal)
                if alt.has_solution and value is not None:
                    results[dropped] = (value, alt.status == "optimal")
                    if alternatives is not None and _improves(m, out.primary, value):
                        alternatives[name] = alt
        else:
            results[name] = (None, False)
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


def _binds_for(m: ClusterModel, out: _Outcome, alt: _Outcome | None) -> str:
    """Workloads whose chip or system count differs in the re-solve with a limit looser
    (comma-separated, in scenario order): the ones that limit holds back."""
    if alt is None or not alt.n:
        return ""

    def plan(o: _Outcome, w: str) -> dict[str, int]:
        return {c: int(n) for (r, c), n in o.n.items() if r == w and n > 0}

    return ", ".join(w for w in m.workloads if plan(out, w) != plan(alt, w))


def _constraints(
    m: ClusterModel,
    frame: pd.DataFrame,
    base: float | None,
    tests: dict[str, _Test],
    binds_for: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Each limit with its use, slack and whether it binds.

    A grid, budget, supply or rack limit *binds* when re-solving with it 10% looser gives a
    better objective (``objective_if_10pct_looser``): with integer systems a limit can bind
    with slack left (the next system would not fit) or decide the chip choice. ``binding`` is
    None when that re-solve was not done or proved nothing (see :func:`_binds`). ``base`` is
    the optimum in model units (the speed-up ``z`` for ``time``), None when it is not proven
    optimal. A deadline binds when one system fewer would miss it. The grid counts only the
    systems on site (bought), at the design-day PUE; the racks likewise.

    With services (``binds_for`` given) a column ``binds_for`` names, for each limit that
    binds, the workloads whose chip or count changes when it is 10% looser; a deadline binds
    for its own run.
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
            if binds_for is not None and binding is not True and f"{key}{_DROPPED}" in tests:
                without = _binds(m, base, tests[f"{key}{_DROPPED}"])
                binding = True if without else binding
        if value is not None and goal == "time":
            value = 1.0 / value if value > 0 else None
        elif value is not None and goal == "cost":
            value = value * _USD_PER_MUSD
        row: dict[str, Any] = {
            "constraint": name,
            "limit": limit,
            "used": used,
            "slack": slack,
            "slack_fraction": slack / limit if limit else float("nan"),
            "unit": unit,
            "binding": None if binding is None else bool(binding),
            "objective_if_10pct_looser": value,
        }
        if binds_for is not None:
            who = binds_for.get(key, "") if key else name.split(".", 1)[1]
            row["binds_for"] = who if binding else ""
            dropped = tests.get(f"{key}{_DROPPED}") if key else None
            value_without = dropped[0] if dropped else None
            if value_without is not None and goal == "cost":
                value_without = value_without * _USD_PER_MUSD
            row["objective_without_limit"] = value_without
        rows.append(row)

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
        if run_name not in runs:  # a service alone on this chip at its peak
            n = _whole_systems(float(m.options.loc[(run_name, chip_id), "systems_needed"]))
            one = _service_row(m, run_name, chip_id, n, 1.0)
            cap = m.supply_gpus.get(chip_id)
            rows.append(
                {
                    **{k: one[k] for k in ("run", "chip", "gpus", "systems", "days")},
                    **{
                        k: one[k]
                        for k in ("facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2")
                    },
                    "mfu": math.nan,
                    "pue": one["pue"],
                    "fits_grid": bool(one["grid_power_mw"] <= m.grid_limit_mw * (1 + 1e-9)),
                    "fits_budget": bool(m.budget_usd is None or one["cost_usd"] <= m.budget_usd),
                    "fits_supply": bool(cap is None or one["gpus"] <= cap),
                    "note": "service at its peak"
                    + ("" if m.options.loc[(run_name, chip_id), "on_site"] else ", off site"),
                }
            )
            continue
        spec = runs[run_name]
        try:
            res = size_training(
                spec.training_run(),
                m.catalog.get(chip_id),
                days=spec.deadline_days,
                assumptions=m.assumptions(run_name, chip_id),
            )
        except ResultOutOfRange as exc:  # alone at the deadline it would be absurd
            rows.append({"run": run_name, "chip": chip_id, "note": str(exc)})
            continue
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


def _relax_row(
    relax: str,
    current: float,
    needed: float | None,
    unit: str,
    detail: str,
    *,
    largest: float,
    largest_text: str,
    alone: str,
) -> dict[str, Any]:
    """One relaxation row; ``needed`` beyond what the scenario validator accepts (``largest``)
    or ``None`` (no plan even then) is a row that does not work, saying why."""
    if needed is None:
        return {"relax": relax, "current": current, "unit": unit, "works": False, "detail": alone}
    if needed > largest * (1 + 1e-12):
        return {
            "relax": relax,
            "current": current,
            "needed": needed,
            "unit": unit,
            "works": False,
            "detail": f"{alone}: it would need {needed:,.{_decimals(unit)}f} {unit}, above "
            f"the largest accepted ({largest_text})",
        }
    return {
        "relax": relax,
        "current": current,
        "needed": needed,
        "change": needed - current,
        "unit": unit,
        "works": True,
        "detail": detail,
    }


def _decimals(unit: str) -> int:
    return GRID_DECIMALS if unit == "MW" else 0


def _relaxations(m: ClusterModel, solver: str, clock: _Clock) -> pd.DataFrame:
    """The least change of each limit on its own that lets a plan exist (re-solves).

    Every amount is rounded UP at the shown precision and is at least one step of it
    (0.01 MW, USD 0.1M, one GPU, one rack, one day), so the advice is never "0.00 MW more";
    an amount beyond what the scenario validator accepts (``MAX_GRID_MW``,
    ``MAX_BUDGET_USD``, ``MAX_SUPPLY_GPUS``, ``MAX_RACKS``, ``MAX_DAYS``) is reported as not
    enough rather than advised.
    """
    rows: list[dict[str, Any]] = []
    total = 3 + (m.budget_usd is not None) + (m.max_racks is not None) + bool(m.supply_gpus)
    step = iter(range(total))

    def elastic(kind: str) -> _Outcome:
        clock.report(f"relaxing: {kind}", next(step, total - 1), total)
        return _solve_goal(m, "elastic", solver, clock, elastic=kind)

    out = elastic("grid")
    grid_step = 10.0**-GRID_DECIMALS
    if out.has_solution:
        extra = max(ceil_at(out.elastic.get("grid", 0.0), GRID_DECIMALS), grid_step)
        needed: float | None = round(m.grid_limit_mw + extra, 10)
        needed = ceil_at(needed, GRID_DECIMALS) if needed is not None else None
    else:
        extra, needed = 0.0, None
    rows.append(
        _relax_row(
            "grid_limit_mw",
            m.grid_limit_mw,
            needed,
            "MW",
            f"{extra:,.{GRID_DECIMALS}f} MW more grid",
            largest=MAX_GRID_MW,
            largest_text=f"{MAX_GRID_MW:,.0f} MW",
            alone="more grid alone is not enough",
        )
    )
    clock.report("relaxing: deadlines", next(step, total - 1), total)
    scale = _min_deadline_scale(m, solver, clock)
    together = len(m.runs) > 1
    for run in m.runs:
        t = m.deadline_days[run]
        days = None
        if scale is not None:
            days = max(ceil_at(t * scale), math.floor(t) + 1.0)
        rows.append(
            _relax_row(
                f"deadline_days.{run}",
                t,
                days,
                "days",
                f"{days or 0:,.0f} days for {run}"
                + (f" (every deadline x{ceil_at(scale or 1, 2):.2f} together)" if together else ""),
                largest=MAX_DAYS,
                largest_text=f"{MAX_DAYS:,.0f} days",
                alone="a longer deadline alone is not enough",
            )
        )
    if m.budget_usd is not None:
        out = elastic("budget")
        extra_musd = (
            max(ceil_at(out.elastic.get("budget", 0.0), BUDGET_MUSD_DECIMALS), 0.1)
            if out.has_solution
            else None
        )
        extra_usd = None if extra_musd is None else extra_musd * _USD_PER_MUSD
        rows.append(
            _relax_row(
                "budget_usd",
                m.budget_usd,
                None if extra_usd is None else m.budget_usd + extra_usd,
                "USD",
                f"USD {(extra_musd or 0):,.{BUDGET_MUSD_DECIMALS}f}M more budget",
                largest=MAX_BUDGET_USD,
                largest_text=f"USD {MAX_BUDGET_USD:,.0f}",
                alone="a larger budget alone is not enough",
            )
        )
    if any(c in m.chips for c in m.supply_gpus):
        out = elastic("supply")
        for chip, cap in m.supply_gpus.items():
            if chip not in m.chips:
                continue
            raw = out.elastic.get(f"supply:{chip}") if out.has_solution else None
            if raw is not None and raw <= 1e-6:
                continue  # this chip's supply is not what stops the plan
            more = None if raw is None else max(ceil_at(raw), 1.0)
            rows.append(
                _relax_row(
                    f"supply_gpus.{chip}",
                    float(cap),
                    None if more is None else cap + more,
                    "GPUs",
                    f"{more or 0:,.0f} more {chip} GPUs",
                    largest=float(MAX_SUPPLY_GPUS),
                    largest_text=f"{MAX_SUPPLY_GPUS:,} GPUs",
                    alone="more supply alone is not enough",
                )
            )
    if m.max_racks is not None:
        out = elastic("racks")
        raw = out.elastic.get("racks") if out.has_solution else None
        more = None if raw is None else max(ceil_at(raw), 1.0)
        rows.append(
            _relax_row(
                "max_racks",
                float(m.max_racks),
                None if more is None else m.max_racks + more,
                "racks",
                f"{more or 0:,.0f} more racks",
                largest=float(MAX_RACKS),
                largest_text=f"{MAX_RACKS:,} racks",
                alone="more racks alone is not enough",
            )
        )
    clock.report("relaxing: other chips", total - 1, total)
    rows.extend(_other_chips(m, solver, clock))
    if m.services:
        rows.extend(_service_relaxations(m, solver, clock))
    return pd.DataFrame(rows, columns=_RELAX_COLUMNS).set_index("relax")


#: A service's TPOT target relaxation: 1.5x slower tokens (e.g. 50 ms -> 75 ms per token).
TPOT_RELAX_FACTOR = 1.5
#: Bisection steps for the share of a service's users that fits (2^-8: under 0.4%).
USER_SHARE_STEPS = 8


def _fits(m: ClusterModel, scenario: Scenario, solver: str, clock: _Clock) -> bool:
    try:
        alt = build_model(
            scenario,
            objective=m.objective,
            allow_mixed_chips=m.allow_mixed_chips,
            catalog=m.catalog,
        )
    except PlannerError:
        return False
    if alt.options.empty or set(alt.options.index.get_level_values("run")) != set(m.workloads):
        return False  # a service no chip can serve at these targets
    return _solve_goal(alt, "feasibility", solver, clock).has_solution


def _service_relaxations(m: ClusterModel, solver: str, clock: _Clock) -> list[dict[str, Any]]:
    """For each service on its own: a TPOT target ``TPOT_RELAX_FACTOR`` x longer, and the
    largest share of its users (rounded DOWN to a whole percent) that fits with the rest as is.
    """
    from planner.serving import ServingAssumptions

    s = m.scenario
    default_tpot = float(ServingAssumptions.defaults().tpot_target_s)
    rows: list[dict[str, Any]] = []
    for i, svc in enumerate(s.services):
        if clock.out():
            break
        clock.report(f"relaxing: service {svc.name}", i, len(s.services))
        tpot = float(svc.tpot_target_s if svc.tpot_target_s is not None else default_tpot)
        slower = tpot * TPOT_RELAX_FACTOR
        works = _fits(m, s.with_service(i, tpot_target_s=slower), solver, clock)
        rows.append(
            {
                "relax": f"services.{svc.name}.tpot_target_s",
                "current": tpot,
                "needed": slower if works else None,
                "change": slower - tpot if works else None,
                "unit": "s",
                "works": works,
                "detail": (
                    f"a TPOT target of {slower * 1e3:,.0f} ms for {svc.name} "
                    f"(x{TPOT_RELAX_FACTOR:g})"
                    if works
                    else f"a TPOT target x{TPOT_RELAX_FACTOR:g} for {svc.name} alone is not enough"
                ),
            }
        )
        lo, hi = 0.0, 1.0  # lo: a share known to fit (0: serving nobody is not checked)
        for _ in range(USER_SHARE_STEPS):
            if clock.out():
                break
            mid = (lo + hi) / 2
            users = max(1.0, svc.users * mid)
            if _fits(m, s.with_service(i, users=users), solver, clock):
                lo = mid
            else:
                hi = mid
        share = math.floor(lo * 100) / 100
        users = svc.users * share
        fits = share > 0 and _fits(m, s.with_service(i, users=users), solver, clock)
        rows.append(
            {
                "relax": f"services.{svc.name}.users",
                "current": float(svc.users),
                "needed": users if fits else None,
                "change": users - svc.users if fits else None,
                "unit": "users",
                "works": fits,
                "detail": (
                    f"serving {share:.0%} of {svc.name}'s users ({users:,.0f})"
                    if fits
                    else f"serving fewer of {svc.name}'s users alone is not enough"
                ),
            }
        )
    return rows


def _min_deadline_scale(m: ClusterModel, solver: str, clock: _Clock) -> float | None:
    """Least common stretch of every deadline that makes a plan feasible (>= 1), backed off
    the boundary by ``SPEED_BACKOFF``."""
    out = _max_speed(m, solver, clock, deadlines=False)
    if not out.has_solution or out.z is None or out.z <= 0:
        return None
    return max(1.0, (1.0 / out.z) * (1 + SPEED_BACKOFF))


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
        out = (
            _time_plan(alt, solver, clock)[0]
            if alt.objective == "time"
            else _lexicographic(alt, solver, clock)[0]
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


# --- the public entry points ----------------------------------------------------------------


def solve(
    model: ClusterModel,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    relaxations: bool = True,
    comparison: bool = True,
    progress: Progress | None = None,
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
    progress : callable, optional
        ``progress(stage, done, total)``, called before each step of a long solve: ``stage``
        says what runs next in words ("solving: cost", "tie-break: power", "testing whether
        grid binds", "relaxing: budget"...), ``done`` of ``total`` counts the steps of that
        stage (0-based), e.g. for a progress bar. Called from the solving thread; it should
        return quickly and must not raise.

    Notes
    -----
    Solver output never reaches stdout: HiGHS and CBC run inside :func:`quiet_stdout`, and
    their log goes to ``logging.getLogger("planner.optimization")`` at DEBUG level. Every
    point a solver returns is checked against every bound, row and integrality before it is
    read (see :class:`_LinearProgram`).
    """
    used_solver = _check_solver(solver)
    clock = _Clock(time_limit_s, progress)
    notes = [] if used_solver == solver else [f"{solver} is not installed: used {used_solver}"]
    start = time.perf_counter()
    scale = None
    if model.options.empty:
        out = _Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
    elif model.objective == "time":
        out, scale, stage_notes = _time_plan(model, used_solver, clock)
        notes += stage_notes
    else:
        out, stage_notes = _lexicographic(model, used_solver, clock)
        notes += stage_notes
    unit_key, unit = _OBJECTIVE_UNITS[model.objective]
    compare, compare_sizings = _comparison(model) if comparison else (pd.DataFrame(), {})
    if out.has_solution:
        frame, totals, sizings = _read_back(model, out)
        base, tests = None, {}
        alternatives: dict[str, _Outcome] = {}
        if out.status == "optimal":  # limits of a plan not proven optimal are not tested
            base = out.primary
            tests = _binding_tests(model, out, used_solver, clock, alternatives)
        binds_for = (
            {k: _binds_for(model, out, alt) for k, alt in alternatives.items()}
            if model.services
            else None
        )
        constraints = _constraints(model, frame, base, tests, binds_for)
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
    if scale is not None and model.allow_mixed_chips and out.has_solution:
        notes.append(f"mixed chips, time objective: every deadline scaled by {scale:.4f}")
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
    progress: Progress | None = None,
) -> Plan:
    """Build and solve in one call: ``solve(build_model(scenario, ...), ...)``."""
    model = build_model(
        scenario, objective=objective, allow_mixed_chips=allow_mixed_chips, catalog=catalog
    )
    return solve(model, solver=solver, time_limit_s=time_limit_s, progress=progress)


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
    binding = [
        f"{c} (for {row['binds_for']})"
        if row.get("binds_for") and not str(c).startswith("deadline_days.")
        else str(c)
        for c, row in constraints.iterrows()
        if row["binding"] is True
    ]
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
    when infeasible. Training runs only: a model with services is refused.
    """
    if model.services:
        raise InputError(
            "model", "with services", "a model of training runs only (the Pyomo cross-check)"
        )
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
        fastest = min(  # a finite bound of z from the data: every run on its fastest chip
            max(col["max_systems"][i] / col["systems_needed"][i] for i in idx if keys[i][0] == r)
            for r in model.runs
        )
        pm.z = pyo.Var(bounds=(1.0, max(1.0, float(fastest))))
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
    with quiet_stdout():
        solver = Highs()
        solver.config.load_solution = False
        solver.config.stream_solver = False
        solver.highs_options["mip_rel_gap"] = MIP_REL_GAP
        solver.highs_options["mip_abs_gap"] = 0.0
        solver.highs_options["output_flag"] = False
        if time_limit_s is not None:
            solver.config.time_limit = time_limit_s
        results = solver.solve(pm)
    if results.termination_condition != TerminationCondition.optimal:
        return None
    value = float(results.best_feasible_objective)
    if goal == "time":
        return 1.0 / value
    return value * _USD_PER_MUSD if goal == "cost" else value
