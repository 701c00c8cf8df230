"""Diagnosis of a build-out: its named limits, a copy with one limit changed, and the minimal
relaxation of each limit alone that makes an infeasible build-out feasible.

The protocol (any model can implement it; the generic part may move to a shared module):

- :func:`limits` ``(model_data) -> list[Limit]``: named limits, plain-English names
  ("site B's grid from 2027Q3"), their value, unit and which way relaxes them;
- :func:`with_limit` ``(model_data, name, new_value) -> model_data``: a copy, one limit changed;
- :func:`is_feasible` ``(model_data, time_limit_s) -> bool | None``: solve for any plan.

:func:`relaxations` uses only those three. Amounts are rounded UP (a later date rounded
earlier, a share rounded down) to two significant figures, and the rounded value is re-checked,
so following the advice as written works.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.optimization.buildout.model import DAYS_PER_QUARTER, BuildoutData

#: Bisection stops when the bracket is this close (relative); then rounded to 2 figures.
REL_TOL = 0.01


@dataclass(frozen=True)
class Limit:
    """One named limit of a model.

    ``relax``: ``"up"`` (more is looser: MW, GPUs, USD, a later deadline) or ``"down"`` (less
    is looser: an earlier date, a shorter lead time, a smaller share of demand).
    ``integer``: only whole values (quarters, units). ``loosest``: the furthest value tried.
    ``unit``: ``"quarter"`` values are positions in the horizon, shown as labels.
    """

    name: str
    value: float
    unit: str
    relax: str
    integer: bool
    loosest: float
    #: The relaxation in words, with ``{old}`` and ``{new}``.
    template: str = "{name} from {old} to {new}"

    def words(self, new: float, quarters: list[str]) -> str:
        return self.template.format(
            name=self.name, old=show(self, self.value, quarters), new=show(self, new, quarters)
        )


# --- the protocol ---------------------------------------------------------------------------


def _registry(d: BuildoutData) -> dict[str, tuple[Limit, Callable[[BuildoutData, float], None]]]:
    out: dict[str, tuple[Limit, Callable[[BuildoutData, float], None]]] = {}
    n = d.n_quarters
    peak_need = 10.0 * max(1.0, float(d.grid_mw().max(initial=0.0)))

    def add(limit: Limit, setter: Callable[[BuildoutData, float], None]) -> None:
        out[limit.name] = (limit, setter)

    for j, (i, q, mw) in enumerate(d.grid_steps):
        site, label = d.sites[i], d.quarters[min(max(q, 0), n - 1)]

        def set_date(dd: BuildoutData, v: float, j: int = j) -> None:
            i0, _, mw0 = dd.grid_steps[j]
            dd.grid_steps[j] = (i0, int(v), mw0)

        def set_mw(dd: BuildoutData, v: float, j: int = j) -> None:
            i0, q0, _ = dd.grid_steps[j]
            dd.grid_steps[j] = (i0, q0, float(v))

        if q > 0:
            add(
                Limit(
                    f"site {site}'s grid from {label}",
                    q,
                    "quarter",
                    "down",
                    True,
                    0,
                    f"site {site}'s grid date from {{old}} to {{new}} ({mw:g} MW)",
                ),
                set_date,
            )
        add(
            Limit(
                f"site {site}'s grid MW from {label}",
                mw,
                "MW",
                "up",
                False,
                mw + peak_need,
                f"site {site}'s grid from {label}: {{old}} to {{new}}",
            ),
            set_mw,
        )
    opts = d.options
    for o in range(len(opts)):
        site, name = opts["site"].iloc[o], opts["name"].iloc[o]
        lead = int(opts["lead_quarters"].iloc[o])

        def set_lead(dd: BuildoutData, v: float, o: int = o) -> None:
            dd.options.loc[dd.options.index[o], "lead_quarters"] = int(v)

        def set_units(dd: BuildoutData, v: float, o: int = o) -> None:
            dd.options.loc[dd.options.index[o], "max_units"] = int(v)

        if lead > 0:
            add(
                Limit(f"site {site}'s {name} lead time", lead, "quarters", "down", True, 0),
                set_lead,
            )
        if opts["kind"].iloc[o] != "grid-upgrade":
            units = int(opts["max_units"].iloc[o])
            more = max(units * 10, units + math.ceil(peak_need / float(opts["unit_mw"].iloc[o])))
            add(Limit(f"site {site}'s {name} units", units, "units", "up", True, more), set_units)
    for c, chip in enumerate(d.chips):
        if np.isfinite(d.deliveries_gpus[c]).all():

            def set_scale(dd: BuildoutData, v: float, c: int = c) -> None:
                dd.deliveries_gpus[c] = dd.deliveries_gpus[c] * v

            add(
                Limit(
                    f"{chip} deliveries",
                    1.0,
                    "x",
                    "up",
                    False,
                    100.0,
                    f"{chip} deliveries {{new}} in every quarter",
                ),
                set_scale,
            )
    for i, site in enumerate(d.sites):
        if np.isfinite(d.floor_it_mw[i]).all():

            def set_floor(dd: BuildoutData, v: float, i: int = i) -> None:
                dd.floor_it_mw[i] = dd.floor_it_mw[i] * v

            add(
                Limit(
                    f"site {site}'s floor",
                    1.0,
                    "x",
                    "up",
                    False,
                    100.0,
                    f"site {site}'s floor {{new}} in every quarter",
                ),
                set_floor,
            )
    if d.budget_usd_per_year is not None:

        def set_budget(dd: BuildoutData, v: float) -> None:
            dd.budget_usd_per_year = float(v)

        add(
            Limit(
                "the yearly budget",
                d.budget_usd_per_year,
                "USD",
                "up",
                False,
                d.budget_usd_per_year * 100.0,
            ),
            set_budget,
        )
    for r, run in enumerate(d.runs):
        last = int(np.nonzero(d.window_days(run) > 0)[0].max())

        def set_deadline(dd: BuildoutData, v: float, r: int = r) -> None:
            dd.runs[r]["end_day"] = (int(v) + 1) * DAYS_PER_QUARTER

        add(
            Limit(f"run {run['name']}'s deadline", last, "quarter", "up", True, n - 1), set_deadline
        )
    for k, svc in enumerate(d.serving):
        if svc["unmet_usd_per_reference_quarter"] is None:

            def set_share(dd: BuildoutData, v: float, k: int = k) -> None:
                dd.serving[k]["demand"] = dd.serving[k]["demand"] * v

            add(
                Limit(
                    f"{svc['name']}'s demand served",
                    1.0,
                    "share",
                    "down",
                    False,
                    0.0,
                    f"serve {{new}} of {svc['name']}'s demand",
                ),
                set_share,
            )
    return out


def limits(data: BuildoutData) -> list[Limit]:
    """The named limits of a build-out."""
    return [limit for limit, _ in _registry(data).values()]


def with_limit(data: BuildoutData, name: str, new_value: float) -> BuildoutData:
    """A copy of ``data`` with the limit ``name`` set to ``new_value``."""
    copy = data.copy()
    reg = _registry(copy)
    if name not in reg:
        from planner.errors import InputError

        raise InputError("limit", name, "one of: " + ", ".join(reg))
    reg[name][1](copy, new_value)
    return copy


def is_feasible(data: BuildoutData, time_limit_s: float | None = None) -> bool | None:
    """Whether any plan fits (None: the time limit came first)."""
    from planner.optimization.buildout.formulation import build_model
    from planner.optimization.buildout.solve import solve_pyomo

    out = solve_pyomo(
        build_model(data, objective="feasibility"), time_limit_s=time_limit_s, mip_rel_gap=1.0
    )
    if out.has_solution:
        return True
    if out.status == "infeasible":
        return False
    return None


# --- minimal relaxations --------------------------------------------------------------------


def _round_loose(value: float, relax: str, integer: bool) -> float:
    """Two significant figures, rounded the loose way (up for "up", down for "down")."""
    if integer:
        return float(math.ceil(value - 1e-9) if relax == "up" else math.floor(value + 1e-9))
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    return (
        math.ceil(value / step - 1e-9) if relax == "up" else math.floor(value / step + 1e-9)
    ) * step


def show(limit: Limit, value: float, quarters: list[str]) -> str:
    if limit.unit == "quarter":
        return quarters[int(value)]
    if limit.unit == "USD":
        return f"USD {value:,.0f}"
    if limit.unit == "x":
        return f"x{value:g}"
    if limit.unit == "quarters":
        return f"{value:g} quarter" + ("" if value == 1 else "s")
    if limit.unit == "share":
        return f"{value:.0%}"
    return f"{value:,.6g} {limit.unit}"


def relaxations(
    data: BuildoutData,
    *,
    time_limit_s: float = 60.0,
    feasible: Callable[[BuildoutData, float | None], bool | None] = is_feasible,
) -> pd.DataFrame:
    """Each limit relaxed alone: the least change that makes ``data`` feasible.

    Returns one row per limit whose relaxation alone works: ``limit``, ``current``,
    ``needed``, ``unit``, ``words`` ("site B's grid from 2027Q3 to 2027Q1"). Limits that do not
    suffice alone at their loosest value are left out; ``time_limit_s`` bounds all solves.
    """
    deadline = time.perf_counter() + time_limit_s
    rows = []
    for limit in limits(data):
        left = deadline - time.perf_counter()
        if left <= 0:
            break

        def ok(value: float, limit: Limit = limit) -> bool:
            remaining = max(0.1, deadline - time.perf_counter())
            return bool(feasible(with_limit(data, limit.name, value), remaining))

        needed = _search(limit, ok, deadline)
        if needed is None:
            continue
        rows.append(
            dict(
                limit=limit.name,
                current=limit.value,
                needed=needed,
                unit=limit.unit,
                words=limit.words(needed, data.quarters),
            )
        )
    return pd.DataFrame(rows, columns=["limit", "current", "needed", "unit", "words"])


def _search(limit: Limit, ok: Callable[[float], bool], deadline: float) -> float | None:
    """The value closest to the current one that is feasible, rounded the loose way."""
    if limit.value == limit.loosest or not ok(limit.loosest):
        return None
    tight, loose = float(limit.value), float(limit.loosest)
    while time.perf_counter() < deadline:
        if limit.integer and abs(loose - tight) <= 1:
            break
        if not limit.integer and abs(loose - tight) <= REL_TOL * max(abs(loose), 1e-9):
            break
        mid = (tight + loose) / 2.0
        if limit.integer:
            mid = math.floor(mid) if limit.relax == "up" else math.ceil(mid)
        if ok(mid):
            loose = mid
        else:
            tight = mid
    rounded = _round_loose(loose, limit.relax, limit.integer)
    return rounded if rounded == loose or ok(rounded) else loose
