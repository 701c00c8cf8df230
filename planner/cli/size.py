"""``planner size``: size one training run on one chip (or every chip with ``--compare``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner import quantities
from planner.assumptions import default_table, facility_profiles
from planner.catalog import load_catalog
from planner.cli._app import _short as short_source
from planner.cli._app import (
    app,
    get_console,
    json_ready,
    print_assumptions,
    print_chip_table,
    print_json,
    print_published_or_changes,
    print_pue_sources,
    stdout_guard,
)
from planner.cli._options import PriceDate
from planner.presets import load_presets
from planner.request import build_request
from planner.sizing import LARGE_CLUSTER_GPUS, GoodputOptions, SizingResult, grid_transients

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
        str | None,
        typer.Option(
            help="Useful fraction of wall-clock time in (0, 1], or 'model' [default: "
            "goodput(N) from the failure model: cluster MTBF, checkpoints, restarts and hot "
            "spares, calibrated on Llama 3 405B's 419 interruptions in 54 days; a preset's "
            "stated goodput otherwise]"
        ),
    ] = None,
    failure_rate_per_gpu_hour: Annotated[
        float | None,
        typer.Option(
            help="Interruptions per GPU-hour for the failure model [default: the chip "
            "generation's, data/goodput_assumptions.csv]"
        ),
    ] = None,
    checkpoint_write_gb_s_per_gpu: Annotated[
        float | None,
        typer.Option(
            help="Checkpoint write bandwidth per GPU, GB/s, for the failure model [default: "
            "the chip generation's]"
        ),
    ] = None,
    hot_spare_fraction: Annotated[
        float | None,
        typer.Option(
            help="Idle hot-spare GPUs per training GPU in [0, 1] (bought and powered) "
            "[default: the chip generation's]"
        ),
    ] = None,
    async_checkpoint: Annotated[
        bool,
        typer.Option(
            "--async-checkpoint",
            help="Checkpoint asynchronously (in-memory snapshot, background write).",
        ),
    ] = False,
    ramp_limit_mw_per_s: Annotated[
        float | None,
        typer.Option(
            help="The utility's ramp limit, MW/s: size the battery or GPU power smoothing "
            "that keeps the step swings within it, and the grid connection to reserve."
        ),
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
    price_date: PriceDate = None,
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
    uncertainty: Annotated[
        bool,
        typer.Option(
            "--uncertainty",
            help="Add P10 / P50 / P90 of the main outputs: the --vary inputs drawn and, when "
            "the MFU comes from the run model, that model's cross-validated error.",
        ),
    ] = False,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            metavar="NAME=DIST:ARGS",
            help="Draw an input for --uncertainty (repeatable; implies it): uniform:MIN:MAX, "
            "triangular:MIN:MODE:MAX, normal:MEAN:SD[:MIN:MAX], lognormal:MEDIAN:SIGMA"
            "[:MIN:MAX], e.g. --vary mfu=uniform:0.35:0.45 --vary pue=triangular:1.1:1.2:1.4.",
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(help="Monte Carlo draws for --uncertainty (implies it) [default 10,000]."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Random seed for --uncertainty (implies it); same seed, same band [default 0]."
        ),
    ] = None,
) -> None:
    """Size a training run: GPUs or days, megawatts, MWh, cost and CO2.

    Give the work as --flops or --params [--active-params] --tokens, and exactly one of --gpus
    or --days (or a --preset). Peak facility power is what the grid must supply, at the
    design-day PUE; energy uses the average training draw at the annual PUE.
    """
    cat = load_catalog(catalog)
    options = GoodputOptions(
        failure_rate_per_gpu_hour=failure_rate_per_gpu_hour,
        write_bandwidth_gb_s_per_gpu=checkpoint_write_gb_s_per_gpu,
        hot_spare_fraction=hot_spare_fraction,
        checkpoint="async" if async_checkpoint else None,
    )
    request = build_request(
        goodput_options=options,
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
        price_date=price_date,
        electricity_usd_per_mwh=electricity_usd_per_mwh,
        grid_gco2_per_kwh=grid_gco2_per_kwh,
    )
    want_band = uncertainty or bool(vary) or draws is not None or seed is not None
    if want_band:
        _check_band_options(compare, catalog, options)
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
        grid = grid_transients(result, ramp_limit_mw_per_s) if result.is_scalar else None
    band_printer = None
    payload = json_ready(result.to_dict())
    if grid is not None:
        payload["grid"] = json_ready(grid)
    if want_band:
        from planner.cli import _uncertainty

        with stdout_guard():
            band = _uncertainty.size_band(request, vary, draws, seed)
        payload["uncertainty"] = _uncertainty.json_band(band)

        def band_printer() -> None:
            _uncertainty.print_band(band, _uncertainty.size_rows(band, request), "sizing")

    if json_out:
        print_json(payload)
    else:
        _print_result(
            result, payload, cat.get(result.accelerator).name, request.preset, band_printer
        )
        if grid is not None:
            _print_grid(payload["grid"])


def _check_band_options(compare: bool, catalog: Path | None, options: GoodputOptions) -> None:
    """--uncertainty is one answer on the shipped catalog and the failure model's defaults
    (the band's core, planner.sweeps.uncertainty, takes neither a catalog nor failure-model
    options yet: refused rather than silently ignored)."""
    from planner.errors import InputError

    if options.given():
        raise InputError(
            "--uncertainty",
            "with failure-model options",
            "the failure model's defaults (no --failure-rate-per-gpu-hour, "
            "--checkpoint-write-gb-s-per-gpu, --hot-spare-fraction or --async-checkpoint)",
        )
    if compare:
        raise InputError(
            "--uncertainty", "with --compare", "one chip at a time: drop --compare or --uncertainty"
        )
    if catalog is not None:
        raise InputError(
            "--catalog", str(catalog), "the shipped catalog with --uncertainty (the band uses it)"
        )


def _records(frame):  # DataFrame -> JSON-ready list of dicts
    from planner._arrays import to_python

    return [
        {"accelerator": idx, **json_ready({k: to_python(v) for k, v in row.items()})}
        for idx, row in frame.iterrows()
    ]


def _v(name: str, value: object, unit: bool = True) -> str:
    return quantities.format_value(name, value, unit=unit)


def _money(name: str, value: float | None) -> str:
    if value is None:
        return "unknown (no price: pass --price-usd-per-gpu or --rent-usd-per-gpu-hour)"
    return _v(name, value)


def _print_result(
    result: SizingResult, payload: dict, chip_name: str, preset, band_printer=None
) -> None:
    console = get_console()
    if preset is not None:
        console.print(f"[bold]{preset.title}[/bold]  (preset {preset.name})")
        console.print(f"source: {preset.source}")
    t = Table(title="Answer", show_header=False, box=None, pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value")
    deadline = (
        f" (deadline {_v('deadline_days', result.deadline_days)})"
        if result.deadline_days is not None
        else ""
    )
    p = payload
    rows = [
        (
            "accelerator",
            f"{result.accelerator} ({chip_name}), {_v('precision', result.precision)} "
            f"dense {_v('peak_tflops_per_gpu', result.peak_tflops_per_gpu)} per GPU",
        ),
        ("flops", _v("flops", result.flops)),
        (
            "gpus",
            f"{_v('gpus', result.gpus)} in {_v('systems', result.systems)} of "
            f"{_v('gpus_per_system', result.gpus_per_system, unit=False)}",
        ),
        ("days", _v("days", result.days) + deadline),
        ("gpu_hours", _v("gpu_hours", result.gpu_hours)),
        (
            "MFU x goodput",
            f"{_v('mfu', result.mfu)} x {_v('goodput', result.goodput)}; "
            f"sustained {_v('sustained_pflops', result.sustained_pflops)}",
        ),
        ("it_power_mw", _v("it_power_mw", result.it_power_mw)),
        (
            "PUE",
            f"{_v('pue', result.pue)} annual (energy), "
            f"{_v('design_pue', result.design_pue)} design-day (grid peak)",
        ),
        (
            "facility_power_mw",
            f"{_v('facility_power_mw', result.facility_power_mw)} (design-day PUE "
            f"{_v('design_pue', result.design_pue)}) - what the grid must supply",
        ),
        (
            "average_facility_power_mw",
            f"{_v('average_facility_power_mw', result.average_facility_power_mw)} (annual PUE "
            f"{_v('pue', result.pue)}) - what the meter bills",
        ),
        ("energy_mwh", _v("energy_mwh", result.energy_mwh)),
        ("cost_usd", f"{_money('cost_usd', p['cost_usd'])} ({_v('pricing', result.pricing)})"),
        (
            "  amortized / rent / electricity",
            f"{_money('amortized_cost_usd', p['amortized_cost_usd'])} / "
            f"{_money('rental_cost_usd', p['rental_cost_usd'])} / "
            f"{_money('electricity_cost_usd', p['electricity_cost_usd'])}",
        ),
        (
            "cluster_capex_usd",
            f"{_money('cluster_capex_usd', p['cluster_capex_usd'])} - not part of the run's cost",
        ),
        (
            "emissions_tco2",
            f"{_v('emissions_tco2', result.emissions_tco2)} operational + "
            f"{_v('embodied_tco2', result.embodied_tco2)} embodied",
        ),
    ]
    for key, value in rows:
        shown = quantities.label(key, unit=False) if key in quantities.all_quantities() else key
        t.add_row(shown, value)
    console.print(t)
    if band_printer is not None:
        band_printer()
    print_pue_sources(result.assumptions)
    mfu_source = str(result.assumptions.get("mfu", {}).get("source", ""))
    if "from the run model" in mfu_source:
        console.print(mfu_source)
    if result.power_chain:
        c = result.power_chain
        console.print(
            "Power chain per GPU, peak: "
            f"GPU TDP {_v('gpu_tdp_w', c['gpu_tdp_w'])} -> "
            f"server share {_v('server_power_per_gpu_w', c['server_power_per_gpu_w'])} -> "
            f"IT incl. network {_v('it_power_per_gpu_w', c['it_power_per_gpu_w'])} -> "
            f"facility {_v('facility_power_per_gpu_w', c['facility_power_per_gpu_w'])}"
            f" (design-day PUE {_v('design_pue', result.design_pue)})"
        )
        console.print(
            "Power chain per GPU, average: "
            f"server {_v('average_server_power_per_gpu_w', c['average_server_power_per_gpu_w'])}"
            f" -> IT {_v('average_it_power_per_gpu_w', c['average_it_power_per_gpu_w'])} -> "
            "facility "
            f"{_v('average_facility_power_per_gpu_w', c['average_facility_power_per_gpu_w'])}"
            f" (annual PUE {_v('pue', result.pue)})"
        )
    _print_goodput(result, payload)
    print_published_or_changes(payload)
    print_assumptions(result.assumptions)


def _print_comparison(frame, days, gpus) -> None:
    what = f"deadline {_v('deadline_days', days)}" if days is not None else _v("gpus", gpus)
    title = f"Every chip for the same run ({what})"
    cols = [
        "gpus",
        "systems",
        "days",
        "goodput",
        "facility_power_mw",
        "energy_mwh",
        "cost_usd",
        "pricing",
        "emissions_tco2",
    ]
    print_chip_table(frame, title, cols)


def _print_goodput(result: SizingResult, payload: dict) -> None:
    """Goodput and where it came from: the failure model's chain, or the stated value."""
    console = get_console()
    source = str(result.assumptions.get("goodput", {}).get("source", ""))
    model = payload.get("goodput_model")
    if model is None:
        console.print(
            f"{quantities.label('goodput', unit=False)} {_v('goodput', result.goodput)}: {source}"
        )
        return
    t = Table(title="Goodput from the failure model", show_header=False, box=None, pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value")
    t.add_row(quantities.label("goodput", unit=False), _v("goodput", result.goodput))
    for name in (
        "mtbf_hours",
        "failures_per_day",
        "checkpoint_interval_s",
        "checkpoint_write_s",
        "restart_recovery_s",
        "spare_gpus",
        "goodput_lost_days",
    ):
        t.add_row(quantities.label(name, unit=False), _v(name, model[name]))
    console.print(t)
    if result.gpus >= LARGE_CLUSTER_GPUS:
        console.print(
            f"[bold]Goodput penalty at {_v('gpus', result.gpus)}:[/bold] "
            f"{_v('goodput_lost_days', model['goodput_lost_days'])} of "
            f"{_v('days', result.days)} go to failures, restarts and checkpoints (goodput "
            f"{_v('goodput', result.goodput)}); more GPUs no longer cut the days in proportion."
        )
    for name in ("failure_rate_per_gpu_hour", "hot_spare_fraction"):
        if name in model["sources"]:
            console.print(f"  {name}: {short_source(model['sources'][name])}")


_MITIGATION_COLUMNS = (
    "mitigation",
    "grid_connection_mw",
    "grid_swing_mw",
    "grid_ramp_mw_per_s",
    "battery_mw",
    "battery_mwh",
    "extra_energy_mwh_per_day",
    "extra_cost_usd_per_day",
)


def _print_grid(grid: dict) -> None:
    """The power transients the run puts on the grid, and the mitigations for a ramp limit."""
    console = get_console()
    t = Table(title="Grid: power transients", show_header=False, box=None, pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value")
    for name in ("swing_mw", "ramp_rate_mw_per_s", "swing_frequency_hz", "failure_drop_mw"):
        t.add_row(quantities.label(name, unit=False), _v(name, grid[name]))
    console.print(t)
    rows = grid.get("mitigations")
    if rows is None:
        console.print(
            "(--ramp-limit-mw-per-s sizes the battery or power smoothing that keeps "
            "the swings within a utility ramp limit)"
        )
        return
    m = Table(
        title=f"Mitigations for a ramp limit of "
        f"{_v('ramp_limit_mw_per_s', grid['ramp_limit_mw_per_s'])}"
    )
    for name in _MITIGATION_COLUMNS:
        m.add_column(quantities.label(name, short=True))
    for row in rows:
        m.add_row(*(_v(name, row[name], unit=False) for name in _MITIGATION_COLUMNS))
    console.print(m)
