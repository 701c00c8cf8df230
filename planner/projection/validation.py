"""Validation of a scenario variant and of its outputs (named fields, before and after the arithmetic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.projection.constants import (
    GROWTH_RANGE_PCT,
    LIFETIME_RANGE,
    MAX_DATA_CENTRE_TWH,
    MAX_SHARE,
)
from planner.projection.data import resolve_country
from planner.projection.installed import interpolate_anchors
from planner.projection_scenarios import (
    YEAR_RANGE,
    ScenarioSpec,
    Uncertain,
    bounds,
    central,
)
from planner.validation import check_non_negative, check_range

# --------------------------------------------------------------------------------------------
# Validation of a scenario variant (named fields, before any arithmetic)
# --------------------------------------------------------------------------------------------


def _check_growth(field_name: str, x: Uncertain | None) -> None:
    if x is None:
        return
    lo, hi = GROWTH_RANGE_PCT
    low, high = bounds(x)
    allowed = f"a growth rate > {lo:g} %/yr and <= {hi:,.0f} %/yr"
    if not low > lo:
        raise InputError(
            field_name,
            low,
            allowed,
            detail="a decline of 100 %/yr or more would make the power zero or negative",
        )
    if not high <= hi:
        raise InputError(
            field_name,
            high,
            allowed,
            detail="more than 11x a year, compounded, is not a projection",
        )


def _check_bounds(field_name: str, x: Uncertain | None, check: Any, *args: float) -> None:
    if x is None:
        return
    for v in dict.fromkeys(bounds(x)):
        check(field_name, v, *args)


def _fraction(field_name: str, value: float) -> None:
    if not (np.isfinite(value) and 0.0 < value <= 1.0):
        raise InputError(field_name, value, "a fraction in (0, 1]")


def validate_spec(
    spec: ScenarioSpec, catalog: Catalog | None = None, years: tuple[int, int] | None = None
) -> None:
    """Every check on a scenario variant; raises :class:`InputError` naming the field.

    ``years`` are the output years (default the scenario's own ``years``).
    """
    start, end = years or spec.year_range
    if end < start:
        raise InputError("years", spec.years, "start:end with start <= end (years out of order)")
    if spec.ai is None and not spec.non_ai:
        raise InputError("ai", None, "an [ai] section or at least one [non_ai.NAME] load")
    if spec.ai is not None:
        ai = spec.ai
        _check_bounds("ai.lifetime_years", ai.lifetime_years, check_range, *LIFETIME_RANGE)
        loads = ai.load_factor if isinstance(ai.load_factor, dict) else {"": ai.load_factor}
        for year, value in loads.items():
            _check_bounds(f"ai.load_factor{f'[{year}]' if year else ''}", value, _fraction)
        _check_bounds("ai.first_year_fraction", ai.first_year_fraction, check_range, 0.0, 1.0)
        _check_bounds("ai.network_overhead", ai.network_overhead, check_range, 0.0, 1.0)
        _check_bounds("ai.shipments_scale", ai.shipments_scale, check_non_negative)
        cat = catalog or load_catalog()
        if not ai.fleet and (ai.compute is None or ai.compute.base_it_power_gw is None):
            raise InputError(
                "ai.fleet", "{}", "at least one generation, or ai.compute.base_it_power_gw"
            )
        for label, entry in ai.fleet.items():
            cat.get(entry.accelerator, field=f"ai.fleet.{label}.accelerator")
            check_non_negative(f"ai.fleet.{label}.shipments", list(entry.shipments.values()))
            _check_growth(f"ai.fleet.{label}.growth_pct_per_year", entry.growth_pct_per_year)
        if ai.compute is not None:
            c = ai.compute
            _check_growth("ai.compute.flops_growth_pct_per_year", c.flops_growth_pct_per_year)
            _check_growth("ai.compute.efficiency_gain_pct_per_year", c.efficiency_gain_pct_per_year)
            if c.base_it_power_gw is not None:
                _check_bounds("ai.compute.base_it_power_gw", c.base_it_power_gw, _positive)
            else:  # the base power is the fleet's own in base_year: it must have shipped by then
                first_ship = min(y for e in ai.fleet.values() for y in e.shipments)
                lo, hi = YEAR_RANGE
                if not first_ship <= c.base_year <= hi:
                    raise InputError(
                        "ai.compute.base_year",
                        c.base_year,
                        f"a year in {first_ship}..{hi} (from the fleet's first shipment year)",
                        detail="without ai.compute.base_it_power_gw the base power is the "
                        "fleet's in base_year, zero before any shipment",
                    )
    for year, value in spec.pue.items():
        _check_bounds(f"pue[{year}]", value, check_range, 1.0, 3.0)
    if spec.design_pue is not None:
        for year, value in spec.design_pue.items():
            _check_bounds(f"design_pue[{year}]", value, check_range, 1.0, 3.0)
        _check_design_pue(spec)
    for label, load in spec.non_ai.items():
        _check_bounds(f"non_ai.{label}.twh", load.twh, check_non_negative)
        _check_growth(f"non_ai.{label}.growth_pct_per_year", load.growth_pct_per_year)
    _check_growth("electricity.growth_pct_per_year", spec.electricity.growth_pct_per_year)
    _check_regions(spec)
    if spec.ai_regions is not None:
        _check_regions(spec, "ai_regions")


def _check_design_pue(spec: ScenarioSpec) -> None:
    """The design-day PUE may not fall below the annual PUE in any year.

    Both tables are linear between their anchors and flat outside, so comparing them at the
    union of their anchor years covers every year. Ranges are compared end by end (low with
    low, central with central, high with high): with both drawn at the same quantile
    (:meth:`_Draw.table_and_quantile`) that keeps every Monte Carlo draw ordered too.
    """
    design = spec.design_pue
    if design is None:
        return
    years = sorted(set(spec.pue) | set(design))
    ends: tuple[tuple[str, Any], ...] = (
        ("", central),
        ("low end ", lambda x: bounds(x)[0]),
        ("high end ", lambda x: bounds(x)[1]),
    )
    for which, pick in ends:
        annual = interpolate_anchors(years, list(spec.pue), [pick(v) for v in spec.pue.values()])
        day = interpolate_anchors(years, list(design), [pick(v) for v in design.values()])
        for year, a, d in zip(years, annual, day, strict=True):
            if d >= a - 1e-12:
                continue
            anchor = year in design
            raise InputError(
                f"design_pue[{year}]" if anchor else "design_pue",
                float(d),
                f"at least the annual PUE of {year} ({which}pue {float(a):g})",
                detail="the design-day PUE (the hottest hours the grid connection carries) "
                "cannot be below the annual PUE"
                + ("" if anchor else f"; design_pue interpolated to {year}, a pue anchor year"),
            )


def _positive(field_name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise InputError(field_name, value, "a finite number > 0")


def _check_regions(spec: ScenarioSpec, table: str = "regions") -> None:
    first: list[str] | None = None
    if table != "regions":  # the AI split must cover the same regions as the common one
        first = [resolve_country(n) for n in next(iter(spec.regions.values()))]
    for year, shares in getattr(spec, table).items():
        f = f"{table}[{year}]"
        if not shares:
            raise InputError(f, "{}", "at least one region with its share")
        names = [resolve_country(name, field=f"{f}.{name}") for name in shares]
        if first is None:
            first = names
        elif sorted(names) != sorted(first):
            raise InputError(
                f,
                ", ".join(names),
                "the same regions in every year"
                + ("" if table == "regions" else " and as in regions")
                + ": "
                + ", ".join(first),
            )
        for name, value in shares.items():
            if not (np.isfinite(value) and 0.0 <= value <= 1.0):
                raise InputError(f"{f}.{name}", value, "a share in [0, 1]")
        total = float(sum(shares.values()))
        if abs(total - 1.0) > 1e-3:
            raise InputError(f, round(total, 6), "shares summing to 1 (within 0.001)")
    resolve_country(spec.scope, field="scope")


def _growth_inputs(spec: ScenarioSpec, part: str) -> list[tuple[str, Any]]:
    """The inputs (name, central value) that make a component grow over the years."""
    if part.startswith("non_ai."):
        entry = spec.non_ai[part.split(".", 1)[1]]
        return [
            (f"{part}.growth_pct_per_year", central(entry.growth_pct_per_year)),
            (f"{part}.twh", central(entry.twh)),
        ]
    ai = spec.ai
    out: list[tuple[str, Any]] = []
    if ai is not None and ai.compute is not None:
        c = ai.compute
        out.append(("ai.compute.flops_growth_pct_per_year", central(c.flops_growth_pct_per_year)))
        if c.base_it_power_gw is not None:
            out.append(("ai.compute.base_it_power_gw", central(c.base_it_power_gw)))
    if ai is not None:
        for label, e in ai.fleet.items():
            if e.growth_pct_per_year is not None:
                out.append(
                    (f"ai.fleet.{label}.growth_pct_per_year", central(e.growth_pct_per_year))
                )
        out.append(("ai.shipments_scale", central(ai.shipments_scale)))
    return out


def _check_outputs(
    spec: ScenarioSpec,
    point: dict[str, np.ndarray],
    core: dict[str, Any],
    labels: list[str],
    out_years: np.ndarray,
) -> None:
    """Reject physically impossible central outputs, naming the input(s) that drove them.

    Data-centre electricity must be finite and >= 0, at most :data:`MAX_DATA_CENTRE_TWH`,
    and at most the national electricity it is a share of (``total_share <= 1``).
    """
    total = point["total_twh"][0]  # (Y, L)
    share = point["total_share"][0]
    denom = point["electricity_twh"][0]
    with np.errstate(invalid="ignore"):
        bad_value = ~np.isfinite(total) | (total < 0)
        too_big = np.nan_to_num(total, nan=0.0) > MAX_DATA_CENTRE_TWH
        over = np.nan_to_num(share, nan=0.0) > MAX_SHARE
    mask = bad_value | too_big | over
    if not mask.any():
        return
    yi, ri = (int(i[0]) for i in np.nonzero(mask))  # the earliest year, then region
    year, region = int(out_years[yi]), labels[ri]
    drivers: list[tuple[str, Any]] = []
    elec_growth = spec.electricity.growth_pct_per_year
    if over[yi, ri] and elec_growth < 0 and denom[yi, ri] < denom[0, ri]:
        drivers.append(("electricity.growth_pct_per_year", elec_growth))
    parts = {"ai": core["ai_twh"][0], **{k: v[0] for k, v in core["non_ai_parts"].items()}}
    now = {k: (abs(v[yi]) if np.isfinite(v[yi]) else np.inf) for k, v in parts.items()}
    biggest = max(now, key=lambda k: now[k])
    grown = now[biggest] > 1.5 * abs(parts[biggest][0])  # grew in the output years
    inputs = _growth_inputs(spec, biggest)
    growth = [d for d in inputs if "growth" in d[0]]
    level = [d for d in inputs if "growth" not in d[0]]
    drivers += growth + level if grown else level + growth
    if bad_value[yi, ri]:
        what = f"total_twh = {total[yi, ri]:.4g}"
        allowed = "inputs giving finite, non-negative data-centre electricity"
    elif too_big[yi, ri]:
        what = f"total_twh = {total[yi, ri]:.4g}"
        allowed = f"inputs giving at most {MAX_DATA_CENTRE_TWH:,.0f} TWh of data-centre electricity"
    else:
        what = (
            f"total_share = {share[yi, ri]:.4g} ({total[yi, ri]:.4g} TWh of "
            f"{denom[yi, ri]:.4g} TWh national electricity)"
        )
        allowed = "inputs keeping data-centre electricity within national electricity (share <= 1)"
    field_name, value = drivers[0] if drivers else ("scenario", spec.name)
    also = "; ".join(f"{n} = {v:g}" for n, v in drivers[1:3])
    detail = f"{region} {year}: {what}; the largest load is {biggest}"
    raise InputError(
        field_name, value, allowed, detail=detail + (f"; see also {also}" if also else "")
    )
