"""``planner optimize``: choose chips and counts for a site's training runs (a thin face).

Exit codes: 0 a plan (optimal, or the best found when the time limit stopped the solver);
3 no plan fits the limits (the answer, with its minimal relaxations, is still printed) or the
time limit left no plan; 2 a bad scenario file or option.

In the "Limits" table, ``binding`` is yes / NO, or "not tested" when the re-solve with that
limit 10% looser was not done (time limit) or proved nothing.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from planner import quantities
from planner.assumptions import LEGACY_PRICING, PRICING_MODES
from planner.cli._app import app, console, print_json, progress_reporter, stdout_guard
from planner.examples import scenario_path
from planner.optimization import (
    OBJECTIVES,
    SOLVERS,
    Plan,
    build_model,
    pareto,
    parse_sweep,
    solve,
)
from planner.scenarios import load_scenario

#: Exit code when no plan fits (or none was found in the time limit).
EXIT_NO_PLAN = 3


_HELP_OBJECTIVE = (
    "What to minimise: "
    + ", ".join(OBJECTIVES)
    + " (time: the longest run as a fraction of its deadline). Default: the scenario's, else cost."
)
_HELP_PARETO = (
    "Sweep and re-solve: days=START:STOP:STEP (longest deadline in [0.001, 3650]; others "
    "scaled) or grid_mw=START:STOP:STEP (in (0, 10000]); finite numbers, at most 1,000 points."
)
_HELP_SOLVER = (
    "MILP solver: "
    + ", ".join(SOLVERS)
    + " (HiGHS via highspy; CBC bundled with PuLP is the fallback)."
)
_HELP_PRICING = (
    "What cost_usd, the cost objective and budget_usd are: "
    + ", ".join(PRICING_MODES)
    + " (amortized: the hardware's share of its service life for the run's hours + "
    "electricity, bought and on site; capex: the whole cluster capex + electricity, on site; "
    "rent: cloud GPU-hours, off site). Default: the scenario's candidates.pricing, else "
    "amortized (as planner size). The former names auto (= amortized) and buy (= capex) are "
    "accepted."
)
_HELP_TIME = "Wall-clock limit for the solver, seconds; at the limit the best plan found is shown."
_HELP_TOLERANCE = (
    "Objective time: the cheapest plan whose runs all end within this fraction of the earliest "
    "latest finish (default: the scenario's time_tolerance, 0.01 = 1%)."
)
_HELP_MIXED = "Let a run use several chip types (default: the scenario's, else one chip per run)."
_HELP_PROGRESS = (
    "Draw a progress bar on stderr (never on stdout). Default: only when stderr is a terminal."
)


@app.command("optimize")
def optimize_command(
    scenario: Annotated[
        str,
        typer.Argument(
            help="A shipped scenario's name (gtc2024, my_site...; see `planner examples`) or "
            "a scenario TOML file.",
            show_default=False,
            metavar="SCENARIO",
        ),
    ],
    objective: Annotated[str | None, typer.Option(help=_HELP_OBJECTIVE)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    pareto_sweep: Annotated[str | None, typer.Option("--pareto", help=_HELP_PARETO)] = None,
    pricing: Annotated[str | None, typer.Option(help=_HELP_PRICING)] = None,
    solver: Annotated[str, typer.Option(help=_HELP_SOLVER)] = "highs",
    time_limit_s: Annotated[float | None, typer.Option("--time-limit-s", help=_HELP_TIME)] = None,
    allow_mixed_chips: Annotated[
        bool | None, typer.Option("--allow-mixed-chips/--one-chip-per-run", help=_HELP_MIXED)
    ] = None,
    show_progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help=_HELP_PROGRESS)
    ] = None,
    time_tolerance: Annotated[
        float | None, typer.Option("--time-tolerance", help=_HELP_TOLERANCE)
    ] = None,
) -> int:
    """Choose chips and system counts for training runs under grid, budget and deadline limits.

    SCENARIO: a shipped scenario's name (gtc2024, my_site...; `planner examples` lists
    them) or a scenario TOML file.

    Exit code 0: a plan (also the best plan found when --time-limit-s stopped the solver).
    Exit code 3: no plan fits the limits (or the time limit left none); the output names the
    limit and the minimal relaxations (extra MW, longer deadline, another chip, more budget
    or supply).
    Exit code 2: a bad scenario file or option (one line naming file, field, value, allowed).

    The grid limit counts the systems on site (bought) at their peak, at the design-day PUE:
    site.design_pue if given, else the facility profile's design_pue where site.pue names one,
    else derived from the annual site.pue (1 + (pue - 1) x 1.5, data/assumptions.csv). Energy,
    cost and emissions use the annual site.pue.

    Pricing (candidates.pricing or --pricing; default amortized, as planner size): cost_usd,
    the cost objective and budget_usd are, under amortized, the amortised hardware (servers,
    networking, facility share over their service life, for the run's hours) + electricity;
    under capex the whole cluster capex + electricity; under rent the GPU-hours at rent. So
    budget_usd limits that cost, not the up-front spend, except under capex; the plan always
    reports cluster_capex_usd (the up-front price of its systems) beside cost_usd. Prices
    come from data/chip_economics.csv (every shipped chip; estimates marked) unless the
    scenario gives candidates.price_usd_per_gpu / rent_usd_per_gpu_hour. Under amortized
    and capex the systems are bought and on site. Rented systems (rent) are cloud capacity
    off site: not counted against the site grid or racks, but their energy and emissions
    are in the totals; with --objective time a rented chip needs a candidates.supply_gpus
    cap. Relaxation amounts are rounded up, so the value shown works
    as written; the deadline relaxation stretches every deadline by one common factor.
    """
    if objective is not None and objective not in OBJECTIVES:
        raise typer.BadParameter(
            f"{objective!r}: expected one of " + ", ".join(OBJECTIVES), param_hint="--objective"
        )
    if solver not in SOLVERS:
        raise typer.BadParameter(
            f"{solver!r}: expected one of " + ", ".join(SOLVERS), param_hint="--solver"
        )
    if time_limit_s is not None and not time_limit_s > 0:
        raise typer.BadParameter(
            f"{time_limit_s:g}: expected a number of seconds > 0", param_hint="--time-limit-s"
        )
    if time_tolerance is not None and not 0 <= time_tolerance <= 1:
        raise typer.BadParameter(
            f"{time_tolerance:g}: expected a fraction in [0, 1]", param_hint="--time-tolerance"
        )
    if pricing is not None and pricing not in (*PRICING_MODES, *LEGACY_PRICING):
        raise typer.BadParameter(
            f"{pricing!r}: expected one of "
            + ", ".join(PRICING_MODES)
            + " (the former names: "
            + ", ".join(f"{old} = {new}" for old, new in LEGACY_PRICING.items())
            + ")",
            param_hint="--pricing",
        )
    path = scenario_path(scenario)
    sc = load_scenario(path)
    if pricing is not None:
        sc = sc.with_pricing(pricing)
    if pareto_sweep is not None:
        parameter, values = parse_sweep(pareto_sweep)
        with stdout_guard(), progress_reporter(show_progress) as progress:
            frame = pareto(
                sc,
                parameter,
                values,
                objective=objective,
                allow_mixed_chips=allow_mixed_chips,
                solver=solver,
                time_limit_s=time_limit_s,
                time_tolerance=time_tolerance,
                **_progress_kwargs(pareto, progress),
            )
        if json_out:
            print_json({"parameter": parameter, "points": _records(frame)})
        else:
            _print_pareto(frame, parameter, sc.title or str(scenario))
        return 0 if (frame["status"].isin(["optimal", "time_limit"])).any() else EXIT_NO_PLAN
    with stdout_guard(), progress_reporter(show_progress) as progress:
        model = build_model(sc, objective=objective, allow_mixed_chips=allow_mixed_chips)
        plan = solve(
            model,
            solver=solver,
            time_limit_s=time_limit_s,
            time_tolerance=time_tolerance,
            **_progress_kwargs(solve, progress),
        )
    if json_out:
        print_json({"scenario": str(path), **plan.to_dict()})
    else:
        _print_plan(plan, sc.title or str(scenario))
    return 0 if plan.feasible else EXIT_NO_PLAN


def _progress_kwargs(function: Any, progress: Any) -> dict[str, Any]:
    """``{"progress": progress}`` when there is a bar to draw and ``function`` takes one."""
    if progress is None:
        return {}
    try:
        accepts = "progress" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        accepts = False
    return {"progress": progress} if accepts else {}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from planner._arrays import to_python

    return [{k: to_python(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int | float) and spec.startswith("{:") and spec.endswith("}"):
        return quantities.format_number(float(value), spec[2:-1])
    return spec.format(value)


def _binding_text(value: Any) -> str:
    """yes / NO / not tested (None: the re-solve with the limit looser was not done)."""
    if value is None or (isinstance(value, float) and value != value):
        return "not tested"
    return "yes" if value else "NO"


def _table(title: str, frame: pd.DataFrame, columns: list[Any]) -> Table:
    """A table of ``frame``: each column a quantity name (label and format from the
    vocabulary) or, for the columns that are not one quantity (the limits' mixed units), a
    ``(column, header, format)`` tuple."""
    t = Table(title=title)
    names = list(frame.index.names) if frame.index.names[0] is not None else []
    for name in names:
        t.add_column(name)
    for col in columns:
        header = quantities.label(col, short=True) if isinstance(col, str) else col[1]
        t.add_column(header, justify="right")
    for idx, row in frame.iterrows():
        keys = idx if isinstance(idx, tuple) else (idx,) if names else ()
        cells = []
        for col in columns:
            if isinstance(col, str):
                value = row.get(col)
                missing = value is None or (isinstance(value, float) and value != value)
                cells.append("" if missing else quantities.format_value(col, value))
            else:
                c, _, spec = col
                cells.append(
                    _binding_text(row.get(c)) if spec == "binding" else _fmt(row.get(c), spec)
                )
        t.add_row(*(str(k) for k in keys), *cells)
    return t


def _print_plan(plan: Plan, title: str) -> None:
    console.print(
        f"[bold]{title}[/bold]  objective: {plan.objective}  pricing: {plan.pricing}  "
        f"solver: {plan.solver}  status: {plan.status}"
    )
    console.print(plan.message)
    if plan.feasible:
        services = "workload" in plan.runs.columns  # a joint plan: runs and services
        console.print(
            _table(
                "Plan (every number from planner.sizing.size_training"
                + ("; services from planner.serving_plan, at their peak)" if services else ")"),
                plan.runs,
                [
                    *(["workload"] if services else []),
                    "systems",
                    "gpus",
                    "share",
                    "days",
                    "deadline_days",
                    "facility_power_mw",
                    "energy_mwh",
                    "cost_usd",
                    "emissions_tco2",
                    "pue",
                    # the grid peak's PUE, where the plan's rows carry it
                    *(["design_pue"] if "design_pue" in plan.runs.columns else []),
                    "mfu",
                    # goodput(N) each run's days assume, with the failure model's chain
                    *[
                        c
                        for c in ("goodput", "mtbf_hours", "checkpoint_interval_s", "spare_gpus")
                        if c in plan.runs.columns
                    ],
                    *(["wh_per_query"] if services else []),
                ],
            )
        )
        console.print(_totals_line(plan))
        console.print(
            _table(
                "Limits",
                plan.constraints,
                [
                    "limit",
                    "used",
                    "slack",
                    ("unit", "unit", "{}"),
                    ("binding", "binding", "binding"),
                    *(
                        [("binds_for", "binds for", "{}")]
                        if "binds_for" in plan.constraints.columns
                        else []
                    ),
                ],
            )
        )
    else:
        if not plan.relaxations.empty:
            console.print(
                _table(
                    "Minimal relaxations (each limit on its own; the deadline rows are one "
                    "common stretch of every deadline)",
                    plan.relaxations,
                    [
                        "current",
                        "needed",
                        ("unit", "unit", "{}"),
                        ("detail", "answer", "{}"),
                    ],
                )
            )
    if not plan.comparison.empty:
        console.print(
            _table(
                "Each candidate chip alone, at the deadline",
                plan.comparison,
                [
                    "gpus",
                    "days",
                    "facility_power_mw",
                    "energy_mwh",
                    "cost_usd",
                    "fits_grid",
                    "fits_budget",
                    "fits_supply",
                    "note",
                ],
            )
        )
    for note in plan.notes:
        console.print(f"note: {note}")
    timings = plan.timings
    console.print(
        f"build {timings['build_s'] * 1e3:,.1f} ms, solve "
        f"{timings['solve_s'] * 1e3:,.1f} ms "
        f"({timings['solver_calls']:.0f} solver calls)"
    )


def _totals_line(plan: Plan) -> str:
    """The totals, naming the run behind each "longest" figure (they may be two runs)."""
    t = plan.totals
    days = plan.runs.groupby(level="run")["days"].max()
    longest = str(days.idxmax())
    slowest = plan.slowest_run
    v = quantities.format_value
    power = f"peak {v('facility_power_mw', t['grid_power_mw'], unit=True)} on the site grid"
    if (
        t["facility_power_mw"] > t["grid_power_mw"] + 1e-9
        and (plan.runs["pricing"] == "rent").any()
    ):
        power += f" ({v('facility_power_mw', t['facility_power_mw'], unit=True)} with the rented systems)"
    return (
        f"Totals: {v('gpus', t['gpus'], unit=True)}, {power}, "
        f"{v('energy_mwh', t['energy_mwh'], unit=True)}, {v('cost_usd', t['cost_usd'], unit=True)} "
        f"({plan.pricing}; cluster capex "
        f"{v('cluster_capex_usd', t.get('cluster_capex_usd'), unit=True)} up front), "
        f"{v('emissions_tco2', t['emissions_tco2'], unit=True)}. Longest run: {longest}, "
        f"{v('longest_days', t['longest_days'], unit=True)}; "
        f"slowest relative to its deadline: {slowest}, "
        f"{v('share_of_deadline', t['longest_fraction_of_deadline'])} of its deadline"
    )


def _print_pareto(frame: pd.DataFrame, parameter: str, title: str) -> None:
    objective = frame["objective"].iloc[0] if len(frame) else ""
    pricing = frame["pricing"].iloc[0] if len(frame) and "pricing" in frame else ""
    console.print(
        f"[bold]{title}[/bold]  sweep {parameter}, objective {objective}, pricing {pricing}"
    )
    console.print(
        _table(
            "Pareto sweep (efficient: no other point is as good in both)",
            frame.set_index(parameter),
            [
                "status",
                ("objective_value", objective, "{:,.6g}"),
                "cost_usd",
                "facility_power_mw",
                "longest_days",
                ("efficient", "efficient", "{}"),
                ("plan", "plan", "{}"),
            ],
        )
    )
