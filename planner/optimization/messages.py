"""English sentences about plans and infeasibility (the faces print them)."""

from __future__ import annotations

import pandas as pd

from planner.optimization.cluster.formulation import Outcome
from planner.optimization.cluster.model import ClusterModel
from planner.optimization.constants import GRID_DECIMALS


def chips_text(frame: pd.DataFrame) -> str:
    parts = [
        f"{run}: {int(r.gpus):,} {chip.upper()} ({int(r.systems):,} systems)"
        for (run, chip), r in frame.iterrows()
    ]
    return "; ".join(parts)


def _limit_words(name: object) -> str:
    """A limit as the reader wrote it: the scenario field (``grid_limit_mw``, ``budget_usd``,
    ``supply_gpus.h100``, ``max_racks``), and a run's deadline as ``the deadline of <run>``
    (the whole name, never cut)."""
    text = str(name)
    if text.startswith("deadline_days."):
        return f"the deadline of {text.split('.', 1)[1]}"
    return text


def plan_message(
    m: ClusterModel,
    frame: pd.DataFrame,
    totals: dict[str, float],
    constraints: pd.DataFrame,
    status: str,
) -> str:
    binding = [
        f"{_limit_words(c)} (for {row['binds_for']})"
        if row.get("binds_for") and not str(c).startswith("deadline_days.")
        else _limit_words(c)
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
    pricing = str(m.scenario.candidates.pricing)
    money = f"USD {totals['cost_usd'] / 1e6:,.1f}M ({pricing}"
    if pricing == "amortized":
        money += f"; USD {totals.get('cluster_capex_usd', 0.0) / 1e6:,.1f}M cluster capex up front"
    money += ")"
    text = (
        f"{chips_text(frame)}. {power}, {money}, "
        f"{totals['energy_mwh']:,.0f} MWh, {totals['emissions_tco2']:,.0f} tCO2. "
        f"Binding: {', '.join(binding) if binding else 'none'}"
        + (f"; not tested: {', '.join(untested)}." if untested else ".")
    )
    return ("Time limit reached, best plan found: " if status == "time_limit" else "") + text


#: What ``cost_usd`` (the cost objective, and what ``budget_usd`` limits) is under each pricing.
PRICING_COST_WORDS = {
    "amortized": (
        "amortised hardware (servers, networking, facility share over their service life, "
        "data/economics.csv) + electricity; bought systems, on site"
    ),
    "capex": "the whole cluster capex (servers, networking, facility) + electricity; on site",
    "rent": "cloud GPU-hours at rent (power included); off site",
}


def pricing_note(m: ClusterModel) -> str:
    """The sentence saying which pricing is in force and what it charges (every plan)."""
    pricing = str(m.scenario.candidates.pricing)
    return (
        f"pricing {pricing} (candidates.pricing): cost_usd, the cost objective and budget_usd "
        f"are {PRICING_COST_WORDS[pricing]}; cluster_capex_usd is the up-front price of the "
        "systems, reported beside it"
        + {
            "amortized": " (not in cost_usd: only its share for the run's hours is)",
            "capex": " (in cost_usd)",
            "rent": " (not spent: what buying them would cost)",
        }[pricing]
        + "; prices from data/chip_economics.csv unless candidates.price_usd_per_gpu / "
        "rent_usd_per_gpu_hour give them"
    )


def infeasible_message(
    m: ClusterModel, relax: pd.DataFrame, out: Outcome, time_limit_s: float | None
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
