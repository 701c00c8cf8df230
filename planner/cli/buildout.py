"""``planner buildout``: where and when to install which chips over sites and quarters, as
grid connections, on-site power and chip deliveries arrive (a thin face).

Exit codes: 0 a plan (optimal within the MIP gap, or the best found when the time limit
stopped the solver); 3 no plan fits (the minimal relaxations are printed, in the JSON too) or
the time limit left none; 2 a bad build-out file or option.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from planner.cli._app import app, console, print_json, stdout_guard

#: Exit code when no build-out fits (or none was found in the time limit).
EXIT_NO_PLAN = 3
#: The objectives (kept here so ``--help`` needs no solver import; checked by a test).
OBJECTIVE_NAMES = ("cost", "compute", "finish")

_HELP_OBJECTIVE = (
    "What to optimise: cost (least discounted total cost), compute (most EFLOP-days under "
    "budget_usd_per_year), finish (earliest finish of finish_run; cost breaks ties). "
    "Default: the file's objective, else cost."
)
_HELP_TIME = "Wall-clock limit for each solve, seconds; at the limit the best plan found is shown."
_HELP_GAP = "Relative MIP gap to stop at (0.01 = within 1% of the optimum)."


@app.command("buildout")
def buildout(
    file_or_name: Annotated[
        str,
        typer.Argument(
            help="A shipped build-out's name (campus-2026-2030, small-hand-checkable) or a "
            "build-out TOML file.",
            show_default=False,
            metavar="FILE_OR_NAME",
        ),
    ],
    objective: Annotated[str | None, typer.Option(help=_HELP_OBJECTIVE)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    time_limit_s: Annotated[float, typer.Option("--time-limit-s", help=_HELP_TIME)] = 120.0,
    mip_gap: Annotated[float, typer.Option("--mip-gap", help=_HELP_GAP)] = 0.01,
) -> int:
    """Plan a build-out over sites and quarters: which chips to install where and when.

    Installs by site, chip and quarter; MW against the power available and where it comes from; each run's schedule; cost by component and
    year; energy and emissions; binding limits in words.

    Exit code 0: a plan. Exit code 3: no plan fits; the output lists the minimal relaxations,
    each on its own (a grid date earlier, more MW, a shorter lead time, more deliveries, a
    later deadline...), rounded so that following one as written works. Exit code 2: a bad
    file or option (one line naming the field, the value and what is allowed).

    The power limit of each site and quarter is the design-day peak (IT nameplate x
    design-day PUE) within grid + upgrades + on-site plants + batteries; energy, fuel and
    emissions use the annual PUE.
    """
    if objective is not None and objective not in OBJECTIVE_NAMES:
        raise typer.BadParameter(
            f"{objective!r}: expected one of " + ", ".join(OBJECTIVE_NAMES),
            param_hint="--objective",
        )
    if not time_limit_s > 0:
        raise typer.BadParameter(
            f"{time_limit_s:g}: expected a number of seconds > 0", param_hint="--time-limit-s"
        )
    if not 0 <= mip_gap < 1:
        raise typer.BadParameter(
            f"{mip_gap:g}: expected a number in [0, 1)", param_hint="--mip-gap"
        )
    from planner.optimization.buildout import buildout_path, load_buildout, plan_buildout

    path = buildout_path(file_or_name)
    scenario = load_buildout(path)
    with stdout_guard():
        plan = plan_buildout(
            scenario, objective=objective, time_limit_s=time_limit_s, mip_rel_gap=mip_gap
        )
    if json_out:
        print_json({"buildout": str(path), "title": scenario.title, **plan.to_dict()})
    else:
        _print_plan(plan, scenario.title or str(file_or_name))
    return 0 if plan.feasible else EXIT_NO_PLAN


def _table(title: str, frame: Any) -> Any:
    """A rich table of ``frame``: headers and numbers from planner.quantities where the
    column is a known output, else the column's own name and value."""
    from rich.table import Table

    from planner import quantities

    known = quantities.all_quantities()
    table = Table(title=title)
    columns = list(frame.columns)
    for name in columns:
        table.add_column(
            quantities.label(name, short=True) if name in known else name,
            justify="left" if name in known and known[name].type == "str" else "right",
        )
    for row in frame.itertuples(index=False):
        table.add_row(
            *(
                quantities.format_value(name, value) if name in known else _plain(value)
                for name, value in zip(columns, row, strict=True)
            )
        )
    return table


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _print_plan(plan: Any, title: str) -> None:
    from planner import quantities

    console.print(f"[bold]{title}[/bold]  objective: {plan.objective}  status: {plan.status}")
    if plan.feasible:
        totals = plan.totals
        console.print(
            ", ".join(
                f"{quantities.label(name)}: {quantities.format_value(name, totals[name])}"
                for name in ("cost_usd", "discounted_cost_usd", "energy_mwh", "emissions_tco2")
            )
        )
        installs = plan.installs[plan.installs["systems"] > 0]
        console.print(_table("Installs", installs[["site", "chip", "quarter", "systems", "gpus"]]))
        power = plan.power[plan.power["it_power_mw"] > 0]
        console.print(
            _table(
                "Power by site and quarter",
                power[
                    [
                        "site",
                        "quarter",
                        "facility_power_mw",
                        "available_mw",
                        "grid_connection_mw",
                        "grid_upgrades_mw",
                        "onsite_generation_mw",
                        "battery_mw",
                    ]
                ],
            )
        )
        if not plan.built.empty:
            console.print(_table("Built", plan.built))
        if not plan.runs.empty:
            console.print(_table("Runs", plan.runs))
        goodput = getattr(plan, "goodput", None)
        if goodput is not None and not goodput.empty:
            console.print(_table("Goodput(N) each run's work is counted at", goodput))
        costs = plan.costs[plan.costs["cost_usd"] != 0]
        console.print(_table("Cost by component and year", costs))
        if not plan.binding.empty:
            console.print("Binding limits:")
            for words in plan.binding["words"]:
                console.print(f"  - {words}")
    else:
        if not plan.binding.empty:
            console.print("Binding limits:")
            for words in plan.binding["words"]:
                console.print(f"  - {words}")
        if not plan.relaxations.empty:
            # the note below says whether each works alone or all together
            console.print("Minimal relaxations:")
            for words in plan.relaxations["words"]:
                console.print(f"  - {words}")
    for note in plan.notes:
        console.print(f"note: {note}")
    t = plan.timings
    console.print(
        f"Pyomo build {t['formulate_s']:.2f} s, hand-over to HiGHS {t['solver_build_s']:.2f} s, "
        f"HiGHS {t['solve_s']:.2f} s ({t['solver_calls']:.0f} solves)"
    )
