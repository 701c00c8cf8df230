"""The build-out as a :class:`~planner.optimization.diagnose.Relaxable` (the shared diagnosis
protocol of the optimiser's models): its named limits, a copy with one limit changed, a
re-solve. The search for relaxations (each limit alone, or a combination followed together)
and the binding tests are the shared ones of :mod:`planner.optimization.diagnose`.

Limits, in plain words: each grid step's date and MW ("site B's grid from 2027Q3"), each
plant's or upgrade's lead time and units, each chip's deliveries (a factor on every quarter),
each site's floor (a factor), the yearly budget, each run's deadline, and the share of any
demand that must be met. Amounts are rounded the loose way to two significant figures and
re-checked, so following the advice as written works.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as _copy

import numpy as np
import pandas as pd

from planner.optimization.buildout.model import (
    DAYS_PER_QUARTER,
    MAX_MW,
    MAX_USD,
    BuildoutData,
)
from planner.optimization.diagnose import Limit, Relaxation, Trial
from planner.optimization.diagnose import relaxations as shared_relaxations

#: Loosest factor tried on a chip's deliveries or a site's floor (every quarter).
LOOSEST_FACTOR = 10_000.0
#: Loosest number of units of a plant or battery tried (the scenario's own upper bound).
LOOSEST_UNITS = 10_000
#: Columns of the relaxations frame.
RELAXATION_COLUMNS = ["limit", "current", "needed", "unit", "words", "together"]

Setter = Callable[[BuildoutData, float], None]


@dataclass(frozen=True)
class _Entry:
    limit: Limit
    setter: Setter
    #: The advice in words, with ``{old}`` and ``{new}``.
    template: str


def _registry(d: BuildoutData) -> dict[str, _Entry]:
    """Every limit of ``d`` and how to set it: by position, from ``d``'s own values (a factor
    multiplies the scenario's deliveries, not the last copy's)."""
    out: dict[str, _Entry] = {}
    n = d.n_quarters

    def add(limit: Limit, setter: Setter, template: str = "") -> None:
        out[limit.name] = _Entry(limit, setter, template or f"{limit.label}: {{old}} to {{new}}")

    for j, (i, q, mw) in enumerate(d.grid_steps):
        site, label = d.sites[i], d.quarters[min(max(q, 0), n - 1)]

        def set_date(dd: BuildoutData, v: float, j: int = j) -> None:
            i0, _, mw0 = dd.grid_steps[j]
            dd.grid_steps[j] = (i0, int(v), mw0)

        def set_mw(dd: BuildoutData, v: float, j: int = j) -> None:
            i0, q0, _ = dd.grid_steps[j]
            dd.grid_steps[j] = (i0, q0, float(v))

        if q > 0:
            name = f"site {site}'s grid from {label}"
            add(
                Limit(name, q, name, "quarter", relax="down", loosest=0, integer=True),
                set_date,
                f"site {site}'s grid date from {{old}} to {{new}} ({mw:g} MW)",
            )
        name = f"site {site}'s grid MW from {label}"
        add(
            Limit(name, mw, f"site {site}'s grid from {label}", "MW", loosest=MAX_MW),
            set_mw,
        )
    opts = d.options
    for o in range(len(opts)):
        site, kind_name = opts["site"].iloc[o], opts["name"].iloc[o]
        lead = int(opts["lead_quarters"].iloc[o])

        def set_lead(dd: BuildoutData, v: float, o: int = o) -> None:
            dd.options.loc[dd.options.index[o], "lead_quarters"] = int(v)

        def set_units(dd: BuildoutData, v: float, o: int = o) -> None:
            dd.options.loc[dd.options.index[o], "max_units"] = int(v)

        if lead > 0:
            name = f"site {site}'s {kind_name} lead time"
            add(
                Limit(name, lead, name, "quarters", relax="down", loosest=0, integer=True),
                set_lead,
            )
        if opts["kind"].iloc[o] != "grid-upgrade":
            units = int(opts["max_units"].iloc[o])
            name = f"site {site}'s {kind_name} units"
            add(
                Limit(name, units, name, "units", loosest=max(units, LOOSEST_UNITS), integer=True),
                set_units,
            )
    for c, chip in enumerate(d.chips):
        if np.isfinite(d.deliveries_gpus[c]).all() and d.deliveries_gpus[c].sum() > 0:

            def set_scale(
                dd: BuildoutData,
                v: float,
                c: int = c,
                given: np.ndarray = d.deliveries_gpus[c],
            ) -> None:
                dd.deliveries_gpus[c] = given * v

            name = f"{chip} deliveries"
            add(
                Limit(name, 1.0, name, "x", loosest=LOOSEST_FACTOR),
                set_scale,
                f"{chip} deliveries {{new}} in every quarter",
            )
    for i, site in enumerate(d.sites):
        if np.isfinite(d.floor_it_mw[i]).all() and d.floor_it_mw[i].sum() > 0:

            def set_floor(
                dd: BuildoutData, v: float, i: int = i, given: np.ndarray = d.floor_it_mw[i]
            ) -> None:
                dd.floor_it_mw[i] = given * v

            name = f"site {site}'s floor"
            add(
                Limit(name, 1.0, name, "x", loosest=LOOSEST_FACTOR),
                set_floor,
                f"site {site}'s floor {{new}} in every quarter",
            )
    if d.budget_usd_per_year is not None:

        def set_budget(dd: BuildoutData, v: float) -> None:
            dd.budget_usd_per_year = float(v)

        add(
            Limit(
                "the yearly budget",
                d.budget_usd_per_year,
                "the yearly budget",
                "USD",
                loosest=MAX_USD,
            ),
            set_budget,
        )
    for r, run in enumerate(d.runs):
        last = int(np.nonzero(d.window_days(run) > 0)[0].max())

        def set_deadline(dd: BuildoutData, v: float, r: int = r) -> None:
            dd.runs[r]["end_day"] = (int(v) + 1) * DAYS_PER_QUARTER

        name = f"run {run['name']}'s deadline"
        add(
            Limit(name, last, name, "quarter", loosest=n - 1, integer=True),
            set_deadline,
            f"{name} from {{old}} to {{new}}",
        )
    for k, svc in enumerate(d.serving):
        if svc["unmet_usd_per_reference_quarter"] is None:

            def set_share(
                dd: BuildoutData, v: float, k: int = k, given: np.ndarray = svc["demand"]
            ) -> None:
                dd.serving[k]["demand"] = given * v

            name = f"{svc['name']}'s demand served"
            add(
                Limit(name, 1.0, name, "share", relax="down", loosest=0.0),
                set_share,
                f"serve {{new}} of {svc['name']}'s demand",
            )
    return out


def show(unit: str, value: float, quarters: list[str]) -> str:
    """A limit's value in words: a quarter's label, USD, a factor, quarters, a share, MW."""
    if unit == "quarter":
        return quarters[int(value)]
    if unit == "USD":
        return f"USD {value:,.0f}"
    if unit == "x":
        return f"x{value:g}"
    if unit == "quarters":
        return f"{value:g} quarter" + ("" if value == 1 else "s")
    if unit == "share":
        return f"{value:.0%}"
    return f"{value:,.6g} {unit}"


@dataclass(frozen=True)
class BuildoutDiagnosis:
    """A build-out's data as a :class:`~planner.optimization.diagnose.Relaxable`.

    ``objective``: the objective a re-solve minimises or maximises (``"feasibility"``: any
    plan, the cheapest solve, for relaxations; ``cost`` / ``compute`` / ``finish`` for binding
    tests). ``deadline``: a :func:`time.perf_counter` time every re-solve stops by.
    """

    data: BuildoutData
    objective: str = "feasibility"
    deadline: float = math.inf
    mip_rel_gap: float | None = None
    _entries: dict[str, _Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self._entries:
            self._entries.update(_registry(self.data))

    # --- Diagnosable ------------------------------------------------------------------------

    def limits(self) -> list[Limit]:
        return [e.limit for e in self._entries.values()]

    def loosened(self, name: str, fraction: float | None) -> BuildoutDiagnosis:
        """Limit ``name`` ``fraction`` looser (at least one step for whole values; a date one
        quarter earlier at least), or at its loosest (None)."""
        limit = self._limit(name)
        if fraction is None:
            return self.with_value(name, float(limit.loosest))  # type: ignore[arg-type]
        value = float(limit.value or 0.0)
        step = abs(value) * fraction
        if limit.integer:
            step = max(1.0, math.ceil(step - 1e-9))
        new = value + step if limit.relax == "up" else value - step
        lo, hi = sorted((value, float(limit.loosest)))  # type: ignore[arg-type]
        return self.with_value(name, min(max(new, lo), hi))

    def resolve(self) -> Trial:
        from planner.optimization.buildout.formulation import build_model
        from planner.optimization.buildout.solve import MIP_REL_GAP, solve_pyomo

        left = self.deadline - time.perf_counter()
        if left <= 0:
            return Trial(None)
        gap = self.mip_rel_gap
        if gap is None:
            gap = 1.0 if self.objective == "feasibility" else MIP_REL_GAP
        out = solve_pyomo(
            build_model(self.data, objective=self.objective),
            time_limit_s=None if math.isinf(left) else max(0.1, left),
            mip_rel_gap=gap,
        )
        if not out.has_solution:
            return Trial(None, infeasible=out.status == "infeasible")
        value = 0.0 if out.objective is None else float(out.objective)
        return Trial(value, out.status == "optimal")

    def improves(self, base: float, value: float) -> bool:
        """Better beyond the MIP gap the re-solves are proven to (noise below it)."""
        from planner.optimization.buildout.solve import MIP_REL_GAP

        tol = (self.mip_rel_gap if self.mip_rel_gap is not None else MIP_REL_GAP) * max(
            abs(base), 1e-9
        )
        if self.objective == "compute":
            return value > base + tol
        if self.objective == "feasibility":
            return False
        return value < base - tol

    # --- Relaxable --------------------------------------------------------------------------

    def with_value(self, name: str, value: float) -> BuildoutDiagnosis:
        entry = self._entries.get(name)
        if entry is None:
            from planner.errors import InputError

            raise InputError("limit", name, "one of: " + ", ".join(self._entries))
        data = self.data.copy()
        entry.setter(data, value)  # by position: a limit keeps its name once changed
        # the limits keep their original current values: advice is from the scenario as given
        return _copy(self, data=data, _entries=dict(self._entries))

    def words(self, name: str, value: float) -> str:
        entry = self._entries[name]
        limit, quarters = entry.limit, self.data.quarters
        return entry.template.format(
            old=show(limit.unit, float(limit.value or 0.0), quarters),
            new=show(limit.unit, value, quarters),
        )

    def _limit(self, name: str) -> Limit:
        if name not in self._entries:
            self.with_value(name, 0.0)  # the one-line error naming the known limits
        return self._entries[name].limit


# --- conveniences over the data -------------------------------------------------------------


def limits(data: BuildoutData) -> list[Limit]:
    """The named limits of a build-out."""
    return BuildoutDiagnosis(data).limits()


def with_limit(data: BuildoutData, name: str, new_value: float) -> BuildoutData:
    """A copy of ``data`` with the limit ``name`` set to ``new_value``."""
    return BuildoutDiagnosis(data).with_value(name, new_value).data


def is_feasible(data: BuildoutData, time_limit_s: float | None = None) -> bool | None:
    """Whether any plan fits (None: the time limit came first)."""
    deadline = math.inf if time_limit_s is None else time.perf_counter() + time_limit_s
    trial = BuildoutDiagnosis(data, deadline=deadline).resolve()
    if trial.objective is not None:
        return True
    return False if trial.infeasible else None


def relaxations(data: BuildoutData, *, time_limit_s: float = 60.0) -> pd.DataFrame:
    """The least relaxation of each limit alone that lets a plan exist or, when no limit alone
    is enough, one combination to follow together (``together`` True), by the shared search
    (:func:`planner.optimization.diagnose.relaxations`). One row per limit: ``limit``,
    ``current``, ``needed``, ``unit``, ``words``, ``together``; ``time_limit_s`` bounds all
    re-solves."""
    deadline = time.perf_counter() + time_limit_s
    model = BuildoutDiagnosis(data, deadline=deadline)
    rows = shared_relaxations(model, stop=lambda: time.perf_counter() >= deadline)
    return relaxation_frame(rows)


def relaxation_frame(rows: list[Relaxation]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(
                limit=r.limit,
                current=r.current,
                needed=r.needed,
                unit=r.unit,
                words=r.words,
                together=r.together,
            )
            for r in rows
        ],
        columns=RELAXATION_COLUMNS,
    )


def binding_of_infeasible(relaxed: pd.DataFrame) -> pd.DataFrame:
    """What binds in a build-out with no plan: the limits the relaxations move (each alone
    suffices, or all of them together), in the columns of a plan's binding frame."""
    rows = [
        dict(
            limit=r["limit"],
            site="",
            quarter="",
            used=None,
            available=r["current"],
            unit=r["unit"],
            words=f"{r['limit']} binds"
            + (" (with the others listed, no plan exists)" if r["together"] else ""),
        )
        for r in relaxed.to_dict(orient="records")
    ]
    return pd.DataFrame(
        rows, columns=["limit", "site", "quarter", "used", "available", "unit", "words"]
    )


def relaxation_note(relaxed: pd.DataFrame, *, searched: bool = True) -> str:
    """The one line that says how to read the relaxations (``searched``: whether they were
    looked for at all)."""
    if not searched:
        return "no build-out fits every limit (relaxations not searched)"
    if relaxed.empty:
        return "no build-out fits every limit, and no relaxation of the named limits was found"
    if bool(relaxed["together"].any()):
        return (
            "no build-out fits every limit and no single limit relaxed alone is enough; "
            "the relaxations below work when all are followed together"
        )
    return "no build-out fits every limit; each relaxation below works on its own"
