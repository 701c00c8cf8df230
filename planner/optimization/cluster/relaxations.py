"""Infeasible plans: the minimal relaxations of each limit, found by re-solving."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from planner.errors import PlannerError
from planner.optimization.cluster import algorithms
from planner.optimization.cluster.algorithms import _Clock, _lexicographic, _max_speed, _time_plan
from planner.optimization.cluster.formulation import Outcome
from planner.optimization.cluster.model import ClusterModel, _whole_systems, build_model
from planner.optimization.cluster.readback import _read_back
from planner.optimization.constants import (
    BUDGET_MUSD_DECIMALS,
    GRID_DECIMALS,
    MAX_RACKS,
    SPEED_BACKOFF,
    USD_PER_MUSD,
)
from planner.scenarios import (
    MAX_BUDGET_USD,
    MAX_GRID_MW,
    MAX_SUPPLY_GPUS,
    Scenario,
)
from planner.sizing import MAX_DAYS, MAX_GPUS

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

    def elastic(kind: str) -> Outcome:
        clock.report(f"relaxing: {kind}", next(step, total - 1), total)
        return algorithms._solve_goal(m, "elastic", solver, clock, elastic=kind)

    out = elastic("grid")
    grid_step = 10.0**-GRID_DECIMALS
    if out.has_solution:
        # both pieces of advice work as written: the grid to ask for (rounded up) and the
        # MW to add to the current grid (rounded up), each at least one step
        grid_raw = out.elastic.get("grid", 0.0)
        needed: float | None = max(
            ceil_at(m.grid_limit_mw + grid_raw, GRID_DECIMALS), m.grid_limit_mw + grid_step
        )
        assert needed is not None
        extra = max(ceil_at(needed - m.grid_limit_mw, GRID_DECIMALS), grid_step)
        needed = ceil_at(needed, GRID_DECIMALS)
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
        extra_usd = None if extra_musd is None else extra_musd * USD_PER_MUSD
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
    rows.extend(_parallelism_relaxations(m, solver, clock))
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
    return algorithms._solve_goal(alt, "feasibility", solver, clock).has_solution


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


def _parallelism_relaxations(m: ClusterModel, solver: str, clock: _Clock) -> list[dict[str, Any]]:
    """For each run that no chip can finish by its deadline within its largest useful
    parallelism (``ceiling_systems``): the fewest GPUs that would (its best chip at the
    deadline), as ``runs[i].max_gpus``; it works when the scenario with that ``max_gpus``
    has a plan (checked by a feasibility solve)."""
    if "ceiling_systems" not in m.options:
        return []
    rows: list[dict[str, Any]] = []
    s = m.scenario
    for i, spec in enumerate(s.runs):
        if clock.out() or spec.name not in m.options.index.get_level_values("run"):
            continue
        part = m.options.xs(spec.name, level="run")
        whole = [_whole_systems(float(x)) for x in part["systems_needed"]]
        gpus = [w * int(g) for w, g in zip(whole, part["gpus_per_system"], strict=True)]
        if any(w <= c for w, c in zip(whole, part["ceiling_systems"], strict=True)):
            continue  # some chip meets the deadline within the ceiling
        needed = int(min(gpus))
        useful = int(part["max_useful_gpus"].iloc[0])
        works = False
        if needed <= MAX_GPUS:
            works = _fits(m, s.with_run(i, max_gpus=needed), solver, clock)
        rows.append(
            {
                "relax": f"runs.{spec.name}.max_gpus",
                "current": float(useful),
                "needed": float(needed) if works else None,
                "change": float(needed - useful) if works else None,
                "unit": "GPUs",
                "works": works,
                "detail": (
                    f"max_gpus = {needed:,} for {spec.name} (its global batch keeps at most "
                    f"{useful:,} GPUs busy: runs[{i}].max_gpus or global_batch_tokens)"
                    if works
                    else f"more parallelism for {spec.name} alone is not enough"
                ),
            }
        )
    return rows
