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

from planner._arrays import to_python
from planner.catalog import Catalog, load_catalog
from planner.optimization.objectives import objective_words
from planner.reports import builder as b
from planner.reports._format import money
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Quantity,
    Report,
    Table,
    input_file,
)
from planner.sensitivity import DEFAULT_SWING, SensitivityResult, sensitivity
from planner.sizing import SizingResult
from planner.workloads import TrainingRun

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
        f"Optimised plan - objective: {objective_words(plan.objective)}; "
        f"pricing {plan.pricing}; solver {plan.solver}; status {plan.status}; scenario {path}"
    )
    rb = b.ReportBuilder("plan", command)
    if runs_rows:
        rb.add(
            _runs_table(runs_rows),
            b.kv_table(
                plan.totals,
                plan.totals,
                name="totals",
                title="Totals over the runs",
                aliases=ALIASES,
            ),
        )
    if not plan.constraints.empty:
        rb.add(_constraints_table(_records(plan.constraints)))
    if not plan.relaxations.empty:
        rb.add(_relaxations_table(_records(plan.relaxations)))
    chosen = {(r["run"], r["chip"]) for r in runs_rows}
    rb.add(_comparison_table(comparison_rows, chosen))
    if sens:
        rb.add(*b.sensitivity_tables(sens))
    if runs_rows and not plan.constraints.empty:
        rb.chart(
            Chart(
                name="limits",
                title="How much of each limit the plan uses",
                kind="bar",
                table="constraints",
                encoding={"x": "used_fraction", "y": "constraint", "highlight": "binding"},
                caption="Binding limits highlighted: loosening them would improve the objective.",
            )
        )
    rb.chart(
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
        rb.chart(
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
    rb.note(
        *plan.notes,
        "Runs are concurrent: each on its own cluster, all drawing peak power at the same time "
        f"(planner.optimization). Pricing {plan.pricing}: "
        + _PRICING_CHARGE.get(plan.pricing, "as the scenario's candidates.pricing")
        + ".",
        *(n for _, s in sens for n in s.notes),
    )
    if sens:
        rb.note(
            "Sensitivity keeps the planned GPUs and re-sizes each run with the core: the days "
            "move, the hardware does not (re-optimising is a new plan)."
        )
    return rb.build(
        title=title,
        subtitle=subtitle,
        summary=_summary(plan, title, sens),
        headline=_headline(plan, payload, sc.site.grid_limit_mw),
        assumptions=_assumptions(sc, path, sized),
        inputs=_inputs(path, cat),
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
    return b.inputs(
        input_file("site scenario", path),
        cat.path,
        "default assumptions",
        "facility profiles",
        "chip prices and rents",
        "economics (service life, utilisation, cost of capital)",
    )


def _headline(plan: Any, payload: dict[str, Any], grid_mw: float) -> tuple[Quantity, ...]:
    t = payload["totals"]
    status = Quantity("status", plan.status, note=f"solver {plan.solver}")
    if not t:
        needed = None
        rel = plan.relaxations
        if "grid_limit_mw" in rel.index and bool(rel.loc["grid_limit_mw", "works"]):
            needed = to_python(rel.loc["grid_limit_mw", "needed"])
        return (
            status,
            Quantity("grid_limit_mw", grid_mw),
            Quantity(
                "needed_grid_mw",
                needed,
                note="least grid that gives a plan" if needed is not None else "",
            ),
        )
    chips = ", ".join(dict.fromkeys(r["chip"] for r in payload["runs"]))
    on_grid = t.get("grid_power_mw", 0)
    return (
        status,
        Quantity("chips", chips),
        Quantity("gpus", t["gpus"]),
        Quantity("systems", t["systems"]),
        Quantity(
            "facility_power_mw",
            t["facility_power_mw"],
            note=f"grid limit {grid_mw:g} MW"
            if on_grid == t["facility_power_mw"]
            else f"{on_grid:,.2f} MW on the site grid (design-day PUE, rented "
            f"systems off site) of its {grid_mw:g} MW limit",
        ),
        Quantity("energy_mwh", t["energy_mwh"]),
        Quantity("pricing", plan.pricing, note="candidates.pricing"),
        Quantity("cost_usd", t["cost_usd"], note=plan.pricing),
        Quantity(
            "cluster_capex_usd",
            t.get("cluster_capex_usd"),
            note="in the cost" if plan.pricing == "capex" else "not in the cost",
        ),
        Quantity("emissions_tco2", t["emissions_tco2"]),
        Quantity("longest_days", t["longest_days"]),
    )


def _summary(plan: Any, title: str, sens: list[tuple[str, SensitivityResult]]) -> str:
    if not plan.feasible:
        return f"{title}: {plan.message}"
    goal = objective_words(plan.objective)
    value = plan.objective_value
    if value is None:
        shown = ""
    elif plan.objective_unit == "USD":
        shown = f" ({money(value)})"
    else:
        shown = f" ({value:,.4g} {plan.objective_unit})"
    text = f"{title}. Plan for {goal}{shown}: {plan.message}"
    for label, s in sens[:1]:
        lever = b.largest_lever(s, "days", f" on {label} at the planned GPUs")
        if lever:
            text += " " + lever
    return text


#: Keys of the plan's frames named otherwise in the vocabulary.
ALIASES = {"electricity_usd": "electricity_cost_usd", "rental_usd": "rental_cost_usd"}
RUN_KEYS = (
    "systems",
    "gpus",
    "share",
    "days",
    "deadline_days",
    "facility_power_mw",
    "average_facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "capex_usd",
    "amortized_hardware_usd",
    "electricity_usd",
    "rental_usd",
    "cluster_capex_usd",
    "emissions_tco2",
    "pricing",
    "mfu",
    "pue",
)
SERVICE_KEYS = ("systems_needed", "tpot_s", "wh_per_query")


def _column(key: str) -> Column:
    return Column(key, name=ALIASES.get(key, ""))


def _runs_table(rows: list[dict[str, Any]]) -> Table:
    services = any(r.get("workload") == "service" for r in rows)
    return Table(
        name="runs",
        title="The plan: chip and count per run"
        + (" and per inference service (at its peak demand)" if services else ""),
        columns=(
            Column.plain("run", "Run or service" if services else "Run"),
            Column("chip", name="accelerator"),
            *([Column("workload")] if services else []),
            *(_column(k) for k in RUN_KEYS),
            *(_column(k) for k in (SERVICE_KEYS if services else ())),
        ),
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
            Column.plain("constraint", "Limit"),
            b.UNIT,
            *(Column(k) for k in ("limit", "used", "slack", "used_fraction")),
            Column.plain("binding_status", "Binding"),
            Column("objective_if_10pct_looser"),
            *(
                [Column.plain("binds_for", "Binds for"), Column("objective_without_limit")]
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
            Column.plain("relax", "Relax"),
            b.UNIT,
            *(Column(k) for k in ("current", "needed", "change")),
            Column.plain("works", "Works"),
            Column.plain("detail", "Detail"),
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
            Column.plain("run", "Run"),
            Column("chip", name="accelerator"),
            Column.plain("chosen", "In the plan"),
            *(
                Column(k)
                for k in (
                    "gpus",
                    "systems",
                    "days",
                    "facility_power_mw",
                    "energy_mwh",
                    "cost_usd",
                    "emissions_tco2",
                    "mfu",
                    "pue",
                )
            ),
            Column.plain("fits_grid", "Fits grid"),
            Column.plain("fits_budget", "Fits budget"),
            Column.plain("fits_supply", "Fits supply"),
            b.NOTE,
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
