"""``planner validate``: every published training run next to the run model's prediction, and
the serving model against published inference energy and fleet figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from planner import quantities
from planner._arrays import to_python
from planner.catalog import load_catalog
from planner.cli._app import _short as short_source
from planner.cli._app import app, console, print_json, shown_value
from planner.coverage import INTERVAL_LEVEL, validation_coverage
from planner.coverage import interval_quantiles as interval_quantiles_checked
from planner.errors import InputError
from planner.serving_validation import validate_serving
from planner.training.goodput import VALIDATION_TOLERANCE_FACTOR, validate_failures
from planner.utilisation import validate_runs

#: Keys of each run in ``--json`` (the contract scripts read), in order.
JSON_RUN_KEYS = (
    "id",
    "family",
    "chip",
    "precision",
    "gpus",
    "active_params",
    "moe",
    "source",
    "published",
    "published_unit",
    "observed_utilisation",
    "goodput",
    "observed_mfu",
    "seq_len",
    "attention_factor",
    "predicted_in_sample",
    "error_in_sample",
    "predicted_loo",
    "error_loo",
    "utilisation_loo",
    "predicted_lofo",
    "error_lofo",
    "utilisation_lofo",
    "interval_low_loo",
    "interval_high_loo",
    "inside_interval_loo",
)
#: Order and names of the coverage lines (keys of :func:`planner.coverage.validation_coverage`).
COVERAGE_CASES = {
    "runs": "runs",
    "serving": "configurations",
    "run_costs_amortized": "runs",
    "run_costs_rental": "runs",
}


@app.command("validate")
def validate_command(
    runs: Annotated[
        Path | None,
        typer.Option(help="Published runs CSV (default: the shipped data/training_runs.csv)."),
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Use this accelerator CSV instead of the shipped catalog.")
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object {runs, summary, coefficients, coverage, serving, "
            "failures}.",
        ),
    ] = False,
    interval_level: Annotated[
        float,
        typer.Option(
            "--interval-level",
            help="Central interval whose out-of-sample coverage is reported, in (0, 1): "
            "0.8 = P10-P90.",
        ),
    ] = INTERVAL_LEVEL,
) -> None:
    """Check the utilisation model against every published run.

    Each run's GPU-hours (or days) are predicted by the model fitted without that run
    (leave-one-out) and without its whole family (leave-one-family-out); the error is
    predicted / published - 1. The model learns MFU alone: each run's goodput comes from the
    failure model, which is itself checked against published failure records (``failures``).
    """
    try:
        interval_quantiles_checked(interval_level)
    except InputError as exc:  # the core's field name as the option typed
        raise InputError("--interval-level", exc.value, exc.allowed) from None
    cat = load_catalog(catalog)
    result = validate_runs(runs, cat, interval_level=interval_level)
    payload = result.to_dict()
    payload["coverage"] = validation_coverage(interval_level, runs=result.coverage)
    serving = [
        {k: to_python(v) for k, v in row.items()}
        for row in validate_serving().to_dict(orient="records")
    ]
    failures = [
        {k: to_python(v) for k, v in row.items()}
        for row in validate_failures().to_dict(orient="records")
    ]
    if json_out:
        payload["runs"] = [{k: r[k] for k in JSON_RUN_KEYS} for r in payload["runs"]]
        payload["serving"] = serving
        payload["failures"] = failures
        print_json(payload)
        return
    _print(payload)
    _print_coverage(payload["coverage"])
    _print_serving(serving)
    _print_failures(failures)


def _print(payload: dict[str, Any]) -> None:
    t = Table(title="Published runs vs the run model (error = predicted / published - 1)")
    cols = (
        "observed_utilisation",
        "goodput",
        "error_in_sample",
        "error_loo",
        "error_lofo",
    )
    for col, justify in (("run", "left"), ("chip", "left"), ("GPUs", "right")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    t.add_column("published", justify="right")
    t.add_column("unit")
    for name in cols:
        t.add_column(quantities.label(name, short=True), justify="right")
    for r in payload["runs"]:
        gpus = "" if r["gpus"] is None else quantities.format_value("gpus", r["gpus"])
        chip = f"{r['chip']} {quantities.format_value('precision', r['precision'])}" + (
            " MoE" if r["moe"] else ""
        )
        t.add_row(
            r["id"],
            chip,
            gpus,
            shown_value(str(r["published_unit"]), r["published"]),
            r["published_unit"],
            *("" if r[name] is None else quantities.format_value(name, r[name]) for name in cols),
        )
    console.print(t)
    s = payload["summary"]
    med, share = "abs_error", "share_within_30pct"
    iv = s["interval"]
    console.print(
        f"{s['n_runs']} runs, {s['n_families']} families, {s['n_parameters']} fitted numbers; "
        "every prediction is predicted (the run's own figure is not in its fit). "
        f"Median |error| / share within 30%: in-sample "
        f"{quantities.format_value(med, s['in_sample_median_abs_error'])} / "
        f"{quantities.format_value(share, s['in_sample_share_within_30pct'])}; leave-one-out "
        f"{quantities.format_value(med, s['loo_median_abs_error'])} / "
        f"{quantities.format_value(share, s['loo_share_within_30pct'])}; leave-one-family-out "
        f"{quantities.format_value(med, s['lofo_median_abs_error'])} / "
        f"{quantities.format_value(share, s['lofo_share_within_30pct'])}. "
        f"Target: leave-one-out median |error| <= "
        f"{quantities.format_value(med, s['target_median_abs_error'])} "
        f"({'met' if s['meets_median_target'] else 'not met'}) and the "
        f"{quantities.format_value('interval_level', iv['interval_level'])} interval covering "
        f"{quantities.format_value('interval_coverage', iv['target_coverage_low'])}-"
        f"{quantities.format_value('interval_coverage', iv['target_coverage_high'])} of runs "
        f"out of sample ({'met' if s['meets_coverage_target'] else 'not met'})."
    )
    n_out = len(s["ceiling_must_miss"])
    pairs = "; ".join(
        f"{p['efficient']} vs {p['inefficient']} {p['utilisation_ratio']:.1f}x"
        for p in s["conflicting_pairs"]
    )
    console.print(
        f"Ceiling of the public record: at most {s['n_runs'] - n_out} of {s['n_runs']} runs "
        f"({quantities.format_value('share_within_30pct', s['ceiling_share_within_30pct'])}) can be within 30% for any model that gives alike "
        f"runs nearly the same prediction, in-sample: alike runs (same peaks and architecture, sizes within 1.5x, the "
        f"more efficient on at least as many GPUs) differ by more than 1.3 / 0.7 = 1.86x "
        f"({pairs or 'none'})."
    )
    console.print(f"Fitted to: {s['fitted_to']}.")
    c = Table(title="Coefficients: logit(MFU) = sum of coefficient x feature")
    for col in ("feature", "coefficient", "prior", "unit"):
        c.add_column(col, overflow="fold")
    for row in payload["coefficients"]:
        c.add_row(row["feature"], f"{row['coefficient']:+.3f}", f"{row['prior']:+.3f}", row["unit"])
    console.print(c)
    console.print("Sources: `planner validate --json` lists each run's source in full.")


def _print_coverage(coverage: dict[str, dict[str, Any]]) -> None:
    """One line per validated model: its interval and the share of left-out cases inside."""
    level = quantities.format_value(
        "interval_level", next(iter(coverage.values()))["interval_level"]
    )
    console.print(
        f"Interval coverage out of sample ({level} interval of the signed errors "
        "predicted / published - 1; each case's interval is built from the OTHER cases' errors):"
    )
    for name, unit in COVERAGE_CASES.items():
        c = coverage[name]
        console.print(
            f"  {c['label']}: {c['basis']}; interval "
            f"{quantities.format_value('relative_difference', c['band_low'])} / "
            f"{quantities.format_value('relative_difference', c['band_high'])}; covers "
            f"{quantities.format_value('interval_coverage', c['coverage'])} "
            f"({c['covered']} of {c['n']} {unit}; target "
            f"{quantities.format_value('interval_coverage', c['target_coverage_low'])}-"
            f"{quantities.format_value('interval_coverage', c['target_coverage_high'])}: "
            f"{'met' if c['within_target'] else 'not met'})",
            soft_wrap=True,
        )


def _print_serving(rows: list[dict[str, Any]]) -> None:
    t = Table(
        title="Serving: published inference figures vs the serving model (ratio = model / published)"
    )
    for col in ("case", "quantity", "published", "model", "ratio", "tolerance", "within"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            str(r["case"]),
            str(r["quantity"]),
            shown_value(str(r["quantity"]), r["published"]),
            shown_value(str(r["quantity"]), r["predicted"]),
            quantities.format_value("published_ratio", r["ratio"]),
            f"x{quantities.format_number(float(r['tolerance_factor']), '')}",
            "yes" if r["within_tolerance"] else "NO",
        )
    console.print(t)


def _print_failures(rows: list[dict[str, Any]]) -> None:
    t = Table(
        title="Failure model vs published failure records (error = model / published - 1; "
        f"within a factor {VALIDATION_TOLERANCE_FACTOR:g}, or inside the published bounds)"
    )
    for col in ("record", "published", "model", "error", "within", "source"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            str(r["record"]),
            shown_value("record", r["published"]),
            shown_value("record", r["model"]),
            quantities.format_value("failure_model_error", r["error"]),
            "yes" if r["within_tolerance"] else "NO",
            short_source(str(r["source"])),
        )
    console.print(t)
