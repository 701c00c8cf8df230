"""Plan report: the optimiser's answer for a site scenario (``data/scenarios/*.toml``).

Every number comes from :func:`planner.optimization.optimize` (its :class:`Plan`: runs,
totals, constraints, comparison, relaxations as DataFrames and ``to_dict()``; the core's
:class:`SizingResult` of each plan row in ``Plan.sizings`` and of each candidate in
``Plan.comparison_sizings``), and from :func:`planner.sensitivity.sensitivity` at the planned
GPU count. This module only arranges them: it re-sizes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

import planner
from planner._arrays import to_python
from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.reports._format import money
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Provenance,
    Quantity,
    Report,
    Table,
    input_file,
    std,
)
from planner.reports.sizing import KV_COLUMNS, sensitivity_tables
from planner.sensitivity import DEFAULT_SWING, OUTPUT_LABELS, SensitivityResult, sensitivity
from planner.sizing import SizingResult
from planner.workloads import TrainingRun

OBJECTIVE_LABELS = {
    "cost": "least total cost",
    "power": "least peak facility power",
    "energy": "least energy",
    "emissions": "least emissions",
    "gpus": "fewest GPUs",
    "time": "shortest time against the deadlines",
}
#: Plan rows shown in the sensitivity tornado (one row of panels each).
MAX_TORNADO_ROWS = 4


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    flat = frame.reset_index() if frame.index.names[0] is not None else frame
    return [{k: to_python(v) for k, v in r.items()} for r in flat.to_dict(orient="records")]


def build_plan_report(
    path: str | Path,
    *,
    objective: str | None = None,
    solver: str = "highs",
    time_limit_s: float | None = None,
    swing: float = DEFAULT_SWING,
    command: str = "",
    catalog: Catalog | None = None,
) -> Report:
    """Optimise the scenario at ``path`` and arrange the plan as a :class:`Report`.

    The defaults are those of ``planner optimize`` (the scenario's objective, HiGHS), so
    ``report.data["plan"]`` is what ``planner optimize PATH --json`` prints (timings aside).
    """
    from planner.optimization import optimize
    from planner.scenarios import load_scenario

    cat = catalog or load_catalog()
    sc = load_scenario(path, catalog=cat)
    plan = optimize(sc, objective=objective, solver=solver, time_limit_s=time_limit_s, catalog=cat)
    payload = {"scenario": str(path), **plan.to_dict()}
    specs = {r.name: r for r in sc.runs}

    # the (run, chip) pairs to explain: the plan's, or every candidate when nothing fits;
    # their sizings are the plan's own (no second copy of the share logic here)
    runs_rows = _records(plan.runs)
    comparison_rows = _records(plan.comparison)
    sized: dict[tuple[str, str], SizingResult] = dict(
        plan.sizings if runs_rows else plan.comparison_sizings
    )
    sens: list[tuple[str, SensitivityResult]] = []
    for (run_name, chip_id), res in plan.sizings.items():
        # the work this pool does: its share of the run's FLOPs (the plan's sizing)
        run = TrainingRun(flops=float(res.flops), name=run_name)
        a = sc.assumptions_for(specs[run_name], cat.get(chip_id))
        sens.append(
            (
                f"{run_name} on {chip_id}",
                sensitivity(run, cat.get(chip_id), gpus=res.gpus, assumptions=a, swing=swing),
            )
        )

    title = sc.title or Path(path).stem
    subtitle = (
        f"Optimised plan - objective: {OBJECTIVE_LABELS.get(plan.objective, plan.objective)}; "
        f"pricing {plan.pricing}; solver {plan.solver}; status {plan.status}; scenario {path}"
    )
    tables: list[Table] = []
    charts: list[Chart] = []
    if runs_rows:
        tables.append(_runs_table(runs_rows))
        tables.append(_totals_table(plan.totals))
    if not plan.constraints.empty:
        tables.append(_constraints_table(_records(plan.constraints)))
    if not plan.relaxations.empty:
        tables.append(_relaxations_table(_records(plan.relaxations)))
    chosen = {(r["run"], r["chip"]) for r in runs_rows}
    tables.append(_comparison_table(comparison_rows, chosen))
    if sens:
        tables += list(sensitivity_tables(sens))
    if runs_rows and not plan.constraints.empty:
        charts.append(
            Chart(
                name="limits",
                title="How much of each limit the plan uses",
                kind="bar",
                table="constraints",
                encoding={"x": "used_fraction", "y": "constraint", "highlight": "binding"},
                caption="Binding limits highlighted: loosening them would improve the objective.",
            )
        )
    charts.append(
        Chart(
            name="candidates_power",
            title="Every candidate chip alone: peak facility power at each run's deadline",
            kind="bar",
            table="candidates",
            encoding={
                "x": "facility_power_mw",
                "y": "label",
                "highlight": "chosen",
                "y_title": "Run / chip",
            },
            caption=f"The site's grid limit is {sc.site.grid_limit_mw:g} MW; the plan's choice "
            "highlighted.",
        )
    )
    if sens:
        shown = {label for label, _ in sens[:MAX_TORNADO_ROWS]}
        enc = {"x": "relative_change", "y": "factor", "color": "case", "facet": "output_label"}
        if len(sens) > 1:
            enc["row"] = "subject"
        charts.append(
            Chart(
                name="tornado",
                title=f"Sensitivity at the planned GPUs: each factor moved {swing:.0%} down and "
                "up, one at a time",
                kind="tornado",
                table="sensitivity_cases",
                encoding=enc,
                caption="With the hardware fixed, lower MFU or goodput stretches the run past "
                "its deadline: see the days panel."
                + ("" if len(shown) == len(sens) else f" First {MAX_TORNADO_ROWS} runs shown."),
            )
        )

    notes = list(plan.notes)
    notes.append(
        "Runs are concurrent: each on its own cluster, all drawing peak power at the same time "
        f"(planner.optimization). Pricing {plan.pricing}: "
        + _PRICING_CHARGE.get(plan.pricing, "as the scenario's candidates.pricing")
        + "."
    )
    notes += [n for _, s in sens for n in s.notes]
    if sens:
        notes.append(
            "Sensitivity keeps the planned GPUs and re-sizes each run with the core: the days "
            "move, the hardware does not (re-optimising is a new plan)."
        )
    provenance = Provenance(
        planner_version=planner.__version__,
        inputs=_inputs(path, cat),
        command=command,
    )
    return Report(
        kind="plan",
        title=title,
        subtitle=subtitle,
        summary=_summary(plan, title, sens),
        headline=_headline(plan, payload, sc.site.grid_limit_mw),
        assumptions=_assumptions(sc, path, sized),
        tables=tuple(tables),
        charts=tuple(charts),
        notes=tuple(notes),
        provenance=provenance,
        data={
            "plan": payload,
            "sensitivity": {label: s.to_dict() for label, s in sens},
        },
    )


#: How each pricing charges the hardware (the report's note; the plan's own note says more).
_PRICING_CHARGE = {
    "amortized": "bought hardware is charged its share of its service life for each run's "
    "hours (the cluster capex up front is reported beside the cost)",
    "capex": "bought hardware is charged in full to its run",
    "rent": "capacity is rented by the GPU-hour, off site (the cluster capex shown is what "
    "buying the same systems would cost)",
}


def _inputs(path: str | Path, cat: Catalog) -> tuple[InputFile, ...]:
    d = data_dir()
    return (
        input_file("site scenario", path),
        input_file("accelerator catalog", Path(cat.path)),
        input_file("default assumptions", d / "assumptions.csv"),
        input_file("facility profiles", d / "facility.csv"),
        input_file("chip prices and rents", d / "chip_economics.csv"),
        input_file("economics (service life, utilisation, cost of capital)", d / "economics.csv"),
    )


def _headline(plan: Any, payload: dict[str, Any], grid_mw: float) -> tuple[Quantity, ...]:
    t = payload["totals"]
    status = Quantity("status", "status", plan.status, note=f"solver {plan.solver}")
    if not t:
        needed = None
        rel = plan.relaxations
        if "grid_limit_mw" in rel.index and bool(rel.loc["grid_limit_mw", "works"]):
            needed = to_python(rel.loc["grid_limit_mw", "needed"])
        return (
            status,
            Quantity("grid_limit_mw", "grid limit", grid_mw, "MW", ",.2f"),
            Quantity(
                "needed_grid_mw",
                "grid needed",
                needed,
                "MW",
                ",.2f",
                note="least grid that gives a plan" if needed is not None else "",
            ),
        )
    chips = ", ".join(dict.fromkeys(r["chip"] for r in payload["runs"]))
    return (
        status,
        Quantity("chips", "chips", chips),
        Quantity("gpus", "GPUs", t["gpus"], "GPUs", ",.0f"),
        Quantity("systems", "systems", t["systems"], "systems", ",.0f"),
        Quantity(
            "facility_power_mw",
            "peak facility power (design-day PUE)",
            t["facility_power_mw"],
            "MW",
            ",.2f",
            note=f"grid limit {grid_mw:g} MW"
            if t.get("grid_power_mw") == t["facility_power_mw"]
            else f"{t.get('grid_power_mw', 0):,.2f} MW on the site grid (design-day PUE, rented "
            f"systems off site) of its {grid_mw:g} MW limit",
        ),
        Quantity("energy_mwh", "energy", t["energy_mwh"], "MWh", ",.0f"),
        Quantity("pricing", "pricing", plan.pricing, note="candidates.pricing"),
        Quantity("cost_usd", f"cost ({plan.pricing})", t["cost_usd"], "USD", ",.0f"),
        Quantity(
            "cluster_capex_usd",
            "cluster capex up front",
            t.get("cluster_capex_usd"),
            "USD",
            ",.0f",
            note="in the cost" if plan.pricing == "capex" else "not in the cost",
        ),
        Quantity("emissions_tco2", "emissions", t["emissions_tco2"], "tCO2", ",.0f"),
        Quantity("longest_days", "longest run", t["longest_days"], "days", ",.1f"),
    )


def _summary(plan: Any, title: str, sens: list[tuple[str, SensitivityResult]]) -> str:
    if not plan.feasible:
        return f"{title}: {plan.message}"
    goal = OBJECTIVE_LABELS.get(plan.objective, plan.objective)
    value = plan.objective_value
    if value is None:
        shown = ""
    elif plan.objective_unit == "USD":
        shown = f" ({money(value)})"
    else:
        shown = f" ({value:,.4g} {plan.objective_unit})"
    text = f"{title}. Plan for {goal}{shown}: {plan.message}"
    for label, s in sens[:1]:
        df = s.table[s.table["output"] == "days"].copy()
        df["abs"] = df["relative_change"].abs()
        if df["abs"].notna().any():
            top = df.loc[df["abs"].idxmax()]
            direction = "lower" if top["applied_change"] < 0 else "higher"
            text += (
                f" Largest lever on {label} at the planned GPUs: {top['factor']} "
                f"{abs(top['applied_change']):.0%} {direction} changes the "
                f"{OUTPUT_LABELS['days']} by {top['relative_change']:+.0%}."
            )
    return text


def _runs_table(rows: list[dict[str, Any]]) -> Table:
    services = any(r.get("workload") == "service" for r in rows)
    return Table(
        name="runs",
        title="The plan: chip and count per run"
        + (" and per inference service (at its peak demand)" if services else ""),
        columns=(
            Column("run", "Run or service" if services else "Run"),
            Column("chip", "Chip"),
            *([Column("workload", "Workload")] if services else []),
            Column("systems", "Systems", "systems", ",.0f"),
            Column("gpus", "GPUs", "GPUs", ",.0f"),
            Column("share", "Share of the run", "%", ".0%"),
            Column("days", "Training time", "days", ",.1f"),
            Column("deadline_days", "Deadline", "days", ",.1f"),
            Column("facility_power_mw", "Peak facility power", "MW", ",.2f"),
            Column("average_facility_power_mw", "Average facility power", "MW", ",.2f"),
            Column("energy_mwh", "Energy", "MWh", ",.0f"),
            Column("cost_usd", "Cost", "USD", ",.0f"),
            Column("capex_usd", "Capex (in the cost)", "USD", ",.0f"),
            Column("amortized_hardware_usd", "Amortised hardware", "USD", ",.0f"),
            Column("electricity_usd", "Electricity", "USD", ",.0f"),
            Column("rental_usd", "Rental", "USD", ",.0f"),
            Column("cluster_capex_usd", "Cluster capex up front", "USD", ",.0f"),
            Column("emissions_tco2", "Emissions", "tCO2", ",.0f"),
            Column("pricing", "Pricing"),
            Column("mfu", "MFU", "fraction", ".3g"),
            Column("pue", "Annual PUE (energy)", "ratio", ".3g"),
            *(
                [
                    Column("systems_needed", "Systems for the peak", "systems", ",.1f"),
                    Column("tpot_s", "Time per output token", "s", ".3g"),
                    Column("wh_per_query", "Energy per query", "Wh", ".3g"),
                ]
                if services
                else []
            ),
        ),
        rows=tuple(rows),
    )


_TOTAL_UNITS = {
    "systems": ("systems", "systems", ",.0f"),
    "gpus": ("GPUs", "GPUs", ",.0f"),
    "facility_power_mw": ("peak facility power (all systems, design-day PUE)", "MW", ",.3f"),
    "grid_power_mw": ("peak on the site grid (design-day PUE; bought only)", "MW", ",.3f"),
    "energy_mwh": ("energy", "MWh", ",.0f"),
    "cost_usd": ("cost in the pricing in force", "USD", ",.0f"),
    "capex_usd": ("capex in the cost (pricing capex)", "USD", ",.0f"),
    "amortized_hardware_usd": ("amortised hardware (pricing amortized)", "USD", ",.0f"),
    "electricity_usd": ("electricity", "USD", ",.0f"),
    "rental_usd": ("rental (pricing rent)", "USD", ",.0f"),
    "cluster_capex_usd": ("cluster capex up front (any pricing)", "USD", ",.0f"),
    "emissions_tco2": ("emissions", "tCO2", ",.0f"),
    "longest_days": ("longest run", "days", ",.2f"),
    "longest_fraction_of_deadline": ("longest run / its deadline", "fraction", ".3f"),
}


def _totals_table(totals: dict[str, Any]) -> Table:
    rows = []
    for key, value in totals.items():
        label, unit, fmt = _TOTAL_UNITS.get(key, (key.replace("_", " "), "", ""))
        rows.append({"quantity": label, "key": key, "value": value, "unit": unit, "_fmt": fmt})
    return Table(
        name="totals",
        title="Totals over the runs",
        columns=KV_COLUMNS,
        rows=tuple(rows),
    )


def _binding_text(value: Any) -> str:
    return "not tested" if value is None else "yes" if value else "no"


def _constraints_table(rows: list[dict[str, Any]]) -> Table:
    out = []
    for r in rows:
        frac = r.get("slack_fraction")
        out.append(
            {
                **r,
                "used_fraction": None if frac is None else 1.0 - frac,
                "binding_status": _binding_text(r.get("binding")),
            }
        )
    return Table(
        name="constraints",
        title="Limits: use, slack and whether they bind",
        columns=(
            Column("constraint", "Limit"),
            Column("unit", "Unit"),
            Column("limit", "Limit value", fmt=",.4g"),
            Column("used", "Used", fmt=",.4g"),
            Column("slack", "Slack", fmt=",.4g"),
            Column("used_fraction", "Used", "% of limit", ".1%"),
            Column("binding_status", "Binding"),
            Column("objective_if_10pct_looser", "Objective if 10% looser", fmt=",.4g"),
            *(
                [
                    Column("binds_for", "Binds for"),
                    Column("objective_without_limit", "Objective without the limit", fmt=",.4g"),
                ]
                if any("binds_for" in r for r in rows)
                else []
            ),
        ),
        rows=tuple(out),
        section="constraints",
        note="A grid, budget, supply or rack limit binds when re-solving with it 10% looser "
        "improves the objective ('not tested' when the time limit left no time for that "
        "re-solve); a deadline binds when one system fewer would miss it. The grid counts the "
        "bought systems at the design-day PUE; rented systems are off site.",
    )


def _relaxations_table(rows: list[dict[str, Any]]) -> Table:
    return Table(
        name="relaxations",
        title="What it would take: the least change of each limit alone that gives a plan",
        columns=(
            Column("relax", "Relax"),
            Column("unit", "Unit"),
            Column("current", "Current", fmt=",.4g"),
            Column("needed", "Needed", fmt=",.4g"),
            Column("change", "Change", fmt=",.4g"),
            Column("works", "Works"),
            Column("detail", "Detail"),
        ),
        rows=tuple(rows),
        section="constraints",
        note="Found by re-solving the model with each limit relaxed on its own "
        "(planner.optimization); amounts are rounded up, so the value shown works as written. "
        "The deadline rows are one common stretch of every deadline (ratios kept), not a "
        "relaxation of each run alone.",
    )


def _comparison_table(rows: list[dict[str, Any]], chosen: set[tuple[str, str]]) -> Table:
    out = [
        {**r, "label": f"{r['run']} / {r['chip']}", "chosen": (r["run"], r["chip"]) in chosen}
        for r in rows
    ]
    return Table(
        name="candidates",
        title="Every candidate chip alone, per run, at the run's deadline",
        columns=(
            Column("run", "Run"),
            Column("chip", "Chip"),
            Column("chosen", "In the plan"),
            *std("gpus", "systems", "days", "facility_power_mw", "energy_mwh", "cost_usd"),
            Column("emissions_tco2", "Emissions", "tCO2", ",.0f"),
            Column("mfu", "MFU", "fraction", ".3g"),
            Column("pue", "Annual PUE (energy)", "ratio", ".3g"),
            Column("fits_grid", "Fits grid"),
            Column("fits_budget", "Fits budget"),
            Column("fits_supply", "Fits supply"),
            Column("note", "Note"),
        ),
        rows=tuple(out),
        section="comparison",
        note="Why the optimiser chose what it chose: each chip on its own.",
    )


def _assumptions(
    sc: Any, path: str | Path, sized: dict[tuple[str, str], SizingResult]
) -> tuple[dict[str, Any], ...]:
    src = str(path)
    rows: list[dict[str, Any]] = [
        {
            "name": "site.grid_limit_mw",
            "value": sc.site.grid_limit_mw,
            "unit": "MW",
            "source": f"{src}: site.grid_limit_mw",
        },
        {
            "name": "objective",
            "value": sc.objective,
            "unit": "",
            "source": f"{src}: objective",
        },
        {
            "name": "allow_mixed_chips",
            "value": sc.allow_mixed_chips,
            "unit": "",
            "source": f"{src}: allow_mixed_chips",
        },
    ]
    if sc.budget_usd is not None:
        rows.append(
            {
                "name": "budget_usd",
                "value": sc.budget_usd,
                "unit": "USD",
                "source": f"{src}: budget_usd",
            }
        )
    if sc.site.max_racks is not None:
        rows.append(
            {
                "name": "site.max_racks",
                "value": sc.site.max_racks,
                "unit": "racks",
                "source": f"{src}: site.max_racks",
            }
        )
    for chip, cap in sc.candidates.supply_gpus.items():
        rows.append(
            {
                "name": f"candidates.supply_gpus.{chip}",
                "value": cap,
                "unit": "GPUs",
                "source": f"{src}: candidates.supply_gpus",
            }
        )
    for i, run in enumerate(sc.runs):
        rows.append(
            {
                "name": f"runs[{i}].deadline_days ({run.name})",
                "value": run.deadline_days,
                "unit": "days",
                "source": f"{src}: runs[{i}].deadline_days",
            }
        )
    # per (run, chip): the core's list of every value used, merged where identical
    merged: dict[tuple[str, str, str, str], list[str]] = {}
    for (run_name, chip_id), res in sized.items():
        for name, item in res.assumptions.items():
            key = (name, json.dumps(item["value"], default=str), item["unit"], item["source"])
            merged.setdefault(key, []).append(f"{run_name} on {chip_id}")
    everyone = len(sized)
    for (name, value, unit, source), subjects in merged.items():
        shown = name if len(subjects) == everyone else f"{name} [{', '.join(subjects)}]"
        rows.append({"name": shown, "value": json.loads(value), "unit": unit, "source": source})
    return tuple(rows)
