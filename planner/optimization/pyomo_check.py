"""An independent Pyomo build of the same MILP, as a cross-check (:func:`solve_pyomo`)."""

from __future__ import annotations

from planner.errors import InputError
from planner.optimization.constants import _USD_PER_MUSD, MIP_REL_GAP
from planner.optimization.model import ClusterModel, _whole_systems
from planner.optimization.solvers import quiet_stdout


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
