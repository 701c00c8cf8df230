"""Read-back: a solved Pyomo build-out -> DataFrames. Nothing here re-solves.

Every frame is long-form (one row per site / chip / quarter ...) with units in column names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.optimization.buildout.formulation import (
    BUDGET_COMPONENTS,
    MUSD,
    PLANT_KINDS,
    run_work,
)
from planner.optimization.buildout.model import DAYS_PER_QUARTER, HOURS_PER_QUARTER, BuildoutData

#: Relative slack under which a limit counts as binding.
BINDING_REL = 1e-6
#: Every variable of the build-out is >= 0, and so is every quantity read back (systems, MW,
#: GWh, USD): a value between -SOLVER_NOISE and 0 is the solver's tolerance, not the plan
#: (HiGHS accepts a bound broken by 1e-7, its primal feasibility tolerance, and an integer
#: off by 1e-6, its integrality tolerance: 45.000001 systems retired of 45 leave -1e-6
#: running), and is read as 0. A value below -SOLVER_NOISE is left as it is (a real error).
SOLVER_NOISE = 1e-5


def _v(x: Any) -> float:
    value = pyo.value(x, exception=False)
    if value is None:
        return 0.0
    value = float(value)
    return 0.0 if -SOLVER_NOISE <= value <= 0.0 else value  # -0.0 too


def _whole(x: Any) -> int:
    return int(round(_v(x)))


def installs(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Systems installed, retired and running per site, chip and quarter (non-zero rows)."""
    rows = []
    for s, c, q in m.SCQ:
        new = _whole(m.install[s, c, q])
        retired = _whole(m.retire[s, c, q])
        running = _whole(m.running[s, c, q])
        if new or retired or running:
            gps = int(d.gpus_per_system[c])
            rows.append(
                dict(
                    site=d.sites[s],
                    chip=d.chips[c],
                    quarter=d.quarters[q],
                    systems=new,
                    gpus=new * gps,
                    retired_systems=retired,
                    running_systems=running,
                    running_gpus=running * gps,
                )
            )
    cols = [
        "site",
        "chip",
        "quarter",
        "systems",
        "gpus",
        "retired_systems",
        "running_systems",
        "running_gpus",
    ]
    return pd.DataFrame(rows, columns=cols)


def power(m: Any, d: BuildoutData) -> pd.DataFrame:
    """MW per site and quarter against the power available, and where it comes from."""
    grid = d.grid_mw()
    opts = m._opts
    rows = []
    for s in m.S:
        for q in m.Q:

            def opt_mw(kinds: tuple[str, ...], s: int = s, q: int = q) -> float:
                return sum(
                    _v(m.online[o, q]) * float(opts[o]["unit_mw"])
                    for o in m.O
                    if opts[o]["site"] == d.sites[s] and opts[o]["kind"] in kinds
                )

            it = sum(_v(m.running[s, c, q]) * d.it_mw_per_system[c] for c in m.C)
            # the design-day peak the grid sees (after a ramp-limit mitigation, if any)
            grid_side = sum(
                _v(m.running[s, c, q]) * d.it_mw_per_system[c] * d.peak_ratio()[s, c] for c in m.C
            )
            upgrades = opt_mw(("grid-upgrade",))
            plants = opt_mw(PLANT_KINDS)
            batteries = opt_mw(("battery",))
            rows.append(
                dict(
                    site=d.sites[s],
                    quarter=d.quarters[q],
                    it_power_mw=it,
                    facility_power_mw=grid_side * d.design_pue[s],
                    sustained_power_mw=grid_side * d.pue[s],
                    grid_connection_mw=grid[s, q],
                    grid_upgrades_mw=upgrades,
                    onsite_generation_mw=plants,
                    battery_mw=batteries,
                    available_mw=grid[s, q] + upgrades + plants + batteries,
                    floor_it_mw=d.floor_it_mw[s, q] if np.isfinite(d.floor_it_mw[s, q]) else None,
                    pue=d.pue[s],
                    design_pue=d.design_pue[s],
                )
            )
    return pd.DataFrame(rows)


def run_schedule(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Systems given to each run per site, chip and quarter, and the share of its work done."""
    rows = []
    for r, s, c, q in m.RSCQ:
        n = _v(m.alloc[r, s, c, q])
        if n > 1e-6:
            run = d.runs[r]
            window = d.window_days(run)[q]
            rows.append(
                dict(
                    run=run["name"],
                    site=d.sites[s],
                    chip=d.chips[c],
                    quarter=d.quarters[q],
                    systems=n,
                    gpus=n * d.gpus_per_system[c],
                    share_of_work=n * window / run["system_days"][d.chips[c]],
                )
            )
    return pd.DataFrame(
        rows, columns=["run", "site", "chip", "quarter", "systems", "gpus", "share_of_work"]
    )


def runs_summary(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Per run: its site, the quarter its work is done, its deadline quarter."""
    rows = []
    for r, run in enumerate(d.runs):
        done_q = None
        for q in m.Q:
            if _v(run_work(m, d, r, q)) >= 1 - 1e-6:
                done_q = q
                break
        sites = sorted(
            {d.sites[s] for rr, s, c, q in m.RSCQ if rr == r and _v(m.alloc[rr, s, c, q]) > 1e-6}
        )
        window = d.window_days(run)
        last = int(np.nonzero(window > 0)[0].max())
        rows.append(
            dict(
                run=run["name"],
                site=", ".join(sites),
                finish_quarter=None if done_q is None else d.quarters[done_q],
                deadline_quarter=d.quarters[last],
            )
        )
    return pd.DataFrame(rows, columns=["run", "site", "finish_quarter", "deadline_quarter"])


def utilisation(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Running systems and the share given to training and serving, per site, chip, quarter."""
    train: dict[tuple[int, int, int], float] = {}
    serve: dict[tuple[int, int, int], float] = {}
    for r, s, c, q in m.RSCQ:
        train[s, c, q] = train.get((s, c, q), 0.0) + _v(m.alloc[r, s, c, q])
    for k, s, c, q in m.DSCQ:
        serve[s, c, q] = serve.get((s, c, q), 0.0) + _v(m.serve[k, s, c, q])
    rows = []
    for s, c, q in m.SCQ:
        running = _v(m.running[s, c, q])
        if running < 0.5:
            continue
        t, v = train.get((s, c, q), 0.0), serve.get((s, c, q), 0.0)
        rows.append(
            dict(
                site=d.sites[s],
                chip=d.chips[c],
                quarter=d.quarters[q],
                running_systems=round(running),
                training_systems=t,
                serving_systems=v,
                utilisation=(t + v) / running,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "site",
            "chip",
            "quarter",
            "running_systems",
            "training_systems",
            "serving_systems",
            "utilisation",
        ],
    )


def serving(m: Any, d: BuildoutData) -> pd.DataFrame:
    rows = []
    for k, svc in enumerate(d.serving):
        for q in m.Q:
            unmet = _v(m.unmet[k, q]) if (k, q) in m.DQ else 0.0
            need = float(svc["demand"][q])
            rows.append(
                dict(
                    service=svc["name"],
                    quarter=d.quarters[q],
                    users=need * svc["reference_users"],
                    unmet_users=unmet * svc["reference_users"],
                    served_share=1.0 if need <= 0 else 1.0 - unmet / need,
                )
            )
    return pd.DataFrame(
        rows, columns=["service", "quarter", "users", "unmet_users", "served_share"]
    )


def costs(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Spend by component and year (calendar year of the quarter), USD, and discounted."""
    disc = d.discount()
    rows = []
    for component, per_q in m._terms.items():
        by_year: dict[str, list[float]] = {}
        for q, expr in per_q.items():
            usd = _v(expr) * MUSD
            year = d.quarters[q][:4]
            acc = by_year.setdefault(year, [0.0, 0.0])
            acc[0] += usd
            acc[1] += usd * disc[q]
        for year, (usd, pv) in by_year.items():
            rows.append(
                dict(
                    component=component,
                    year=year,
                    cost_usd=usd,
                    discounted_cost_usd=pv,
                    in_budget=component in BUDGET_COMPONENTS,
                )
            )
    return pd.DataFrame(
        rows, columns=["component", "year", "cost_usd", "discounted_cost_usd", "in_budget"]
    )


def energy(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Energy per site and quarter: from the grid and from on-site plants; emissions."""
    opts = m._opts
    rows = []
    for s in m.S:
        for q in m.Q:
            grid_mwh = _v(m.grid_gwh[s, q]) * 1e3
            plant_mwh = 0.0
            plant_t = 0.0
            for o in m.P:
                if opts[o]["site"] != d.sites[s]:
                    continue
                gwh = _v(m.plant_gwh[o, q])
                plant_mwh += gwh * 1e3
                plant_t += (
                    gwh
                    * float(opts[o]["heat_rate_btu_per_kwh"])
                    * float(opts[o]["kgco2_per_mmbtu"])
                    / 1e3
                )
            grid_t = grid_mwh / 1e3 * float(d.grid_gco2_per_kwh[s, q])
            rows.append(
                dict(
                    site=d.sites[s],
                    quarter=d.quarters[q],
                    energy_mwh=grid_mwh + plant_mwh,
                    grid_mwh=grid_mwh,
                    onsite_mwh=plant_mwh,
                    average_facility_power_mw=(grid_mwh + plant_mwh) / HOURS_PER_QUARTER,
                    emissions_tco2=grid_t + plant_t,
                )
            )
    return pd.DataFrame(rows)


def built_options(m: Any, d: BuildoutData) -> pd.DataFrame:
    """Grid upgrades, plants and batteries built: units, the quarter decided and online."""
    opts = m._opts
    rows = []
    for o, q in m.OQ:
        units = _whole(m.new[o, q])
        if units:
            lead = int(opts[o]["lead_quarters"])
            rows.append(
                dict(
                    site=opts[o]["site"],
                    name=opts[o]["name"],
                    kind=opts[o]["kind"],
                    units=units,
                    mw=units * float(opts[o]["unit_mw"]),
                    decided_quarter=d.quarters[q - lead],
                    online_quarter=d.quarters[q],
                    cost_usd=units * float(opts[o]["cost_usd"]),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "site",
            "name",
            "kind",
            "units",
            "mw",
            "decided_quarter",
            "online_quarter",
            "cost_usd",
        ],
    )


def binding(m: Any, d: BuildoutData, power_frame: pd.DataFrame) -> pd.DataFrame:
    """Limits met with no slack in the plan, in plain words (from the solution only)."""
    rows = []

    def tight(used: float, limit: float) -> bool:
        return used >= limit - BINDING_REL * max(1.0, abs(limit)) - 1e-6

    # whole systems rarely fill a limit exactly: a power or floor limit binds when not even
    # one more of the systems running there fits
    site_pos = {name: i for i, name in enumerate(d.sites)}
    quarter_pos = {name: q for q, name in enumerate(d.quarters)}

    def one_system_it_mw(s: int, q: int) -> float:
        used = [d.it_mw_per_system[c] for c in m.C if _v(m.running[s, c, q]) > 0.5]
        return float(min(used)) if used else float(np.min(d.it_mw_per_system))

    for row in power_frame.itertuples():
        s_pos = site_pos[row.site]
        smallest_it = one_system_it_mw(s_pos, quarter_pos[row.quarter])
        one = smallest_it * d.design_pue[s_pos]
        if row.facility_power_mw > 0 and row.available_mw - row.facility_power_mw < one - 1e-9:
            rows.append(
                dict(
                    limit="power",
                    site=row.site,
                    quarter=row.quarter,
                    used=row.facility_power_mw,
                    available=row.available_mw,
                    unit="MW",
                    words=f"site {row.site}'s power in {row.quarter}: "
                    f"{row.facility_power_mw:,.2f} MW design-day peak of "
                    f"{row.available_mw:,.2f} MW available",
                )
            )
        floor = row.floor_it_mw
        if (
            floor is not None
            and not pd.isna(floor)
            and row.it_power_mw > 0
            and (floor - row.it_power_mw < smallest_it - 1e-9)
        ):
            rows.append(
                dict(
                    limit="floor",
                    site=row.site,
                    quarter=row.quarter,
                    used=row.it_power_mw,
                    available=floor,
                    unit="MW",
                    words=f"site {row.site}'s floor in {row.quarter}: "
                    f"{row.it_power_mw:,.2f} IT MW of {floor:,.2f}",
                )
            )
    cum = np.cumsum(d.deliveries_gpus, axis=1)
    for c in m.C:
        installed = 0.0
        for q in m.Q:
            installed += sum(_v(m.install[s, c, q]) for s in m.S) * d.gpus_per_system[c]
            if (
                np.isfinite(cum[c, q])
                and cum[c, q] > 0
                and tight(installed, cum[c, q])
                and (q == d.n_quarters - 1 or _v(sum(m.install[s, c, q + 1] for s in m.S)) > 0.5)
            ):
                rows.append(
                    dict(
                        limit="deliveries",
                        site="",
                        quarter=d.quarters[q],
                        used=installed,
                        available=cum[c, q],
                        unit="GPUs",
                        words=f"{d.chips[c]} deliveries by {d.quarters[q]}: all "
                        f"{cum[c, q]:,.0f} GPUs delivered so far are installed",
                    )
                )
    if hasattr(m, "budget"):
        for y in m.budget:
            body = m.budget[y].body
            used = _v(body) * MUSD
            limit = float(d.budget_usd_per_year or 0.0)
            quarters = [q for q in range(d.n_quarters) if q // 4 == y]
            cheapest = float(np.min(d.price_usd_per_system[:, quarters]))
            if limit - used < cheapest:  # not even one more system fits this year
                rows.append(
                    dict(
                        limit="budget",
                        site="",
                        quarter=f"year {y + 1}",
                        used=used,
                        available=limit,
                        unit="USD",
                        words=f"the yearly budget in year {y + 1} of the horizon: "
                        f"USD {used:,.0f} of {limit:,.0f}",
                    )
                )
    opts = m._opts
    for o in m.O:
        cap = int(opts[o]["max_units"])
        if cap > 0 and _whole(m.online[o, d.n_quarters - 1]) >= cap:
            rows.append(
                dict(
                    limit="units",
                    site=opts[o]["site"],
                    quarter="",
                    used=cap,
                    available=cap,
                    unit="units",
                    words=f"site {opts[o]['site']}'s {opts[o]['name']}: all {cap} units built",
                )
            )
    return pd.DataFrame(
        rows, columns=["limit", "site", "quarter", "used", "available", "unit", "words"]
    )


def totals(
    m: Any, d: BuildoutData, cost_frame: pd.DataFrame, energy_frame: pd.DataFrame
) -> dict[str, float]:
    return {
        "cost_usd": float(cost_frame["cost_usd"].sum()) if len(cost_frame) else 0.0,
        "discounted_cost_usd": float(cost_frame["discounted_cost_usd"].sum())
        if len(cost_frame)
        else 0.0,
        "energy_mwh": float(energy_frame["energy_mwh"].sum()) if len(energy_frame) else 0.0,
        "emissions_tco2": float(energy_frame["emissions_tco2"].sum()) if len(energy_frame) else 0.0,
        "compute_eflop_days": _v(m.compute),
        "gpus_installed": float(
            sum(_v(m.install[s, c, q]) * d.gpus_per_system[c] for s, c, q in m.SCQ)
        ),
        "quarter_days": DAYS_PER_QUARTER,
    }
