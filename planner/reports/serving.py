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

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner import quantities
from planner._arrays import to_python
from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.reports import builder as b
from planner.reports._format import auto_format, money
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
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

#: Every scalar result shown in the results table (vocabulary names), in order.
RESULT_KEYS: tuple[str, ...] = (
    "accelerator",
    "precision",
    "model",
    "gpus_per_replica",
    "batch_size",
    "batch_limit",
    "decode_bound",
    "weights_gb_per_replica",
    "kv_cache_gb_per_replica",
    "kv_cache_bytes_per_token",
    "ttft_s",
    "tpot_s",
    "tokens_per_s_per_gpu",
    "queries_per_s_per_replica",
    "queries_per_s_average",
    "queries_per_s_peak",
    "generated_tokens_per_query",
    "load_fraction",
    "replicas",
    "gpus",
    "systems",
    "it_power_mw",
    "pue",
    "design_pue",
    "facility_power_mw",
    "average_facility_power_mw",
    "energy_mwh_per_year",
    "wh_per_query",
    "pricing",
    "cost_usd",
    "usd_per_million_tokens",
    "usd_per_million_output_tokens",
    "amortized_cost_usd",
    "rental_cost_usd",
    "electricity_cost_usd",
    "usd_per_million_tokens_amortized",
    "usd_per_million_tokens_rented",
    "cluster_capex_usd",
    "emissions_tco2_per_year",
    "embodied_tco2",
)
HEADLINE_KEYS = (
    "accelerator",
    "replicas",
    "gpus",
    "systems",
    "facility_power_mw",
    "average_facility_power_mw",
    "energy_mwh_per_year",
    "wh_per_query",
    "usd_per_million_tokens",
    "emissions_tco2_per_year",
)
CHIP_KEYS = (
    "gpus_per_replica",
    "gpus",
    "systems",
    "facility_power_mw",
    "wh_per_query",
    "usd_per_million_tokens",
    "pricing",
    "emissions_tco2_per_year",
)
PUBLISHED_COLUMNS = (
    b.QUANTITY,
    b.PUBLISHED,
    b.MODEL,
    Column("ratio"),
    Column("tolerance_factor"),
    Column("within_tolerance"),
    b.SOURCE,
    b.NOTE,
)
BREAKDOWN_LABELS = {
    "accelerators": "accelerators while serving",
    "host": "host while serving",
    "idle_capacity": "idle capacity",
    "network_storage": "network and storage",
    "facility_overhead": "facility overhead (PUE)",
}


def _clip(values: Any, name: str) -> np.ndarray:
    low, high = RANGES[name]
    return np.unique(np.clip(np.asarray(values, dtype=float), low, high))


def grid_verdict(result: ServingResult, grid_mw: float, users: float) -> dict[str, Any]:
    """:func:`planner.serving.serving_grid_fit` as data, with the sentence the report says."""
    fit = serving_grid_fit(result, grid_mw, users)
    out: dict[str, Any] = {k: to_python(v) for k, v in fit.__dict__.items()}
    short = f"short by {fit.short_mw:,.2f} MW"
    if fit.fits:
        tail = ""
    elif fit.max_systems <= 0 or fit.max_users <= 0:
        tail = f"{short}, and not even one replica fits."
    else:
        tail = (
            f"{short}. At most {fit.max_systems:,} systems fit, serving about "
            f"{fit.max_users:,.0f} of the {users:,.0f} users at these latency targets."
        )
    out["sentence"] = b.grid_sentence(bool(fit.fits), fit.grid_mw, fit.need_mw, tail)
    return out


def say_what_differs(
    payload: dict[str, Any], result: ServingResult, request: ServiceRequest
) -> None:
    """Put ``published`` or ``changed_inputs`` in a serving preset's payload.

    The core's result says it when it knows (``published`` only for the preset's own inputs,
    else ``changed_inputs``); a result that carries neither is compared with the preset's
    published figures, as ``planner serve --json`` does.
    """
    preset = request.preset
    if preset is None:
        return
    payload.setdefault("preset", preset.name)
    if "published" not in payload and "changed_inputs" not in payload:
        payload["published"] = published_comparison(result, preset)


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
    say_what_differs(payload, result, request)
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
    rb = b.ReportBuilder("serving", command)
    rb.add(
        b.kv_table(
            payload,
            RESULT_KEYS,
            note="Costs are 'n/a' where the catalog has no price for the chip.",
        )
    )
    if feasible and payload.get("production"):
        rb.add(*_production_tables(payload["production"]))
    if feasible and payload.get("energy_breakdown"):
        rb.add(_breakdown_table(payload))
        rb.chart(
            Chart(
                name="energy_breakdown",
                title="Energy per query by part",
                kind="bar",
                table="energy_breakdown",
                encoding={"x": "wh_per_query", "y": "part"},
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
        rb.add(
            *_users_tables(users_curve, users, grid),
            _reasoning_table(reasoning_curve, request, cat),
        )
        rb.chart(
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
                encoding={"x": "users_label", "y": "power_mw", "color": "series", "x_type": "O"},
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
        )
    pricing = ", ".join(
        sorted({str(v) for v in comparison.get("pricing", []) if isinstance(v, str)})
    )
    rb.compare_chips(
        comparison,
        chip.id,
        CHIP_KEYS,
        title="Every catalog chip for the same service (same model, demand and "
        f"assumptions; one pricing: {pricing})",
        what="service",
        caption="Same model, demand, latency targets and assumptions; the chosen chip highlighted.",
    )
    rb.add(
        *b.what_differs(
            payload,
            lambda rows: b.published_table(rows, PUBLISHED_COLUMNS),
            preset.name if preset is not None else "",
        ),
        _record_table(),
    )
    rb.note(
        "Peak facility power = nameplate system power x (1 + network overhead) x design-day "
        "PUE for every installed system: what the grid must supply. Average power = idle + "
        "(busy - idle) x load at the annual PUE; energy, Wh per query and tCO2 use it.",
        "Costs are for a year of serving, as a training run's for its hours, with the prices of "
        "data/chip_economics.csv (estimates marked): amortized = servers, networking and "
        "facility share amortised over the service life for the hours served + electricity; "
        "rent = GPU-hours x rent (power included); capex = the whole cluster purchase + "
        "electricity. USD per million tokens counts every token processed (prompt + "
        f"generated) under the pricing in force ({payload.get('pricing')}).",
    )
    if not feasible:
        rb.note(f"No replica of {chip.id} meets the latency targets: {result.infeasible_reason}.")
    headline = b.headline(payload, HEADLINE_KEYS, usd_per_million_tokens=str(payload["pricing"]))
    if grid is not None:
        headline.append(
            Quantity(
                "grid_limit_mw",
                grid["grid_mw"],
                note="fits" if grid["fits"] else f"short by {grid['short_mw']:,.2f} MW",
            )
        )
    return rb.build(
        title=preset.title if preset is not None else f"Serving {result.model} on {chip.name}",
        subtitle=f"Serving report - preset {preset.name}; source: {preset.source}"
        if preset is not None
        else "Serving report",
        summary=_summary(payload, request, chip.name, chip.system_name)
        + ("" if grid is None else " " + grid["sentence"]),
        headline=headline,
        assumptions=b.assumption_rows(request.sourced_assumptions(result)),
        inputs=inputs if inputs is not None else _default_inputs(request, cat),
        data={"serving": clean(payload), "comparison": rb.table("chips").to_dict()["rows"]},
    )


def _production_tables(prod: dict[str, Any]) -> list[Table]:
    """The ideal bound next to the production estimate, and the servers part by part (the
    core's :func:`~planner.serving.production.ideal_vs_production` and
    :func:`~planner.serving.production.production_parts`)."""
    from planner.serving.production import ideal_vs_production, production_parts

    known = quantities.all_quantities()
    rows = tuple(
        {
            **r,
            "quantity_label": quantities.label(r["fleet_quantity"], unit=False),
            "unit": known[r["fleet_quantity"]].unit,
        }
        for r in ideal_vs_production(prod)
    )
    fleet = Table(
        name="production",
        title="Ideal bound vs production estimate",
        columns=(
            Column.plain("quantity_label", quantities.label("fleet_quantity")),
            Column("ideal_bound", per_row="fleet_quantity"),
            Column("production_estimate", per_row="fleet_quantity"),
            Column("production_over_ideal"),
            b.UNIT,
        ),
        rows=rows,
        note="The ideal bound is a lower bound: every replica at its batch limit at the planning "
        "utilisations. The production estimate adds measured efficiency, latency headroom, "
        "regions, spares for failures and power that follows load.",
    )
    parts = Table(
        name="production_parts",
        title="Why a production fleet is larger: servers by part",
        columns=(
            Column.plain("fleet_part", quantities.label("fleet_part")),
            Column("systems"),
            Column("fleet_factor"),
            Column.plain("part_note", quantities.label("part_note")),
        ),
        rows=tuple(production_parts(prod)),
    )
    return [fleet, parts]


def _breakdown_table(p: dict[str, Any]) -> Table:
    wh = float(p["wh_per_query"])
    rows = tuple(
        {"part": BREAKDOWN_LABELS.get(k, k), "energy_share": v, "wh_per_query": v * wh}
        for k, v in p["energy_breakdown"].items()
    )
    return Table(
        name="energy_breakdown",
        title="Energy per query, by part",
        columns=(Column.plain("part", "Part"), Column("energy_share"), Column("wh_per_query")),
        rows=rows,
    )


USERS_COLUMNS = ("users", "replicas", "gpus", "systems", "facility_power_mw", "wh_per_query")


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
                **{k: r[k] if feasible or k == "users" else None for k in USERS_COLUMNS},
            }
        )
        power.append(
            {
                "users_label": label,
                "series": "peak facility power",
                "power_mw": r["facility_power_mw"] if feasible else None,
            }
        )
        if grid is not None:
            power.append(
                {"users_label": label, "series": "grid limit", "power_mw": grid["grid_mw"]}
            )
    scale = Column.plain("users_label", "Scale")
    wide = Table(
        name="users_gpus",
        title="The same service at other scales (users x factor)",
        columns=(scale, *(Column(k) for k in USERS_COLUMNS)),
        rows=tuple(rows),
    )
    long = Table(
        name="users_power",
        title="Peak facility power vs users" + ("" if grid is None else " and the grid limit"),
        columns=(scale, Column.plain("series", "Series"), Column("power_mw")),
        rows=tuple(power),
        collapsed=True,
    )
    return [wide, long]


def _users_label(value: float, users: float) -> str:
    return f"x{value / users:.3g} ({value:,.3g})"


REASONING_COLUMNS = ("reasoning_multiplier", "wh_per_query", "gpus", "facility_power_mw")


def _reasoning_table(curve: pd.DataFrame, request: ServiceRequest, cat: Catalog) -> Table:
    """The feasible multipliers; those the core cannot serve (beyond the model's context
    window, or no batch fits) are left out and named in the note with the core's reason."""
    rows = []
    left_out: list[float] = []
    for rec in curve.to_dict(orient="records"):
        r = {k: to_python(v) for k, v in rec.items()}
        if not bool(r["feasible"]):
            left_out.append(float(r["reasoning_multiplier"]))
            continue
        rows.append(
            {"reasoning_label": f"x{r['reasoning_multiplier']:g}"}
            | {k: r[k] for k in REASONING_COLUMNS}
        )
    note = ""
    if left_out:
        shown = ", ".join(f"x{m:g}" for m in left_out)
        note = f"Not shown, cannot be served: reasoning {shown}. {_why_not_served(request, cat, left_out[0])}"
    return Table(
        name="reasoning",
        title="The same service with test-time reasoning (generated / visible tokens)",
        columns=(
            Column.plain("reasoning_label", "Reasoning"),
            *(Column(k) for k in REASONING_COLUMNS),
        ),
        rows=tuple(rows),
        note=note,
    )


def _why_not_served(request: ServiceRequest, cat: Catalog, multiplier: float) -> str:
    """The core's reason one reasoning multiplier cannot be served (its one-line error, or
    the infeasible reason of the scalar service)."""
    one = replace(
        request,
        assumptions=request.assumptions.with_("report", reasoning_multiplier=multiplier),
        production=False,
    )
    try:
        result = one.serve(cat)
    except InputError as exc:
        text = str(exc)
        where = "beyond the context window" if "context window" in text else "refused"
        return f"At x{multiplier:g}, {where}: {text}"
    return f"At x{multiplier:g}: {result.infeasible_reason or 'no feasible batch'}"


def _record_table() -> Table:
    from planner.serving_validation import validate_serving

    frame = validate_serving(include_mlenergy=False)
    rows = tuple({k: to_python(v) for k, v in r.items()} for r in frame.to_dict(orient="records"))
    return Table(
        name="public_record",
        title="Model vs public record: every shipped serving preset",
        columns=(
            Column.plain("case", "Case"),
            b.QUANTITY,
            b.UNIT,
            b.PUBLISHED,
            Column("predicted", per_row="quantity"),
            Column("ratio"),
            Column("tolerance_factor"),
            Column("within_tolerance"),
            b.SOURCE,
        ),
        rows=rows,
        section="comparison",
        note="Defaults are never tuned per case; `planner validate` prints the same cases and "
        "the ML.ENERGY measurements.",
    )


def _default_inputs(request: ServiceRequest, cat: Catalog) -> tuple[InputFile, ...]:
    if request.preset is not None:
        first = input_file(
            f"serving presets (preset {request.preset.name})", data_dir() / "serving_presets.toml"
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
        first = InputFile("service request (canonical JSON)", "", sha256_json(canonical))
    return b.inputs(
        first, cat.path, "model architectures", "serving assumptions", "default assumptions"
    )


def _count(n: float, noun: str) -> str:
    return f"{n:,.0f} {noun}{'' if n == 1 else 's'}"


def _summary(
    p: dict[str, Any],
    request: ServiceRequest,
    chip_name: str,
    system_name: str,
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
        f"{_quantity_words(r['quantity'])} {auto_format(r['published'])} (model "
        f"{auto_format(r['model'])}, x{r['ratio']:.2f})"
        for r in p.get("published") or ()
        if r.get("ratio") is not None
    ]
    sentence = b.what_differs_sentence(bits, p)
    if sentence:
        parts.append(sentence)
    return " ".join(parts)


def _quantity_words(name: str) -> str:
    if name in quantities.all_quantities():
        return b.lowercase_label(name)
    return name.replace("_", " ")
