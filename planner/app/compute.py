"""Cached calls into the core, keyed by plain hashable inputs.

Each function takes the :func:`planner.app.state.request_kwargs` items as a sorted tuple (so
``st.cache_data`` hashes plain values) and returns plain data: dicts and DataFrames, never a
core or solver object that a session could mutate. A :class:`~planner.errors.PlannerError`
propagates uncached; the page shows its message.

The Optimise page's functions take a scenario as canonical JSON (:func:`scenario_key`) and
return the plan as dicts and DataFrames: the solver model is built and solved inside the
cached call and never leaves it. The National demand page's projection is keyed by file (or
uploaded text), variants, years, samples, seed and countries. Reports are built and rendered
by their inputs too (:func:`report_bytes`), so a download renders once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from planner._paths import data_dir
from planner.amortization import parameter as amortization_parameter
from planner.app.state import parse_number
from planner.assumptions import GRID_INTENSITY_RANGE, LEGACY_PRICING
from planner.catalog import load_catalog
from planner.data_errors import dump_toml, parse_toml, read_toml
from planner.errors import InputError
from planner.optimization import build_model, pareto, solve

# The cost-vs-days sweep's deadlines and objective are the core's (the page picks none).
from planner.optimization.sweep import PARETO_FACTORS as PARETO_FACTORS
from planner.optimization.sweep import PARETO_OBJECTIVE as PARETO_OBJECTIVE
from planner.optimization.sweep import pareto_days_values as pareto_days_values
from planner.projection import project
from planner.projection_scenarios import Scenario as ProjectionScenario
from planner.projection_scenarios import load_scenario as load_projection_scenario
from planner.projection_scenarios import parse_scenario as parse_projection_scenario
from planner.reports import Report, build_sizing_report, render_report
from planner.reports._atomic import atomic_write
from planner.reports.plan import build_plan_report
from planner.reports.projection import build_projection_report
from planner.request import build_request
from planner.scenarios import (
    MAX_BUDGET_USD,
    MAX_GRID_MW,
    MAX_PRICE_USD_PER_GPU,
    MAX_RENT_USD_PER_GPU_HOUR,
    MAX_SUPPLY_GPUS,
    Scenario,
    scenario_from_dict,
)
from planner.scenarios import load_scenario as load_site_scenario
from planner.sizing import MAX_DAYS, MAX_GPUS, MIN_DAYS, compare_accelerators, size_training
from planner.validation import check_choice
from planner.workloads import MAX_FLOPS, MAX_PARAMS, MAX_TOKENS

#: Source tag of the values a user typed (shown in the assumptions table).
APP_SOURCE = "app input"
#: The GPU-count curves span the answer divided and multiplied by this factor (log axis).
CURVE_SPAN = 8.0
CURVE_POINTS = 49

Key = tuple[tuple[str, Any], ...]


def request_key(kwargs: Mapping[str, Any]) -> Key:
    """A hashable cache key of :func:`~planner.request.build_request` keyword arguments."""
    return tuple(sorted(kwargs.items()))


def what_differs(
    payload: Mapping[str, Any],
) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """A result's ``published`` rows and ``changed_inputs`` (None for a key it lacks).

    The core puts ``published`` rows in a preset's result only when the inputs are the
    preset's own, and ``changed_inputs`` (``{"field", "preset", "value"}`` dicts) otherwise;
    the page shows what the core says and compares nothing itself.
    """
    published = payload.get("published")
    changed = payload.get("changed_inputs")
    return (
        None if published is None else [dict(r) for r in published],
        None if changed is None else [dict(c) for c in changed],
    )


@st.cache_data(max_entries=512, show_spinner=False)
def sizing(key: Key) -> dict[str, Any]:
    """The answer for one request: ``result`` (JSON-ready dict), ``published`` and context.

    Returns
    -------
    dict
        ``result``: :meth:`~planner.sizing.SizingResult.to_dict`; ``published``: the
        result's published-vs-model rows (``quantity``, ``published``, ``model``,
        ``relative_difference``), present only when the inputs are the preset's own;
        ``changed_inputs``: the result's ``{"field", "preset", "value"}`` dicts of the inputs
        that differ from the preset's (None when the core does not say);
        ``preset_title`` / ``preset_source``; ``chip_name``; ``system_name``. Where each
        value came from is in ``result["assumptions"]``.
    """
    request = build_request(**dict(key), source=APP_SOURCE)
    result = request.size()
    payload = result.to_dict()
    chip = load_catalog().get(result.accelerator)
    preset = request.preset
    published, changed = what_differs(payload)
    return {
        "result": payload,
        "published": published or [],
        "changed_inputs": changed,
        "preset_title": preset.title if preset else None,
        "preset_source": preset.source if preset else None,
        "chip_name": chip.name,
        "system_name": chip.system_name,
    }


@st.cache_data(max_entries=512, show_spinner=False)
def gpu_curve(key: Key, gpus: float) -> pd.DataFrame:
    """Days, peak facility MW and energy over GPU counts around ``gpus`` (whole systems).

    One vectorised :func:`~planner.sizing.size_training` call over a log-spaced range of
    GPU counts from ``gpus / CURVE_SPAN`` to ``gpus x CURVE_SPAN``.
    """
    request = build_request(**dict(key), source=APP_SOURCE)
    chip = load_catalog().get(request.accelerator or "")
    per_system = chip.gpus_per_system
    # within the core's limits: at least one system, at most sizing.MAX_GPUS
    low = max(gpus / CURVE_SPAN, float(per_system))
    high = max(min(gpus * CURVE_SPAN, MAX_GPUS), low)
    raw = np.geomspace(low, high, CURVE_POINTS)
    counts = np.unique(np.maximum(np.round(raw / per_system), 1.0) * per_system)
    counts = counts[counts <= MAX_GPUS]
    result = size_training(request.run, chip, gpus=counts, assumptions=request.assumptions)
    frame = result.to_frame()
    return frame[["gpus", "systems", "days", "facility_power_mw", "energy_mwh", "cost_usd"]]


@st.cache_data(max_entries=512, show_spinner=False)
def chip_comparison(key: Key, days: float) -> pd.DataFrame:
    """Every catalog chip sized for the same run and the same deadline ``days``.

    :func:`~planner.sizing.compare_accelerators` with the request's assumptions; chips
    without the precision keep their row with NaN values and a ``note``.
    """
    request = build_request(**dict(key), source=APP_SOURCE)
    frame = compare_accelerators(request.run, days=days, assumptions=request.assumptions)
    names = {chip.id: chip.name for chip in load_catalog()}
    frame = frame.reset_index()
    frame.insert(1, "chip_name", frame["accelerator"].map(names))
    return frame


def default_service_life_years() -> float:
    """The service life of ``data/economics.csv``, years (the amortisation default)."""
    return float(amortization_parameter("service_life_years"))


@st.cache_data(max_entries=512, show_spinner=False)
def economics(key: Key) -> dict[str, Any]:
    """Amortised economics of the request, as the core's sizing reports them.

    The hardware outlives a run: :func:`planner.sizing.size_training` gives the amortised
    cost (servers, network and facility over the service life, + electricity), the up-front
    cluster capex, the rental cost and the embodied emissions for every run
    (:func:`planner.amortization.run_economics`); ``cost_usd`` is the one the pricing picks.
    """
    result = sizing(key)["result"]
    life = result["assumptions"].get("service_life_years", {}).get("value")
    return {
        "amortized_cost_usd": result["amortized_cost_usd"],
        "rental_cost_usd": result["rental_cost_usd"],
        "cluster_capex_usd": result["cluster_capex_usd"],
        "embodied_tco2": result["embodied_tco2"],
        "pricing": result["pricing"],
        "life_years": float(life if life is not None else default_service_life_years()),
    }


@st.cache_data(max_entries=512, show_spinner=False)
def sized_at_gpus(key: Key, gpus: float) -> dict[str, Any]:
    """The same request at a given GPU count (e.g. the most that fit under a grid limit)."""
    request = build_request(**dict(key), source=APP_SOURCE)
    result = size_training(
        request.run, request.accelerator or "", gpus=gpus, assumptions=request.assumptions
    )
    return result.to_dict()


# --- Optimise: a site scenario as editable tables, its plan and its Pareto sweep -----------

#: Example site scenarios (``data/scenarios``), the page opens on the first.
DEFAULT_SCENARIO = "gtc2024.toml"
#: Columns of the editable tables of the Optimise page (units in the names). Every cell is
#: text, parsed by :func:`planner.app.state.parse_number` (``2.15e25``, ``1,800``), so no
#: number is mangled by a grid's number editor; the scaled columns (``_b`` billions, ``_t``
#: trillions) are multiplied out when the scenario is built.
RUN_COLUMNS = (
    "name",
    "flops",
    "params_b",
    "active_params_b",
    "tokens_t",
    "deadline_days",
    "precision",
    "mfu",
    "goodput",
)
CANDIDATE_COLUMNS = ("chip", "supply_gpus", "price_usd_per_gpu", "rent_usd_per_gpu_hour")
LIMIT_COLUMNS = (
    "grid_limit_mw",
    "pue",
    "design_pue",
    "budget_usd",
    "electricity_usd_per_mwh",
    "grid_gco2_per_kwh",
    "max_racks",
)
#: Scale of each run column to the scenario's unit (parameters, tokens).
RUN_SCALES = {"params_b": 1e9, "active_params_b": 1e9, "tokens_t": 1e12}
#: ``(low, high)`` of every numeric cell in its column's unit: the core's own limits
#: (scenarios.MAX_*, sizing.MIN_DAYS/MAX_DAYS, workloads.MAX_*); outside them a cell is
#: refused with a message naming it.
CELL_LIMITS: dict[str, tuple[float, float]] = {
    "flops": (1.0, MAX_FLOPS),
    "params_b": (1e-9, MAX_PARAMS / 1e9),
    "active_params_b": (1e-9, MAX_PARAMS / 1e9),
    "tokens_t": (1e-12, MAX_TOKENS / 1e12),
    "deadline_days": (MIN_DAYS, MAX_DAYS),
    "goodput": (0.0, 1.0),
    "supply_gpus": (0.0, MAX_SUPPLY_GPUS),
    "price_usd_per_gpu": (0.0, MAX_PRICE_USD_PER_GPU),
    "rent_usd_per_gpu_hour": (0.0, MAX_RENT_USD_PER_GPU_HOUR),
    "grid_limit_mw": (0.0, MAX_GRID_MW),
    "budget_usd": (0.0, MAX_BUDGET_USD),
    "electricity_usd_per_mwh": (0.0, 10_000.0),
    "grid_gco2_per_kwh": GRID_INTENSITY_RANGE,
    "max_racks": (1.0, 1_000_000.0),
}
_WHOLE_COLUMNS = ("supply_gpus", "max_racks")


def scenario_names() -> list[str]:
    """File names of the example site scenarios (``data/scenarios/*.toml``)."""
    names = sorted(p.name for p in (data_dir() / "scenarios").glob("*.toml"))
    if DEFAULT_SCENARIO in names:
        names.remove(DEFAULT_SCENARIO)
        names.insert(0, DEFAULT_SCENARIO)
    return names


def scenario_path(name: str) -> Path:
    """The path of an example site scenario; :class:`InputError` for an unknown name."""
    check_choice("scenario", name, scenario_names())
    return data_dir() / "scenarios" / name


@st.cache_data(max_entries=64, show_spinner=False)
def scenario_raw(name: str) -> dict[str, Any]:
    """The example scenario ``name`` as the parsed TOML dict (validated once by the core)."""
    path = scenario_path(name)
    load_site_scenario(path)  # a broken example raises its CatalogError here
    return read_toml(path)


def file_scenario(name: str, objective: str | None = None) -> dict[str, Any]:
    """The example ``name`` as the tables show it, unedited (chips listed explicitly).

    Comparing a scenario's :func:`scenario_key` with this one's tells whether it was edited.
    """
    raw = scenario_raw(name)
    return scenario_from_tables(
        raw,
        **scenario_tables(raw),
        objective=objective or raw.get("objective", "cost"),
        pricing=_pricing_of(raw),
        allow_mixed_chips=bool(raw.get("allow_mixed_chips", False)),
    )


def _pricing_of(raw: Mapping[str, Any]) -> str:
    """A scenario file's pricing, former names mapped (buy = capex, auto = amortized); the
    core's default (amortized) when the file names none."""
    pricing = str(raw.get("candidates", {}).get("pricing", "amortized"))
    return LEGACY_PRICING.get(pricing, pricing)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def mapping_text(value: Any) -> str:
    """A scalar-or-table scenario value as one editable text: ``0.32`` or ``h100=0.2, gb200=0.32``."""
    if _missing(value):
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_scalar_text(v)}" for k, v in value.items())
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    return (
        f"{value:g}"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else str(value)
    )


def number_text(value: Any, scale: float = 1.0) -> str:
    """A number as a table cell planners read and type: ``1,800``, ``2.15e25``, ``0.9``.

    Exact to 12 significant figures (so a scenario round-trips), e-notation from 1e12 up,
    thousands separators below; empty for a missing value.
    """
    if _missing(value):
        return ""
    if isinstance(value, str):
        return value
    v = float(value) / scale
    if v != 0 and (abs(v) >= 1e12 or abs(v) < 1e-4):
        mantissa, _, exponent = f"{v:.12g}".partition("e")
        if not exponent:
            mantissa, _, exponent = f"{v:.11e}".partition("e")
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    text = f"{v:,.12g}" if abs(v) < 1e12 else f"{v:.12g}"
    return text


def parse_mapping(
    field: str, text: Any, example: str
) -> float | str | dict[str, float | str] | None:
    """Inverse of :func:`mapping_text`: a number, a name, or ``key=value`` pairs.

    Raises
    ------
    InputError
        Naming ``field`` when a pair has no ``=`` or an empty key or value.
    """
    if _missing(text) or str(text).strip() == "":
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    raw = str(text).strip()
    if "=" not in raw and "," not in raw:
        return _number_or_name(raw)
    pairs: dict[str, float | str] = {}
    for part in raw.split(","):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key or not value:
            raise InputError(field, raw, f"a number or key=value pairs, e.g. {example}")
        pairs[key] = _number_or_name(value)
    return pairs


def _number_or_name(text: str) -> float | str:
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _cell(value: Any) -> Any:
    """A table cell as a scenario value: None for empty, plain int/float/str otherwise."""
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return value.strip() or None
    return value


def _number_cell(field: str, column: str, value: Any) -> float | int | None:
    """A numeric cell parsed (``2.15e25``, ``1,800``), range-checked and scaled to its unit."""
    cell = _cell(value)
    if cell is None:
        return None
    number = parse_number(field, cell, *CELL_LIMITS[column])
    if column in _WHOLE_COLUMNS:
        if not number.is_integer():
            raise InputError(field, cell, "a whole number")
        return int(number)
    return number * RUN_SCALES.get(column, 1.0)


def scenario_tables(raw: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The editable tables of a scenario dict: ``runs``, ``candidates`` and ``limits``.

    Every cell is text (:func:`number_text`); parameters in billions, tokens in trillions.
    ``candidates`` lists the scenario's chips, or (when the file lists none) every catalog
    chip with a price for its pricing mode, as the optimiser would use them.
    """
    runs = pd.DataFrame(
        [
            {
                "name": str(r.get("name") or ""),
                "flops": number_text(r.get("flops")),
                "params_b": number_text(r.get("params"), RUN_SCALES["params_b"]),
                "active_params_b": number_text(r.get("active_params"), RUN_SCALES["params_b"]),
                "tokens_t": number_text(r.get("tokens"), RUN_SCALES["tokens_t"]),
                "deadline_days": number_text(r.get("deadline_days")),
                "precision": r.get("precision", "bf16"),
                "mfu": mapping_text(r.get("mfu")),
                "goodput": number_text(r.get("goodput")),
            }
            for r in raw.get("runs", [])
        ],
        columns=list(RUN_COLUMNS),
        dtype=object,
    )
    cand = raw.get("candidates", {})
    chips = cand.get("chips")
    if chips is None:
        chips = scenario_from_dict(dict(raw), source="scenario").candidate_ids()
    candidates = pd.DataFrame(
        [
            {
                "chip": c,
                **{col: number_text(cand.get(col, {}).get(c)) for col in CANDIDATE_COLUMNS[1:]},
            }
            for c in chips
        ],
        columns=list(CANDIDATE_COLUMNS),
        dtype=object,
    )
    site = raw.get("site", {})
    limits = pd.DataFrame(
        [
            {
                "grid_limit_mw": number_text(site.get("grid_limit_mw")),
                "pue": mapping_text(site.get("pue")),
                "design_pue": mapping_text(site.get("design_pue")),
                "budget_usd": number_text(raw.get("budget_usd")),
                "electricity_usd_per_mwh": number_text(site.get("electricity_usd_per_mwh")),
                "grid_gco2_per_kwh": number_text(site.get("grid_gco2_per_kwh")),
                "max_racks": number_text(site.get("max_racks")),
            }
        ],
        columns=list(LIMIT_COLUMNS),
        dtype=object,
    )
    return {"runs": runs, "candidates": candidates, "limits": limits}


def contradictions(runs: pd.DataFrame) -> list[str]:
    """One sentence per run that gives both FLOPs and parameters x tokens (FLOPs win)."""
    out = []
    for i, row in enumerate(runs.to_dict(orient="records")):
        has_flops = _cell(row.get("flops")) is not None
        has_params = any(_cell(row.get(c)) is not None for c in RUN_SCALES)
        if has_flops and has_params:
            name = _cell(row.get("name")) or f"runs[{i}]"
            out.append(
                f"Run {name} gives both FLOPs and parameters x tokens: the FLOPs "
                f"({row.get('flops')}) are used and the parameters and tokens ignored. "
                "Clear one of them."
            )
    return out


#: Examples of hall=value pairs (input syntax, not labels), shown when a PUE cell cannot be read.
PUE_PAIRS_EXAMPLE = "air=colocation-air, liquid=1.1"
DESIGN_PUE_PAIRS_EXAMPLE = "air=1.5, liquid=hyperscale-liquid"


def scenario_from_tables(
    raw: Mapping[str, Any],
    runs: pd.DataFrame,
    candidates: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    objective: str | None = None,
    pricing: str | None = None,
    allow_mixed_chips: bool | None = None,
) -> dict[str, Any]:
    """The scenario dict of edited tables, on top of ``raw`` (its other keys are kept).

    Plain data for :func:`planner.scenarios.scenario_from_dict`, which validates it; here the
    text cells are parsed (numbers by :func:`planner.app.state.parse_number` within the
    core's limits, MFU per chip and PUE per hall as pairs) and the scaled columns multiplied
    out (billions of parameters, trillions of tokens).

    Raises
    ------
    InputError
        A cell that is not a number (``runs[0].flops = '2.15e25x'``), is outside the core's
        range, a chip listed twice, or text that is neither a number/name nor pairs.
    """
    data = copy.deepcopy(dict(raw))
    run_list = []
    for i, row in enumerate(runs.to_dict(orient="records")):
        if all(_missing(v) or str(v).strip() == "" for v in row.values()):
            continue  # a row the editor added and left empty
        entry: dict[str, Any] = {"name": _cell(row.get("name"))}
        for column, scale in (("flops", 1.0), *RUN_SCALES.items(), ("deadline_days", 1.0)):
            key = column.removesuffix("_b").removesuffix("_t") if scale != 1.0 else column
            entry[key] = _number_cell(f"runs[{i}].{column}", column, row.get(column))
        entry["precision"] = _cell(row.get("precision"))
        entry["goodput"] = _number_cell(f"runs[{i}].goodput", "goodput", row.get("goodput"))
        entry["mfu"] = parse_mapping(f"runs[{i}].mfu", row.get("mfu"), "h100=0.20, gb200=0.32")
        run_list.append({k: v for k, v in entry.items() if v is not None})
    data["runs"] = run_list
    cand = dict(data.get("candidates", {}))
    chips: list[str] = []
    tables: dict[str, dict[str, Any]] = {column: {} for column in CANDIDATE_COLUMNS[1:]}
    for i, row in enumerate(candidates.to_dict(orient="records")):
        chip = _cell(row.get("chip"))
        if chip is None:
            continue
        if str(chip) in chips:
            raise InputError(
                f"candidates[{i}].chip", str(chip), "each chip once (it is listed twice)"
            )
        chips.append(str(chip))
        for column, table in tables.items():
            value = _number_cell(f"candidates[{i}].{column}", column, row.get(column))
            if value is not None:
                table[str(chip)] = value
    cand["chips"] = chips
    for column, table in tables.items():
        if table:
            cand[column] = table
        else:
            cand.pop(column, None)
    if pricing is not None:
        cand["pricing"] = pricing
    data["candidates"] = cand
    row = limits.to_dict(orient="records")[0] if len(limits) else {}
    site = dict(data.get("site", {}))
    for column in ("grid_limit_mw", "electricity_usd_per_mwh", "grid_gco2_per_kwh", "max_racks"):
        value = _number_cell(f"site.{column}", column, row.get(column))
        if value is None:
            site.pop(column, None)
        else:
            site[column] = value
    for name, example in (("pue", PUE_PAIRS_EXAMPLE), ("design_pue", DESIGN_PUE_PAIRS_EXAMPLE)):
        mapped = parse_mapping(f"site.{name}", row.get(name), example)
        if mapped is None:
            site.pop(name, None)
        else:
            site[name] = mapped
    data["site"] = site
    budget = _number_cell("budget_usd", "budget_usd", row.get("budget_usd"))
    if budget is None:
        data.pop("budget_usd", None)
    else:
        data["budget_usd"] = budget
    if objective is not None:
        data["objective"] = objective
    if allow_mixed_chips is not None:
        data["allow_mixed_chips"] = bool(allow_mixed_chips)
    return data


def scenario_key(data: Mapping[str, Any]) -> str:
    """A hashable cache key of a scenario dict (canonical JSON)."""
    return json.dumps(data, sort_keys=True, default=str)


def validate_scenario(key: str, source: str) -> Scenario:
    """The core's validation of a scenario key (raises its :class:`CatalogError`)."""
    return scenario_from_dict(json.loads(key), source=source)


def _frame(frame: pd.DataFrame) -> pd.DataFrame:
    flat = frame.reset_index() if frame.index.names[0] is not None else frame.copy()
    return flat.reset_index(drop=True)


@st.cache_data(max_entries=128, show_spinner=False)
def plan(key: str, source: str) -> dict[str, Any]:
    """Optimise the scenario of ``key``: the plan as plain data (no solver objects).

    :func:`planner.optimization.build_model` then :func:`~planner.optimization.solve`
    (HiGHS), with the candidate comparison and, when nothing fits, the minimal relaxations.

    Returns
    -------
    dict
        ``status``, ``feasible``, ``objective``, ``objective_value``, ``objective_unit``,
        ``solver``, ``message``, ``totals``, ``notes``, ``timings``, ``grid_limit_mw`` and
        the frames ``runs``, ``constraints``, ``comparison``, ``relaxations`` (index reset).
    """
    scenario = validate_scenario(key, source)
    result = solve(build_model(scenario), relaxations=True, comparison=True)
    return {
        "status": result.status,
        "feasible": result.feasible,
        "objective": result.objective,
        "objective_value": result.objective_value,
        "objective_unit": result.objective_unit,
        "solver": result.solver,
        "pricing": result.pricing,
        "message": result.message,
        "totals": dict(result.totals),
        "notes": list(result.notes),
        "timings": dict(result.timings),
        "grid_limit_mw": scenario.site.grid_limit_mw,
        "longest_deadline_days": max(r.deadline_days for r in scenario.runs),
        "shortest_deadline_days": min(r.deadline_days for r in scenario.runs),
        "runs": _frame(result.runs),
        "constraints": _frame(result.constraints),
        "comparison": _frame(result.comparison),
        "relaxations": _frame(result.relaxations),
    }


@st.cache_data(max_entries=128, show_spinner=False)
def pareto_days(key: str, source: str, days: tuple[float, ...]) -> pd.DataFrame:
    """Least cost against the longest deadline: :func:`planner.optimization.pareto` over days."""
    scenario = validate_scenario(key, source)
    return pareto(scenario, "days", list(days), objective=PARETO_OBJECTIVE)


def scenario_toml(data: Mapping[str, Any], header: str = "") -> str:
    """A scenario dict as TOML text (:func:`planner.data_errors.dump_toml`, ``tomli_w``).

    The app writes edited scenarios with it so the plan report, which reads a file, can
    reproduce them; each comment line of ``header`` goes on top.
    """
    return dump_toml(dict(data), header)


# --- National demand: projections by country and year ---------------------------------------

#: Projection scenarios (``data/projections``), the page opens on the first.
DEFAULT_PROJECTION = "iea-2025-base.toml"
#: Monte Carlo of the page: modest by default (the report's own default is 10,000), fixed seed.
DEFAULT_SAMPLES = 2_000
PROJECTION_SEED = 0


def projection_names() -> list[str]:
    """File names of the projection scenarios (``data/projections/*.toml``)."""
    names = sorted(p.name for p in (data_dir() / "projections").glob("*.toml"))
    if DEFAULT_PROJECTION in names:
        names.remove(DEFAULT_PROJECTION)
        names.insert(0, DEFAULT_PROJECTION)
    return names


def _projection_scenario(name: str, text: str | None) -> ProjectionScenario:
    """A shipped projection file by name, or an uploaded one (``text``) named ``name``."""
    if text is None:
        check_choice("projection", name, projection_names())
        return load_projection_scenario(data_dir() / "projections" / name)
    return parse_projection_scenario(parse_toml(text, name), name)


@st.cache_data(max_entries=64, show_spinner=False)
def projection_meta(name: str, text: str | None = None) -> dict[str, Any]:
    """Title, source, variants, default years and regions of a projection scenario."""
    sc = _projection_scenario(name, text)
    first = next(iter(sc.variants.values()))
    central = project(sc, samples=0)
    return {
        "title": sc.title,
        "source": first.source,
        "variants": list(sc.variants),
        "years": first.year_range,
        "scope": first.scope,
        "countries": list(dict.fromkeys(central.frame["country"])),
    }


@st.cache_data(max_entries=128, show_spinner=False)
def projection(
    name: str,
    text: str | None,
    variants: tuple[str, ...],
    years: tuple[int, int],
    samples: int,
    seed: int,
    countries: tuple[str, ...] | None,
    calibrate: bool = False,
) -> dict[str, Any]:
    """:func:`planner.projection.project` as plain data: ``frame`` and ``published`` rows.

    Keyed by every input (file or uploaded text, variants, years, samples, seed, countries,
    and whether to calibrate to the study's published totals, ``calibrate_to``; off by
    default, as in the core: the published figures are then predictions).
    """
    sc = _projection_scenario(name, text)
    result = project(
        sc,
        years=years,
        samples=samples,
        seed=seed,
        variants=list(variants) or None,
        countries=list(countries) if countries else None,
        calibrate_to=sc.name if calibrate else None,
    )
    return {
        "frame": result.to_frame(),
        "published": [dict(p) for p in result.published],
        "title": result.title,
        "source": result.source,
        "years": result.years,
        "variants": list(result.variants),
        "calibration": dict(result.calibration),
        "reference_run": result.reference_run.title,
    }


# --- Reports: the three subjects, rendered on demand ------------------------------------------

#: MIME type of each report format (download buttons).
REPORT_MIME = {
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown",
    "json": "application/json",
}


def _scratch_folder() -> Path:
    """This user's private folder for the app's scratch files (0700, owned by us), or a
    fresh private one when the shared name is taken by someone else (no symlink games)."""
    uid = getattr(os, "geteuid", lambda: 0)()
    folder = Path(tempfile.gettempdir()) / f"planner-app-{uid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        folder = Path(tempfile.mkdtemp(prefix="planner-app-"))
    return folder


def _scratch_file(stem: str, text: str) -> Path:
    """A file holding ``text`` in the app's private scratch folder, named by its content
    (reused), written atomically by :func:`planner.reports._atomic.atomic_write`."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    path = _scratch_folder() / f"{stem}-{digest}.toml"
    if not path.is_file():
        data = text.encode("utf-8")
        atomic_write(path, lambda f: f.write(data), field="scenario")
    return path


@st.cache_data(max_entries=32, show_spinner=False)
def sizing_report(key: Key, command: str = "", grid_mw: float | None = None) -> Report:
    """The sizing report of a sidebar request (:func:`planner.reports.build_sizing_report`),
    with the page's grid verdict when a grid limit is set."""
    return build_sizing_report(
        build_request(**dict(key), source=APP_SOURCE), command=command, grid_mw=grid_mw
    )


def plan_report_file(key: str, file_name: str) -> Path:
    """The file the plan report reads: the example itself, or the edited scenario as TOML."""
    path = scenario_path(file_name)
    if scenario_key(file_scenario(file_name)) == key:
        return path
    header = (
        f"Edited in the planner app from {file_name} (data/scenarios/{file_name}).\n"
        "Units are in the key names: _mw megawatts, _usd US dollars, _days days."
    )
    return _scratch_file(f"edited-{path.stem}", scenario_toml(json.loads(key), header))


@st.cache_data(max_entries=32, show_spinner=False)
def plan_report(key: str, file_name: str, command: str = "") -> Report:
    """The plan report of an optimise scenario (the example file, or its edited tables)."""
    return build_plan_report(plan_report_file(key, file_name), command=command)


@st.cache_data(max_entries=32, show_spinner=False)
def projection_report(
    name: str, text: str | None, samples: int, seed: int, command: str = "", calibrate: bool = False
) -> Report:
    """The projection report of a scenario file (every variant, the file's years), calibrated
    to the study when the page is."""
    path = (
        data_dir() / "projections" / name
        if text is None
        else _scratch_file(f"upload-{Path(name).stem}", text)
    )
    sc = _projection_scenario(name, text)  # check the name (or the upload) first
    return build_projection_report(
        path,
        samples=samples,
        seed=seed,
        command=command,
        calibrate_to=sc.name if calibrate else None,
    )


@st.cache_data(max_entries=96, show_spinner=False)
def report_bytes(subject: str, args: tuple[Any, ...], fmt: str) -> bytes:
    """A report rendered in ``fmt`` (html, xlsx, md, json), cached by its inputs.

    ``subject`` is ``sizing`` (args of :func:`sizing_report`), ``plan``
    (:func:`plan_report`), ``projection`` (:func:`projection_report`) or ``serving``
    (:func:`serving_report`). Rendering HTML
    draws its charts with vl-convert (about a second), so pages call this lazily: from a
    download button's callable, when the user clicks.
    """
    builders: dict[str, Callable[..., Report]] = {
        "sizing": sizing_report,
        "plan": plan_report,
        "projection": projection_report,
        "serving": serving_report,
    }
    check_choice("subject", subject, list(builders))
    return render_report(builders[subject](*args), fmt)


# --- Serve a model: one service, its curves, every chip, the public record ---------------------

#: Users the GPUs-and-MW curve spans: the service's users divided and multiplied by this.
SERVE_USERS_SPAN = 100.0
SERVE_USERS_POINTS = 41
#: Reasoning multipliers of the Wh-per-query curve (test-time compute: 1 = no hidden tokens;
#: o1-style models generate tens of times the visible answer), clipped to the core's range.
SERVE_REASONING = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0)


def _service(key: Key) -> Any:
    from planner.serving_presets import build_service_request

    kwargs = dict(key)
    return build_service_request(kwargs.pop("preset", None), **kwargs)


@st.cache_data(max_entries=256, show_spinner=False)
def serving(key: Key, grid_mw: float | None = None) -> dict[str, Any]:
    """The answer for one service (:func:`planner.serving.serve` via the preset merge).

    Returns
    -------
    dict
        ``result`` (:meth:`~planner.serving.ServingResult.to_dict`), ``published`` (rows of
        :func:`~planner.serving_presets.published_comparison`, present only when the inputs
        are the preset's own), ``changed_inputs`` (as :func:`sizing`), ``grid`` (the fields of
        :func:`~planner.serving.serving_grid_fit`, None without a limit or a feasible
        service), ``preset_title`` / ``preset_source``, ``chip_name``, ``system_name``.
    """
    from planner.serving import serving_grid_fit

    request = _service(key)
    result = request.serve()
    chip = load_catalog().get(result.accelerator)
    grid = None
    if grid_mw is not None and bool(result.feasible):
        fit = serving_grid_fit(result, float(grid_mw), float(request.demand.users))
        grid = {k: float(v) if not isinstance(v, bool) else v for k, v in fit.__dict__.items()}
    payload = result.to_dict()
    payload["assumptions"] = request.sourced_assumptions(result)
    published, changed = what_differs(payload)
    return {
        "result": payload,
        "published": published or [],
        "changed_inputs": changed,
        "grid": grid,
        "preset_title": request.preset.title if request.preset else None,
        "preset_source": request.preset.source if request.preset else None,
        "chip_name": chip.name,
        "system_name": chip.system_name,
    }


def _curve(key: Key, users: Any = None, reasoning: Any = None) -> pd.DataFrame:
    from planner.serving_presets import sweep_service

    return sweep_service(_service(key), users=users, reasoning=reasoning)


@st.cache_data(max_entries=256, show_spinner=False)
def serving_users_curve(key: Key) -> pd.DataFrame:
    """GPUs, systems and peak facility MW of the same service over users (one vectorised
    :func:`~planner.serving.serve` call, the service's users / and x :data:`SERVE_USERS_SPAN`,
    within the core's range)."""
    from planner.serving import RANGES

    users = float(_service(key).demand.users)
    low, high = RANGES["users"]
    span = np.geomspace(
        max(users / SERVE_USERS_SPAN, low), min(users * SERVE_USERS_SPAN, high), SERVE_USERS_POINTS
    )
    return _curve(key, users=np.unique(np.append(span, users)))


@st.cache_data(max_entries=256, show_spinner=False)
def serving_reasoning_curve(key: Key) -> pd.DataFrame:
    """Wh per query (and GPUs, MW) of the same service over :data:`SERVE_REASONING` and the
    service's own multiplier (one vectorised call)."""
    from planner.serving import RANGES

    own = float(_service(key).assumptions.reasoning_multiplier)
    low, high = RANGES["reasoning_multiplier"]
    values = np.unique(np.clip(np.append(SERVE_REASONING, own), low, high))
    return _curve(key, reasoning=values)


@st.cache_data(max_entries=128, show_spinner=False)
def serving_comparison(key: Key) -> pd.DataFrame:
    """Every catalog chip serving the same demand (:func:`~planner.serving.compare_serving`),
    with the chip's name; a chip that cannot serve keeps its row with a ``note``."""
    from planner.serving import compare_serving

    request = _service(key)
    frame = compare_serving(
        request.demand,
        model=request.model,
        params=request.params,
        active_params=request.active_params,
        batch_size=request.batch_size,
        assumptions=request.assumptions,
    ).reset_index()
    names = {chip.id: chip.name for chip in load_catalog()}
    frame.insert(1, "chip_name", frame["accelerator"].map(names))
    return frame


@st.cache_data(max_entries=4, show_spinner=False)
def serving_validation() -> pd.DataFrame:
    """The published serving cases vs the model (:func:`planner.serving_validation.validate_serving`)."""
    from planner.serving_validation import validate_serving

    return validate_serving()


@st.cache_data(max_entries=32, show_spinner=False)
def serving_report(key: Key, command: str = "", grid_mw: float | None = None) -> Report:
    """The serving report of the Serve page's service (:func:`planner.reports.build_serving_report`)."""
    from planner.reports.serving import build_serving_report

    return build_serving_report(_service(key), command=command, grid_mw=grid_mw)
