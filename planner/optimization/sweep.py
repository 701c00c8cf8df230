"""Pareto sweeps over a deadline or grid limit (:func:`pareto`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.optimization.cluster.api import solve
from planner.optimization.cluster.model import build_model
from planner.optimization.constants import MAX_SWEEP_POINTS, SWEEP_PARAMETERS
from planner.optimization.messages import chips_text
from planner.scenarios import (
    MAX_GRID_MW,
    Scenario,
)
from planner.sizing import MAX_DAYS, MIN_DAYS


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
    time_tolerance: float | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Re-solve over a sweep: the objective against deadline (``days``) or grid (``grid_mw``).

    ``days`` sets the longest deadline to each value and scales the others in proportion (one
    run: its deadline). ``grid_mw`` sets the grid limit. Returns one row per value: status,
    objective value, the pricing in force, totals (``cost_usd`` in that pricing and the
    up-front ``cluster_capex_usd``), the chips used, and ``efficient`` (no other point is at least as
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
            model,
            solver=solver,
            time_limit_s=time_limit_s,
            relaxations=False,
            comparison=False,
            time_tolerance=time_tolerance,
            binding=False,  # a point of the sweep is read for its totals, not its limits
        )
        t = plan.totals
        rows.append(
            {
                parameter: value,
                "status": plan.status,
                "objective": plan.objective,
                "objective_value": plan.objective_value,
                "pricing": plan.pricing,
                "cost_usd": t.get("cost_usd"),
                "cluster_capex_usd": t.get("cluster_capex_usd"),
                "facility_power_mw": t.get("facility_power_mw"),
                "energy_mwh": t.get("energy_mwh"),
                "emissions_tco2": t.get("emissions_tco2"),
                "gpus": t.get("gpus"),
                "longest_days": t.get("longest_days"),
                "plan": chips_text(plan.runs) if plan.feasible else "",
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


#: Deadlines of the default cost-vs-days sweep, as multiples of the scenario's longest deadline.
PARETO_FACTORS = (1 / 3, 0.5, 2 / 3, 5 / 6, 1.0, 4 / 3, 5 / 3, 2.0)
#: Objective of the default Pareto sweep: least cost against the deadline.
PARETO_OBJECTIVE = "cost"


def pareto_days_values(
    longest_deadline_days: float,
    shortest_deadline_days: float | None = None,
    relaxations: pd.DataFrame | None = None,
) -> tuple[float, ...]:
    """Deadlines of the default sweep: :data:`PARETO_FACTORS` x the longest deadline, whole
    days (the faces call this; they pick no deadlines of their own).

    Clamped to the core's limits (the other runs' deadlines scale in proportion, so the
    shortest stays >= ``sizing.MIN_DAYS`` and the longest <= ``sizing.MAX_DAYS``). For an
    infeasible scenario (``relaxations`` of its plan, indexed or with a ``relax`` column) the
    sweep also spans the longer deadlines its relaxations say work, so a chart shows where
    plans begin.
    """
    longest = float(longest_deadline_days)
    shortest = float(shortest_deadline_days or longest)
    low = max(1.0, MIN_DAYS * longest / shortest)
    bases = [longest]
    if relaxations is not None and not relaxations.empty:
        frame = relaxations if "relax" in relaxations else relaxations.reset_index()
        for r in frame.to_dict(orient="records"):
            needed, current = r.get("needed"), r.get("current")
            if (
                str(r.get("relax", "")).startswith("deadline_days.")
                and r.get("works")
                and not _missing(needed)
                and not _missing(current)
                and float(current) > 0
            ):
                bases.append(longest * float(needed) / float(current))
    values = {
        min(max(low, float(round(base * f))), MAX_DAYS) for base in bases for f in PARETO_FACTORS
    }
    values.add(min(max(low, longest), MAX_DAYS))
    values |= {min(max(low, float(math.ceil(b))), MAX_DAYS) for b in bases[1:]}
    return tuple(sorted(values))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
