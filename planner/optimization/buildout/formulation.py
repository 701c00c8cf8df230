"""Formulation: :class:`~planner.optimization.buildout.model.BuildoutData` -> a Pyomo
``ConcreteModel``, one function per family of constraints. No solving here.

Units inside the model keep coefficients near 1: money in USD millions, energy in GWh, power
in MW, compute in EFLOP-days (dense BF16 peak x days).

Variables (``s`` site, ``c`` chip, ``q`` quarter, ``o`` upgrade/plant/battery, ``r`` run,
``d`` serving demand)::

    install[s,c,q]  whole systems installed (integer)   active[s,c,q]  systems running
    new[o,q]        units coming online in q (integer; 0/1 for an upgrade), online[o,q]
    alloc[r,s,c,q]  systems given to run r             serve[d,s,c,q] systems serving d
    unmet[d,q]      share of d's reference demand not served (only when priced)
    grid_gwh[s,q], plant_gwh[o,q]  energy bought / generated
    site_of[r,s]    the site of run r (binary; only when the run names no site)

Constraints, each a function below: ``active`` (installs minus retirements after the service
life), ``online`` (cumulative units, each at most once / max_units), ``deliveries``
(cumulative installs within cumulative deliveries), ``capacity`` (runs + serving within the
active systems), ``runs`` (every run's work done inside its window, at one site),
``serving`` (demand met, or unmet and priced), ``power`` (design-day peak, sustained draw,
floor, energy), ``budget`` (yearly spend).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from planner.optimization.buildout.model import HOURS_PER_QUARTER, BuildoutData

MUSD = 1e6
#: Bound on the systems of one chip at one site (keeps the integers bounded).
MAX_SYSTEMS = 10_000_000


def build_model(data: BuildoutData, *, objective: str | None = None) -> pyo.ConcreteModel:
    """The build-out MILP of ``data`` with ``objective`` (default: the scenario's)."""
    m = pyo.ConcreteModel(name="buildout")
    m._data = data
    _sets(m, data)
    _variables(m, data)
    _active(m, data)
    _online(m, data)
    _deliveries(m, data)
    _capacity(m, data)
    _runs(m, data)
    _serving(m, data)
    _power(m, data)
    _costs(m, data)
    _budget(m, data)
    set_objective(m, objective or data.objective)
    return m


def _sets(m: Any, d: BuildoutData) -> None:
    Q = range(d.n_quarters)
    # plain records: pandas lookups in the rules below would dominate the build time
    m._opts = d.options.to_dict("records")
    m._site_opts = {name: [] for name in d.sites}
    for o, row in enumerate(m._opts):
        m._site_opts[row["site"]].append(o)
    m.S = pyo.Set(initialize=range(len(d.sites)))
    m.C = pyo.Set(initialize=range(len(d.chips)))
    m.Q = pyo.Set(initialize=Q)
    m.SCQ = pyo.Set(initialize=[(s, c, q) for s in m.S for c in m.C for q in Q], dimen=3)
    opts = m._opts
    m.O = pyo.Set(initialize=range(len(opts)))
    m.OQ = pyo.Set(
        initialize=[(o, q) for o in m.O for q in Q if q >= int(opts[o]["lead_quarters"])],
        dimen=2,
    )
    m.P = pyo.Set(initialize=[o for o in m.O if _is_plant(m, o)])
    site_index = {name: i for i, name in enumerate(d.sites)}
    chip_index = {name: i for i, name in enumerate(d.chips)}
    alloc = []
    choice = []
    for r, run in enumerate(d.runs):
        window = d.window_days(run)
        sites = [site_index[run["site"]]] if run["site"] else list(m.S)
        if len(sites) > 1:
            choice += [(r, s) for s in sites]
        for chip, _days in run["system_days"].items():
            c = chip_index[chip]
            alloc += [(r, s, c, q) for s in sites for q in Q if window[q] > 0]
    m.RSCQ = pyo.Set(initialize=alloc, dimen=4)
    m.RS = pyo.Set(initialize=choice, dimen=2)
    serve = []
    for k, svc in enumerate(d.serving):
        for site in svc["sites"]:
            for chip in svc["systems_at_reference"]:
                serve += [(k, site_index[site], chip_index[chip], q) for q in Q]
    m.DSCQ = pyo.Set(initialize=serve, dimen=4)
    m.DQ = pyo.Set(
        initialize=[
            (k, q)
            for k, svc in enumerate(d.serving)
            if svc["unmet_usd_per_reference_quarter"] is not None
            for q in Q
        ],
        dimen=2,
    )


def _is_plant(m: Any, o: int) -> bool:
    return m._opts[o]["kind"] not in ("grid-upgrade", "battery")


def _variables(m: Any, d: BuildoutData) -> None:
    opts = m._opts
    m.install = pyo.Var(m.SCQ, domain=pyo.NonNegativeIntegers, bounds=(0, MAX_SYSTEMS))
    m.running = pyo.Var(m.SCQ, domain=pyo.NonNegativeReals)
    m.retire = pyo.Var(m.SCQ, domain=pyo.NonNegativeIntegers, bounds=(0, MAX_SYSTEMS))
    m.new = pyo.Var(
        m.OQ,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _m, o, q: (0, int(opts[o]["max_units"])),
    )
    m.online = pyo.Var(m.O, m.Q, domain=pyo.NonNegativeReals)
    m.alloc = pyo.Var(m.RSCQ, domain=pyo.NonNegativeReals)
    m.serve = pyo.Var(m.DSCQ, domain=pyo.NonNegativeReals)
    m.unmet = pyo.Var(
        m.DQ, domain=pyo.NonNegativeReals, bounds=lambda _m, k, q: (0, d.serving[k]["demand"][q])
    )
    m.site_of = pyo.Var(m.RS, domain=pyo.Binary)
    m.grid_gwh = pyo.Var(m.S, m.Q, domain=pyo.NonNegativeReals)
    m.plant_gwh = pyo.Var(m.P, m.Q, domain=pyo.NonNegativeReals)


def _active(m: Any, d: BuildoutData) -> None:
    """Systems running = installed minus retired; every system retires at the latest when its
    service life ends (earlier when that frees power for better chips)."""
    life = d.life_quarters

    def rule(_m: Any, s: int, c: int, q: int) -> Any:
        prev = m.running[s, c, q - 1] if q > 0 else 0.0
        return m.running[s, c, q] == prev + m.install[s, c, q] - m.retire[s, c, q]

    def end_of_life(_m: Any, s: int, c: int, q: int) -> Any:
        if q - life[c] < 0:
            return m.retire[s, c, q] == 0 if q == 0 else pyo.Constraint.Skip
        return sum(m.retire[s, c, t] for t in range(q + 1)) >= sum(
            m.install[s, c, t] for t in range(q - life[c] + 1)
        )

    m.running_def = pyo.Constraint(m.SCQ, rule=rule)
    m.end_of_life = pyo.Constraint(m.SCQ, rule=end_of_life)


def _online(m: Any, d: BuildoutData) -> None:
    """Units online = units that came online so far; at most ``max_units`` ever."""
    opts = m._opts

    def rule(_m: Any, o: int, q: int) -> Any:
        prev = m.online[o, q - 1] if q > 0 else 0.0
        add = m.new[o, q] if (o, q) in m.OQ else 0.0
        return m.online[o, q] == prev + add

    m.online_def = pyo.Constraint(m.O, m.Q, rule=rule)
    m.online_max = pyo.Constraint(
        m.O, rule=lambda _m, o: m.online[o, d.n_quarters - 1] <= int(opts[o]["max_units"])
    )


def _deliveries(m: Any, d: BuildoutData) -> None:
    """GPUs installed so far within GPUs delivered so far (deliveries not installed wait)."""
    cum = np.cumsum(d.deliveries_gpus, axis=1)
    gps = d.gpus_per_system

    def rule(_m: Any, c: int, q: int) -> Any:
        if not np.isfinite(cum[c, q]):
            return pyo.Constraint.Skip
        return (
            sum(m.install[s, c, t] for s in m.S for t in range(q + 1)) * gps[c] / 1e3
            <= cum[c, q] / 1e3
        )

    m.deliveries = pyo.Constraint(m.C, m.Q, rule=rule)


def _capacity(m: Any, d: BuildoutData) -> None:
    """Runs and serving use at most the active systems of each site, chip and quarter."""
    users: dict[tuple[int, int, int], list[Any]] = {}
    for r, s, c, q in m.RSCQ:
        users.setdefault((s, c, q), []).append(m.alloc[r, s, c, q])
    for k, s, c, q in m.DSCQ:
        users.setdefault((s, c, q), []).append(m.serve[k, s, c, q])
    m.capacity = pyo.Constraint(
        list(users), rule=lambda _m, s, c, q: sum(users[s, c, q]) <= m.running[s, c, q]
    )
    m._busy = {key: sum(v) for key, v in users.items()}


def run_work(m: Any, d: BuildoutData, r: int, through_q: int | None = None) -> Any:
    """Share of run ``r``'s work done (through quarter ``through_q``), an expression."""
    run = d.runs[r]
    window = d.window_days(run)
    return sum(
        m.alloc[rr, s, c, q] * window[q] / run["system_days"][d.chips[c]]
        for rr, s, c, q in m.RSCQ
        if rr == r and (through_q is None or q <= through_q)
    )


def _runs(m: Any, d: BuildoutData) -> None:
    """Every run done inside its window; at one site (chosen when the run names none)."""
    m.run_done = pyo.Constraint(range(len(d.runs)), rule=lambda _m, r: run_work(m, d, r) >= 1)
    runs_with_choice = sorted({r for r, _ in m.RS})
    m.one_site = pyo.Constraint(
        runs_with_choice, rule=lambda _m, r: sum(m.site_of[r, s] for rr, s in m.RS if rr == r) == 1
    )

    def at_site(_m: Any, r: int, s: int, c: int, q: int) -> Any:
        if (r, s) not in m.RS:
            return pyo.Constraint.Skip
        run = d.runs[r]
        # never more systems than finish the whole run inside this one quarter
        bound = run["system_days"][d.chips[c]] / d.window_days(run)[q]
        return m.alloc[r, s, c, q] <= bound * m.site_of[r, s]

    m.run_site = pyo.Constraint(m.RSCQ, rule=at_site)


def _serving(m: Any, d: BuildoutData) -> None:
    """Each quarter's demand (as a share of its largest quarter) served, or priced unmet."""

    def rule(_m: Any, k: int, q: int) -> Any:
        svc = d.serving[k]
        need = svc["demand"][q]
        if need <= 0:
            return pyo.Constraint.Skip
        served = sum(
            m.serve[kk, s, c, qq] / svc["systems_at_reference"][d.chips[c]]
            for kk, s, c, qq in m.DSCQ
            if kk == k and qq == q
        )
        short = m.unmet[k, q] if (k, q) in m.DQ else 0.0
        return served + short >= need

    m.serving_met = pyo.Constraint(range(len(d.serving)), m.Q, rule=rule)


def option_mw(m: Any, d: BuildoutData, s: int, q: int, kinds: tuple[str, ...]) -> Any:
    opts = m._opts
    site = d.sites[s]
    return sum(
        m.online[o, q] * float(opts[o]["unit_mw"])
        for o in m._site_opts[site]
        if opts[o]["kind"] in kinds
    )


PLANT_KINDS = ("gas-turbine", "gas-engine", "fuel-cell")


def _power(m: Any, d: BuildoutData) -> None:
    """Per site and quarter: design-day peak within grid + upgrades + plants + batteries;
    sustained draw within grid + upgrades + plants; IT within floor; energy from grid or plants.
    """
    grid = d.grid_mw()
    it = d.it_mw_per_system
    busy_gwh = d.avg_it_mw_per_system * HOURS_PER_QUARTER / 1e3
    idle_gwh = d.it_mw_per_system * d.idle_load_fraction * HOURS_PER_QUARTER / 1e3

    def draw(s: int, q: int, per_system: np.ndarray) -> Any:
        return sum(m.running[s, c, q] * float(per_system[c]) for c in m.C)

    def peak(_m: Any, s: int, q: int) -> Any:
        supply = option_mw(m, d, s, q, ("grid-upgrade", *PLANT_KINDS, "battery"))
        # the grid-side peak after a ramp-limit mitigation (1 without one)
        return draw(s, q, it * d.design_pue[s] * d.peak_ratio()[s]) <= grid[s, q] + supply

    def sustained(_m: Any, s: int, q: int) -> Any:
        supply = option_mw(m, d, s, q, ("grid-upgrade", *PLANT_KINDS))
        return draw(s, q, it * d.pue[s] * d.peak_ratio()[s]) <= grid[s, q] + supply

    def floor(_m: Any, s: int, q: int) -> Any:
        if not np.isfinite(d.floor_it_mw[s, q]):
            return pyo.Constraint.Skip
        return draw(s, q, it) <= d.floor_it_mw[s, q]

    def energy(_m: Any, s: int, q: int) -> Any:
        plants = sum(m.plant_gwh[o, q] for o in m._site_opts[d.sites[s]] if o in m.P)
        # busy systems at their average draw, the rest idle
        use = sum(
            (
                m._busy.get((s, c, q), 0.0) * float(busy_gwh[c] - idle_gwh[c])
                + m.running[s, c, q] * float(idle_gwh[c])
            )
            * float(d.pue[s])
            for c in m.C
        )
        return use == m.grid_gwh[s, q] + plants

    def grid_energy(_m: Any, s: int, q: int) -> Any:
        mw = grid[s, q] + option_mw(m, d, s, q, ("grid-upgrade",))
        return m.grid_gwh[s, q] <= mw * HOURS_PER_QUARTER / 1e3

    def plant_energy(_m: Any, o: int, q: int) -> Any:
        mw = m.online[o, q] * float(m._opts[o]["unit_mw"])
        return m.plant_gwh[o, q] <= mw * HOURS_PER_QUARTER / 1e3

    m.peak_power = pyo.Constraint(m.S, m.Q, rule=peak)
    m.sustained_power = pyo.Constraint(m.S, m.Q, rule=sustained)
    m.floor = pyo.Constraint(m.S, m.Q, rule=floor)
    m.energy = pyo.Constraint(m.S, m.Q, rule=energy)
    m.grid_energy = pyo.Constraint(m.S, m.Q, rule=grid_energy)
    m.plant_energy = pyo.Constraint(m.P, m.Q, rule=plant_energy)


def cost_terms(m: Any, d: BuildoutData) -> dict[str, dict[int, Any]]:
    """Undiscounted spend per component and quarter, USD millions (expressions)."""
    opts = m._opts
    Q = range(d.n_quarters)
    terms: dict[str, dict[int, Any]] = {
        k: {}
        for k in (
            "systems",
            "grid_upgrades",
            "plants",
            "batteries",
            "electricity",
            "fuel",
            "carbon",
            "unmet_demand",
        )
    }
    for q in Q:
        terms["systems"][q] = sum(
            m.install[s, c, q] * float(d.price_usd_per_system[c, q]) / MUSD
            for s in m.S
            for c in m.C
        )
        for key, kinds in (
            ("grid_upgrades", ("grid-upgrade",)),
            ("plants", PLANT_KINDS),
            ("batteries", ("battery",)),
        ):
            # paid at the decision: lead quarters before coming online
            terms[key][q] = sum(
                m.new[o, t] * float(opts[o]["cost_usd"]) / MUSD
                for (o, t) in m.OQ
                if t - int(opts[o]["lead_quarters"]) == q and opts[o]["kind"] in kinds
            )
        terms["electricity"][q] = sum(
            m.grid_gwh[s, q] * 1e3 * float(d.electricity_usd_per_mwh[s, q]) / MUSD for s in m.S
        )
        fuel = 0.0
        tco2 = sum(m.grid_gwh[s, q] * float(d.grid_gco2_per_kwh[s, q]) for s in m.S)
        for o in m.P:
            hr = float(opts[o]["heat_rate_btu_per_kwh"])  # MMBtu per GWh / 1e3
            price = float(d.fuel_usd_per_mmbtu[(opts[o]["site"], opts[o]["name"])][q])
            vom = float(opts[o]["variable_om_usd_per_mwh"])
            fuel += m.plant_gwh[o, q] * (hr * price + 1e3 * vom) / MUSD
            tco2 += m.plant_gwh[o, q] * hr * float(opts[o]["kgco2_per_mmbtu"]) / 1e3
        terms["fuel"][q] = fuel
        terms["carbon"][q] = tco2 * d.carbon_usd_per_tco2 / MUSD
        terms["unmet_demand"][q] = sum(
            m.unmet[k, q] * d.serving[k]["unmet_usd_per_reference_quarter"] / MUSD
            for (k, qq) in m.DQ
            if qq == q
        )
    return terms


#: Components of the spend a yearly budget limits (the carbon price and unmet demand are
#: prices in the objective, not money paid).
BUDGET_COMPONENTS = ("systems", "grid_upgrades", "plants", "batteries", "electricity", "fuel")


def _costs(m: Any, d: BuildoutData) -> None:
    terms = cost_terms(m, d)
    disc = d.discount()
    m.total_cost = pyo.Expression(
        expr=sum(float(disc[q]) * terms[k][q] for k in terms for q in terms[k])
    )
    m._terms = terms
    m.compute = pyo.Expression(
        expr=sum(
            m.running[s, c, q] * float(d.pflops_per_system[c]) * 91.3125 / 1e3 for s, c, q in m.SCQ
        )
    )


def _budget(m: Any, d: BuildoutData) -> None:
    if d.budget_usd_per_year is None:
        return
    years = sorted({q // 4 for q in range(d.n_quarters)})
    terms = m._terms

    budget = float(d.budget_usd_per_year)

    def rule(_m: Any, y: int) -> Any:
        spend = sum(
            terms[k][q] for k in BUDGET_COMPONENTS for q in range(d.n_quarters) if q // 4 == y
        )
        return spend <= budget / MUSD

    m.budget = pyo.Constraint(years, rule=rule)


def set_objective(m: Any, objective: str) -> None:
    """Replace the objective: ``cost`` (discounted total), ``compute`` (EFLOP-days, maximised),
    ``finish`` (quarters before the named run is done), or ``feasibility`` (zero)."""
    d: BuildoutData = m._data
    if hasattr(m, "obj"):
        m.del_component(m.obj)
    if objective == "cost":
        m.obj = pyo.Objective(expr=m.total_cost, sense=pyo.minimize)
    elif objective == "compute":
        m.obj = pyo.Objective(expr=m.compute, sense=pyo.maximize)
    elif objective == "finish":
        _finish(m, d)
        m.obj = pyo.Objective(expr=m.quarters_to_finish, sense=pyo.minimize)
    elif objective == "feasibility":
        m.obj = pyo.Objective(expr=0.0, sense=pyo.minimize)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(objective)


def _finish(m: Any, d: BuildoutData) -> None:
    """``done[q]``: the named run is finished by the end of quarter ``q`` (monotone)."""
    if hasattr(m, "done"):
        return
    r = next(i for i, run in enumerate(d.runs) if run["name"] == d.finish_run)
    m.done = pyo.Var(m.Q, domain=pyo.Binary)
    m.done_by = pyo.Constraint(m.Q, rule=lambda _m, q: run_work(m, d, r, q) >= m.done[q])
    m.done_order = pyo.Constraint(
        [q for q in m.Q if q > 0], rule=lambda _m, q: m.done[q] >= m.done[q - 1]
    )
    m.done_last = pyo.Constraint(expr=m.done[d.n_quarters - 1] == 1)
    m.quarters_to_finish = pyo.Expression(expr=sum(1 - m.done[q] for q in m.Q))
