"""Sizing report: one training run on one chip (a preset or a :class:`SizingRequest`).

Every number comes from the core: :meth:`SizingRequest.size` (the answer),
:meth:`SizingRequest.compare` (every chip for the same run),
:func:`planner.presets.compare_to_published` (published figures) and
:func:`planner.sensitivity.sensitivity` (+-20% tornado). This module only arranges them.
"""

from __future__ import annotations

from typing import Any

from planner import quantities
from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.presets import compare_to_published
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
    sha256_json,
)
from planner.request import SizingRequest
from planner.sensitivity import DEFAULT_SWING, SensitivityResult, sensitivity
from planner.sizing import grid_fit, grid_transients, power_timeline, size_training

#: Every scalar result shown in the results table (vocabulary names), in order.
RESULT_KEYS: tuple[str, ...] = (
    "accelerator",
    "precision",
    "flops",
    "peak_tflops_per_gpu",
    "mfu",
    "goodput",
    "sustained_pflops",
    "gpus",
    "systems",
    "gpus_per_system",
    "deadline_days",
    "days",
    "gpu_hours",
    "it_power_mw",
    "pue",
    "design_pue",
    "facility_power_mw",
    "average_it_power_mw",
    "average_facility_power_mw",
    "energy_mwh",
    "amortized_cost_usd",
    "rental_cost_usd",
    "electricity_cost_usd",
    "cost_usd",
    "pricing",
    "cluster_capex_usd",
    "emissions_tco2",
    "embodied_tco2",
)
HEADLINE_KEYS = (
    "accelerator",
    "gpus",
    "systems",
    "days",
    "facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "emissions_tco2",
    "embodied_tco2",
)
CHIP_KEYS = (
    "gpus",
    "systems",
    "days",
    "facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "pricing",
    "emissions_tco2",
)
PUBLISHED_COLUMNS = (
    b.QUANTITY,
    b.UNIT,
    b.PUBLISHED,
    b.MODEL,
    Column("relative_difference"),
)


def say_what_differs(payload: dict[str, Any], request: SizingRequest) -> None:
    """Put ``published`` or ``changed_inputs`` in a preset's payload.

    The core's result says it when it knows (``published`` only for the preset's own inputs,
    else ``changed_inputs``: ``field, preset, value``); a result that carries neither is
    compared with the preset's published figures, as ``planner size --json`` does.
    """
    preset = request.preset
    if preset is None:
        return
    payload.setdefault("preset", preset.name)
    if "published" not in payload and "changed_inputs" not in payload:
        payload["published"] = compare_to_published(payload, preset.published)


def build_sizing_report(
    request: SizingRequest,
    *,
    catalog: Catalog | None = None,
    swing: float = DEFAULT_SWING,
    command: str = "",
    inputs: tuple[InputFile, ...] | None = None,
    grid_mw: float | None = None,
) -> Report:
    """Size the request with the core and arrange the answer as a :class:`Report`.

    Parameters
    ----------
    request : SizingRequest
        From :func:`planner.request.build_request` (a preset and/or explicit values).
    catalog : Catalog, optional
        The shipped catalog when omitted.
    swing : float
        Sensitivity move, default 0.2 (+-20%).
    command : str
        The command line that reproduces the report (shown in the provenance).
    inputs : tuple of InputFile, optional
        Files the numbers depend on; default: the presets file (for a preset) or the canonical
        request, then the catalog and the default-assumption tables.
    grid_mw : float, optional
        A grid limit, MW: the report then says whether the run's peak facility power fits
        (:func:`planner.sizing.grid_fit`) and, if not, how many GPUs fit and how long they
        take, as the app's sizing page does.
    """
    cat = catalog or load_catalog()
    result = request.size(cat)
    chip = cat.get(result.accelerator)
    payload = result.to_dict()  # exactly what `planner size --json` prints
    if result.is_scalar:  # with its grid transients, as `planner size --json`
        grid_t = grid_transients(result)
        payload["grid"] = {k: quantities.json_value(k, v) for k, v in grid_t.items()}
    say_what_differs(payload, request)
    sens = sensitivity(
        request.run,
        chip,
        gpus=request.gpus,
        days=request.days,
        assumptions=request.assumptions,
        swing=swing,
    )
    preset = request.preset
    deadline = payload.get("deadline_days")
    headline = b.headline(
        payload,
        HEADLINE_KEYS,
        days="" if deadline is None else f"deadline {deadline:g} days",
        cost_usd=str(payload["pricing"]),
    )
    grid = _grid_verdict(payload, request, chip, grid_mw, cat) if grid_mw is not None else None
    if grid is not None:  # the verdict beside the transients, as the serving report
        payload["grid"] = {**payload.get("grid", {}), **grid}
        short = quantities.format_value("grid_limit_mw", grid["short_mw"], unit=True)
        headline.append(
            Quantity(
                "grid_limit_mw", grid["grid_mw"], note="fits" if grid["fits"] else f"{short} short"
            )
        )
    what = (
        f"{request.gpus:,.0f} GPUs"
        if request.gpus is not None
        else f"deadline {request.days:g} days"
    )
    rb = b.ReportBuilder("sizing", command)
    rb.add(
        b.kv_table(
            payload,
            [k for k in RESULT_KEYS if k != "deadline_days" or deadline is not None],
            note="The cost follows the pricing in force (amortized, rent or capex); the cluster "
            "capex is what must be spent up front and is never summed into a run's cost. "
            "Values are 'n/a' where unknown (a chip of one's own catalog has no embodied "
            "emissions).",
        ),
        _power_chain_table(payload),
        *b.what_differs(
            payload,
            lambda rows: b.published_table(rows, PUBLISHED_COLUMNS),
            preset.name if preset is not None else "",
        ),
    )
    rb.compare_chips(
        request.compare(cat),
        chip.id,
        CHIP_KEYS,
        title=f"Every catalog chip for the same run ({what}, same assumptions)",
        what="run",
        caption=f"Same work, same {'GPUs' if request.gpus is not None else 'deadline'} and "
        "assumptions; the chosen chip highlighted.",
        note="The MFU is the run's, applied to every chip: a rough side-by-side, not a "
        "forecast for each chip.",
    )
    rb.add(*b.sensitivity_tables([("", sens)]))
    timeline = _power_over_time_table(result) if result.is_scalar else None
    if timeline is not None:
        rb.add(timeline)
        rb.chart(
            Chart(
                name="power_over_time",
                title="Power over training steps, a checkpoint, a failure and its restart",
                kind="line",
                table="power_over_time",
                encoding={"x": "time_s", "y": "grid_side_power_mw", "color": "power_case"},
                caption="Grid-side facility power of the cluster: every step swings between "
                "its compute and communication power; a blocking checkpoint and a failure drop "
                "it near idle. GPU power smoothing with rack storage caps the compute phase and "
                "averages each step; the checkpoint and the failure still reach the grid.",
            )
        )
    rb.chart(
        Chart(
            name="tornado",
            title=f"Sensitivity: each factor moved {sens.swing:.0%} down and up, one at a time",
            kind="tornado",
            table="sensitivity_cases",
            encoding={
                "x": "relative_change",
                "y": "factor",
                "color": "case",
                "facet": "output_label",
            },
            caption="Relative change of each headline number; bars sorted as the factors are listed.",
        ),
        Chart(
            name="power_chain",
            title="Power chain per GPU: nameplate to facility",
            kind="bar",
            table="power_chain",
            encoding={"x": "power_per_gpu_w", "y": "stage", "color": "basis"},
            caption="Peak (design-day PUE) is what the grid must supply; average (annual PUE) "
            "is what the meter bills.",
        ),
    )
    rb.note(
        "Peak facility power = nameplate system power x (1 + network overhead) x design-day "
        "PUE (the hottest hours, chillers at full load): what the grid connection must supply. "
        "Energy uses the average draw (nameplate x average load fraction x (1 + network) x "
        "annual PUE) over the training time; electricity cost and emissions follow the energy.",
        # the run model's note is given once, below
        *(n for n in sens.notes if not n.startswith("base MFU")),
    )
    mfu_source = str(result.assumptions.get("mfu", {}).get("source", ""))
    if "from the run model" in mfu_source:
        rb.note(mfu_source + "; `planner validate` prints the validation table.")
    title = preset.title if preset is not None else f"Training run on {chip.name}"
    subtitle = (
        f"Sizing report - preset {preset.name}; source: {preset.source}"
        if preset is not None
        else "Sizing report"
    )
    return rb.build(
        title=title,
        subtitle=subtitle,
        summary=_summary(payload, chip.name, chip.system_name, request, sens)
        + ("" if grid is None else " " + grid["sentence"]),
        headline=headline,
        assumptions=b.assumption_rows(result.assumptions),
        inputs=inputs if inputs is not None else _default_inputs(request, cat),
        data={
            "sizing": payload,
            "sensitivity": sens.to_dict(),
            "comparison": rb.table("chips").to_dict()["rows"],
        },
    )


def _grid_verdict(
    p: dict[str, Any],
    request: SizingRequest,
    chip: Any,
    grid_mw: float,
    cat: Catalog,
) -> dict[str, Any]:
    """The grid verdict of the app's sizing page: fits, or how short and what fits instead."""
    verdict = grid_fit(p, grid_mw)
    out: dict[str, Any] = {
        "grid_mw": verdict.grid_mw,
        "need_mw": verdict.need_mw,
        "fits": verdict.fits,
        "short_mw": verdict.short_mw,
        "max_gpus": verdict.max_gpus,
        "max_systems": verdict.max_systems,
        "days_at_max_gpus": None,
    }
    short = f"{verdict.short_mw:,.2f} MW short."
    if verdict.fits:
        out["sentence"] = b.grid_sentence(True, verdict.grid_mw, verdict.need_mw)
        return out
    if verdict.max_gpus == 0:
        out["sentence"] = b.grid_sentence(
            False,
            verdict.grid_mw,
            verdict.need_mw,
            f"{short} Not even one {chip.system_name} fits.",
        )
        return out
    smaller = size_training(
        request.run, chip.id, gpus=verdict.max_gpus, assumptions=request.assumptions, catalog=cat
    ).to_dict()
    out["days_at_max_gpus"] = smaller["days"]
    out["sentence"] = b.grid_sentence(
        False,
        verdict.grid_mw,
        verdict.need_mw,
        f"{short} At most {verdict.max_gpus:,} GPUs ({verdict.max_systems:,} x "
        f"{chip.system_name}) fit, taking {smaller['days']:,.1f} days.",
    )
    return out


def _default_inputs(request: SizingRequest, cat: Catalog) -> tuple[InputFile, ...]:
    if request.preset is not None:
        first = input_file(f"presets (preset {request.preset.name})", data_dir() / "presets.toml")
    else:
        a = request.assumptions
        canonical = {
            "run": {
                "flops": request.run.flops,
                "params": request.run.params,
                "active_params": request.run.active_params,
                "tokens": request.run.tokens,
            },
            "accelerator": request.accelerator,
            "gpus": request.gpus,
            "days": request.days,
            "assumptions": {k: getattr(a, k) for k in a.UNITS},
        }
        first = InputFile("request (canonical JSON)", "", sha256_json(canonical))
    return b.inputs(first, cat.path, "default assumptions", "facility profiles")


def _power_over_time_table(result: Any) -> Table:
    """The run's grid-side power over time, without and with GPU power smoothing + storage
    (:func:`planner.sizing.power_timeline`: the instants where a line bends)."""
    frame = power_timeline(result)
    return Table(
        name="power_over_time",
        title="Power over time: steps, a checkpoint, a failure and its restart",
        columns=(
            Column("power_case"),
            Column("time_s"),
            Column("phase"),
            Column("grid_side_power_mw"),
        ),
        rows=tuple(frame.to_dict(orient="records")),
        section="details",
        collapsed=True,
        note="Only the instants where a line bends; power changes linearly in between. The "
        "checkpoint lasts the failure model's blocking write and the restart its restart and "
        "recovery time.",
    )


def _power_chain_table(p: dict[str, Any]) -> Table:
    c = p.get("power_chain") or {}
    stages = (  # (peak, average) outputs of each stage; the stage is named by the vocabulary
        ("gpu_tdp_w", None),
        ("server_power_per_gpu_w", "average_server_power_per_gpu_w"),
        ("it_power_per_gpu_w", "average_it_power_per_gpu_w"),
        ("facility_power_per_gpu_w", "average_facility_power_per_gpu_w"),
    )
    rows = []
    for peak_key, avg_key in stages:
        stage = quantities.label(peak_key, unit=False)
        rows.append({"stage": stage, "basis": "peak", "power_per_gpu_w": c.get(peak_key)})
        if avg_key is not None:
            rows.append({"stage": stage, "basis": "average", "power_per_gpu_w": c.get(avg_key)})
    return Table(
        name="power_chain",
        title="Power chain per GPU",
        columns=(
            Column.plain("stage", "Stage"),
            Column.plain("basis", "Basis"),
            Column("power_per_gpu_w"),
        ),
        rows=tuple(rows),
        note="Per GPU, including its share of the server or rack; multiply by the GPUs for the cluster.",
    )


def _summary(
    p: dict[str, Any],
    chip_name: str,
    system_name: str,
    request: SizingRequest,
    s: SensitivityResult,
) -> str:
    run = request.run
    work = f"{sci(p['flops'])} FLOPs"
    if run.flops is None:
        work += (
            f" = 6 x {sci(run.effective_active_params)} active parameters x "
            f"{sci(run.tokens)} tokens"
        )
    deadline = p.get("deadline_days")
    when = f"within {deadline:g} days" if deadline is not None else f"on {p['gpus']:,.0f} GPUs"

    def v(name: str, unit: bool = True) -> str:  # the vocabulary's format of a core output
        return quantities.format_value(name, p[name], unit=unit)

    spares = p.get("spare_gpus") or 0
    spare_text = (
        f" (plus {v('spare_gpus', unit=False)} idle hot-spare GPUs, counted in the power, "
        "cost and embodied carbon)"
        if spares
        else ""
    )
    parts = [
        f"Training this run ({work}) {when} on {chip_name} at {p['precision'].upper()} "
        f"({p['peak_tflops_per_gpu']:,.0f} TFLOP/s dense per GPU, MFU {p['mfu']:.2f}, goodput "
        f"{p['goodput']:.2f}) takes {v('gpus')} in {v('systems', unit=False)} {system_name} "
        f"systems of {p['gpus_per_system']}{spare_text} and {v('days')} "
        f"({p['gpu_hours'] / 1e6:,.2f} million GPU-hours)."
    ]
    parts.append(
        f"It needs {v('facility_power_mw')} of peak facility power at the design-day "
        f"PUE {p['design_pue']:.2f} (what the grid must supply), averages "
        f"{v('average_facility_power_mw')} at the annual PUE {p['pue']:.2f} and uses "
        f"{v('energy_mwh')}."
    )
    elec = request.assumptions.electricity_usd_per_mwh
    grid = request.assumptions.grid_gco2_per_kwh
    life = request.assumptions.service_life_years
    if p["pricing"] == "amortized":
        cost = (
            f"It costs {money(p['cost_usd'])} amortised (servers, network and facility over a "
            f"{float(life):g}-year service life, incl. {money(p['electricity_cost_usd'])} of "
            f"electricity at ${float(elec):,.0f}/MWh; {money(p['rental_cost_usd'])} to rent)"
        )
    elif p["pricing"] == "rent":
        cost = f"It costs {money(p['cost_usd'])} to rent ({p['gpu_hours']:,.0f} GPU-hours)"
    else:
        cost = (
            f"It costs {money(p['cost_usd'])} buying the whole cluster (capex plus "
            f"{money(p['electricity_cost_usd'])} of electricity at ${float(elec):,.0f}/MWh)"
        )
    parts.append(
        f"{cost}; the cluster costs {money(p['cluster_capex_usd'])} up front. It emits "
        f"{v('emissions_tco2')} at {float(grid):g} gCO2/kWh"
        + (
            f" plus {v('embodied_tco2')} embodied in the hardware."
            if p.get("embodied_tco2") is not None
            else "."
        )
    )
    bits = []
    for row in p.get("published") or ():
        if row["relative_difference"] is None:
            continue
        unit = quantities.quantity(row["quantity"]).unit or row["quantity"]
        rel = row["relative_difference"]
        bits.append(
            f"{unit} {row['published']:,.4g} (model {rel:+.{1 if abs(rel) >= 1e-3 else 2}%})"
        )
    sentence = b.what_differs_sentence(bits, p)
    if sentence:
        parts.append(sentence)
    lever = b.largest_lever(s, s.outputs[0], f" (each factor moved +-{s.swing:.0%}, one at a time)")
    if lever:
        parts.append(lever)
    return " ".join(parts)


def sci(value: float) -> str:
    """``2.184e+25`` -> ``2.18e25`` (3 significant digits, compact exponent)."""
    mantissa, _, exp = f"{float(value):.3g}".partition("e")
    return f"{mantissa}e{int(exp)}" if exp else mantissa


#: Kept for callers of the former location (:func:`planner.reports.builder.sensitivity_tables`).
sensitivity_tables = b.sensitivity_tables
