"""Sizing report: one training run on one chip (a preset or a :class:`SizingRequest`).

Every number comes from the core: :meth:`SizingRequest.size` (the answer),
:meth:`SizingRequest.compare` (every chip for the same run),
:func:`planner.presets.compare_to_published` (published figures) and
:func:`planner.sensitivity.sensitivity` (+-20% tornado). This module only arranges them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import planner
from planner._arrays import to_python
from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.presets import compare_to_published
from planner.reports._format import money
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Provenance,
    Quantity,
    Report,
    Table,
    input_file,
    sha256_json,
    std,
)
from planner.request import SizingRequest
from planner.sensitivity import (
    DEFAULT_SWING,
    OUTPUT_LABELS,
    OUTPUT_UNITS,
    SensitivityResult,
    sensitivity,
)
from planner.sizing import grid_fit, size_training

#: (key, label, unit, format) of every scalar result shown in the results table.
RESULT_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("accelerator", "accelerator", "", ""),
    ("precision", "tensor precision", "", ""),
    ("flops", "training compute", "FLOPs", ".4g"),
    ("peak_tflops_per_gpu", "dense peak per GPU", "TFLOP/s", ",.0f"),
    ("mfu", "MFU", "fraction", ".3g"),
    ("goodput", "goodput", "fraction", ".3g"),
    ("sustained_pflops", "sustained throughput", "PFLOP/s", ",.0f"),
    ("gpus", "GPUs", "GPUs", ",.0f"),
    ("systems", "systems", "systems", ",.0f"),
    ("gpus_per_system", "GPUs per system", "GPUs", ",.0f"),
    ("deadline_days", "deadline", "days", ",.1f"),
    ("days", "training time", "days", ",.2f"),
    ("gpu_hours", "GPU-hours", "GPU-hours", ",.0f"),
    ("it_power_mw", "peak IT power", "MW", ",.3f"),
    ("pue", "annual PUE (energy, cost, emissions)", "ratio", ".3g"),
    ("design_pue", "design-day PUE (grid peak)", "ratio", ".3g"),
    ("facility_power_mw", "peak facility power (grid, design-day PUE)", "MW", ",.3f"),
    ("average_it_power_mw", "average IT power", "MW", ",.3f"),
    ("average_facility_power_mw", "average facility power (meter, annual PUE)", "MW", ",.3f"),
    ("energy_mwh", "energy", "MWh", ",.0f"),
    ("amortized_cost_usd", "amortised cost (hardware over its life + electricity)", "USD", ",.0f"),
    ("rental_cost_usd", "rental cost (cloud GPU-hours)", "USD", ",.0f"),
    ("electricity_cost_usd", "electricity", "USD", ",.0f"),
    ("cost_usd", "cost (the pricing in force)", "USD", ",.0f"),
    ("pricing", "pricing in force", "", ""),
    ("cluster_capex_usd", "cluster capex (up front, not in the run's cost)", "USD", ",.0f"),
    ("emissions_tco2", "operational emissions", "tCO2", ",.0f"),
    ("embodied_tco2", "embodied emissions (manufacturing, amortised)", "tCO2", ",.0f"),
)

PUBLISHED_LABELS = {
    "gpus": "GPUs",
    "facility_power_mw": "MW",
    "days": "days",
    "energy_mwh": "MWh",
    "gpu_hours": "GPU-hours",
    "cost_usd": "USD",
}

KV_COLUMNS = (
    Column("quantity", "Quantity"),
    Column("key", "Key"),
    Column("value", "Value"),
    Column("unit", "Unit"),
)


def _num(value: Any) -> Any:
    v = to_python(value)
    return None if v is None else v


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
    preset = request.preset
    published: list[dict[str, Any]] = []
    if preset is not None:
        payload["preset"] = preset.name
        published = compare_to_published(payload, preset.published)
        payload["published"] = published
    sens = sensitivity(
        request.run,
        chip,
        gpus=request.gpus,
        days=request.days,
        assumptions=request.assumptions,
        swing=swing,
    )
    comparison = request.compare(cat)

    title = preset.title if preset is not None else f"Training run on {chip.name}"
    subtitle = (
        f"Sizing report - preset {preset.name}; source: {preset.source}"
        if preset is not None
        else "Sizing report"
    )
    headline = _headline(payload)
    grid = _grid_verdict(payload, request, chip, grid_mw, cat) if grid_mw is not None else None
    if grid is not None:
        payload["grid"] = grid
        headline = (
            *headline,
            Quantity(
                "grid_limit_mw",
                "grid limit",
                grid["grid_mw"],
                "MW",
                ",.2f",
                note="fits" if grid["fits"] else f"{grid['short_mw']:,.2f} MW short",
            ),
        )
    tables = [
        _results_table(payload),
        _power_chain_table(payload),
    ]
    if published:
        tables.append(_published_table(published))
    tables.append(_chips_table(comparison, chip.id, request))
    tables += list(sensitivity_tables([("", sens)]))
    charts = [
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
            name="chips_power",
            title="Every chip for the same run: peak facility power",
            kind="bar",
            table="chips",
            encoding={"x": "facility_power_mw", "y": "accelerator", "highlight": "chosen"},
            caption=f"Same work, same {'GPUs' if request.gpus is not None else 'deadline'} and assumptions; the chosen chip highlighted.",
        ),
        Chart(
            name="power_chain",
            title="Power chain per GPU: nameplate to facility",
            kind="bar",
            table="power_chain",
            encoding={"x": "watts", "y": "stage", "color": "basis"},
            caption="Peak (design-day PUE) is what the grid must supply; average (annual PUE) "
            "is what the meter bills.",
        ),
    ]
    notes = [
        "Peak facility power = nameplate system power x (1 + network overhead) x design-day "
        "PUE (the hottest hours, chillers at full load): what the grid connection must supply. "
        "Energy uses the average draw (nameplate x average load fraction x (1 + network) x "
        "annual PUE) over the training time; electricity cost and emissions follow the energy.",
        # the run model's note is given once, below
        *(n for n in sens.notes if not n.startswith("base MFU")),
    ]
    mfu_source = str(result.assumptions.get("mfu", {}).get("source", ""))
    if "from the run model" in mfu_source:
        notes.append(mfu_source + "; `planner validate` prints the validation table.")
    assumptions = tuple(
        {"name": name, "value": item["value"], "unit": item["unit"], "source": item["source"]}
        for name, item in result.assumptions.items()
    )
    provenance = Provenance(
        planner_version=planner.__version__,
        inputs=inputs if inputs is not None else _default_inputs(request, cat),
        command=command,
    )
    return Report(
        kind="sizing",
        title=title,
        subtitle=subtitle,
        summary=_summary(payload, chip.name, chip.system_name, request, published, sens)
        + ("" if grid is None else " " + grid["sentence"]),
        headline=headline,
        assumptions=assumptions,
        tables=tuple(tables),
        charts=tuple(charts),
        notes=tuple(notes),
        provenance=provenance,
        data={
            "sizing": payload,
            "sensitivity": sens.to_dict(),
            "comparison": [r for r in tables if r.name == "chips"][0].to_dict()["rows"],
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
    if verdict.fits:
        out["sentence"] = (
            f"It fits the {verdict.grid_mw:,.2f} MW grid limit "
            f"({verdict.grid_mw - verdict.need_mw:,.2f} MW headroom)."
        )
        return out
    head = (
        f"It does not fit the {verdict.grid_mw:,.2f} MW grid limit: "
        f"{verdict.short_mw:,.2f} MW short."
    )
    if verdict.max_gpus == 0:
        out["sentence"] = f"{head} Not even one {chip.system_name} fits."
        return out
    smaller = size_training(
        request.run, chip.id, gpus=verdict.max_gpus, assumptions=request.assumptions, catalog=cat
    ).to_dict()
    out["days_at_max_gpus"] = smaller["days"]
    out["sentence"] = (
        f"{head} At most {verdict.max_gpus:,} GPUs ({verdict.max_systems:,} x "
        f"{chip.system_name}) fit, taking {smaller['days']:,.1f} days."
    )
    return out


def _default_inputs(request: SizingRequest, cat: Catalog) -> tuple[InputFile, ...]:
    d = data_dir()
    files: list[InputFile] = []
    if request.preset is not None:
        files.append(input_file(f"presets (preset {request.preset.name})", d / "presets.toml"))
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
        files.append(InputFile("request (canonical JSON)", "", sha256_json(canonical)))
    files.append(input_file("accelerator catalog", Path(cat.path)))
    files.append(input_file("default assumptions", d / "assumptions.csv"))
    files.append(input_file("facility profiles", d / "facility.csv"))
    return tuple(files)


def _headline(p: dict[str, Any]) -> tuple[Quantity, ...]:
    deadline = p.get("deadline_days")
    return (
        Quantity("accelerator", "chip", p["accelerator"]),
        Quantity("gpus", "GPUs", p["gpus"], "GPUs", ",.0f"),
        Quantity("systems", "systems", p["systems"], "systems", ",.0f"),
        Quantity(
            "days",
            "training time",
            p["days"],
            "days",
            ",.1f",
            note="" if deadline is None else f"deadline {deadline:g} days",
        ),
        Quantity("facility_power_mw", "peak facility power", p["facility_power_mw"], "MW", ",.2f"),
        Quantity("energy_mwh", "energy", p["energy_mwh"], "MWh", ",.0f"),
        Quantity("cost_usd", "cost", p["cost_usd"], "USD", ",.0f", note=str(p["pricing"])),
        Quantity("emissions_tco2", "emissions", p["emissions_tco2"], "tCO2", ",.0f"),
        Quantity("embodied_tco2", "embodied emissions", p["embodied_tco2"], "tCO2", ",.0f"),
    )


def _results_table(p: dict[str, Any]) -> Table:
    rows = []
    for key, label, unit, fmt in RESULT_ROWS:
        if key == "deadline_days" and p.get(key) is None:
            continue
        rows.append({"quantity": label, "key": key, "value": p.get(key), "unit": unit, "_fmt": fmt})
    return Table(
        name="results",
        title="The answer, every number",
        columns=KV_COLUMNS,
        rows=tuple(rows),
        note="The cost follows the pricing in force (amortized, rent or capex); the cluster "
        "capex is what must be spent up front and is never summed into a run's cost. Values "
        "are 'n/a' where unknown (a chip of one's own catalog has no embodied emissions).",
    )


def _power_chain_table(p: dict[str, Any]) -> Table:
    c = p.get("power_chain") or {}
    stages = (
        ("GPU (TDP)", "gpu_tdp_w", None),
        ("server share", "server_power_per_gpu_w", "average_server_power_per_gpu_w"),
        ("IT incl. network", "it_power_per_gpu_w", "average_it_power_per_gpu_w"),
        (
            "facility (peak x design-day PUE, average x annual PUE)",
            "facility_power_per_gpu_w",
            "average_facility_power_per_gpu_w",
        ),
    )
    rows = []
    for stage, peak_key, avg_key in stages:
        rows.append({"stage": stage, "basis": "peak", "watts": c.get(peak_key)})
        if avg_key is not None:
            rows.append({"stage": stage, "basis": "average", "watts": c.get(avg_key)})
    return Table(
        name="power_chain",
        title="Power chain per GPU",
        columns=(
            Column("stage", "Stage"),
            Column("basis", "Basis"),
            Column("watts", "Power per GPU", "W", ",.0f"),
        ),
        rows=tuple(rows),
        note="Per GPU, including its share of the server or rack; multiply by the GPUs for the cluster.",
    )


def _published_table(published: list[dict[str, Any]]) -> Table:
    units = {**OUTPUT_UNITS, "gpu_hours": "GPU-hours"}
    rows = tuple({**r, "unit": units.get(r["quantity"], "")} for r in published)
    return Table(
        name="published",
        title="Model vs the published figures this preset reproduces",
        columns=(
            Column("quantity", "Quantity"),
            Column("unit", "Unit"),
            Column("published", "Published", fmt=",.4g"),
            Column("model", "Model", fmt=",.4g"),
            Column("relative_difference", "Difference", "%", "+.1%"),
        ),
        rows=rows,
        section="comparison",
    )


def _chips_table(frame: Any, chosen: str, request: SizingRequest) -> Table:
    rows = []
    for chip_id, row in frame.iterrows():
        r = {k: _num(v) for k, v in row.items() if k != "note"}
        rows.append(
            {
                "accelerator": chip_id,
                "chosen": chip_id == chosen,
                "gpus": r.get("gpus"),
                "systems": r.get("systems"),
                "days": r.get("days"),
                "facility_power_mw": r.get("facility_power_mw"),
                "energy_mwh": r.get("energy_mwh"),
                "cost_usd": r.get("cost_usd"),
                "pricing": row.get("pricing") if isinstance(row.get("pricing"), str) else None,
                "emissions_tco2": r.get("emissions_tco2"),
                "note": row.get("note") or "",
            }
        )
    what = (
        f"{request.gpus:,.0f} GPUs"
        if request.gpus is not None
        else f"deadline {request.days:g} days"
    )
    return Table(
        name="chips",
        title=f"Every catalog chip for the same run ({what}, same assumptions)",
        columns=(
            Column("accelerator", "Chip"),
            Column("chosen", "Chosen"),
            *std("gpus", "systems", "days", "facility_power_mw", "energy_mwh", "cost_usd"),
            Column("pricing", "Pricing"),
            Column("emissions_tco2", "Emissions", "tCO2", ",.0f"),
            Column("note", "Note"),
        ),
        rows=tuple(rows),
        section="comparison",
        note="The MFU is the run's, applied to every chip: a rough side-by-side, not a forecast "
        "for each chip.",
    )


def sensitivity_tables(
    results: list[tuple[str, SensitivityResult]],
) -> tuple[Table, Table]:
    """A wide table (relative change per output) and the long table the tornado draws.

    ``results`` pairs a label (``""`` for a single sizing; ``run on chip`` for a plan) with a
    :class:`SensitivityResult`; labels, when given, become a ``subject`` column.
    """
    labelled = any(label for label, _ in results)
    outputs: list[str] = []
    for _, s in results:
        outputs += [o for o in s.outputs if o not in outputs]
    wide_rows, long_rows, bases = [], [], []
    for label, s in results:
        df = s.table
        for (factor, case), group in df.groupby(["factor", "case"], sort=False):
            row: dict[str, Any] = {
                "subject": label,
                "factor": factor,
                "case": case,
                "applied_change": float(group["applied_change"].iloc[0]),
                "clipped": bool(group["clipped"].iloc[0]),
            }
            for _, g in group.iterrows():
                row[g["output"]] = to_python(g["relative_change"])
            wide_rows.append(row)
        for rec in df.to_dict(orient="records"):
            rec = {k: to_python(v) for k, v in rec.items()}
            rec["subject"] = label
            rec["output_label"] = f"{OUTPUT_LABELS[rec['output']]} ({rec['unit']})"
            long_rows.append(rec)
        text = "; ".join(f"{OUTPUT_LABELS[o]} {_fmt_base(v, o)}" for o, v in s.base.items())
        bases.append(f"{label}: {text}" if label else text)
    subject = (Column("subject", "Run on chip"),) if labelled else ()
    wide_cols = [
        *subject,
        Column("factor", "Factor"),
        Column("case", "Case"),
        Column("applied_change", "Applied change", "%", "+.1%"),
        Column("clipped", "Clipped"),
    ]
    wide_cols += [Column(o, f"{OUTPUT_LABELS[o]} change", "%", "+.1%") for o in outputs]
    swing = results[0][1].swing
    wide = Table(
        name="sensitivity",
        title=f"Relative change of each headline number, each factor moved +-{swing:.0%}",
        columns=tuple(wide_cols),
        rows=tuple(wide_rows),
        section="sensitivity",
        note=f"Base: {' | '.join(bases)}. 'price' moves the GPU purchase, rental and "
        "electricity prices together. MFU and goodput are clipped to (0, 1] and PUE to [1, 3].",
    )
    long = Table(
        name="sensitivity_cases",
        title="Sensitivity cases: every value",
        columns=(
            *subject,
            Column("factor", "Factor"),
            Column("case", "Case"),
            Column("requested_change", "Requested change", "%", "+.0%"),
            Column("applied_change", "Applied change", "%", "+.1%"),
            Column("clipped", "Clipped"),
            Column("output", "Output"),
            Column("output_label", "Output label"),
            Column("unit", "Unit"),
            Column("base_value", "Base value", fmt=",.4g"),
            Column("value", "Value", fmt=",.4g"),
            Column("change", "Change", fmt=",.4g"),
            Column("relative_change", "Relative change", "%", "+.1%"),
        ),
        rows=tuple(long_rows),
        section="sensitivity",
        collapsed=True,
    )
    return wide, long


def _fmt_base(value: float, output: str) -> str:
    if output == "cost_usd":
        return money(value)
    if value is None or not np.isfinite(value):
        return "n/a"
    digits = 2 if output in ("facility_power_mw", "days") else 0
    return f"{value:,.{digits}f} {OUTPUT_UNITS[output]}"


def _summary(
    p: dict[str, Any],
    chip_name: str,
    system_name: str,
    request: SizingRequest,
    published: list[dict[str, Any]],
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
    parts = [
        f"Training this run ({work}) {when} on {chip_name} at {p['precision'].upper()} "
        f"({p['peak_tflops_per_gpu']:,.0f} TFLOP/s dense per GPU, MFU {p['mfu']:.2f}, goodput "
        f"{p['goodput']:.2f}) takes {p['gpus']:,.0f} GPUs in {p['systems']:,.0f} {system_name} "
        f"systems of {p['gpus_per_system']} and {p['days']:,.1f} days "
        f"({p['gpu_hours'] / 1e6:,.2f} million GPU-hours)."
    ]
    parts.append(
        f"It needs {p['facility_power_mw']:,.2f} MW of peak facility power at the design-day "
        f"PUE {p['design_pue']:.2f} (what the grid must supply), averages "
        f"{p['average_facility_power_mw']:,.2f} MW at the annual PUE {p['pue']:.2f} and uses "
        f"{p['energy_mwh']:,.0f} MWh."
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
        f"{p['emissions_tco2']:,.0f} tCO2 at {float(grid):g} gCO2/kWh"
        + (
            f" plus {p['embodied_tco2']:,.0f} tCO2 embodied in the hardware."
            if p.get("embodied_tco2") is not None
            else "."
        )
    )
    if published:
        bits = []
        for row in published:
            if row["relative_difference"] is None:
                continue
            label = PUBLISHED_LABELS.get(row["quantity"], row["quantity"])
            rel = row["relative_difference"]
            bits.append(
                f"{label} {row['published']:,.4g} (model {rel:+.{1 if abs(rel) >= 1e-3 else 2}%})"
            )
        if bits:
            parts.append("Published: " + ", ".join(bits) + ".")
    lever = _largest_lever(s)
    if lever:
        parts.append(lever)
    return " ".join(parts)


def sci(value: float) -> str:
    """``2.184e+25`` -> ``2.18e25`` (3 significant digits, compact exponent)."""
    mantissa, _, exp = f"{float(value):.3g}".partition("e")
    return f"{mantissa}e{int(exp)}" if exp else mantissa


def _largest_lever(s: SensitivityResult) -> str:
    primary = s.outputs[0]
    df = s.table[s.table["output"] == primary].copy()
    df["abs"] = df["relative_change"].abs()
    if df["abs"].isna().all():
        return ""
    top = df.loc[df["abs"].idxmax()]
    direction = "lower" if top["applied_change"] < 0 else "higher"
    return (
        f"Largest lever (each factor moved +-{s.swing:.0%}, one at a time): {top['factor']} "
        f"{abs(top['applied_change']):.0%} {direction} changes the {OUTPUT_LABELS[primary]} by "
        f"{top['relative_change']:+.0%}."
    )
