"""Demand of one scenario variant: the AI fleet, the non-AI loads, PUE, regions and the reference run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from planner import facility, power
from planner.catalog import Catalog
from planner.errors import InputError
from planner.presets import get_preset
from planner.projection.constants import REST_OF_WORLD, TWH_PER_GWH, W_PER_GW
from planner.projection.data import national_electricity_twh, resolve_country
from planner.projection.installed import compound, installed_base, interpolate_anchors
from planner.projection_scenarios import (
    ScenarioSpec,
    Uncertain,
    bounds,
    central,
)
from planner.sizing import size_training

if TYPE_CHECKING:
    from planner.projection.montecarlo import _Draw


# --------------------------------------------------------------------------------------------
# The model for one variant
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceRun:
    """The training run used as a yardstick: its name and facility energy."""

    preset: str
    title: str
    energy_mwh: float
    average_facility_power_mw: float
    days: float


@lru_cache(maxsize=8)
def reference_run(preset: str = "gtc2024-hopper") -> ReferenceRun:
    """Energy of one reference run, sized by :func:`planner.sizing.size_training` from a preset."""
    p = get_preset(preset)
    r = size_training(
        p.run(), p.accelerator, gpus=p.gpus, days=p.days, assumptions=p.sizing_assumptions()
    )
    return ReferenceRun(
        preset, p.title, float(r.energy_mwh), float(r.average_facility_power_mw), float(r.days)
    )


def _shipments_series(entry: Any, model_years: np.ndarray, growth: np.ndarray | None) -> np.ndarray:
    """Shipments over the model years, (n, T): linear between given years, zero before,
    compounded at ``growth`` after the last given year (zero without a growth rate)."""
    ay = np.array(sorted(entry.shipments), dtype=float)
    av = np.array([entry.shipments[int(y)] for y in ay], dtype=float)
    inside = np.interp(model_years, ay, av)
    inside = np.where((model_years < ay[0]), 0.0, inside)
    series = np.where(model_years > ay[-1], 0.0, inside)[None, :]
    if growth is not None:
        after = compound(av[-1], growth, model_years[None, :] - ay[-1])
        series = np.where(model_years[None, :] > ay[-1], after, series)
    return series


def _evaluate(
    spec: ScenarioSpec, draw: _Draw, catalog: Catalog, out_years: np.ndarray
) -> dict[str, Any]:
    """Scope-level trajectories over ``out_years``, each (n, Y); ``non_ai_parts`` holds each
    non-AI load's facility TWh by name (``non_ai.LABEL``)."""
    n = draw.n
    ai = spec.ai
    ship_years = [y for e in (ai.fleet.values() if ai else []) for y in e.shipments]
    y0 = int(min([out_years[0], *ship_years]))
    # The model runs to the compute-driven base year when that lies after the output years
    # (the fleet's power there is its base); the output is cut to ``out_years``.
    base_year = ai.compute.base_year if ai is not None and ai.compute is not None else y0
    y_end = int(max(out_years[-1], base_year))
    model_years = np.arange(y0, y_end + 1, dtype=float)
    sel = slice(int(out_years[0]) - y0, int(out_years[-1]) - y0 + 1)
    T = model_years.size

    pue_years = list(spec.pue)
    pue_table, pue_quantile = draw.table_and_quantile(list(spec.pue.values()))
    pue = interpolate_anchors(model_years, pue_years, pue_table)

    ai_it_gw = np.zeros((n, T))
    nameplate_it_gw = np.zeros((n, T))  # AI IT power at nameplate (before the load factor)
    accelerators = np.zeros((n, T))
    eflops = np.zeros((n, T))
    if ai is not None:
        lifetime = draw(ai.lifetime_years)[:, 0]
        first = draw(ai.first_year_fraction)[:, 0]
        if isinstance(ai.load_factor, dict):
            load = interpolate_anchors(
                model_years, list(ai.load_factor), draw.table(list(ai.load_factor.values()))
            )
        else:
            load = draw(ai.load_factor)
        network = draw(ai.network_overhead)
        scale = draw(ai.shipments_scale)
        nameplate_w = np.zeros((n, T))
        units = np.zeros((n, T))
        tflops = np.zeros((n, T))
        for entry in ai.fleet.values():
            chip = catalog.get(entry.accelerator)
            per = chip.gpus_per_system if entry.unit == "systems" else 1
            growth = None if entry.growth_pct_per_year is None else draw(entry.growth_pct_per_year)
            ship = _shipments_series(entry, model_years, growth) * per * scale
            units = units + ship
            nameplate_w = nameplate_w + ship * chip.system_power_per_gpu_w
            tflops = tflops + ship * chip.bf16_dense_tflops
        in_service_w = installed_base(nameplate_w, lifetime, first)
        accelerators = installed_base(units, lifetime, first)
        eflops = installed_base(tflops, lifetime, first) / 1e6
        avg_server_w = power.average_server_power_per_gpu_w(in_service_w, load)
        ai_it_gw = power.it_power_per_gpu_w(avg_server_w, network) / W_PER_GW
        nameplate_it_gw = power.it_power_per_gpu_w(in_service_w, network) / W_PER_GW
        if ai.compute is not None:
            c = ai.compute
            b = float(c.base_year)
            inside = model_years[0] <= b <= model_years[-1]  # always with a fleet base
            if c.base_it_power_gw is not None:
                base_gw = draw(c.base_it_power_gw)
            else:  # validate_spec: base_year is on or after the first shipment year
                base_gw = ai_it_gw[:, [int(b - y0)]]
            x = draw(c.flops_growth_pct_per_year)
            y = draw(c.efficiency_gain_pct_per_year)
            later = model_years[None, :] > b
            dt = model_years[None, :] - b
            driven = base_gw * ((1.0 + x / 100.0) / (1.0 + y / 100.0)) ** dt
            ai_it_gw = np.where(later, driven, ai_it_gw) if ai.fleet else driven
            # compute-driven years: nameplate = average IT power / load factor
            driven_nameplate = driven / load
            nameplate_it_gw = (
                np.where(later, driven_nameplate, nameplate_it_gw) if ai.fleet else driven_nameplate
            )
            base_ef = eflops[:, [int(b - y0)]] if ai.fleet and inside else np.nan
            eflops = np.where(later, base_ef * (1.0 + x / 100.0) ** dt, eflops)
            accelerators = np.where(later, np.nan, accelerators)

    hours = spec.hours_per_year
    ai_facility_gw = power.facility_power_w(ai_it_gw, pue)
    ai_twh = ai_facility_gw * hours * TWH_PER_GWH
    non_ai_twh = np.zeros((n, T))
    parts: dict[str, np.ndarray] = {}
    for label, other in spec.non_ai.items():
        twh = compound(
            draw(other.twh), draw(other.growth_pct_per_year), model_years[None, :] - other.base_year
        )
        part = twh * pue if other.basis == "it" else twh
        parts[f"non_ai.{label}"] = part[:, sel]
        non_ai_twh = non_ai_twh + part
    # Design-day PUE: drawn LAST (an explicit table with ranges and a fixed annual PUE takes
    # fresh quantiles without shifting any other input's draws), at the annual PUE's quantile
    # when that has ranges; the floor at the annual PUE only matters for a uniform range set
    # against a triangular one (validate_spec orders the ends).
    if spec.design_pue is None:
        design_pue = facility.design_day_pue(pue)
    else:
        design_table, _ = draw.table_and_quantile(list(spec.design_pue.values()), pue_quantile)
        design_pue = np.maximum(
            interpolate_anchors(model_years, list(spec.design_pue), design_table), pue
        )
    ai_peak_gw = power.facility_power_w(nameplate_it_gw, design_pue)
    return {
        "ai_twh": ai_twh[:, sel],
        "non_ai_twh": non_ai_twh[:, sel],
        "non_ai_parts": parts,
        "pue": pue[:, sel],
        "design_pue": design_pue[:, sel],
        "ai_peak_gw": ai_peak_gw[:, sel],
        "ai_accelerators_in_service": accelerators[:, sel],
        "ai_dense_bf16_eflops": eflops[:, sel],
    }


def _region_table(
    spec: ScenarioSpec, out_years: np.ndarray, table: str = "regions"
) -> tuple[list[str], np.ndarray]:
    """Region names and their shares by output year, (Y, R), of ``regions`` or ``ai_regions``
    (columns in the order of ``regions``)."""
    order = [resolve_country(r) for r in next(iter(spec.regions.values()))]
    years_table = getattr(spec, table)
    anchors = list(years_table)
    by_name = [{resolve_country(k): v for k, v in years_table[a].items()} for a in anchors]
    values = np.array([[row[r] for row in by_name] for r in order], dtype=float)
    shares = interpolate_anchors(out_years, anchors, values).T  # (Y, R)
    return order, shares


def _denominators(spec: ScenarioSpec, names: list[str], out_years: np.ndarray) -> np.ndarray:
    """National electricity by output year for each region and then the scope, (Y, R+1)."""
    d, g = spec.electricity.definition, spec.electricity.growth_pct_per_year
    study = spec.electricity.study
    scope = resolve_country(spec.scope)
    scope_twh = national_electricity_twh(scope, out_years, d, g, study)
    cols: list[np.ndarray | None] = []
    for name in names:
        cols.append(
            None
            if name == REST_OF_WORLD
            else national_electricity_twh(name, out_years, d, g, study)
        )
    if REST_OF_WORLD in names:
        others = sum((c for c in cols if c is not None), np.zeros_like(scope_twh))
        rest = scope_twh - others
        if np.any(rest <= 0):
            raise InputError(
                "regions",
                REST_OF_WORLD,
                f"regions whose totals are below {scope}'s",
                detail="the residual electricity total is not positive",
            )
        cols[names.index(REST_OF_WORLD)] = rest
    filled: list[np.ndarray] = []
    for col in cols:
        if col is None:  # only a second rest-of-world column (names differing in case) is left
            raise InputError("regions", REST_OF_WORLD, "the residual region at most once")
        filled.append(col)
    return np.stack([*filled, scope_twh], axis=1)


#: The ratio :func:`planner.power.design_day_pue` applies when a scenario gives no
#: ``design_pue`` (one reader of data/assumptions.csv: :func:`planner.facility.design_pue_overhead_ratio`).
design_pue_overhead_ratio = facility.design_pue_overhead_ratio


def _inputs_table(spec: ScenarioSpec) -> list[dict[str, Any]]:
    """Every input of the variant with its range and source (for display and JSON)."""
    rows: list[dict[str, Any]] = []
    doc = spec.sources

    def add(name: str, x: Uncertain | None, unit: str, source: str | None = None) -> None:
        if x is None:
            return
        low, high = bounds(x)
        rows.append(
            {
                "variant": spec.variant,
                "name": name,
                "value": central(x),
                "low": low,
                "high": high,
                "unit": unit,
                "source": source or doc.get(name, ""),
            }
        )

    if spec.ai is not None:
        ai = spec.ai
        add("ai.lifetime_years", ai.lifetime_years, "years")
        add("ai.first_year_fraction", ai.first_year_fraction, "fraction of a year")
        if isinstance(ai.load_factor, dict):
            for year, value in ai.load_factor.items():
                add(
                    f"ai.load_factor[{year}]",
                    value,
                    "fraction of nameplate",
                    doc.get("ai.load_factor"),
                )
        else:
            add("ai.load_factor", ai.load_factor, "fraction of nameplate")
        add("ai.network_overhead", ai.network_overhead, "fraction of server power")
        add("ai.shipments_scale", ai.shipments_scale, "multiplier")
        for label, e in ai.fleet.items():
            total = sum(e.shipments.values())
            first, last = min(e.shipments), max(e.shipments)
            years = f"{first}" if first == last else f"{first}-{last}"
            rows.append(
                {
                    "variant": spec.variant,
                    "name": f"ai.fleet.{label}.shipments",
                    "value": total,
                    "low": total,
                    "high": total,
                    "unit": f"{e.unit} of {e.accelerator} shipped {years}",
                    "source": e.source,
                }
            )
            add(f"ai.fleet.{label}.growth_pct_per_year", e.growth_pct_per_year, "%/yr", e.source)
        if ai.compute is not None:
            c = ai.compute
            add(
                "ai.compute.flops_growth_pct_per_year",
                c.flops_growth_pct_per_year,
                "%/yr",
                c.source,
            )
            add(
                "ai.compute.efficiency_gain_pct_per_year",
                c.efficiency_gain_pct_per_year,
                "%/yr",
                c.source,
            )
            add("ai.compute.base_it_power_gw", c.base_it_power_gw, "GW", c.source)
    for year, v in spec.pue.items():
        add(f"pue[{year}]", v, "ratio", doc.get("pue"))
    if spec.design_pue is not None:
        for year, v in spec.design_pue.items():
            add(f"design_pue[{year}]", v, "ratio (design day, grid peak)", doc.get("design_pue"))
    else:
        ratio = design_pue_overhead_ratio()
        for year, v in spec.pue.items():
            low, high = bounds(v)
            rows.append(
                {
                    "variant": spec.variant,
                    "name": f"design_pue[{year}]",
                    "value": float(power.design_day_pue(central(v), ratio)),
                    "low": float(power.design_day_pue(low, ratio)),
                    "high": float(power.design_day_pue(high, ratio)),
                    "unit": "ratio (design day, grid peak)",
                    "source": f"derived from pue with design_pue_overhead_ratio {ratio:g} "
                    "(data/assumptions.csv, estimate)",
                }
            )
    for label, load in spec.non_ai.items():
        add(
            f"non_ai.{label}.twh",
            load.twh,
            f"TWh in {load.base_year} ({load.basis} side)",
            load.source,
        )
        add(f"non_ai.{label}.growth_pct_per_year", load.growth_pct_per_year, "%/yr", load.source)
    add(
        "electricity.growth_pct_per_year",
        spec.electricity.growth_pct_per_year,
        "%/yr",
        spec.electricity.source,
    )
    return rows
