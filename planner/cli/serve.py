"""``planner serve``: size an inference service on one chip (or every chip with ``--compare``).

Exit codes: 0 an answer (also when a ``--grid-mw`` is too small: the verdict says by how
much); 3 no replica on the chip meets the latency targets (the line says why); 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from planner import quantities
from planner._arrays import to_python
from planner.amortization import PRICING_MODES, economics_parameters
from planner.assumptions import ECONOMICS_FIELDS, facility_profiles, pue_for_profile
from planner.catalog import load_catalog
from planner.cli._app import (
    app,
    changed_inputs_line,
    get_console,
    json_ready,
    print_assumptions,
    print_chip_table,
    print_json,
    shown_value,
)
from planner.cli._options import PriceDate
from planner.errors import InputError
from planner.serving import (
    ServingResult,
    compare_models,
    load_models,
    serving_default_table,
    serving_grid_fit,
)
from planner.serving_presets import (
    build_service_request,
    load_serving_presets,
)

#: Exit code when no replica meets the latency targets on the chip.
EXIT_INFEASIBLE = 3

_S = serving_default_table()


def _default(name: str) -> str:
    row = _S[name]
    return f"[default {row['value']:g} {row['unit']}: {row['source'][:80]}]"


def _failure_default() -> str:
    from planner.serving.production import FAILURE_SERVICE_LEVEL, FAILURE_SERVICE_LEVEL_SOURCE

    return f"[default {FAILURE_SERVICE_LEVEL:g}: {FAILURE_SERVICE_LEVEL_SOURCE[:80]}]"


def _economics(name: str) -> str:
    row = economics_parameters()[ECONOMICS_FIELDS[name]]
    return f"[default {row.value:g} {row.unit}: {row.source[:80]}]"


@app.command("serve")
def serve_command(
    accelerator: Annotated[
        str | None, typer.Option("--accelerator", "-a", help="Catalog chip id (`planner catalog`).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="A published architecture: " + ", ".join(load_models()) + "."),
    ] = None,
    params: Annotated[
        float | None, typer.Option(help="Total parameters (architecture estimated), e.g. 7e10.")
    ] = None,
    active_params: Annotated[
        float | None, typer.Option(help="Parameters active per token (MoE); default --params.")
    ] = None,
    users: Annotated[float | None, typer.Option(help="Daily active users, e.g. 1e8.")] = None,
    queries_per_user_day: Annotated[
        float | None, typer.Option(help="Queries per user per day.")
    ] = None,
    input_tokens: Annotated[float | None, typer.Option(help="Prompt tokens per query.")] = None,
    output_tokens: Annotated[
        float | None, typer.Option(help="Visible answer tokens per query.")
    ] = None,
    reasoning_multiplier: Annotated[
        float | None,
        typer.Option(
            help="Generated / visible tokens (test-time reasoning) "
            + _default("reasoning_multiplier")
        ),
    ] = None,
    peak_to_average: Annotated[
        float | None,
        typer.Option(help="Peak-hour / average demand " + _default("peak_to_average")),
    ] = None,
    tpot_target_s: Annotated[
        float | None,
        typer.Option(help="Time per output token target, s " + _default("tpot_target_s")),
    ] = None,
    ttft_target_s: Annotated[
        float | None,
        typer.Option(help="Time to first token target, s " + _default("ttft_target_s")),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Fixed decode batch per replica (default: TPOT-bound).")
    ] = None,
    gpus_per_replica: Annotated[
        int | None, typer.Option(help="Fixed tensor/pipeline-parallel group size, GPUs.")
    ] = None,
    precision: Annotated[
        str | None, typer.Option(help="Weights and tensor peak: bf16, fp8 or fp4 [default bf16].")
    ] = None,
    bandwidth_utilisation: Annotated[
        float | None,
        typer.Option(help="Achieved / peak HBM bandwidth " + _default("bandwidth_utilisation")),
    ] = None,
    prefill_mfu: Annotated[
        float | None, typer.Option(help="Prefill MFU " + _default("prefill_mfu"))
    ] = None,
    decode_mfu: Annotated[
        float | None, typer.Option(help="Decode compute MFU " + _default("decode_mfu"))
    ] = None,
    memory_headroom: Annotated[
        float | None,
        typer.Option(help="HBM share kept free " + _default("memory_headroom")),
    ] = None,
    max_batch_size: Annotated[
        float | None,
        typer.Option(
            help="Most sequences per replica [default: vLLM's max_num_seqs for the chip, "
            f"{_S['max_batch_size_large_gpu']['value']:,.0f} on a GPU of 70 GiB or more other "
            f"than A100, else {_S['max_batch_size']['value']:,.0f}]"
        ),
    ] = None,
    idle_load_fraction: Annotated[
        float | None,
        typer.Option(help="Idle draw / nameplate " + _default("idle_load_fraction")),
    ] = None,
    service_life_years: Annotated[
        float | None,
        typer.Option(
            help="Years the hardware is amortised over " + _economics("service_life_years")
        ),
    ] = None,
    hardware_utilisation: Annotated[
        float | None,
        typer.Option(
            help="Share of the service life the hardware does paid work "
            + _economics("hardware_utilisation")
        ),
    ] = None,
    cost_of_capital: Annotated[
        float | None,
        typer.Option(help="Annual cost of capital " + _economics("cost_of_capital")),
    ] = None,
    pue: Annotated[
        float | None,
        typer.Option(help="Annual power usage effectiveness in [1, 3] (energy, cost, emissions)."),
    ] = None,
    design_pue: Annotated[
        float | None,
        typer.Option(
            help="Design-day PUE for the grid peak, at least the annual PUE [default: derived "
            "from the annual PUE with design_pue_overhead_ratio of data/assumptions.csv]."
        ),
    ] = None,
    facility: Annotated[
        str | None,
        typer.Option(
            help="Facility profile setting the PUE: " + ", ".join(facility_profiles().index)
        ),
    ] = None,
    network_overhead: Annotated[
        float | None, typer.Option(help="Network + storage power / server power.")
    ] = None,
    busy_load_fraction: Annotated[
        float | None,
        typer.Option(help="A busy server's draw / nameplate [default: the training 0.8]."),
    ] = None,
    pricing: Annotated[
        str | None,
        typer.Option(
            help="What cost_usd (a year of serving) is: amortized (hardware over its service "
            "life + electricity), rent (cloud GPU-hours) or capex (the whole cluster purchase + "
            "electricity) [default amortized; the former auto and buy mean amortized and "
            "capex]. Prices per chip: data/chip_economics.csv (estimates marked)."
        ),
    ] = None,
    price_usd_per_gpu: Annotated[
        float | None,
        typer.Option(help="Server price per GPU, USD (overrides data/chip_economics.csv)."),
    ] = None,
    price_date: PriceDate = None,
    rent_usd_per_gpu_hour: Annotated[
        float | None,
        typer.Option(help="Rental price per GPU-hour, USD (overrides data/chip_economics.csv)."),
    ] = None,
    electricity_usd_per_mwh: Annotated[
        float | None, typer.Option(help="Electricity price, USD/MWh [default 80].")
    ] = None,
    grid_gco2_per_kwh: Annotated[
        float | None, typer.Option(help="Grid carbon intensity, gCO2/kWh [default 370].")
    ] = None,
    grid_mw: Annotated[
        float | None, typer.Option(help="Site grid limit, MW: says whether the service fits.")
    ] = None,
    target_utilisation: Annotated[
        float | None,
        typer.Option(
            help="Production: replica throughput used at peak " + _default("target_utilisation")
        ),
    ] = None,
    redundancy_replicas: Annotated[
        int | None,
        typer.Option(
            help="Production: spare replicas per region " + _default("redundancy_replicas")
        ),
    ] = None,
    regions: Annotated[
        int | None, typer.Option(help="Production: regions " + _default("regions"))
    ] = None,
    prompt_cache_hit_rate: Annotated[
        float | None,
        typer.Option(
            help="Production: prompt tokens from a cache " + _default("prompt_cache_hit_rate")
        ),
    ] = None,
    input_tokens_cv: Annotated[
        float | None,
        typer.Option(
            help="Production: spread of prompt lengths (sd / mean) " + _default("input_tokens_cv")
        ),
    ] = None,
    output_tokens_cv: Annotated[
        float | None,
        typer.Option(
            help="Production: spread of answer lengths (sd / mean) " + _default("output_tokens_cv")
        ),
    ] = None,
    disaggregated: Annotated[
        int | None,
        typer.Option(
            help="Production: 1 = separate prefill and decode pools " + _default("disaggregated")
        ),
    ] = None,
    failure_service_level: Annotated[
        float | None,
        typer.Option(
            help="Production: allowed P(more replicas of a region down at once than its spares) "
            + _failure_default()
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="A named service: " + ", ".join(load_serving_presets()) + ". Options override it."
        ),
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="Serve the same demand on every catalog chip.")
    ] = False,
    compare_models_: Annotated[
        str | None,
        typer.Option(
            "--compare-models",
            help="Serve the same demand with each of these models of data/models.csv "
            "(comma-separated, e.g. llama-3.1-8b,llama-3.1-70b): small vs large.",
        ),
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Use this accelerator CSV instead of the shipped one.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    uncertainty: Annotated[
        bool,
        typer.Option(
            "--uncertainty",
            help="Add P10 / P50 / P90 of the main outputs from the --vary inputs drawn (the "
            "serving roofline has no fitted coefficients, so no model error).",
        ),
    ] = False,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            metavar="NAME=DIST:ARGS",
            help="Draw an input for --uncertainty (repeatable; implies it): uniform:MIN:MAX, "
            "triangular:MIN:MODE:MAX, normal:MEAN:SD[:MIN:MAX], lognormal:MEDIAN:SIGMA"
            "[:MIN:MAX], e.g. --vary users=uniform:3e8:6e8 --vary decode_mfu=uniform:0.3:0.5.",
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
) -> int:
    """Size an inference service: replicas, GPUs, MW, Wh per query, USD per million tokens.

    Give the chip, the model (--model or --params [--active-params]) and the demand (--users,
    --queries-per-user-day, --input-tokens, --output-tokens), or a --preset. Peak facility power
    is what the grid must supply; energy uses idle + (busy - idle) x load.
    """
    cat = load_catalog(catalog)
    if facility is not None and pue is None:
        pue = pue_for_profile(facility)
    given = dict(
        accelerator=accelerator,
        model=model,
        params=params,
        active_params=active_params,
        users=users,
        queries_per_user_day=queries_per_user_day,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        batch_size=batch_size,
        gpus_per_replica=gpus_per_replica,
        reasoning_multiplier=reasoning_multiplier,
        peak_to_average=peak_to_average,
        tpot_target_s=tpot_target_s,
        ttft_target_s=ttft_target_s,
        precision=precision,
        bandwidth_utilisation=bandwidth_utilisation,
        prefill_mfu=prefill_mfu,
        decode_mfu=decode_mfu,
        memory_headroom=memory_headroom,
        max_batch_size=max_batch_size,
        idle_load_fraction=idle_load_fraction,
        service_life_years=service_life_years,
        hardware_utilisation=hardware_utilisation,
        cost_of_capital=cost_of_capital,
        pue=pue,
        design_pue=design_pue,
        network_overhead=network_overhead,
        avg_load_fraction=busy_load_fraction,
        pricing=pricing,
        price_usd_per_gpu=price_usd_per_gpu,
        rent_usd_per_gpu_hour=rent_usd_per_gpu_hour,
        price_date=price_date,
        electricity_usd_per_mwh=electricity_usd_per_mwh,
        grid_gco2_per_kwh=grid_gco2_per_kwh,
        target_utilisation=target_utilisation,
        redundancy_replicas=redundancy_replicas,
        regions=regions,
        prompt_cache_hit_rate=prompt_cache_hit_rate,
        input_tokens_cv=input_tokens_cv,
        output_tokens_cv=output_tokens_cv,
        disaggregated=disaggregated,
        failure_service_level=failure_service_level,
    )
    request = build_service_request(preset, **given)
    want_band = uncertainty or bool(vary) or draws is not None or seed is not None
    if want_band and (compare or compare_models_ is not None):
        raise InputError(
            "--uncertainty",
            "with --compare" if compare else "with --compare-models",
            "one chip and model at a time: drop the comparison or --uncertainty",
        )
    if want_band and catalog is not None:
        raise InputError(
            "--catalog", str(catalog), "the shipped catalog with --uncertainty (the band uses it)"
        )
    if compare_models_ is not None:
        names = [n.strip() for n in compare_models_.split(",") if n.strip()]
        if not names:
            raise InputError("--compare-models", compare_models_, "one or more model names")
        frame = compare_models(
            request.accelerator, request.demand, names, assumptions=request.assumptions, catalog=cat
        )
        if json_out:
            print_json(
                {"pricing": request.assumptions.sizing.pricing, "comparison": _records(frame)}
            )
        else:
            print_chip_table(
                frame, _titled("Every model for the same demand", request), _MODEL_COLUMNS, "model"
            )
        return 0
    if compare:
        frame = request.compare(catalog=cat)
        if json_out:
            print_json(
                {"pricing": request.assumptions.sizing.pricing, "comparison": _records(frame)}
            )
        else:
            _print_comparison(frame, request)
        return 0
    result = request.serve(cat)
    payload = json_ready(result.to_dict())
    if grid_mw is not None and result.feasible:
        fit = serving_grid_fit(result, grid_mw, float(request.demand.users))
        payload["grid"] = {k: to_python(v) for k, v in fit.__dict__.items()}
    band_printer = None
    if want_band:
        from planner.cli import _uncertainty

        band = _uncertainty.serve_band(preset, given, vary, draws, seed)
        payload["uncertainty"] = _uncertainty.json_band(band)

        def band_printer() -> None:
            _uncertainty.print_band(band, _uncertainty.SERVE, "serving")

    if json_out:
        print_json(payload)
    else:
        _print_result(result, payload, request, band_printer)
    if not result.feasible:
        if json_out:  # the JSON says feasible: false; the reason goes to stderr
            typer.echo(f"planner: no replica fits: {result.infeasible_reason}", err=True)
        return EXIT_INFEASIBLE
    return 0


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as JSON objects, the index under its own name (``accelerator`` or ``model``)."""
    key = frame.index.name or "accelerator"
    return [
        {**json_ready({k: _clean(v) for k, v in row.items()}), key: idx}
        for idx, row in frame.iterrows()
    ]


def _clean(value: Any) -> Any:
    value = to_python(value)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


def _v(name: str, value: Any, unit: bool = True) -> str:
    """``value`` in the vocabulary's format; ``unknown`` where the core has none."""
    if value is None or (isinstance(value, float) and value != value):
        return "unknown"
    return quantities.format_value(name, value, unit=unit)


def _print_result(
    result: ServingResult, payload: dict[str, Any], request: Any, band_printer: Any = None
) -> None:
    console = get_console()
    p = request.preset
    if p is not None:
        console.print(f"[bold]{p.title}[/bold]  (preset {p.name})")
        console.print(f"source: {p.source}")
    if not result.feasible:
        console.print(f"No replica of {result.accelerator} fits: {result.infeasible_reason}")
        if band_printer is not None:
            band_printer()
        return
    d = payload
    t = Table(title="Answer", show_header=False, box=None, pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value")
    rows = [
        (
            "accelerator",
            f"{d['accelerator']} ({_v('precision', d['precision'])}), model {d['model']}",
        ),
        (
            "replica",
            f"{_v('gpus_per_replica', d['gpus_per_replica'])}, "
            f"{quantities.label('batch_size', unit=False).lower()} "
            f"{_v('batch_size', d['batch_size'], unit=False)} "
            f"(limited by {d['batch_limit']}; decode {d['decode_bound']}-bound)",
        ),
        (
            "memory per replica",
            f"weights {_v('weights_gb_per_replica', d['weights_gb_per_replica'])} + KV cache "
            f"{_v('kv_cache_gb_per_replica', d['kv_cache_gb_per_replica'])} "
            f"({_v('kv_cache_bytes_per_token', d['kv_cache_bytes_per_token'])} per token)",
        ),
        ("latency", f"TTFT {_v('ttft_s', d['ttft_s'])}, TPOT {_v('tpot_s', d['tpot_s'])}"),
        (
            "throughput",
            f"{_v('tokens_per_s_per_gpu', d['tokens_per_s_per_gpu'])} generated per GPU; "
            f"{_v('queries_per_s_per_replica', d['queries_per_s_per_replica'])} per replica",
        ),
        (
            "demand",
            f"{_v('queries_per_s_average', d['queries_per_s_average'])} average, "
            f"{_v('queries_per_s_peak', d['queries_per_s_peak'])} at peak; "
            f"{_v('generated_tokens_per_query', d['generated_tokens_per_query'])} per query",
        ),
        (
            "replicas",
            f"{_v('replicas', d['replicas'])} = {_v('gpus', d['gpus'])} in "
            f"{_v('systems', d['systems'])} of {_v('gpus_per_system', d['gpus_per_system'])}; "
            f"average load {_v('load_fraction', d['load_fraction'])}",
        ),
        (
            "facility_power_mw",
            f"{_v('facility_power_mw', d['facility_power_mw'])} (design-day PUE "
            f"{_v('design_pue', d['design_pue'])}) - what the grid must supply",
        ),
        (
            "average_facility_power_mw",
            f"{_v('average_facility_power_mw', d['average_facility_power_mw'])} (annual PUE "
            f"{_v('pue', d['pue'])}) - what the meter bills",
        ),
        ("energy_mwh_per_year", _v("energy_mwh_per_year", d["energy_mwh_per_year"])),
        ("wh_per_query", _v("wh_per_query", d["wh_per_query"])),
        (
            "cost_usd",
            f"{_v('cost_usd', d['cost_usd'])} per year ({_v('pricing', d['pricing'])}): "
            f"{_v('usd_per_million_tokens', d['usd_per_million_tokens'])} per million tokens",
        ),
        (
            "  amortized / rent / electricity",
            f"{_v('amortized_cost_usd', d['amortized_cost_usd'])} / "
            f"{_v('rental_cost_usd', d['rental_cost_usd'])} / "
            f"{_v('electricity_cost_usd', d['electricity_cost_usd'])} per year ("
            f"{_v('usd_per_million_tokens_amortized', d['usd_per_million_tokens_amortized'])} / "
            f"{_v('usd_per_million_tokens_rented', d['usd_per_million_tokens_rented'])} "
            "per million tokens)",
        ),
        (
            "cluster_capex_usd",
            f"{_v('cluster_capex_usd', d['cluster_capex_usd'])} - not part of the amortized cost",
        ),
        (
            "emissions_tco2_per_year",
            f"{_v('emissions_tco2_per_year', d['emissions_tco2_per_year'])} operational + "
            f"{_v('embodied_tco2', d['embodied_tco2'])} embodied per year",
        ),
    ]
    for key, value in rows:
        shown = quantities.label(key, unit=False) if key in quantities.all_quantities() else key
        t.add_row(shown, value)
    console.print(t)
    if band_printer is not None:
        band_printer()
    if d.get("energy_breakdown"):
        parts = ", ".join(
            f"{k} {quantities.format_value('energy_share', v)}"
            for k, v in d["energy_breakdown"].items()
        )
        console.print(f"Energy per query by part: {parts}")
    if d.get("grid"):
        g = d["grid"]
        mw = "facility_power_mw"
        if g["fits"]:
            console.print(f"Grid: fits ({_v(mw, g['need_mw'])} of {_v(mw, g['grid_mw'])})")
        else:
            console.print(
                f"Grid: short by {_v(mw, g['short_mw'])} (needs {_v(mw, g['need_mw'])}; the grid "
                f"gives {_v(mw, g['grid_mw'])}): at most {_v('systems', g['max_systems'])}, "
                f"serving about {_v('users', g['max_users'], unit=False)} users"
            )
    if d.get("production"):
        _print_production(d["production"])
    if d.get("published"):
        pt = Table(title="Published vs model")
        for col in ("quantity", "published", "model", "ratio", "tolerance"):
            pt.add_column(col)
        for row in d["published"]:
            name = row["quantity"]
            known = name in quantities.all_quantities()
            pt.add_row(
                quantities.label(name) if known else name,
                shown_value(name, row["published"]),
                "unknown" if row["model"] is None else shown_value(name, row["model"]),
                _v("published_ratio", row["ratio"]),
                f"x{quantities.format_number(float(row['tolerance_factor']), '')}",
            )
        console.print(pt)
    elif d.get("changed_inputs"):
        console.print(changed_inputs_line(d["changed_inputs"]), markup=False)
    print_assumptions(result.assumptions)


def _print_production(prod: dict[str, Any]) -> None:
    """The ideal bound, the production estimate, the factor by part and the analysts' budget
    (all numbers from the core's ``production`` dict)."""
    from planner.serving.production import ideal_vs_production, production_parts

    console = get_console()
    t = Table(title="Ideal bound vs production estimate")
    t.add_column("")
    for col in ("ideal_bound", "production_estimate", "production_over_ideal"):
        t.add_column(quantities.label(col, short=True), justify="right")
    for row in ideal_vs_production(prod):
        key = row["fleet_quantity"]
        ratio = row["production_over_ideal"]
        t.add_row(
            quantities.label(key),
            quantities.format_value(key, row["ideal_bound"]),
            quantities.format_value(key, row["production_estimate"]),
            "" if ratio is None else quantities.format_value("production_over_ideal", ratio),
        )
    console.print(t)
    f = Table(title="Why a production fleet is larger: servers by part")
    for col in ("fleet_part", "systems", "fleet_factor", "part_note"):
        f.add_column(quantities.label(col, short=True), overflow="fold")
    for row in production_parts(prod):
        factor = row["fleet_factor"]
        f.add_row(
            row["fleet_part"],
            quantities.format_value("systems", row["systems"]),
            "" if factor is None else "x" + quantities.format_value("fleet_factor", factor),
            row["part_note"],
        )
    console.print(f)
    console.print(
        f"{quantities.label('serving_efficiency')} "
        f"{quantities.format_value('serving_efficiency', prod['efficiency'])}; "
        f"{quantities.label('gpu_power_fraction')} "
        f"{quantities.format_value('gpu_power_fraction', prod['gpu_power_fraction'])} "
        "(fitted on measured serving configurations: planner validate)"
    )


_MODEL_COLUMNS = [
    "gpus_per_replica",
    "gpus",
    "facility_power_mw",
    "wh_per_query",
    "usd_per_million_tokens",
    "pricing",
]


def _titled(title: str, request: Any) -> str:
    """A comparison's title with the one pricing every row is costed under."""
    pricing = request.assumptions.sizing.pricing
    return f"{title} (cost: {pricing}, {PRICING_MODES[pricing]}; per year of serving)"


def _print_comparison(frame: Any, request: Any) -> None:
    title = _titled("Every chip for the same service", request)
    cols = [
        "gpus_per_replica",
        "batch_size",
        "gpus",
        "systems",
        "facility_power_mw",
        "wh_per_query",
        "usd_per_million_tokens",
        "pricing",
    ]
    print_chip_table(frame, title, cols)
