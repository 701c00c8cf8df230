"""Build-out report: where and when to install which chips over sites and quarters.

Every number comes from :func:`planner.optimization.buildout.plan_buildout` (its
:class:`BuildoutPlan`: installs, power, runs, schedule, utilisation, serving, costs, energy,
built options, binding limits and relaxations as DataFrames, and ``to_dict()``). This module
only arranges them as tables and charts: it re-solves and re-sums nothing (the charts' totals
per quarter are the chart engine's sums of the rows shown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from planner._arrays import to_python
from planner.reports import builder as b
from planner.reports._format import money
from planner.reports.model import Chart, Column, InputFile, Quantity, Report, Table, input_file

#: ``planner buildout``'s defaults (its --time-limit-s and --mip-gap), so a report and the
#: command give the same plan.
TIME_LIMIT_S = 120.0
MIP_REL_GAP = 0.01

OBJECTIVE_WORDS = {
    "cost": "least discounted total cost",
    "compute": "most compute under the yearly budget",
    "finish": "earliest finish",
}
RUN = Column.plain("run", "Run")
CHIP = Column("chip", name="accelerator")
TOTAL_KEYS = (
    "cost_usd",
    "discounted_cost_usd",
    "energy_mwh",
    "emissions_tco2",
    "compute_eflop_days",
    "gpus_installed",
    "quarter_days",
)


def _records(frame: pd.DataFrame) -> tuple[dict[str, Any], ...]:
    return tuple({k: to_python(v) for k, v in r.items()} for r in frame.to_dict(orient="records"))


def _table(
    frame: pd.DataFrame,
    name: str,
    title: str,
    columns: tuple[Column, ...],
    *,
    section: str = "results",
    note: str = "",
) -> Table:
    return Table(
        name=name,
        title=title,
        columns=columns,
        rows=_records(frame),
        section=section,
        note=note,
    )


def build_buildout_report(
    path: str | Path,
    *,
    objective: str | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
    command: str = "",
) -> Report:
    """Plan the build-out at ``path`` (a file or a shipped name) and arrange it as a report.

    ``report.data["buildout"]`` is what ``planner buildout FILE --json`` prints (timings
    aside). With no plan (infeasible), the report holds the minimal relaxations.
    """
    from planner.optimization.buildout import buildout_path, load_buildout, plan_buildout

    file = buildout_path(path)
    sc = load_buildout(file)
    plan = plan_buildout(
        sc, objective=objective, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap
    )
    payload = {"buildout": str(file), "title": sc.title, **plan.to_dict()}
    title = sc.title or file.stem
    goal = OBJECTIVE_WORDS.get(plan.objective, plan.objective)
    quarters = plan.quarters
    span = f"{quarters[0]} to {quarters[-1]}" if quarters else ""
    subtitle = (
        f"Build-out plan - objective: {goal}; {span}; solver HiGHS; status {plan.status}; "
        f"file {file}"
    )
    rb = b.ReportBuilder("buildout", command)
    if plan.feasible:
        _add_plan(rb, plan)
    if not plan.binding.empty:
        rb.add(
            _table(
                plan.binding,
                "binding",
                "Binding limits: what stops a better plan",
                (
                    Column.plain("limit", "Limit"),
                    Column("site"),
                    Column("quarter"),
                    Column("used"),
                    Column("available"),
                    b.UNIT,
                    Column.plain("words", "In words"),
                ),
                section="constraints",
                note="A site's power binds when less than one more system fits in what is "
                "available; deliveries bind when every GPU delivered is installed."
                if plan.feasible
                else "No plan exists: these are the limits the relaxations below move.",
            )
        )
    if not plan.relaxations.empty:
        together = bool(plan.relaxations["together"].any())
        rb.add(
            _table(
                plan.relaxations,
                "relaxations",
                "What it would take: limits to relax together, as one combination that gives a plan"
                if together
                else "What it would take: the least change of each limit alone that gives a plan",
                (
                    Column.plain("limit", "Relax"),
                    Column("current"),
                    Column("needed"),
                    b.UNIT,
                    Column.plain("words", "In words"),
                ),
                section="constraints",
                note=(
                    "No limit relaxed on its own gives a plan: found by relaxing every limit, "
                    "keeping only those without which no plan exists, then moving each as "
                    "little as the others allow (planner.optimization.diagnose); following all "
                    "of them as written works."
                    if together
                    else "Found by re-solving the build-out with each limit relaxed on its own "
                    "(planner.optimization.diagnose); amounts are rounded so that following one "
                    "as written works."
                ),
            )
        )
    rb.note(
        *plan.notes,
        "The power limit of each site and quarter is the design-day peak (IT nameplate x "
        "design-day PUE) within grid + upgrades + on-site plants + batteries; energy, fuel and "
        "emissions use the annual PUE.",
    )
    return rb.build(
        title=title,
        subtitle=subtitle,
        summary=_summary(plan, title, goal),
        headline=_headline(plan),
        assumptions=_assumptions(sc, file, plan),
        inputs=_inputs(file),
        data={"buildout": payload},
    )


def _add_plan(rb: b.ReportBuilder, plan: Any) -> None:
    rb.add(
        b.kv_table(
            plan.totals,
            [k for k in TOTAL_KEYS if k in plan.totals],
            name="totals",
            title="Totals over the horizon",
        ),
        _table(
            plan.installs,
            "installs",
            "Installs by site, chip and quarter",
            (
                Column("site"),
                CHIP,
                Column("quarter"),
                Column("systems"),
                Column("gpus"),
                Column("retired_systems"),
                Column("running_systems"),
                Column("running_gpus"),
            ),
        ),
        _table(
            plan.power,
            "power",
            "Power by site and quarter: the design-day peak against what is available",
            (
                Column("site"),
                Column("quarter"),
                *(
                    Column(k)
                    for k in (
                        "it_power_mw",
                        "facility_power_mw",
                        "sustained_power_mw",
                        "available_mw",
                        "grid_connection_mw",
                        "grid_upgrades_mw",
                        "onsite_generation_mw",
                        "battery_mw",
                        "floor_it_mw",
                        "pue",
                        "design_pue",
                    )
                ),
            ),
            note="Power available = grid connection + grid upgrades + on-site generation + "
            "batteries online in the quarter.",
        ),
        _table(
            plan.runs,
            "runs",
            "Training runs: where and when each finishes",
            (RUN, Column("site"), Column("finish_quarter"), Column("deadline_quarter")),
        ),
        _table(
            plan.schedule,
            "schedule",
            "Each run's schedule: systems and share of its work by quarter",
            (
                RUN,
                Column("site"),
                CHIP,
                Column("quarter"),
                Column("systems", name="training_systems"),
                Column("gpus"),
                Column("share_of_work"),
            ),
        ),
        _table(
            plan.utilisation,
            "utilisation",
            "Utilisation of the running systems",
            (
                Column("site"),
                CHIP,
                Column("quarter"),
                Column("running_systems"),
                Column("training_systems"),
                Column("serving_systems"),
                Column("utilisation"),
            ),
        ),
    )
    if not plan.serving.empty:
        rb.add(
            _table(
                plan.serving,
                "serving",
                "Inference services: users served by quarter",
                (
                    Column("service"),
                    Column("quarter"),
                    Column("users"),
                    Column("unmet_users"),
                    Column("served_share"),
                ),
            )
        )
    rb.add(
        _table(
            plan.costs,
            "costs",
            "Cost by component and year",
            (
                Column("component"),
                Column("year"),
                Column("cost_usd"),
                Column("discounted_cost_usd"),
                Column("in_budget"),
            ),
        ),
        _table(
            plan.energy,
            "energy",
            "Energy and emissions by site and quarter",
            (
                Column("site"),
                Column("quarter"),
                Column("energy_mwh"),
                Column("grid_mwh"),
                Column("onsite_mwh"),
                Column("average_facility_power_mw"),
                Column("emissions_tco2"),
            ),
        ),
    )
    if not plan.built.empty:
        rb.add(
            _table(
                plan.built,
                "built",
                "What was built: grid upgrades, plants and batteries",
                (
                    Column("site"),
                    Column("name", name="option_name"),
                    Column("kind", name="option_kind"),
                    Column("units", name="units_built"),
                    Column("mw", name="built_mw"),
                    Column("decided_quarter"),
                    Column("online_quarter"),
                    Column("cost_usd"),
                ),
            )
        )
    rb.chart(
        Chart(
            name="power_by_site",
            title="Design-day peak by site against the power available, per quarter",
            kind="area",
            table="power",
            encoding={
                "x": "quarter",
                "y": "facility_power_mw",
                "color": "site",
                "total": "available_mw",
            },
            caption="Areas: each site's design-day peak, stacked; dashed line: the power "
            "available at every site together.",
        ),
        Chart(
            name="installs_by_chip",
            title="GPUs installed per quarter, by chip",
            kind="stacked",
            table="installs",
            encoding={"x": "quarter", "y": "gpus", "color": "chip"},
            caption="Every site together.",
        ),
        Chart(
            name="run_schedule",
            title="Each run's schedule: share of its work done in each quarter",
            kind="heat",
            table="schedule",
            encoding={"x": "quarter", "y": "run", "color": "share_of_work"},
        ),
        Chart(
            name="cost_per_year",
            title="Cost per year, by component",
            kind="stacked",
            table="costs",
            encoding={"x": "year", "y": "cost_usd", "color": "component"},
            caption="Undiscounted; the table gives the discounted cost too.",
        ),
    )


def _headline(plan: Any) -> tuple[Quantity, ...]:
    status = Quantity("status", plan.status, note="HiGHS")
    objective = Quantity("objective", plan.objective, name="buildout_objective")
    if not plan.feasible:
        return (status, objective)
    t = plan.totals
    chips = ", ".join(dict.fromkeys(str(c) for c in plan.installs["chip"]))
    return (
        status,
        objective,
        Quantity("chips", chips),
        Quantity("gpus_installed", t.get("gpus_installed")),
        Quantity("discounted_cost_usd", t.get("discounted_cost_usd")),
        Quantity("cost_usd", t.get("cost_usd"), note="undiscounted"),
        Quantity("energy_mwh", t.get("energy_mwh")),
        Quantity("emissions_tco2", t.get("emissions_tco2")),
        Quantity("compute_eflop_days", t.get("compute_eflop_days")),
        Quantity("gap", plan.gap, name="mip_gap"),
    )


def _summary(plan: Any, title: str, goal: str) -> str:
    if not plan.feasible:
        shown = "; ".join(str(w) for w in plan.relaxations.get("words", []) if w)
        text = f"{title}: no build-out fits every limit (status {plan.status})."
        if shown and bool(plan.relaxations["together"].any()):
            return f"{text} All of these together would: {shown}."
        if shown:
            return f"{text} Any one of these would: {shown}."
        if plan.status == "infeasible":
            return f"{text} No limit relaxed on its own gives a plan."
        return text
    t = plan.totals
    binding = "; ".join(str(w) for w in plan.binding.get("words", []) if w)
    text = (
        f"{title}. Plan for {goal}: {t.get('gpus_installed', 0):,.0f} GPUs installed for "
        f"{money(t.get('discounted_cost_usd'))} discounted ({money(t.get('cost_usd'))} "
        "undiscounted)."
    )
    return f"{text} Binding: {binding}." if binding else text


def _assumptions(sc: Any, file: Path, plan: Any) -> tuple[dict[str, Any], ...]:
    """The build-out file's own values: objective, horizon, chips, discount rate, budget."""
    from planner.data_errors import read_toml

    raw = read_toml(file)
    src = str(file)
    rows: list[dict[str, Any]] = [
        {"name": "objective", "value": plan.objective, "unit": "", "source": f"{src}: objective"},
        {
            "name": "start",
            "value": plan.quarters[0] if plan.quarters else None,
            "unit": "",
            "source": f"{src}: start",
        },
        {
            "name": "quarters",
            "value": len(plan.quarters),
            "unit": "quarters",
            "source": f"{src}: quarters",
        },
    ]
    for key, unit in (
        ("chips", ""),
        ("discount_rate_per_year", "fraction"),
        ("budget_usd_per_year", "USD"),
        ("finish_run", ""),
    ):
        if key in raw:
            value = raw[key]
            rows.append(
                {
                    "name": key,
                    "value": ", ".join(map(str, value)) if isinstance(value, list) else value,
                    "unit": unit,
                    "source": f"{src}: {key}",
                }
            )
    for i, site in enumerate(raw.get("sites", [])):
        for key in ("pue", "electricity_usd_per_mwh"):
            if key in site:
                rows.append(
                    {
                        "name": f"sites[{i}].{key} ({site.get('name', i)})",
                        "value": site[key],
                        "unit": "USD/MWh" if key.endswith("_mwh") else "",
                        "source": f"{src}: sites[{i}].{key}",
                    }
                )
    return tuple(rows)


def _inputs(file: Path) -> tuple[InputFile, ...]:
    from planner.catalog import load_catalog

    return b.inputs(
        input_file("build-out", file),
        load_catalog().path,
        "default assumptions",
        "facility profiles",
        "chip prices and rents",
        "economics (service life, utilisation, cost of capital)",
    )
