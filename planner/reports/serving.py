"""Serving report: one inference service on one chip (a serving preset or a service request).

Every number comes from the core: :meth:`planner.serving_presets.ServiceRequest.serve` (the
answer), :func:`planner.serving.compare_serving` (every chip for the same service),
:func:`planner.serving.serving_grid_fit` (the grid verdict),
:func:`planner.serving_presets.published_comparison` and
:func:`planner.serving_validation.validate_serving` (the public record), and vectorised
:func:`planner.serving.serve` calls over users and over the reasoning multiplier
(:func:`planner.serving_presets.sweep_service`, also used by the app's charts). This module only arranges them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import planner
from planner._arrays import to_python
from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.reports._format import auto_format, money
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Provenance,
    Quantity,
    Report,
    Table,
    clean,
    input_file,
    sha256_json,
)
from planner.serving import (
    RANGES,
    ServingResult,
    compare_serving,
    serving_grid_fit,
)
from planner.serving_presets import ServiceRequest, published_comparison, sweep_service

#: Multiples of the service's users swept in the report (ordinal axis: one point each).
USERS_FACTORS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: Reasoning multipliers swept (1 = no hidden chain of thought; o1-style models: 10-50x).
REASONING_MULTIPLIERS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)

#: (key, label, unit, format) of every scalar result shown in the results table.
RESULT_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("accelerator", "accelerator", "", ""),
    ("precision", "tensor precision", "", ""),
    ("model", "model", "", ""),
    ("gpus_per_replica", "GPUs per replica", "GPUs", ",.0f"),
    ("batch_size", "decode batch per replica", "sequences", ",.0f"),
    ("batch_limit", "batch limited by", "", ""),
    ("decode_bound", "decode bound by", "", ""),
    ("weights_gb_per_replica", "weights per replica", "GB", ",.1f"),
    ("kv_cache_gb_per_replica", "KV cache per replica", "GB", ",.1f"),
    ("kv_cache_bytes_per_token", "KV cache per token", "bytes", ",.0f"),
    ("ttft_s", "time to first token", "s", ".3g"),
    ("tpot_s", "time per output token", "s", ".3g"),
    ("tokens_per_s_per_gpu", "generated tokens per GPU", "tokens/s", ",.0f"),
    ("queries_per_s_per_replica", "queries per replica", "queries/s", ",.3g"),
    ("queries_per_s_average", "demand, average", "queries/s", ",.0f"),
    ("queries_per_s_peak", "demand, peak hour", "queries/s", ",.0f"),
    ("generated_tokens_per_query", "generated tokens per query", "tokens", ",.0f"),
    ("load_fraction", "average load", "fraction", ".3g"),
    ("replicas", "replicas", "replicas", ",.0f"),
    ("gpus", "GPUs", "GPUs", ",.0f"),
    ("systems", "systems", "systems", ",.0f"),
    ("it_power_mw", "peak IT power", "MW", ",.3f"),
    ("pue", "annual PUE (energy)", "ratio", ".3g"),
    ("design_pue", "design-day PUE (grid peak)", "ratio", ".3g"),
    ("facility_power_mw", "peak facility power (grid)", "MW", ",.3f"),
    ("average_facility_power_mw", "average facility power (meter)", "MW", ",.3f"),
    ("energy_mwh_per_year", "energy a year", "MWh/yr", ",.0f"),
    ("wh_per_query", "energy per query", "Wh", ".3g"),
    ("pricing", "pricing in force", "", ""),
    ("cost_usd", "cost a year (pricing in force)", "USD/yr", ",.0f"),
    ("usd_per_million_tokens", "per million tokens (pricing in force)", "USD", ".3g"),
    ("usd_per_million_output_tokens", "per million output tokens (pricing in force)", "USD", ".3g"),
    ("amortized_cost_usd", "amortized: hardware share + electricity", "USD/yr", ",.0f"),
    ("rental_cost_usd", "rent: GPU-hours x rent", "USD/yr", ",.0f"),
    ("electricity_cost_usd", "electricity", "USD/yr", ",.0f"),
    ("usd_per_million_tokens_amortized", "per million tokens, amortized", "USD", ".3g"),
    ("usd_per_million_tokens_rented", "per million tokens, rent", "USD", ".3g"),
    ("cluster_capex_usd", "cluster capex, up front (not in the amortized cost)", "USD", ",.0f"),
    ("emissions_tco2_per_year", "emissions a year", "tCO2/yr", ",.0f"),
    ("embodied_tco2", "embodied emissions charged to the year", "tCO2/yr", ",.0f"),
)
KV_COLUMNS = (
    Column("quantity", "Quantity"),
    Column("key", "Key"),
    Column("value", "Value"),
    Column("unit", "Unit"),
)
BREAKDOWN_LABELS = {
    "accelerators": "accelerators while serving",
    "host": "host while serving",
    "idle_capacity": "idle capacity",
    "network_storage": "network and storage",
    "facility_overhead": "facility overhead (PUE)",
}


def sourced_assumptions(
    result: ServingResult, request: ServiceRequest
) -> dict[str, dict[str, Any]]:
    """The result's assumptions (value, unit, source), with the demand's sources as the preset
    names them (the core tags every demand value ``service input``)."""
    sources = request.preset.sources if request.preset is not None else {}
    out = {}
    for name, item in result.assumptions.items():
        source = item["source"]
        if source == "service input" and name in sources:
            source = sources[name]
        out[name] = {"value": item["value"], "unit": item["unit"], "source": source}
    return out


def _clip(values: Any, name: str) -> np.ndarray:
    low, high = RANGES[name]
    return np.unique(np.clip(np.asarray(values, dtype=float), low, high))


def grid_verdict(result: ServingResult, grid_mw: float, users: float) -> dict[str, Any]:
    """:func:`planner.serving.serving_grid_fit` as data, with the sentence the report says."""
    fit = serving_grid_fit(result, grid_mw, users)
    out: dict[str, Any] = {k: to_python(v) for k, v in fit.__dict__.items()}
    if fit.fits:
        out["sentence"] = (
            f"It fits the {fit.grid_mw:,.2f} MW grid limit "
            f"({fit.grid_mw - fit.need_mw:,.2f} MW headroom)."
        )
    elif fit.max_systems <= 0 or fit.max_users <= 0:
        out["sentence"] = (
            f"It does not fit the {fit.grid_mw:,.2f} MW grid limit: short by "
            f"{fit.short_mw:,.2f} MW, and not even one replica fits."
        )
    else:
        out["sentence"] = (
            f"It does not fit the {fit.grid_mw:,.2f} MW grid limit: short by "
            f"{fit.short_mw:,.2f} MW. At most {fit.max_systems:,} systems fit, serving about "
            f"{fit.max_users:,.0f} of the {users:,.0f} users at these latency targets."
        )
    return out


def build_serving_report(
    request: ServiceRequest,
    *,
    catalog: Catalog | None = None,
    command: str = "",
    inputs: tuple[InputFile, ...] | None = None,
    grid_mw: float | None = None,
) -> Report:
    """Serve the request with the core and arrange the answer as a :class:`Report`.

    Parameters
    ----------
    request : ServiceRequest
        From :func:`planner.serving_presets.build_service_request` (a preset and/or values).
    catalog : Catalog, optional
        The shipped catalog when omitted.
    command : str
        The command line that reproduces the report (shown in the provenance).
    inputs : tuple of InputFile, optional
        Files the numbers depend on; default: the serving presets file (for a preset) or the
        canonical request, then the catalog, models and default-assumption tables.
    grid_mw : float, optional
        A site grid limit, MW: the report says whether the service's peak facility power
        fits and, if not, by how much and how many users fit (as the app's Serve page).
    """
    cat = catalog or load_catalog()
    result = request.serve(cat)
    chip = cat.get(result.accelerator)
    payload = result.to_dict()  # what `planner serve --json` prints
    users = float(request.demand.users)
    preset = request.preset
    published = published_comparison(result, preset)
    if preset is not None:
        payload["preset"] = preset.name
        payload["published"] = published
    feasible = bool(result.feasible)
    grid = None
    if grid_mw is not None and feasible:
        grid = grid_verdict(result, float(grid_mw), users)
        payload["grid"] = grid
    comparison = compare_serving(
        request.demand,
        model=request.model,
        params=request.params,
        active_params=request.active_params,
        batch_size=request.batch_size,
        assumptions=request.assumptions,
        catalog=cat,
    )
    title = preset.title if preset is not None else f"Serving {result.model} on {chip.name}"
    subtitle = (
        f"Serving report - preset {preset.name}; source: {preset.source}"
        if preset is not None
        else "Serving report"
    )
    tables: list[Table] = [_results_table(payload)]
    charts: list[Chart] = []
    if feasible and payload.get("energy_breakdown"):
        tables.append(_breakdown_table(payload))
        charts.append(
            Chart(
                name="energy_breakdown",
                title="Energy per query by part",
                kind="bar",
                table="energy_breakdown",
                encoding={"x": "wh", "y": "part"},
                caption="Shares of the average facility energy per query (Google 2025 reports "
                "58% accelerators, 25% host, 10% idle, 8% overhead for a median Gemini prompt).",
            )
        )
    if feasible:
        users_curve = sweep_service(
            request, users=_clip(np.asarray(USERS_FACTORS) * users, "users"), catalog=cat
        )
        reasoning_curve = sweep_service(
            request, reasoning=_clip(REASONING_MULTIPLIERS, "reasoning_multiplier"), catalog=cat
        )
        tables += _users_tables(users_curve, users, grid)
        tables.append(_reasoning_table(reasoning_curve))
        charts += [
            Chart(
                name="gpus_vs_users",
                title="GPUs vs users (same service)",
                kind="line",
                table="users_gpus",
                encoding={"x": "users_label", "y": "gpus", "x_type": "O"},
                caption="Whole replicas for the peak hour; the service's users marked 'x1'.",
            ),
            Chart(
                name="power_vs_users",
                title="Peak facility power vs users"
                + ("" if grid is None else ", with the grid limit"),
                kind="line",
                table="users_power",
                encoding={"x": "users_label", "y": "mw", "color": "series", "x_type": "O"},
                caption="What the grid must supply at each scale"
                + ("; the flat line is the grid limit." if grid is not None else "."),
            ),
            Chart(
                name="wh_vs_reasoning",
                title="Energy per query vs reasoning multiplier",
                kind="line",
                table="reasoning",
                encoding={"x": "reasoning_label", "y": "wh_per_query", "x_type": "O"},
                caption="Every answer generating more hidden tokens: longer decode and KV caches.",
            ),
        ]
    tables.append(_chips_table(comparison, chip.id))
    charts.append(
        Chart(
            name="chips_power",
            title="Every chip for the same service: peak facility power",
            kind="bar",
            table="chips",
            encoding={"x": "facility_power_mw", "y": "accelerator", "highlight": "chosen"},
            caption="Same model, demand, latency targets and assumptions; the chosen chip "
            "highlighted.",
        )
    )
    if published:
        tables.append(_published_table(published))
    tables.append(_record_table())
    notes = [
        "Peak facility power = nameplate system power x (1 + network overhead) x design-day "
        "PUE for every installed system: what the grid must supply. Average power = idle + "
        "(busy - idle) x load at the annual PUE; energy, Wh per query and tCO2 use it.",
        "Costs are for a year of serving, as a training run's for its hours, with the prices of "
        "data/chip_economics.csv (estimates marked): amortized = servers, networking and "
        "facility share amortised over the service life for the hours served + electricity; "
        "rent = GPU-hours x rent (power included); capex = the whole cluster purchase + "
        "electricity. USD per million tokens counts every token processed (prompt + "
        f"generated) under the pricing in force ({payload.get('pricing')}).",
    ]
    if not feasible:
        notes.append(
            f"No replica of {chip.id} meets the latency targets: {result.infeasible_reason}."
        )
    assumptions = tuple(
        {"name": name, **item} for name, item in sourced_assumptions(result, request).items()
    )
    provenance = Provenance(
        planner_version=planner.__version__,
        inputs=inputs if inputs is not None else _default_inputs(request, cat),
        command=command,
    )
    chips = next(t for t in tables if t.name == "chips")
    return Report(
        kind="serving",
        title=title,
        subtitle=subtitle,
        summary=_summary(payload, request, chip.name, chip.system_name, published)
        + ("" if grid is None else " " + grid["sentence"]),
        headline=_headline(payload, grid),
        assumptions=assumptions,
        tables=tuple(tables),
        charts=tuple(charts),
        notes=tuple(notes),
        provenance=provenance,
        data={"serving": clean(payload), "comparison": chips.to_dict()["rows"]},
    )


def _headline(p: dict[str, Any], grid: dict[str, Any] | None) -> tuple[Quantity, ...]:
    items = [
        Quantity("accelerator", "chip", p["accelerator"]),
        Quantity("replicas", "replicas", p["replicas"], "replicas", ",.0f"),
        Quantity("gpus", "GPUs", p["gpus"], "GPUs", ",.0f"),
        Quantity("systems", "systems", p["systems"], "systems", ",.0f"),
        Quantity("facility_power_mw", "peak facility power", p["facility_power_mw"], "MW", ",.2f"),
        Quantity(
            "average_facility_power_mw",
            "average facility power",
            p["average_facility_power_mw"],
            "MW",
            ",.2f",
        ),
        Quantity(
            "energy_mwh_per_year", "energy a year", p["energy_mwh_per_year"], "MWh/yr", ",.0f"
        ),
        Quantity("wh_per_query", "energy per query", p["wh_per_query"], "Wh", ".3g"),
        Quantity(
            "usd_per_million_tokens",
            "cost per million tokens",
            p["usd_per_million_tokens"],
            "USD",
            ".3g",
            note=str(p["pricing"]),
        ),
        Quantity(
            "emissions_tco2_per_year",
            "emissions a year",
            p["emissions_tco2_per_year"],
            "tCO2/yr",
            ",.0f",
        ),
    ]
    if grid is not None:
        items.append(
            Quantity(
                "grid_limit_mw",
                "grid limit",
                grid["grid_mw"],
                "MW",
                ",.2f",
                note="fits" if grid["fits"] else f"short by {grid['short_mw']:,.2f} MW",
            )
        )
    return tuple(items)


def _results_table(p: dict[str, Any]) -> Table:
    rows = tuple(
        {"quantity": label, "key": key, "value": p.get(key), "unit": unit, "_fmt": fmt}
        for key, label, unit, fmt in RESULT_ROWS
    )
    return Table(
        name="results",
        title="The answer, every number",
        columns=KV_COLUMNS,
        rows=rows,
        note="Costs are 'n/a' where the catalog has no price for the chip.",
    )


def _breakdown_table(p: dict[str, Any]) -> Table:
    wh = float(p["wh_per_query"])
    rows = tuple(
        {"part": BREAKDOWN_LABELS.get(k, k), "share": v, "wh": v * wh}
        for k, v in p["energy_breakdown"].items()
    )
    return Table(
        name="energy_breakdown",
        title="Energy per query, by part",
        columns=(
            Column("part", "Part"),
            Column("share", "Share", "%", ".1%"),
            Column("wh", "Energy per query", "Wh", ".3g"),
        ),
        rows=rows,
    )


def _users_tables(curve: pd.DataFrame, users: float, grid: dict[str, Any] | None) -> list[Table]:
    """The users sweep as a wide table and the long table of the power chart (with the grid
    limit as a second series)."""
    rows, power = [], []
    for rec in curve.to_dict(orient="records"):
        r = {k: to_python(v) for k, v in rec.items()}
        label = _users_label(r["users"], users)
        feasible = bool(r["feasible"])
        rows.append(
            {
                "users_label": label,
                "users": r["users"],
                "replicas": r["replicas"] if feasible else None,
                "gpus": r["gpus"] if feasible else None,
                "systems": r["systems"] if feasible else None,
                "facility_power_mw": r["facility_power_mw"] if feasible else None,
                "wh_per_query": r["wh_per_query"] if feasible else None,
            }
        )
        power.append(
            {
                "users_label": label,
                "series": "peak facility power",
                "mw": r["facility_power_mw"] if feasible else None,
            }
        )
        if grid is not None:
            power.append({"users_label": label, "series": "grid limit", "mw": grid["grid_mw"]})
    wide = Table(
        name="users_gpus",
        title="The same service at other scales (users x factor)",
        columns=(
            Column("users_label", "Scale"),
            Column("users", "Users", "daily active", ",.0f"),
            Column("replicas", "Replicas", "replicas", ",.0f"),
            Column("gpus", "GPUs", "GPUs", ",.0f"),
            Column("systems", "Systems", "systems", ",.0f"),
            Column("facility_power_mw", "Peak facility power", "MW", ",.2f"),
            Column("wh_per_query", "Energy per query", "Wh", ".3g"),
        ),
        rows=tuple(rows),
    )
    long = Table(
        name="users_power",
        title="Peak facility power vs users" + ("" if grid is None else " and the grid limit"),
        columns=(
            Column("users_label", "Scale"),
            Column("series", "Series"),
            Column("mw", "Power", "MW", ",.2f"),
        ),
        rows=tuple(power),
        collapsed=True,
    )
    return [wide, long]


def _users_label(value: float, users: float) -> str:
    return f"x{value / users:.3g} ({value:,.3g})"


def _reasoning_table(curve: pd.DataFrame) -> Table:
    rows = []
    for rec in curve.to_dict(orient="records"):
        r = {k: to_python(v) for k, v in rec.items()}
        feasible = bool(r["feasible"])
        rows.append(
            {
                "reasoning_label": f"x{r['reasoning_multiplier']:g}",
                "reasoning_multiplier": r["reasoning_multiplier"],
                "wh_per_query": r["wh_per_query"] if feasible else None,
                "gpus": r["gpus"] if feasible else None,
                "facility_power_mw": r["facility_power_mw"] if feasible else None,
            }
        )
    return Table(
        name="reasoning",
        title="The same service with test-time reasoning (generated / visible tokens)",
        columns=(
            Column("reasoning_label", "Reasoning"),
            Column("reasoning_multiplier", "Reasoning multiplier", "x", "g"),
            Column("wh_per_query", "Energy per query", "Wh", ".3g"),
            Column("gpus", "GPUs", "GPUs", ",.0f"),
            Column("facility_power_mw", "Peak facility power", "MW", ",.2f"),
        ),
        rows=tuple(rows),
    )


def _published_table(published: list[dict[str, Any]]) -> Table:
    return Table(
        name="published",
        title="Model vs the published figures this preset reproduces",
        columns=(
            Column("quantity", "Quantity"),
            Column("published", "Published", fmt=",.4g"),
            Column("model", "Model", fmt=",.4g"),
            Column("ratio", "Model / published", fmt=".2f"),
            Column("tolerance_factor", "Tolerance (factor)", fmt="g"),
            Column("within_tolerance", "Within"),
            Column("source", "Source"),
            Column("note", "Note"),
        ),
        rows=tuple(published),
        section="comparison",
    )


def _record_table() -> Table:
    from planner.serving_validation import validate_serving

    frame = validate_serving(include_mlenergy=False)
    rows = tuple({k: to_python(v) for k, v in r.items()} for r in frame.to_dict(orient="records"))
    return Table(
        name="public_record",
        title="Model vs public record: every shipped serving preset",
        columns=(
            Column("case", "Case"),
            Column("quantity", "Quantity"),
            Column("unit", "Unit"),
            Column("published", "Published", fmt=",.4g"),
            Column("predicted", "Model", fmt=",.4g"),
            Column("ratio", "Model / published", fmt=".2f"),
            Column("tolerance_factor", "Tolerance (factor)", fmt="g"),
            Column("within_tolerance", "Within"),
            Column("source", "Source"),
        ),
        rows=rows,
        section="comparison",
        note="Defaults are never tuned per case; `planner validate` prints the same cases and "
        "the ML.ENERGY measurements.",
    )


def _chips_table(frame: pd.DataFrame, chosen: str) -> Table:
    pricing = ", ".join(sorted({str(v) for v in frame.get("pricing", []) if isinstance(v, str)}))
    rows = []
    for chip_id, row in frame.iterrows():
        r = {k: to_python(v) for k, v in row.items()}
        rows.append(
            {
                "accelerator": chip_id,
                "chosen": chip_id == chosen,
                **{
                    k: (None if isinstance(r.get(k), float) and r[k] != r[k] else r.get(k))
                    for k in (
                        "gpus_per_replica",
                        "gpus",
                        "systems",
                        "facility_power_mw",
                        "wh_per_query",
                        "usd_per_million_tokens",
                        "emissions_tco2_per_year",
                    )
                },
                "pricing": r.get("pricing") if isinstance(r.get("pricing"), str) else None,
                "note": r.get("note") or "",
            }
        )
    return Table(
        name="chips",
        title="Every catalog chip for the same service (same model, demand and assumptions; "
        f"one pricing: {pricing})",
        columns=(
            Column("accelerator", "Chip"),
            Column("chosen", "Chosen"),
            Column("gpus_per_replica", "GPUs per replica", "GPUs", ",.0f"),
            Column("gpus", "GPUs", "GPUs", ",.0f"),
            Column("systems", "Systems", "systems", ",.0f"),
            Column("facility_power_mw", "Peak facility power", "MW", ",.2f"),
            Column("wh_per_query", "Energy per query", "Wh", ".3g"),
            Column("usd_per_million_tokens", "Cost per million tokens", "USD", ".3g"),
            Column("pricing", "Pricing"),
            Column("emissions_tco2_per_year", "Emissions a year", "tCO2/yr", ",.0f"),
            Column("note", "Note"),
        ),
        rows=tuple(rows),
        section="comparison",
    )


def _default_inputs(request: ServiceRequest, cat: Catalog) -> tuple[InputFile, ...]:
    d = data_dir()
    files: list[InputFile] = []
    if request.preset is not None:
        files.append(
            input_file(
                f"serving presets (preset {request.preset.name})", d / "serving_presets.toml"
            )
        )
    else:
        dm = request.demand
        canonical = {
            "accelerator": request.accelerator,
            "model": request.model,
            "params": request.params,
            "active_params": request.active_params,
            "demand": {
                "users": dm.users,
                "queries_per_user_day": dm.queries_per_user_day,
                "input_tokens": dm.input_tokens,
                "output_tokens": dm.output_tokens,
            },
            "assumptions": {
                k: to_python(getattr(request.assumptions, k)) for k in request.assumptions.UNITS
            },
            "sizing": {
                k: to_python(getattr(request.assumptions.sizing, k))
                for k in request.assumptions.sizing.UNITS
            },
        }
        files.append(InputFile("service request (canonical JSON)", "", sha256_json(canonical)))
    files.append(input_file("accelerator catalog", Path(cat.path)))
    files.append(input_file("model architectures", d / "models.csv"))
    files.append(input_file("serving assumptions", d / "serving_assumptions.csv"))
    files.append(input_file("default assumptions", d / "assumptions.csv"))
    return tuple(files)


def _count(n: float, noun: str) -> str:
    return f"{n:,.0f} {noun}{'' if n == 1 else 's'}"


def _summary(
    p: dict[str, Any],
    request: ServiceRequest,
    chip_name: str,
    system_name: str,
    published: list[dict[str, Any]],
) -> str:
    d = request.demand
    reasoning = float(request.assumptions.reasoning_multiplier)
    demand = (
        f"{float(d.users):,.0f} daily users x {float(d.queries_per_user_day):g} queries a day "
        f"({float(d.input_tokens):,.0f} input and {float(d.output_tokens):,.0f} output tokens"
        + (f", reasoning x{reasoning:g}" if reasoning != 1 else "")
        + ")"
    )
    if not bool(p["feasible"]):
        return (
            f"Serving {p['model']} to {demand} on {chip_name} at {p['precision'].upper()} is "
            f"not possible within the latency targets: {p.get('infeasible_reason')}. The chip "
            "comparison shows which chips serve it."
        )
    parts = [
        f"Serving {p['model']} to {demand} on {chip_name} at {p['precision'].upper()} takes "
        f"{_count(p['replicas'], 'replica')} of {_count(p['gpus_per_replica'], 'GPU')} (batch "
        f"{p['batch_size']:,.0f}, TTFT {p['ttft_s']:.3g} s, TPOT {p['tpot_s'] * 1e3:.3g} ms): "
        f"{_count(p['gpus'], 'GPU')} in {_count(p['systems'], system_name + ' system')}.",
        f"It needs {p['facility_power_mw']:,.2f} MW of peak facility power (what the grid must "
        f"supply), averages {p['average_facility_power_mw']:,.2f} MW and uses "
        f"{p['energy_mwh_per_year']:,.0f} MWh a year: {p['wh_per_query']:.3g} Wh per query.",
    ]
    cost = p.get("usd_per_million_tokens")
    parts.append(
        (
            f"It costs {money(cost) if cost >= 1000 else f'${cost:,.3g}'} per million tokens "
            f"({p['pricing']}: {money(p['cost_usd'])} a year)"
            if cost is not None
            else "Its cost is unknown"
        )
        + f" and emits {p['emissions_tco2_per_year']:,.0f} tCO2 a year."
    )
    bits = [
        f"{r['quantity'].replace('_', ' ')} {auto_format(r['published'])} (model "
        f"{auto_format(r['model'])}, x{r['ratio']:.2f})"
        for r in published
        if r.get("ratio") is not None
    ]
    if bits:
        parts.append("Published: " + ", ".join(bits) + ".")
    return " ".join(parts)
