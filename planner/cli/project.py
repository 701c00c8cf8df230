"""``planner project``: national and global data-centre / AI electricity from a scenario file."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from planner import amortization, backtest, fleet, quantities
from planner.cli._app import app, console, print_json, shown_value, stdout_guard
from planner.errors import InputError
from planner.examples import projection_path
from planner.projection import ProjectionResult, error_band, project


@app.command("project")
def project_command(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="A shipped study's name (iea-2025-base, lbnl-2024...; see `planner examples`) "
            "or a projection TOML file (not needed with --backtest).",
            show_default=False,
            metavar="SCENARIO",
        ),
    ] = None,
    country: Annotated[
        list[str] | None,
        typer.Option(
            "--country",
            "-c",
            help="Keep only this country/region (repeatable), e.g. US, China, World.",
        ),
    ] = None,
    years: Annotated[
        str | None,
        typer.Option(help="Output years START:END, e.g. 2024:2035 [default: the scenario's]."),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(help="Monte Carlo samples for P10/P50/P90 bands (0: central values only)."),
    ] = 10_000,
    seed: Annotated[
        int,
        typer.Option(help="Seed of the Monte Carlo sampler (same seed, same bands)."),
    ] = 0,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            help="Run only this variant of the file (repeatable), e.g. low, high.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
    calibrate_to: Annotated[
        str | None,
        typer.Option(
            "--calibrate-to",
            metavar="STUDY",
            help="Solve the non-AI level and growth so the totals land on this study's "
            "published figures (the file's own name); off by default: nothing is calibrated.",
        ),
    ] = None,
    backtest_out: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Out-of-sample backtest of the fleet model: data up to 2021/2022/2023, the "
            "published figures of the next three years predicted, with their errors.",
        ),
    ] = False,
    run_costs: Annotated[
        bool,
        typer.Option(
            "--run-costs",
            help="Published training runs (Cottier et al. 2024) costed by the planner, each at "
            "its own date's chip price: amortised and rental cost against the published ones.",
        ),
    ] = False,
) -> None:
    """Project data-centre and AI electricity by country and year: TWh, GW, share, runs.

    SCENARIO: a shipped projection study's name (iea-2025-base, lbnl-2024...; `planner examples` lists
    them) or a projection TOML file.

    Central values use each input's stated value; with --samples the ranges in the file give
    P10/P50/P90 bands. Energy and average GW use the annual PUE; the AI peak GW (grid
    capacity) is IT power at nameplate x the design-day PUE. Shares use the study's own denominator (consumption or generation).
    """
    if backtest_out:
        with stdout_guard():
            table = backtest.backtest()
            checks = fleet.reconcile(strict=False)
            covered = backtest.band_coverage()
            studies = error_band.study_band_coverage(samples=samples or 10_000, seed=seed)
            coverage = error_band.coverage_summary(studies, covered)
        if json_out:
            print_json(
                {
                    "backtest": backtest.to_records(table),
                    "summary": backtest_summary_json(table),
                    "fleet_checks": backtest.to_records(checks),
                    "band_coverage": backtest.to_records(covered),
                    "study_band_coverage": backtest.to_records(studies),
                    "coverage_summary": coverage,
                }
            )
        else:
            _print_backtest(table, checks)
            _print_coverage(studies, coverage)
        return
    if run_costs:
        with stdout_guard():
            costs = amortization.validate_run_costs()
        if json_out:
            print_json(
                {
                    "run_costs": backtest.to_records(costs),
                    "summary": amortization.run_cost_summary(costs),
                }
            )
        else:
            _print_run_costs(costs)
        return
    if scenario is None:
        raise InputError("SCENARIO", None, "a shipped study's name or a TOML file (or --backtest)")
    path = projection_path(scenario)
    with stdout_guard():
        result = project(
            path,
            years=years,
            samples=samples,
            seed=seed,
            variants=variant,
            countries=country,
            calibrate_to=calibrate_to,
        )
    if json_out:
        print_json(result.to_dict())
    else:
        _print(result)


#: What the power table's columns mean (printed under it).
PEAK_NOTE = (
    "avg GW = energy / hours (annual PUE). AI peak GW = the AI fleet's grid capacity on the "
    "design day: IT power at nameplate (before the load factor) x design-day PUE (hottest "
    "hours; derived from the annual PUE unless the file gives design_pue)."
)

#: The columns of the energy table (quantity names), each banded one followed by its P10-P90.
_ENERGY_COLUMNS = (
    "country",
    "year",
    "total_twh",
    "ai_twh",
    "total_gw",
    "total_share",
    "ai_share",
    "pue",
    "reference_runs_per_year",
)
_BANDED = ("total_twh", "total_share")

#: Marks a band whose central value lies outside it (a one-sided input range; see the notes).
OUTSIDE_MARK = " *"


def _outside(row, key: str) -> bool:
    lo, hi, mid = row[f"{key}_p10"], row[f"{key}_p90"], row[key]
    tol = 1e-9 * max(1.0, abs(mid))
    return bool(mid < lo - tol or mid > hi + tol)


def _band(row, key: str) -> str:
    """``P10-P90`` of ``key`` in the vocabulary's format (``0.34%-0.38%``)."""
    if f"{key}_p10" not in row:
        return ""
    lo, hi = row[f"{key}_p10"], row[f"{key}_p90"]
    text = f"{quantities.format_value(key, lo)}-{quantities.format_value(key, hi)}"
    return text + (OUTSIDE_MARK if _outside(row, key) else "")


def _q(key: str, row) -> str:
    return quantities.format_value(key, row[key])


def _num(value: float, spec: str = ",.4g") -> str:
    """An input of mixed units (the unit is its own column) in a plain number format."""
    return quantities.format_number(float(value), spec)


def calibration_line(text: str) -> str:
    """The study's calibration as a sentence; a study fitted to nothing says so plainly
    instead of ``calibration: None (predicted, not calibrated). ...``."""
    head, _, rest = text.partition(". ")
    if head.strip().lower().startswith("none"):
        line = "Not calibrated: the model predicts; no input is fitted to a published total."
        return f"{line} {rest}".rstrip()
    return f"Calibration: {text}"


def _power_table(frame, variant: str, mc: str) -> Table:
    """Average GW (energy) beside the AI fleet's design-day peak GW (grid capacity)."""
    t = Table(title=f"Variant {variant}: power, GW ({mc})")
    label = quantities.label
    for col in (
        label("country", short=True),
        label("year", short=True),
        label("total_gw", short=True),
        label("ai_gw", short=True),
        label("ai_peak_gw", short=True),
        f"P10-P90 {label('ai_peak_gw', short=True)}",
        label("pue", unit=False),
        label("design_pue", unit=False),
    ):
        t.add_column(col, justify="left" if col == label("country", short=True) else "right")
    for _, row in frame.iterrows():
        t.add_row(
            _q("country", row),
            _q("year", row),
            _q("total_gw", row),
            _q("ai_gw", row),
            _q("ai_peak_gw", row),
            _band(row, "ai_peak_gw"),
            _q("pue", row),
            _q("design_pue", row),
        )
    return t


def _print(result: ProjectionResult) -> None:
    console.print(f"[bold]{result.title}[/bold]  ({result.scenario})")
    console.print(f"source: {result.source}")
    run = result.reference_run
    energy = quantities.format_value("energy_mwh", run.energy_mwh, unit=True)
    console.print(f"reference run: {run.title} ({run.preset}), {energy} per run")
    mc = (
        f"{result.samples:,} Monte Carlo samples, seed {result.seed}"
        if result.samples
        else "central values only"
    )
    for v in result.variants:
        frame = result.frame[result.frame["variant"] == v]
        definition = frame["electricity_definition"].iloc[0] if len(frame) else ""
        t = Table(
            title=f"Variant {v}: data-centre electricity ({mc}; share of national {definition})"
        )
        short = {name: quantities.label(name, short=True) for name in _ENERGY_COLUMNS}
        for name in _ENERGY_COLUMNS:
            t.add_column(short[name], justify="left" if name == "country" else "right")
            if name in _BANDED:
                t.add_column(f"P10-P90 {short[name]}", justify="right")
        for _, row in frame.iterrows():
            cells = []
            for name in _ENERGY_COLUMNS:
                cells.append(_q(name, row))
                if name in _BANDED:
                    cells.append(_band(row, name))
            t.add_row(*cells)
        console.print(t)
        console.print(_power_table(frame, v, mc))
        console.print(PEAK_NOTE)
        if "total_twh_p10" in frame and any(_outside(r, "total_twh") for _, r in frame.iterrows()):
            console.print(
                f"{OUTSIDE_MARK.strip()} the central value lies outside its own P10-P90 band "
                "(see the note below)"
            )
        console.print(calibration_line(result.calibration[v]), markup=False)
    for note in result.notes:
        console.print(f"note: {note}")
    if result.published:
        pt = Table(
            title="Published vs model (central values; where the calibration above says "
            "CALIBRATED, agreement is by construction, not a validation)"
        )
        for col in (
            quantities.label("variant", short=True),
            quantities.label("country", short=True),
            quantities.label("year", short=True),
            "quantity",
            quantities.label("published", short=True),
            quantities.label("predicted", short=True),
            quantities.label("relative_difference", short=True),
            quantities.label("published_label", short=True),
        ):
            pt.add_column(col)
        for p in result.published:
            name = p["quantity"]
            model = "" if p["model"] is None else shown_value(name, p["model"])
            diff = (
                ""
                if p["relative_difference"] is None
                else quantities.format_value("relative_difference", p["relative_difference"])
            )
            pt.add_row(
                p["variant"],
                p["country"],
                quantities.format_value("year", p["year"]),
                quantities.label(name) if name in quantities.all_quantities() else name,
                shown_value(name, p["published"]),
                model,
                diff,
                p.get("label", "predicted"),
            )
        console.print(pt)
    it = Table(title="Inputs (value, range sampled, source)")
    for col in ("variant", "input", "value", "range", "unit", "source"):
        it.add_column(col, overflow="fold")
    for row in result.inputs:
        rng = "" if row["low"] == row["high"] else f"{_num(row['low'])}-{_num(row['high'])}"
        src = row["source"]
        it.add_row(
            row["variant"],
            row["name"],
            _num(row["value"]),
            rng,
            row["unit"],
            src if len(src) <= 90 else src[:89] + "…",
        )
    console.print(it)
    console.print("(sources shortened; `--json` lists each in full)")


def _print_backtest(table, checks) -> None:
    ft = Table(title="AI fleet vs the money and the chips (planner.fleet.reconcile)")
    for col in (
        "check",
        "scope",
        "year",
        "fleet",
        "published",
        "difference",
        "allowed",
    ):
        ft.add_column(col, justify="left" if col in ("check", "scope") else "right")
    for _, r in checks.iterrows():
        ft.add_row(
            r["check"],
            str(r["scope"]),
            str(r["year"]),
            f"{_num(r['implied'], '.3g')} {r['unit']}",
            f"{_num(r['published'], '.3g')} {r['unit']}",
            quantities.format_value("relative_difference", r["error"]),
            f"{_num(r['low'], '+.0%')}..{_num(r['high'], '+.0%')}",
        )
    console.print(ft)
    bt = Table(
        title="Out-of-sample backtest: data up to the cut-off year; each later published figure "
        "predicted from the latest figure of its own definition (used as input = that anchor)"
    )
    names = (
        "cutoff_year",
        "study",
        "definition",
        "region",
        "year",
        "published_twh",
        "predicted_twh",
        "error",
        "persistence_error",
        "used_as_input",
    )
    for name in names:
        bt.add_column(
            quantities.label(name, short=True) if name in quantities.all_quantities() else name,
            justify="left" if name in ("study", "definition", "region") else "right",
        )
    for _, r in table.iterrows():
        bt.add_row(
            quantities.format_value("cutoff_year", r["cutoff_year"]),
            r["study"],
            quantities.format_value("definition", r["definition"]),
            r["region"],
            quantities.format_value("year", r["year"]),
            quantities.format_value("published_twh", r["published"]),
            # no anchor of its definition: no prediction and no errors (the core's words)
            quantities.format_value("predicted_twh", r["predicted"])
            if r["anchor"]
            else backtest.NOT_PREDICTABLE,
            quantities.format_value("error", r["error"]),
            quantities.format_value("persistence_error", r["persistence_error"]),
            quantities.format_value("used_as_input", bool(r["used_as_input"])),
        )
    console.print(bt)
    console.print(backtest_sentence(backtest.summary(table)))


def backtest_sentence(s: dict) -> str:
    """The backtest's summary (:func:`planner.backtest.summary`) as one paragraph, every
    number in the vocabulary's format, the median ratio beside its target."""

    def v(name: str, unit: bool = False) -> str:
        return quantities.format_value(name, s[name], unit=unit)

    target = v("median_ratio_target")
    return (
        f"{v('hits')} of {v('predictions')} out-of-sample predictions within {v('tolerance')} "
        f"({v('distinct_figures_hit')} distinct published figures); the naive forecast: "
        f"{v('persistence_hits')}. Median |error| {v('median_abs_error')} (naive "
        f"{v('persistence_median_abs_error')} on the same figures): "
        f"{quantities.label('median_ratio', short=True)} {v('median_ratio')} (target: at most "
        f"{target}). {v('not_predictable', unit=True)} {backtest.NOT_PREDICTABLE} "
        f"({backtest.NOT_PREDICTABLE_REASON})."
    )


def backtest_summary_json(table) -> dict:
    """:func:`planner.backtest.summary` as ``--json`` writes it (missing as null, counts as
    integers)."""
    s = backtest.summary(table)
    return {k: quantities.json_value(k, v) for k, v in s.items()}


def _print_coverage(studies, s) -> None:
    t = Table(
        title="Published study figures (not inputs) against the P10-P90 band: the sampled "
        "inputs' alone, and with the model's out-of-sample error (what `planner project` shows)"
    )
    t.add_column("scenario")
    for name in ("variant", "country", "year", "published", "inputs_band", "error_band"):
        t.add_column(
            quantities.label(name, short=True),
            justify="left" if name in ("variant", "country") else "right",
        )
    for _, r in studies.iterrows():
        q = r["quantity"]

        def band(lo: float, hi: float, inside: bool, q: str = q) -> str:
            text = f"{quantities.format_value(q, lo)}-{quantities.format_value(q, hi)}"
            return text + ("" if inside else " (outside)")

        t.add_row(
            r["scenario"],
            r["variant"],
            r["country"],
            str(r["year"]),
            quantities.format_value(q, r["published"]),
            band(r["inputs_p10"], r["inputs_p90"], r["inside_inputs_band"]),
            band(r["p10"], r["p90"], r["inside_band"]),
        )
    console.print(t)
    console.print(
        f"{s['inside_band']} of {s['study_figures']} published study figures inside the band "
        f"(the sampled inputs' band alone: {s['inside_inputs_band']}). The band adds the "
        f"model's out-of-sample error, ln(predicted / published) P10 {s['log_error_p10']:+.2f} "
        f"and P90 {s['log_error_p90']:+.2f} at {s['mean_horizon_years']:.1f} years ahead; out "
        f"of sample (each study's figures left out of its own band) it covers "
        f"{s['backtest_inside_band']} of {s['backtest_predictions']} backtest predictions."
    )


def _print_run_costs(table) -> None:
    t = Table(
        title="Published training runs costed by Cottier et al. 2024's method at dated prices "
        "(predicted: nothing is fitted to the published costs; prices from "
        "data/chip_prices_dated.csv)"
    )
    columns = (
        "run",
        "chip",
        "run_start",
        "price_date",
        "price_usd_per_gpu",
        "value_at_start_usd_per_gpu",
        "amortized_cost_usd",
        "published",
        "relative_difference",
        "planner_amortized_error",
        "undated_amortized_error",
        "rental_cost_usd",
        "published_cloud_usd",
        "relative_difference",
    )
    for name in columns:
        t.add_column(
            quantities.label(name, short=True),
            justify="left" if name in ("run", "chip") else "right",
        )
    diff = "relative_difference"
    for _, r in table.iterrows():
        t.add_row(
            r["run"],
            r["chip"],
            r["run_start"],
            r["price_date"],
            quantities.format_value("price_usd_per_gpu", r["price_usd_per_gpu"]),
            quantities.format_value("value_at_start_usd_per_gpu", r["value_at_start_usd_per_gpu"]),
            quantities.format_value("amortized_cost_usd", r["amortized_usd"]),
            quantities.format_value("amortized_cost_usd", r["published_amortized_usd"]),
            quantities.format_value(diff, r["amortized_error"]),
            quantities.format_value("planner_amortized_error", r["planner_amortized_error"]),
            quantities.format_value("undated_amortized_error", r["undated_amortized_error"]),
            quantities.format_value("rental_cost_usd", r["rental_usd"]),
            quantities.format_value("rental_cost_usd", r["published_cloud_usd"]),
            quantities.format_value(diff, r["rental_error"]),
        )
    console.print(t)
    s = amortization.run_cost_summary(table)
    console.print(
        f"{s['amortized_within']} of {s['runs']} amortised costs within "
        f"{s['tolerance']:.0%} of the published by their method (the planner's default "
        f"method: {s['planner_amortized_within']}; their method at the undated price: "
        f"{s['undated_amortized_within']}); rental: {s['rental_within']} of {s['runs']}. "
        f"Median difference {s['median_amortized_error']:+.0%} (planner method "
        f"{s['median_planner_amortized_error']:+.0%}, undated "
        f"{s['median_undated_amortized_error']:+.0%})."
    )
    console.print(amortization.RUN_COST_PRICE_RULE)
