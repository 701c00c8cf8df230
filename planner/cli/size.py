"""``planner size``: size one training run on one chip (or every chip with ``--compare``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner.assumptions import default_table, facility_profiles
from planner.catalog import load_catalog
from planner.cli._app import (
    app,
    console,
    print_assumptions,
    print_chip_table,
    print_json,
    print_pue_sources,
    pue_pair,
    stdout_guard,
)
from planner.presets import compare_to_published, load_presets
from planner.request import build_request
from planner.sizing import SizingResult

_D = default_table()


def _default(name: str) -> str:
    row = _D[name]
    return f"[default {row.value:g} {row.unit}: {row.source}]"


@app.command("size")
def size_command(
    accelerator: Annotated[
        str | None,
        typer.Option("--accelerator", "-a", help="Catalog chip id (see `planner catalog`)."),
    ] = None,
    flops: Annotated[
        float | None, typer.Option(help="Total training compute, FLOPs (e.g. 2.15e25).")
    ] = None,
    params: Annotated[float | None, typer.Option(help="Total parameters (e.g. 1.8e12).")] = None,
    active_params: Annotated[
        float | None, typer.Option(help="Parameters active per token (MoE); default: --params.")
    ] = None,
    tokens: Annotated[
        float | None,
        typer.Option(help="Training tokens (e.g. 1.3e13). FLOPs = 6 x active params x tokens."),
    ] = None,
    gpus: Annotated[
        int | None, typer.Option(help="GPUs available: the answer is the days.")
    ] = None,
    days: Annotated[
        float | None, typer.Option(help="Deadline in days: the answer is the GPUs (whole systems).")
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(help="Tensor precision of the dense peak: bf16, fp8 or fp4 [default bf16]."),
    ] = None,
    mfu: Annotated[
        float | None,
        typer.Option(
            help="Model FLOPs utilisation in (0, 1] [default: from the run model fitted to "
            "published runs; see `planner validate`]"
        ),
    ] = None,
    goodput: Annotated[
        float | None,
        typer.Option(help="Useful fraction of wall-clock time in (0, 1] " + _default("goodput")),
    ] = None,
    pue: Annotated[
        float | None,
        typer.Option(
            help="ANNUAL power usage effectiveness in [1, 3]: energy, electricity and "
            "emissions " + _default("pue")
        ),
    ] = None,
    design_pue: Annotated[
        float | None,
        typer.Option(
            help="DESIGN-DAY PUE in [--pue, 3]: the grid peak (peak facility power) "
            "[default: the facility profile's, else 1 + (PUE - 1) x "
            f"{_D['design_pue_overhead_ratio'].value:g}, an estimate in data/assumptions.csv]"
        ),
    ] = None,
    facility: Annotated[
        str | None,
        typer.Option(
            help="Facility profile setting both PUEs (annual and design-day, data/facility.csv): "
            + ", ".join(facility_profiles().index)
            + "."
        ),
    ] = None,
    network_overhead: Annotated[
        float | None,
        typer.Option(
            help="Network + storage power as a fraction of server power "
            + _default("network_overhead")
        ),
    ] = None,
    load_fraction: Annotated[
        float | None,
        typer.Option(help="Average training draw / nameplate " + _default("avg_load_fraction")),
    ] = None,
    avg_power_per_gpu_w: Annotated[
        float | None,
        typer.Option(
            help="Measured average W per accelerator incl. its server share (replaces nameplate x load fraction)."
        ),
    ] = None,
    pricing: Annotated[
        str | None,
        typer.Option(
            help="What cost_usd is: amortized (hardware over its service life + electricity), "
            "rent (cloud GPU-hours) or capex (the whole cluster purchase + electricity) "
            "[default amortized]. Every chip has a price or a marked estimate."
        ),
    ] = None,
    price_usd_per_gpu: Annotated[
        float | None, typer.Option(help="Purchase price per GPU, USD (overrides the catalog).")
    ] = None,
    rent_usd_per_gpu_hour: Annotated[
        float | None, typer.Option(help="Rental price per GPU-hour, USD (overrides the catalog).")
    ] = None,
    electricity_usd_per_mwh: Annotated[
        float | None,
        typer.Option(help="Electricity price, USD/MWh " + _default("electricity_usd_per_mwh")),
    ] = None,
    grid_gco2_per_kwh: Annotated[
        float | None,
        typer.Option(help="Grid carbon intensity, gCO2/kWh " + _default("grid_gco2_per_kwh")),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="Start from a named reproduction: "
            + ", ".join(load_presets())
            + ". Explicit options override it."
        ),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option("--compare", help="Size the same run on every catalog chip, side by side."),
    ] = False,
    catalog: Annotated[
        Path | None, typer.Option(help="Use this accelerator CSV instead of the shipped catalog.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Size a training run: GPUs or days, megawatts, MWh, cost and CO2.

    Give the work as --flops or --params [--active-params] --tokens, and exactly one of --gpus
    or --days (or a --preset). Peak facility power is what the grid must supply, at the
    design-day PUE; energy uses the average training draw at the annual PUE.
    """
    cat = load_catalog(catalog)
    request = build_request(
        preset=preset,
        accelerator=accelerator,
        flops=flops,
        params=params,
        active_params=active_params,
        tokens=tokens,
        gpus=gpus,
        days=days,
        facility_profile=facility,
        precision=precision,
        mfu=mfu,
        goodput=goodput,
        pue=pue,
        design_pue=design_pue,
        network_overhead=network_overhead,
        avg_load_fraction=load_fraction,
        avg_power_per_gpu_w=avg_power_per_gpu_w,
        pricing=pricing,
        price_usd_per_gpu=price_usd_per_gpu,
        rent_usd_per_gpu_hour=rent_usd_per_gpu_hour,
        electricity_usd_per_mwh=electricity_usd_per_mwh,
        grid_gco2_per_kwh=grid_gco2_per_kwh,
    )
    if compare:
        with stdout_guard():
            frame = request.compare(cat)
        if json_out:
            print_json({"comparison": _records(frame)})
        else:
            _print_comparison(frame, request.days, request.gpus)
        return
    with stdout_guard():
        result = request.size(cat)
    payload = result.to_dict()
    if request.preset is not None:
        payload["preset"] = request.preset.name
        payload["published"] = compare_to_published(payload, request.preset.published)
    if json_out:
        print_json(payload)
    else:
        _print_result(result, payload, cat.get(result.accelerator).name, request.preset)


def _records(frame):  # DataFrame -> JSON-ready list of dicts
    from planner._arrays import to_python

    return [
        {"accelerator": idx, **{k: to_python(v) for k, v in row.items()}}
        for idx, row in frame.iterrows()
    ]


def _money(value: float | None) -> str:
    if value is None:
        return "unknown (no price: pass --price-usd-per-gpu or --rent-usd-per-gpu-hour)"
    return f"${value:,.0f}"


def _print_result(result: SizingResult, payload: dict, chip_name: str, preset) -> None:
    if preset is not None:
        console.print(f"[bold]{preset.title}[/bold]  (preset {preset.name})")
        console.print(f"source: {preset.source}")
    t = Table(title="Answer", show_header=False, box=None, pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value")
    deadline = f" (deadline {result.deadline_days:g})" if result.deadline_days is not None else ""
    rows = [
        (
            "accelerator",
            f"{result.accelerator} ({chip_name}), {result.precision.upper()} dense {result.peak_tflops_per_gpu:,.0f} TFLOP/s per GPU",
        ),
        ("training compute", f"{result.flops:.3g} FLOPs"),
        (
            "GPUs",
            f"{result.gpus:,.0f} in {result.systems:,.0f} systems of {result.gpus_per_system}",
        ),
        ("days", f"{result.days:,.1f}{deadline}"),
        ("GPU-hours", f"{result.gpu_hours:,.0f}"),
        (
            "MFU x goodput",
            f"{result.mfu:.3g} x {result.goodput:.3g}; sustained {result.sustained_pflops:,.0f} PFLOP/s",
        ),
        ("peak IT power", f"{result.it_power_mw:,.2f} MW"),
        ("PUE", pue_pair(result.pue, result.design_pue)),
        (
            "peak facility power",
            f"{result.facility_power_mw:,.2f} MW (design-day PUE {result.design_pue:.2f}) - "
            "what the grid must supply",
        ),
        (
            "average facility power",
            f"{result.average_facility_power_mw:,.2f} MW (annual PUE {result.pue:.2f}) - "
            "what the meter bills",
        ),
        ("energy", f"{result.energy_mwh:,.0f} MWh"),
        ("cost", f"{_money(payload['cost_usd'])} ({result.pricing})"),
        (
            "  amortized / rent / electricity",
            f"{_money(payload['amortized_cost_usd'])} / {_money(payload['rental_cost_usd'])} / {_money(payload['electricity_cost_usd'])}",
        ),
        (
            "cluster capex (up front)",
            f"{_money(payload['cluster_capex_usd'])} - not part of the run's cost",
        ),
        (
            "emissions",
            f"{result.emissions_tco2:,.0f} tCO2 operational + {result.embodied_tco2:,.0f} tCO2 embodied",
        ),
    ]
    for k, v in rows:
        t.add_row(k, v)
    console.print(t)
    print_pue_sources(result.assumptions)
    mfu_source = str(result.assumptions.get("mfu", {}).get("source", ""))
    if "from the run model" in mfu_source:
        console.print(mfu_source)
    if result.power_chain:
        c = result.power_chain
        console.print(
            "Power chain per GPU, peak: "
            f"GPU TDP {c['gpu_tdp_w']:,.0f} W -> server share {c['server_power_per_gpu_w']:,.0f} W -> "
            f"IT incl. network {c['it_power_per_gpu_w']:,.0f} W -> facility {c['facility_power_per_gpu_w']:,.0f} W"
            f" (design-day PUE {result.design_pue:.2f})"
        )
        console.print(
            "Power chain per GPU, average: "
            f"server {c['average_server_power_per_gpu_w']:,.0f} W -> IT {c['average_it_power_per_gpu_w']:,.0f} W -> "
            f"facility {c['average_facility_power_per_gpu_w']:,.0f} W (annual PUE {result.pue:.2f})"
        )
    if payload.get("published"):
        pt = Table(title="Published vs model")
        for col in ("quantity", "published", "model", "difference"):
            pt.add_column(col)
        for row in payload["published"]:
            diff = (
                "" if row["relative_difference"] is None else f"{row['relative_difference']:+.1%}"
            )
            model = "" if row["model"] is None else f"{row['model']:,.4g}"
            pt.add_row(row["quantity"], f"{row['published']:,.4g}", model, diff)
        console.print(pt)
    print_assumptions(result.assumptions)


def _print_comparison(frame, days, gpus) -> None:
    what = f"deadline {days:g} days" if days is not None else f"{gpus:,.0f} GPUs"
    title = f"Every chip for the same run ({what})"
    cols = [
        ("gpus", "GPUs", "{:,.0f}"),
        ("systems", "systems", "{:,.0f}"),
        ("days", "days", "{:,.1f}"),
        ("facility_power_mw", "peak MW", "{:,.2f}"),
        ("energy_mwh", "MWh", "{:,.0f}"),
        ("cost_usd", "cost USD", "{:,.0f}"),
        ("pricing", "pricing", "{}"),
        ("emissions_tco2", "tCO2", "{:,.0f}"),
    ]
    print_chip_table(frame, title, cols)
