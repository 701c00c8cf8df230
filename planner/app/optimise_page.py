"""Page "Optimise": a site scenario as editable tables, the plan, its limits and its Pareto chart.

The scenario (runs, candidate chips, limits) comes from an example file of ``data/scenarios``
and is shown as three ``st.data_editor`` tables. Every edit goes through the core's
validator (:func:`planner.scenarios.scenario_from_dict`): a bad cell shows ``st.error`` with
the core's message naming the field (``runs[0].deadline_days``), never a traceback. The
optimiser (:mod:`planner.optimization`) runs inside cached calls of
:mod:`planner.app.compute` keyed by the scenario's canonical JSON, and returns plain frames:
no solver object reaches the page or another session.

The page solves once on first view, then when the Solve button is pressed. An infeasible
scenario is a plan too: its minimal relaxations (more grid, a longer deadline, another chip)
are shown in words. The tables, the solved scenario and the choices survive a page switch.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner import quantities
from planner.app import charts, compute, layout, share, sidebar
from planner.app import formatting as fmt
from planner.assumptions import PRICING_MODES, default_table
from planner.catalog import PRECISIONS, load_catalog
from planner.errors import PlannerError
from planner.optimization import OBJECTIVES
from planner.optimization.objectives import objective_words

FILE = "opt_file"
OBJECTIVE = "opt_objective"
PRICING = "opt_pricing"
MIXED = "opt_mixed"
SOLVE = "opt_solve"
#: Widget keys of the editable tables (tests seed their edit state under these keys).
EDITORS = {"runs": "opt_runs", "candidates": "opt_candidates", "limits": "opt_limits"}
#: The scenario whose plan is on screen: ``key`` (canonical JSON), ``source``, ``file``,
#: ``edited``. The Reports page reads it.
SOLVED = "opt_solved"
#: Plain session state (survives page switches, unlike widget state).
_TABLES = "_opt_tables"  # the tables as last edited, by file
_BASES = "_opt_bases"  # the frames the editors are drawn from
_KEEP = "_keep_"  # prefix of the copies of this page's widget values

#: The pricing picker offers the core's modes (:data:`planner.assumptions.PRICING_MODES`).
PRICING_LABELS = {
    "amortized": "amortized (hardware's share of its life + electricity, on site)",
    "capex": "capex (whole purchase + electricity, on site)",
    "rent": "rent (GPU-hours, off site)",
}
#: What the plan's cost is under each pricing (the Cost metric's help).
PRICING_COST_HELP = {
    "amortized": "amortised hardware (servers, networking, facility share over their service "
    "life, for the run's hours) + electricity",
    "capex": "the whole cluster capex bought in full + electricity",
    "rent": "GPU-hours at rent (power included)",
}


#: A scenario's or a link's pricing as one of PRICING_MODES (former names mapped).
normalised_pricing = share.normalised_pricing


#: Shown in an empty table cell (a default applies, or no limit).
EMPTY = "-"
_WIDGETS = (FILE, OBJECTIVE, PRICING, MIXED)


# --- session state ----------------------------------------------------------------------------


def _file_defaults(name: str) -> dict[str, Any]:
    raw = compute.scenario_raw(name)
    return {
        OBJECTIVE: raw.get("objective", "cost"),
        PRICING: share.file_pricing(raw),
        MIXED: bool(raw.get("allow_mixed_chips", False)),
    }


def _restore_widgets() -> None:
    """Give this page's widgets their last values (Streamlit drops them on a page switch)."""
    if FILE not in st.session_state:
        st.session_state[FILE] = st.session_state.get(_KEEP + FILE, compute.DEFAULT_SCENARIO)
    defaults = _file_defaults(st.session_state[FILE])
    for key in (OBJECTIVE, PRICING, MIXED):
        if key not in st.session_state:
            st.session_state[key] = st.session_state.get(_KEEP + key, defaults[key])
    if st.session_state[PRICING] not in PRICING_MODES:  # a former name (old session or link)
        st.session_state[PRICING] = normalised_pricing(st.session_state[PRICING])


def _keep_widgets() -> None:
    for key in _WIDGETS:
        st.session_state[_KEEP + key] = st.session_state.get(key)


def _on_file_change() -> None:
    """Callback: a new example file resets the tables, the choices and the plan."""
    name = st.session_state[FILE]
    for key, value in _file_defaults(name).items():
        st.session_state[key] = value
    for key in (_TABLES, _BASES, SOLVED, *EDITORS.values()):
        if key in st.session_state:
            del st.session_state[key]


def _editor_bases(name: str) -> dict[str, pd.DataFrame]:
    """The frames to draw the editors from.

    While an editor is on screen its base stays the same object (its edits are deltas on it).
    When its state is gone (first view, or back from another page) it is redrawn from the
    tables as last edited, so no edit is lost and none is applied twice.
    """
    tables = st.session_state.get(_TABLES)
    if tables is None or tables.get("file") != name:
        tables = {"file": name, **compute.scenario_tables(compute.scenario_raw(name))}
    bases = st.session_state.get(_BASES)
    if bases is None or bases.get("file") != name:
        bases = {"file": name}
    for table, key in EDITORS.items():
        if key not in st.session_state or table not in bases:
            bases[table] = tables[table]
    st.session_state[_BASES] = bases
    return bases


# --- the tables -------------------------------------------------------------------------------


def _defaults_caption() -> str:
    table = default_table()
    return (
        "Empty cells (-) mean no limit (budget, supply, racks), the price of "
        "data/chip_economics.csv, MFU from the run model (fitted to published runs; "
        "`planner validate`), or the defaults of data/assumptions.csv: "
        f"goodput {table['goodput'].value:g}, "
        f"annual PUE {table['pue'].value:g} (energy; the design-day PUE of the grid peak is the "
        "profile's, else 1 + (PUE - 1) x "
        f"{table['design_pue_overhead_ratio'].value:g}), electricity "
        f"{table['electricity_usd_per_mwh'].value:g} "
        f"USD/MWh, grid {table['grid_gco2_per_kwh'].value:g} gCO2/kWh. Give the work as FLOPs, "
        "or parameters (and active parameters for a mixture of experts) with tokens, not both. "
        "Numbers as you write them: 2.15e25, 1,800 (units in the headers). "
        "MFU and PUE take one number or per-chip/per-hall pairs (`h100=0.2, gb200=0.32`; "
        "`air=colocation-air, liquid=hyperscale-liquid`, profiles of data/facility.csv)."
    )


def _with_unit(name: str) -> str:
    """A table header with the unit even where the vocabulary's label leaves it out:
    ``MFU (fraction)``, ``Annual PUE (ratio)``."""
    return f"{quantities.label(name)} ({quantities.quantity(name).unit})"


def _tables(bases: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    text = st.column_config.TextColumn
    st.markdown("**Runs** (trained at the same time, each on its own cluster)")
    runs = st.data_editor(
        bases["runs"],
        key=EDITORS["runs"],
        placeholder=EMPTY,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "name": text(quantities.label("run"), help="A unique name"),
            "flops": text(
                quantities.label("flops", short=True), help="Total training compute, e.g. 2.15e25"
            ),
            "params_b": text(
                f"{quantities.label('params', unit=False)} (billions)", help="e.g. 1800 for 1.8T"
            ),
            "active_params_b": text(
                f"{quantities.label('active_params', unit=False)} (billions)",
                help="Mixture of experts: parameters each token uses (empty: dense)",
            ),
            "tokens_t": text("Tokens (trillions)", help="e.g. 13 for 1.3e13 tokens"),
            "deadline_days": text(quantities.label("deadline_days")),
            "precision": st.column_config.SelectboxColumn(
                quantities.label("precision"), options=list(PRECISIONS)
            ),
            "mfu": text(
                _with_unit("mfu"),
                help="One number in (0, 1], or chip=value pairs with an optional default=",
            ),
            "goodput": text(_with_unit("goodput")),
        },
    )
    st.markdown("**Candidate chips** (the optimiser picks among them)")
    candidates = st.data_editor(
        bases["candidates"],
        key=EDITORS["candidates"],
        placeholder=EMPTY,
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "chip": st.column_config.SelectboxColumn(
                quantities.label("chip"), options=load_catalog().ids
            ),
            "supply_gpus": text("Supply cap (GPUs)", help="Empty: no cap"),
            "price_usd_per_gpu": text("Price (USD per GPU)", help="Empty: the catalog's price"),
            "rent_usd_per_gpu_hour": text(
                "Rent (USD per GPU-hour)", help="Empty: the catalog's rent"
            ),
        },
    )
    st.markdown("**Limits** of the site")
    limits = st.data_editor(
        bases["limits"],
        key=EDITORS["limits"],
        placeholder=EMPTY,
        num_rows="fixed",
        hide_index=True,
        width="stretch",
        column_config={
            "grid_limit_mw": text(
                quantities.label("grid_limit_mw"), help="Peak facility power the grid supplies"
            ),
            "pue": text(
                _with_unit("pue"),
                help="Energy, cost and CO2: a number in [1, 3], a facility profile, or "
                "hall=value pairs",
            ),
            "design_pue": text(
                _with_unit("design_pue"),
                help="The grid peak, at least the annual PUE: a number, a facility profile "
                "(its design-day PUE) or hall=value pairs. Empty: the profile's, else derived "
                "from the annual PUE",
            ),
            "budget_usd": text(quantities.label("budget_usd"), help="Empty: no budget; e.g. 1.5e9"),
            "electricity_usd_per_mwh": text("Electricity (USD/MWh)"),
            "grid_gco2_per_kwh": text("Grid intensity (gCO2/kWh)"),
            "max_racks": text("Max racks (count)"),
        },
    )
    st.caption(_defaults_caption())
    return {"runs": runs, "candidates": candidates, "limits": limits}


# --- the plan ---------------------------------------------------------------------------------


#: The vocabulary quantity whose format a value in each of the core's units takes.
UNIT_QUANTITY = {
    "USD": "cost_usd",
    "MW": "facility_power_mw",
    "MWh": "energy_mwh",
    "tCO2": "emissions_tco2",
    "GPUs": "gpus",
    "days": "days",
    "racks": "systems",
}


def in_unit(value: Any, unit: str) -> str:
    """A value in one of the core's units, in the vocabulary's format and unit."""
    name = UNIT_QUANTITY.get(unit)
    if name is None:
        return f"{fmt.input_number(value)} {unit}".strip()
    text = fmt.value(name, value)
    return f"{text} racks" if unit == "racks" and text != fmt.UNKNOWN else text


def _objective_text(value: Any, unit: str) -> str:
    if value is None or pd.isna(value):
        return fmt.UNKNOWN
    if unit in UNIT_QUANTITY:
        return in_unit(value, unit)
    return f"{value:.3f} of the deadline"


def plan_pricing(result: dict[str, Any]) -> str:
    """The pricing in force of a plan result (its ``pricing``, else its rows'), or ""."""
    if result.get("pricing"):
        return str(result["pricing"])
    runs = result.get("runs")
    if isinstance(runs, pd.DataFrame) and "pricing" in runs and len(runs):
        return str(runs["pricing"].iloc[0])
    return ""


def _metrics(result: dict[str, Any]) -> None:
    t = result["totals"]
    pricing = plan_pricing(result)
    layout.metric_row(
        [
            fmt.metric("gpus", t["gpus"], "all runs, whole systems"),
            fmt.metric("systems", t["systems"]),
            fmt.metric(
                "facility_power_mw",
                t["facility_power_mw"],
                f"peak facility power of all runs at once; "
                f"{fmt.value('facility_power_mw', t.get('grid_power_mw', t['facility_power_mw']))} "
                f"of it on the site grid (design-day PUE, rented capacity off site) of the "
                f"{fmt.value('grid_mw', result['grid_limit_mw'])} limit",
            ),
            fmt.metric("longest_days", t["longest_days"]),
            fmt.metric("energy_mwh", t["energy_mwh"]),
            (
                fmt.label("cost_usd", unit=False) + (f" ({pricing})" if pricing else ""),
                fmt.value("cost_usd", t["cost_usd"]),
                PRICING_COST_HELP.get(pricing, "in the pricing in force"),
            ),
            (
                fmt.label("cluster_capex_usd", unit=False),
                fmt.value("cluster_capex_usd", t.get("cluster_capex_usd", float("nan"))),
                "up-front price of the plan's systems (servers, networking, facility share)"
                + {
                    "amortized": "; not in the cost, which carries only its share for the run",
                    "capex": "; in the cost",
                    "rent": "; not spent when renting: what buying them would cost",
                }.get(pricing, ""),
            ),
            fmt.metric("emissions_tco2", t["emissions_tco2"]),
            (
                "Objective",
                _objective_text(result["objective_value"], result["objective_unit"]),
                objective_words(result["objective"]),
            ),
        ]
    )


def _runs_table(runs: pd.DataFrame) -> None:
    st.dataframe(
        fmt.result_table(runs, ["run", "chip"], extra=["mfu", "pue", "design_pue"]),
        hide_index=True,
        key="opt_plan_table",
    )


def limit_sentence(row: dict[str, Any], objective_unit: str) -> str:
    """One limit of a plan in words: how much is used, and whether it binds and why."""
    name = str(row["constraint"])
    used, limit, slack = row["used"], row["limit"], row["slack"]
    if name == "grid_limit_mw":
        what = (
            f"Grid: {in_unit(used, 'MW')} of {in_unit(limit, 'MW')} at peak "
            f"({in_unit(slack, 'MW')} left)"
        )
    elif name == "budget_usd":
        what = (
            f"Budget: {in_unit(used, 'USD')} of {in_unit(limit, 'USD')} "
            f"({in_unit(slack, 'USD')} left)"
        )
    elif name.startswith("supply_gpus."):
        chip = name.split(".", 1)[1]
        what = f"Supply of {chip}: {fmt.cell('gpus', used)} of {in_unit(limit, 'GPUs')}"
    elif name == "max_racks":
        what = f"Racks: {fmt.cell('systems', used)} of {fmt.cell('systems', limit)}"
    elif name.startswith("deadline_days."):
        run = name.split(".", 1)[1]
        what = f"Deadline of {run}: done in {fmt.cell('days', used)} of {in_unit(limit, 'days')}"
        if row["binding"] is None or pd.isna(row["binding"]):
            return f"Not tested. {what}."
        if row["binding"]:
            return (
                f"**Binds.** {what}; one system fewer would miss it, so it sets the cluster size."
            )
        return f"Not binding. {what}."
    else:
        what = (
            f"{fmt.constraint_name(name).capitalize()}: {fmt.input_number(used)} of "
            f"{in_unit(limit, str(row.get('unit', '')))}"
        )
    looser = row.get("objective_if_10pct_looser")
    if row["binding"] is None or pd.isna(row["binding"]):
        return f"Not tested (the solver stopped before the re-solve). {what}."
    if row["binding"]:
        better = (
            f"; 10% more would improve the objective to {_objective_text(looser, objective_unit)}"
            if looser is not None and not pd.isna(looser)
            else "; without it the plan would change"
        )
        return f"**Binds.** {what}{better}."
    return f"Not binding. {what}."


def _limits(result: dict[str, Any]) -> None:
    st.subheader("Which limits bind")
    rows = result["constraints"].to_dict(orient="records")
    rows.sort(key=lambda r: 0 if r["binding"] is True else 1 if r["binding"] is False else 2)
    lines = [f"- {limit_sentence(r, result['objective_unit'])}" for r in rows]
    st.markdown("\n".join(lines))


def relaxation_lines(relaxations: pd.DataFrame) -> list[str]:
    """Each minimal relaxation of an infeasible plan as one line of text."""
    lines = []
    for r in relaxations.to_dict(orient="records"):
        key = str(r["relax"])
        if key == "grid_limit_mw":
            label = "More grid"
        elif key.startswith("deadline_days."):
            label = f"A longer deadline for {key.split('.', 1)[1]}"
        elif key.startswith("add_chip."):
            label = f"Add {key.split('.', 1)[1]} as a candidate"
        elif key == "budget_usd":
            label = "A larger budget"
        elif key.startswith("supply_gpus."):
            label = f"More {key.split('.', 1)[1]} supply"
        elif key == "max_racks":
            label = "More racks"
        else:
            label = fmt.constraint_name(key).capitalize()
        detail = fmt.plain(str(r["detail"]))
        current, needed = r.get("current"), r.get("needed")
        if r["works"] and not key.startswith("add_chip.") and needed is not None:
            if not pd.isna(current) and not pd.isna(needed):
                unit = str(r["unit"])
                detail += f" ({in_unit(current, unit)} -> {in_unit(needed, unit)})"
        lines.append(f"{label}: {detail}." if r["works"] else f"{label}: {detail} (not enough).")
    return lines


def _infeasible(result: dict[str, Any]) -> None:
    st.warning(fmt.plain(result["message"]), icon=":material/block:")
    lines = relaxation_lines(result["relaxations"])
    if lines:
        st.subheader("What would make it fit")
        st.markdown(
            "Each change on its own, the least that gives a plan (found by re-solving):\n\n"
            + "\n".join(f"- {line}" for line in lines)
        )


def _comparison(result: dict[str, Any]) -> None:
    frame = result["comparison"]
    if frame.empty:
        return
    st.subheader("Every candidate chip alone")
    chosen = set(zip(result["runs"]["run"], result["runs"]["chip"], strict=True))
    if frame["facility_power_mw"].notna().any():
        st.vega_lite_chart(
            spec=charts.candidates(frame, chosen, result["grid_limit_mw"]),
            key="opt_chart_candidates",
        )
    st.dataframe(
        fmt.result_table(
            frame, ["run", "chip"], extra=["fits_grid", "fits_budget", "fits_supply", "note"]
        ),
        hide_index=True,
        key="opt_comparison_table",
    )
    st.caption(
        "Each chip sized by the core for the whole run at its deadline, with the site's PUE "
        "and the run's MFU for that chip; whether it fits each limit on its own."
    )


def _pareto(solved: dict[str, Any], result: dict[str, Any]) -> None:
    st.subheader("Cost against the deadline")
    deadline = float(result["longest_deadline_days"])
    days = compute.pareto_days_values(
        deadline,
        result.get("shortest_deadline_days"),
        None if result["feasible"] else result["relaxations"],
    )
    try:
        with st.spinner(f"Re-solving at {len(days)} deadlines...", show_time=True):
            frame = compute.pareto_days(solved["key"], solved["source"], days)
    except PlannerError as err:
        st.info(f"No cost-vs-deadline chart for this scenario: {err}", icon=":material/info:")
        return
    missing = frame.loc[frame["cost_usd"].isna(), "days"].tolist()
    if len(missing) < len(frame):
        st.vega_lite_chart(spec=charts.pareto_days(frame, deadline), key="opt_chart_pareto")
    else:
        st.info(
            "No plan fits at any deadline from "
            f"{fmt.cell('days', min(days))} to {fmt.value('days', max(days))}: relax another limit "
            "(more grid, budget or supply) to see where plans begin.",
            icon=":material/info:",
        )
    known = frame["pricing"].dropna() if "pricing" in frame else pd.Series(dtype=object)
    pricing = str(known.iloc[0]) if len(known) else ""
    caption = (
        "Each point re-solves the scenario for least cost"
        + (f" ({pricing} pricing)" if pricing else "")
        + " with the longest deadline set to that many days (other runs' deadlines scaled in proportion). Joined points are Pareto-"
        "efficient: no other deadline is both shorter and cheaper. Ring: this scenario's "
        f"deadline ({deadline:g} days)."
    )
    if missing and len(missing) < len(frame):
        caption += " No plan fits at " + ", ".join(f"{d:g}" for d in missing) + " days."
    st.caption(caption)


# --- the page ---------------------------------------------------------------------------------


def _sidebar() -> None:
    """This page's inputs in the sidebar: the example, the objective, pricing, mixed chips."""
    with st.sidebar:
        st.header("Optimise")
        st.selectbox(
            "Example scenario",
            compute.scenario_names(),
            key=FILE,
            on_change=_on_file_change,
            format_func=lambda n: f"{n}: {compute.scenario_raw(n).get('title', '')}",
            help="A site scenario of data/scenarios; edit its tables on the page.",
        )
        st.selectbox(
            "Objective",
            list(OBJECTIVES),
            key=OBJECTIVE,
            format_func=objective_words,
            help="Ties are broken by cost, then GPUs.",
        )
        st.selectbox(
            "Pricing",
            list(PRICING_MODES),
            key=PRICING,
            format_func=lambda m: PRICING_LABELS.get(m, m),
            help="What the plan's cost, the cost objective and the budget are (as planner "
            "size --pricing). The plan always shows the cluster capex up front beside it.",
        )
        st.checkbox(
            "Mixed chips",
            key=MIXED,
            help="Let one run be split over several chip types (each pool trains its share).",
        )


def render() -> None:
    """Draw the page: the scenario tables, the Solve button, the plan, limits and Pareto."""
    sidebar.load()
    _restore_widgets()
    _sidebar()
    _keep_widgets()
    try:
        _render()
    finally:
        share.footer()


def _render() -> None:
    st.title("Optimise a cluster plan")
    share.panel()
    st.caption(
        "Which chips, and how many systems, train every run by its deadline within the site's "
        "grid, budget and supply at least cost, power, energy, emissions or time. A mixed-"
        "integer programme solved by HiGHS (planner.optimization)."
    )
    name = st.session_state[FILE]
    raw = compute.scenario_raw(name)
    st.caption(f"Scenario data/scenarios/{name}: {raw.get('title', '')}")
    if raw.get("description"):
        st.caption(raw["description"])
    tables = _tables(_editor_bases(name))
    st.session_state[_TABLES] = {"file": name, **tables}
    for sentence in compute.contradictions(tables["runs"]):
        st.warning(sentence, icon=":material/warning:")

    objective = st.session_state[OBJECTIVE]
    try:
        data = compute.scenario_from_tables(
            raw,
            **tables,
            objective=objective,
            pricing=st.session_state[PRICING],
            allow_mixed_chips=st.session_state[MIXED],
        )
        key = compute.scenario_key(data)
        edited = key != compute.scenario_key(compute.file_scenario(name, objective=objective))
        source = f"edited tables of data/scenarios/{name}" if edited else f"data/scenarios/{name}"
        if objective != raw.get("objective", "cost"):
            source += f" (objective {objective})"
        compute.validate_scenario(key, source)
    except PlannerError as err:
        st.error(str(err))
        st.caption(
            "runs[0] is the first row of the Runs table, candidates[0] the first chip. Fix the "
            "cell to see a plan: nothing is solved while the tables are invalid."
        )
        return

    clicked = st.button("Solve", key=SOLVE, type="primary", icon=":material/play_arrow:")
    solved = st.session_state.get(SOLVED)
    if clicked or solved is None or solved.get("file") != name:
        solved = {"key": key, "source": source, "file": name, "edited": edited}
        st.session_state[SOLVED] = solved
    if solved["key"] != key:
        st.info(
            "The tables changed since the last solve: press Solve. The plan below is the one "
            "last solved.",
            icon=":material/edit:",
        )
    try:
        with st.spinner("Solving the plan and testing which limits bind...", show_time=True):
            result = compute.plan(solved["key"], solved["source"])
    except PlannerError as err:
        st.error(str(err))
        return

    st.header("The plan")
    timings = result["timings"]
    st.caption(
        f"Objective: {objective_words(result['objective'])}. "
        f"Status {result['status']}; solved by {result['solver']} in "
        f"{timings.get('total_s', 0.0):.2f} s ({timings.get('solver_calls', 0):.0f} solver calls). "
        f"Scenario: {solved['source']}."
        + ("".join(f" {fmt.plain(n)}." for n in result["notes"]) if result["notes"] else "")
    )
    if result["feasible"]:
        st.success(fmt.plain(result["message"]), icon=":material/check_circle:")
        _metrics(result)
        _runs_table(result["runs"])
        _limits(result)
    else:
        _infeasible(result)
    _comparison(result)
    _pareto(solved, result)


if __name__ == "__main__":
    render()
