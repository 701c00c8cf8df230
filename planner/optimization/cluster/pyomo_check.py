"""An independent Pyomo build of the same MILP, as a cross-check (:func:`solve_pyomo`)."""

from __future__ import annotations

import math

import numpy as np

from planner.errors import InputError
from planner.optimization.cluster.model import ClusterModel, _whole_systems
from planner.optimization.constants import MIP_REL_GAP, USD_PER_MUSD
from planner.optimization.solve import pyomo_available
from planner.optimization.solve import solve_pyomo as solve_pyomo_model

__all__ = ["pyomo_available", "solve_pyomo"]


def solve_pyomo(model: ClusterModel, *, time_limit_s: float | None = None) -> float | None:
    """Optimum of the same MILP built independently in Pyomo (HiGHS via appsi), or None.

    Only the primary objective (no tie-breaks), one chip per run or mixed shares. For
    ``time`` the value is the earliest latest finish in days, found by bisection over
    Pyomo feasibility models (run ``r`` by ``min(T_r, M)``) to a relative 1e-4. Returned in
    the plan's units (USD, MW, MWh, tCO2, GPUs, days); ``None`` when infeasible. Training
    runs only: a model with services is refused.
    """
    if model.services:
        raise InputError(
            "model", "with services", "a model of training runs only (the Pyomo cross-check)"
        )
    if model.objective != "time":
        return _solve(model, model.objective, None, time_limit_s)
    deadline = model.options["deadline_days"].to_numpy(dtype=float)
    one = model.options["days_on_one_system"].to_numpy(dtype=float)
    ceiling = model.options["ceiling_systems"].to_numpy(dtype=float)

    def fits(finish: float) -> bool:
        return _solve(model, None, np.minimum(deadline, finish), time_limit_s) is not None

    hi = max(model.deadline_days.values())
    if not fits(hi):
        return None
    lo = float(min(one / ceiling)) * (1 - 1e-9)  # every run can at best use its ceiling
    while hi > lo * (1 + 1e-4):
        mid = math.sqrt(lo * hi)
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _solve(
    model: ClusterModel,
    goal: str | None,
    deadlines: np.ndarray | None,
    time_limit_s: float | None,
) -> float | None:
    """One Pyomo MILP: minimise ``goal`` (None: any feasible point, value 0) with each row's
    deadline ``deadlines`` (default the runs' own)."""
    import pyomo.environ as pyo

    opt = model.options
    keys = list(opt.index)
    idx = range(len(keys))
    mixed = model.allow_mixed_chips
    col = {name: opt[name].to_numpy() for name in opt.columns}
    days = col["deadline_days"].astype(float) if deadlines is None else deadlines
    need = col["days_on_one_system"].astype(float) / days
    whole = [_whole_systems(x) for x in need]
    ceiling = col["ceiling_systems"].astype(float)
    upper = [
        int(min(max(col["max_systems"][i], whole[i]), ceiling[i])) for i in idx
    ]  # the limits' bound, at least the deadline's count, never above the ceiling
    pm = pyo.ConcreteModel()
    pm.n = pyo.Var(idx, domain=pyo.NonNegativeIntegers, bounds=lambda _, i: (0, upper[i]))
    pm.f = pyo.Var(idx, domain=pyo.UnitInterval if mixed else pyo.Binary)
    pm.cons = pyo.ConstraintList()
    for i in idx:
        if not mixed:
            pm.cons.add(pm.n[i] <= upper[i] * pm.f[i])
            pm.cons.add(pm.n[i] >= whole[i] * pm.f[i])
        else:
            pm.cons.add(pm.n[i] >= max(need[i], 1.0) * pm.f[i])
    if mixed:
        # a used pool has at least its minimum (a rack, at most the ceiling or the run's whole
        # need on that chip); a run's pools together at most its useful GPUs
        low = [
            min(float(col["min_systems"][i]), max(math.floor(ceiling[i]), 1.0), whole[i])
            for i in idx
        ]
        pm.used = pyo.Var(idx, domain=pyo.Binary)
        for i in idx:
            top = max(upper[i], int(low[i]))
            pm.cons.add(pm.n[i] >= low[i] * pm.used[i])
            pm.cons.add(pm.n[i] <= top * pm.used[i])
            pm.cons.add(pm.f[i] <= pm.used[i])
            pm.n[i].setub(top)
        for run in model.runs:
            members = [i for i in idx if keys[i][0] == run]
            cap = max(
                float(col["max_useful_gpus"][members[0]]),
                max(float(col["gpus_per_system"][i]) for i in members),
            )
            pm.cons.add(sum(pm.n[i] * float(col["gpus_per_system"][i]) for i in members) <= cap)
    for run in model.runs:
        pm.cons.add(sum(pm.f[i] for i in idx if keys[i][0] == run) == 1)
    power = sum(pm.n[i] * col["facility_power_mw_per_system"][i] for i in idx)
    cost = sum(
        pm.n[i] * col["capex_usd_per_system"][i] / USD_PER_MUSD
        + pm.f[i] * col["run_cost_usd"][i] / USD_PER_MUSD
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
        pm.cons.add(cost <= model.budget_usd / USD_PER_MUSD)
    for chip, cap in model.supply_gpus.items():
        members = [i for i in idx if keys[i][1] == chip]
        if members:
            pm.cons.add(sum(pm.n[i] * int(col["gpus_per_system"][i]) for i in members) <= cap)
    if model.max_racks is not None and site:
        pm.racks = pyo.Var(site, domain=pyo.NonNegativeIntegers)
        for i in site:
            pm.cons.add(pm.racks[i] * int(col["systems_per_rack"][i]) >= pm.n[i])
        pm.cons.add(sum(pm.racks[i] for i in site) <= model.max_racks)
    pm.obj = pyo.Objective(expr=exprs[goal] if goal else 0.0 * pm.n[0], sense=pyo.minimize)
    res = solve_pyomo_model(
        pm, time_limit_s=time_limit_s, mip_rel_gap=MIP_REL_GAP, mip_abs_gap=0.0, load_solution=False
    )
    if res.status != "optimal" or res.objective is None:
        return None
    if goal is None:
        return 0.0
    return res.objective * USD_PER_MUSD if goal == "cost" else res.objective
