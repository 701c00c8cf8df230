"""Projection: how much electricity a country's (or the world's) AI and data centres use, by year.

Bottom-up, every parameter a named, sourced input of a scenario file
(``data/projections/*.toml``, read by :mod:`planner.projection_scenarios`):

1. **Installed base.** Accelerators shipped by chip generation and year; a unit stays in
   service for ``lifetime_years`` L from the day it is installed. With ``first_year_fraction``
   f = 1 (units shipped in year t run all of year t) the units in service in year t are those
   shipped in years t-L+1..t; with f < 1 a unit runs f of its shipment year and 1 - f of year
   t+L, so every unit gives exactly L unit-years whatever f (:func:`survival_weights`). A
   fractional L keeps the oldest cohort for that fraction of the year, so the base is
   continuous and never falls when L grows.
2. **Power per unit in service** = catalog nameplate system power per accelerator
   (:attr:`planner.catalog.Accelerator.system_power_per_gpu_w`: server/rack incl. CPUs, fans,
   NVSwitch) x average ``load_factor`` (fraction of nameplate) x (1 + ``network_overhead``),
   through :mod:`planner.power`.
3. **Compute-driven variant** (optional): after ``base_year`` AI IT power follows FLOP/s demand
   growing x %/yr divided by FLOP/s per W improving y %/yr: P(t) = P(b) ((1+x)/(1+y))^(t-b).
4. **Non-AI baseline** where a study includes it (conventional servers, storage, network,
   crypto mining): TWh in a base year growing g %/yr, on the IT side (x PUE) or facility side.
5. **Facility overhead**: a PUE trajectory by year (anchors, linear in between, flat outside):
   the ANNUAL PUE, which multiplies average IT power into energy. The grid peak uses a
   DESIGN-DAY PUE instead (the hottest hours, when chillers and fans run hardest): the
   scenario's optional ``design_pue`` anchors (at least the annual PUE of the same year), or
   else :func:`planner.power.design_day_pue` of the annual PUE per year and per Monte Carlo
   draw (``design_pue_overhead_ratio`` of ``data/assumptions.csv``, an estimate: 1.5).
6. **Allocation** to countries/regions by share (anchors by year, linear in between): the
   ``regions`` table splits the non-AI load, and the AI load too unless the scenario gives
   separate ``ai_regions`` shares (accelerator fleets are more concentrated than data centres;
   without them the output carries a note that per-region AI figures are the common split).
7. **Outputs** by country and year: TWh, average GW (TWh / hours), the AI fleet's grid peak
   ``ai_peak_gw`` (IT power at nameplate, i.e. average / ``load_factor``, x design-day PUE:
   the capacity its grid connections must carry on the design day), share of national
   electricity with the study's own denominator (``data/countries/electricity.csv``:
   consumption and generation differ by 5-10 %), and the number of reference training runs
   (default the GTC 2024 1.8T-parameter run on Hopper, ``planner.presets``) the AI energy
   could power in a year.
8. **Uncertainty**: inputs given as ranges are sampled (seeded, vectorised); P10/P50/P90 bands.
   A central value outside its own band (a one-sided range) is flagged in ``notes``.
9. **Calibration is explicit and off by default**: ``project(..., calibrate_to=
   STUDY)`` solves the non-AI level and growth at run time so the scope lands on the study's
   published totals (:func:`calibrate`), and labels those figures "calibrated"; without it
   nothing is solved and every published figure is a prediction ("predicted").
10. **Sanity**: growth rates are bounded (:data:`GROWTH_RANGE_PCT`), and an output above
   national electricity (share > 1) or above :data:`MAX_DATA_CENTRE_TWH` raises an
   :class:`InputError` naming the input that drove it.

Energy = average power x ``hours_per_year`` (8,760 h, the de Vries convention, or 8,784 for a
leap year; nothing else is accepted). Everything is numpy: samples x years x regions in one
pass (``benchmarks/bench_projection.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner import power
from planner._arrays import to_python
from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.errors import CatalogError, InputError
from planner.presets import get_preset
from planner.projection_scenarios import (
    YEAR_RANGE,
    Range,
    Scenario,
    ScenarioSpec,
    Uncertain,
    bounds,
    central,
    load_scenario,
    pydantic_error,
)
from planner.sizing import size_training
from planner.validation import check_non_negative, check_range, check_seed

#: Residual region: the scope's total minus every other region of the scenario.
REST_OF_WORLD = "Rest of world"
#: Percentiles reported by the Monte Carlo.
PERCENTILES: tuple[int, ...] = (10, 50, 90)
#: Quantities that get P10/P50/P90 bands.
BANDED: tuple[str, ...] = (
    "total_twh",
    "ai_twh",
    "total_gw",
    "total_share",
    "ai_share",
    "reference_runs_per_year",
    "ai_peak_gw",
)
TWH_PER_GWH = 1e-3
W_PER_GW = 1e9
MWH_PER_TWH = 1e6
#: Lifetime range accepted, years.
LIFETIME_RANGE = (1.0, 30.0)
#: Largest Monte Carlo accepted (memory: samples x years x regions floats per quantity).
MAX_SAMPLES = 1_000_000
#: Growth rates accepted, %/yr: above -100 (a decline of 100 %/yr or more makes a load zero or
#: negative) and at most 1,000 (11x a year; installed AI compute grew ~2.3x a year in
#: 2019-2024, Epoch AI). National electricity growth is bounded tighter by the loader
#: (:data:`planner.projection_scenarios.ELECTRICITY_GROWTH_RANGE_PCT`).
GROWTH_RANGE_PCT = (-100.0, 1000.0)
#: Largest data-centre electricity accepted for any region and year, TWh: about four times the
#: world's whole electricity consumption in 2024 (26,200 TWh, data/countries/electricity.csv).
#: Anything above it comes from an input error, not a projection.
MAX_DATA_CENTRE_TWH = 100_000.0
#: A data-centre total may not exceed the national electricity it is a share of.
MAX_SHARE = 1.0


# --------------------------------------------------------------------------------------------
# National electricity totals (the share denominators)
# --------------------------------------------------------------------------------------------


class _ElectricityRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    country: str = Field(min_length=1)
    year: int = Field(ge=YEAR_RANGE[0], le=YEAR_RANGE[1])
    definition: Literal["consumption", "generation"]
    kind: Literal["actual", "estimate", "projection"]
    study: str = ""
    electricity_twh: float = Field(gt=0, le=200_000)
    source: str = Field(min_length=1)


@lru_cache(maxsize=4)
def load_electricity(path: Path | None = None) -> pd.DataFrame:
    """National electricity totals (``data/countries/electricity.csv``), validated.

    Columns: country, year, definition (consumption | generation), kind (actual | estimate |
    projection), electricity_twh, source. Raises :class:`CatalogError` naming the row and column.
    """
    resolved = path or data_dir() / "countries" / "electricity.csv"
    if not resolved.is_file():
        raise CatalogError(str(resolved), None, None, "file not found")
    raw = pd.read_csv(resolved, dtype=str, keep_default_na=False)
    rows = []
    seen: set[tuple[str, int, str, str]] = set()
    for index, record in enumerate(raw.to_dict(orient="records")):
        try:
            row = _ElectricityRow.model_validate(record)
        except ValidationError as exc:
            raise pydantic_error(
                str(resolved), record, exc, _ElectricityRow, row=index + 2, column_label="column"
            ) from None
        key = (row.country, row.year, row.definition, row.study)
        if key in seen:
            raise CatalogError(str(resolved), index + 2, "year", f"duplicate row for {key}")
        seen.add(key)
        rows.append(row.model_dump())
    return pd.DataFrame(rows)


def known_countries() -> list[str]:
    """Country/region names with electricity totals, plus the residual ``Rest of world``."""
    return sorted(set(load_electricity()["country"])) + [REST_OF_WORLD]


def resolve_country(name: str, field: str = "country") -> str:
    """The canonical name of a country/region (case-insensitive), or an :class:`InputError`."""
    by_lower = {c.lower(): c for c in known_countries()}
    key = str(name).strip().lower()
    if key not in by_lower:
        raise InputError(field, name, "one of: " + ", ".join(known_countries()))
    return by_lower[key]


def national_electricity_twh(
    country: str,
    years: Any,
    definition: str,
    growth_pct_per_year: float = 0.0,
    study: str | None = None,
) -> np.ndarray:
    """National electricity (``definition``) in ``years``, TWh.

    Linear between the rows of the table; beyond them the nearest row compounded at
    ``growth_pct_per_year`` (the scenario states and sources that rate). Rows tagged with a
    ``study`` (a study's own projected total) are used only when ``study`` matches.
    """
    table = load_electricity()
    rows = table[
        (table["country"] == country)
        & (table["definition"] == definition)
        & ((table["study"] == "") | (table["study"] == (study or "")))
    ]
    if study and rows["year"].duplicated().any():  # the study's row wins over a statistic
        rows = rows.sort_values("study").drop_duplicates("year", keep="last")
    yrs = np.asarray(years, dtype=float)
    if rows.empty:
        have = sorted(set(table.loc[table["country"] == country, "definition"]))
        raise InputError(
            "electricity.definition",
            definition,
            "one of: " + (", ".join(have) or "(none)") + f" for {country}",
            detail="data/countries/electricity.csv has no such total",
        )
    rows = rows.sort_values("year")
    ry = rows["year"].to_numpy(dtype=float)
    rv = rows["electricity_twh"].to_numpy(dtype=float)
    g = 1.0 + growth_pct_per_year / 100.0
    inside = np.interp(yrs, ry, rv)
    after = rv[-1] * g ** (yrs - ry[-1])
    before = rv[0] * g ** (yrs - ry[0])
    return np.where(yrs > ry[-1], after, np.where(yrs < ry[0], before, inside))


# --------------------------------------------------------------------------------------------
# Vectorised building blocks (plain functions on arrays)
# --------------------------------------------------------------------------------------------


def survival_weights(
    lifetime_years: Any, n_ages: int, first_year_fraction: Any = 1.0
) -> np.ndarray:
    """Fraction of each year a unit is in service, at age 0..n_ages-1 (years since shipment).

    A unit shipped in year t enters service at ``1 - f`` into that year (f =
    ``first_year_fraction``: 1, the default convention, units shipped in year t run all of
    year t; 0.5, installed evenly through the year) and retires ``L`` = ``lifetime_years``
    later. Its weight at age a is the overlap of [1 - f, 1 - f + L] with [a, a + 1]:
    for an integer L, f at age 0, 1 in between and 1 - f at age L; f = 1 gives
    ``clip(L - age, 0, 1)`` (exactly the last L cohorts). The weights sum to L for every f
    (L unit-years per unit in service), and never fall when L grows.

    Returns
    -------
    ndarray, shape ``broadcast(lifetime, first_year_fraction).shape + (n_ages,)``
    """
    lifetime = np.asarray(lifetime_years, dtype=float)[..., None]
    start = 1.0 - np.asarray(first_year_fraction, dtype=float)[..., None]
    ages = np.arange(n_ages, dtype=float)
    overlap = np.minimum(ages + 1.0, start + lifetime) - np.maximum(ages, start)
    return np.clip(overlap, 0.0, 1.0)


def installed_base(
    shipments: Any, lifetime_years: Any, first_year_fraction: Any = 1.0
) -> np.ndarray:
    """Units in service by year: sum over ages of survival x shipments that many years earlier.

    Parameters
    ----------
    shipments : array (..., years)
        Units shipped per year, from the first model year (or any additive per-unit quantity:
        nameplate W, TFLOP/s).
    lifetime_years : float or array
        Service life, years; its shape broadcasts against ``shipments.shape[:-1]``
        (``(samples,)`` with shipments ``(samples, years)`` or ``(years,)``).
    first_year_fraction : float or array
        Fraction of the shipment year a new unit is in service (see :func:`survival_weights`).

    Returns
    -------
    ndarray, shape ``broadcast(shipments.shape, lifetime.shape + (years,))``
    """
    ship = np.asarray(shipments, dtype=float)
    life = np.asarray(lifetime_years, dtype=float)
    first = np.asarray(first_year_fraction, dtype=float)
    n_years = ship.shape[-1]
    w = survival_weights(life, n_years, first)
    out = np.zeros(np.broadcast_shapes(ship.shape, w.shape))
    last_age = float(np.max(1.0 - first + life)) if w.size else 0.0  # retirement, years
    for age in range(n_years):
        if age >= last_age:
            break
        wa = w[..., age, None]
        if np.any(wa):
            out[..., age:] += wa * ship[..., : n_years - age]
    return out


def compound(base: Any, growth_pct_per_year: Any, years_since: Any) -> np.ndarray:
    """``base x (1 + g/100)^(years_since)``; the growth must exceed -100 %/yr."""
    return np.asarray(base, dtype=float) * (1.0 + np.asarray(growth_pct_per_year) / 100.0) ** (
        np.asarray(years_since, dtype=float)
    )


def interpolate_anchors(years: Any, anchor_years: Any, anchor_values: Any) -> np.ndarray:
    """Linear in between anchors, flat outside. ``anchor_values``: (..., anchors)."""
    yrs = np.asarray(years, dtype=float)
    ay = np.asarray(anchor_years, dtype=float)
    av = np.asarray(anchor_values, dtype=float)
    if ay.size == 1:
        return np.broadcast_to(av[..., :1], av.shape[:-1] + yrs.shape).copy()
    idx = np.clip(np.searchsorted(ay, yrs, side="right") - 1, 0, ay.size - 2)
    t = np.clip((yrs - ay[idx]) / (ay[idx + 1] - ay[idx]), 0.0, 1.0)
    return av[..., idx] * (1.0 - t) + av[..., idx + 1] * t


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def _ppf(x: Range, u: np.ndarray) -> np.ndarray:
    """Inverse CDF: triangular(low, value, high), or uniform(low, high) without a value."""
    a, b = x.low, x.high
    if b == a:
        return np.full_like(u, a)
    if x.value is None:
        return a + u * (b - a)
    c = x.value
    fc = (c - a) / (b - a)
    left = a + np.sqrt(u * (b - a) * (c - a))
    right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
    return np.where(u < fc, left, right)


class _Draw:
    """Central values (``rng=None``, one sample) or seeded samples of every input, (n, 1)."""

    def __init__(self, n: int, rng: np.random.Generator | None) -> None:
        self.n = n
        self.rng = rng

    def __call__(self, x: Uncertain) -> np.ndarray:
        if self.rng is None or not isinstance(x, Range):
            return np.full((self.n, 1), central(x))
        return _ppf(x, self.rng.random(self.n))[:, None]

    def table(self, values: list[Uncertain]) -> np.ndarray:
        """A year-keyed table drawn with ONE quantile per sample (a coherent trajectory)."""
        return self.table_and_quantile(values)[0]

    def table_and_quantile(
        self, values: list[Uncertain], u: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`table` and the quantile per sample it used (None: nothing was drawn).

        A given ``u`` is reused instead of drawing (a second table moving with the first:
        the design-day PUE with the annual PUE); no random number is consumed then.
        """
        if self.rng is None or not any(isinstance(v, Range) for v in values):
            return np.array([[central(v) for v in values]] * self.n, dtype=float), u
        if u is None:
            u = self.rng.random(self.n)
        cols = [_ppf(v, u) if isinstance(v, Range) else np.full(self.n, float(v)) for v in values]
        return np.stack(cols, axis=1), u


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
        design_pue = power.design_day_pue(pue)
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


@dataclass(frozen=True)
class _VariantRun:
    frame: pd.DataFrame
    inputs: list[dict[str, Any]]
    notes: list[str]


def _in_file(err: InputError, path: str, spec: ScenarioSpec) -> InputError:
    """The same error, its detail naming the scenario file (and variant)."""
    where = f"in {path}" + (f", variant {spec.variant!r}" if spec.variant != "base" else "")
    detail = f"{err.detail}; {where}" if err.detail else where
    return InputError(err.field, err.value, err.allowed, detail=detail)


def _run_variant(
    spec: ScenarioSpec,
    out_years: np.ndarray,
    samples: int,
    seed: int | None,
    catalog: Catalog,
    path: str = "<scenario>",
) -> _VariantRun:
    try:
        validate_spec(spec, catalog, (int(out_years[0]), int(out_years[-1])))
        return _run_valid_variant(spec, out_years, samples, seed, catalog)
    except InputError as err:
        raise _in_file(err, path, spec) from None


def _run_valid_variant(
    spec: ScenarioSpec, out_years: np.ndarray, samples: int, seed: int | None, catalog: Catalog
) -> _VariantRun:
    names, shares = _region_table(spec, out_years)
    ai_shares = (
        shares if spec.ai_regions is None else _region_table(spec, out_years, "ai_regions")[1]
    )
    denom = _denominators(spec, names, out_years)
    scope = resolve_country(spec.scope)
    single = names == [scope]
    run = reference_run(spec.reference_run)

    def by_region(series: np.ndarray, split: np.ndarray = shares) -> np.ndarray:
        """(n, Y) scope series -> (n, Y, R[+1]) with the scope total last."""
        per = series[:, :, None] * split[None, :, :]
        return per if single else np.concatenate([per, series[:, :, None]], axis=2)

    labels = names if single else [*names, scope]
    dens = denom[:, : len(labels)] if single else denom

    def quantities(core: dict[str, Any]) -> dict[str, np.ndarray]:
        ai_twh = by_region(core["ai_twh"], ai_shares)
        non_ai = by_region(core["non_ai_twh"])
        total = ai_twh + non_ai
        return {
            "ai_twh": ai_twh,
            "non_ai_twh": non_ai,
            "total_twh": total,
            "ai_gw": ai_twh / (spec.hours_per_year * TWH_PER_GWH),
            "total_gw": total / (spec.hours_per_year * TWH_PER_GWH),
            "ai_peak_gw": by_region(core["ai_peak_gw"], ai_shares),
            "electricity_twh": np.broadcast_to(dens, total.shape),
            "ai_share": ai_twh / dens,
            "total_share": total / dens,
            "reference_runs_per_year": ai_twh * MWH_PER_TWH / run.energy_mwh,
            "ai_accelerators_in_service": by_region(core["ai_accelerators_in_service"], ai_shares),
            "ai_dense_bf16_eflops": by_region(core["ai_dense_bf16_eflops"], ai_shares),
            "pue": np.broadcast_to(core["pue"][:, :, None], total.shape),
            "design_pue": np.broadcast_to(core["design_pue"][:, :, None], total.shape),
        }

    core = _evaluate(spec, _Draw(1, None), catalog, out_years)
    point = quantities(core)
    _check_outputs(spec, point, core, labels, out_years)
    Y, L = out_years.size, len(labels)
    frame = pd.DataFrame(
        {
            "variant": spec.variant,
            "country": np.tile(labels, Y),
            "year": np.repeat(out_years.astype(int), L),
            "electricity_definition": spec.electricity.definition,
        }
    )
    for key, arr in point.items():
        frame[key] = np.asarray(arr[0], dtype=float).reshape(Y * L)
    notes: list[str] = []
    if spec.ai_regions is None and not single and spec.ai is not None:
        notes.append(
            f"Variant {spec.variant}: AI electricity is split by region with the common "
            "data-centre shares of `regions` (the file has no `ai_regions` table), so each "
            "region's AI TWh, AI share and reference runs are its data-centre share of the AI "
            "total, not a bottom-up allocation of the accelerator fleet."
        )
    if samples > 0:
        mc = quantities(
            _evaluate(spec, _Draw(samples, np.random.default_rng(seed)), catalog, out_years)
        )
        for key in BANDED:
            bands = np.percentile(mc[key], PERCENTILES, axis=0)  # (3, Y, L)
            for p, band in zip(PERCENTILES, bands, strict=True):
                frame[f"{key}_p{p}"] = band.reshape(Y * L)
        notes += _outside_band_notes(spec, frame)
    return _VariantRun(frame, _inputs_table(spec), notes)


def _one_sided_inputs(spec: ScenarioSpec) -> list[str]:
    """Ranged inputs whose central value is their low or high end, as 'name (low, value, high)'."""
    out = []
    for row in _inputs_table(spec):
        if spec.design_pue is None and row["name"].startswith("design_pue["):
            continue  # derived from pue, which is listed itself
        low, value, high = row["low"], row["value"], row["high"]
        if low < high and value in (low, high):
            out.append(f"{row['name']} (low {low:g}, value {value:g}, high {high:g})")
    return out


def _outside_band_notes(spec: ScenarioSpec, frame: pd.DataFrame) -> list[str]:
    """A note per variant when a central total lies outside its own P10-P90 band."""
    central_twh = frame["total_twh"].to_numpy()
    lo, hi = frame["total_twh_p10"].to_numpy(), frame["total_twh_p90"].to_numpy()
    tol = 1e-9 * np.maximum(1.0, np.abs(central_twh))
    outside = (central_twh < lo - tol) | (central_twh > hi + tol)
    if not outside.any():
        return []
    row = frame[outside].iloc[-1]
    side = "above" if row["total_twh"] > row["total_twh_p90"] else "below"
    one_sided = _one_sided_inputs(spec)
    why = (
        "one-sided input range(s) by design ("
        + "; ".join(one_sided)
        + "), so the central case is an end of the band, not its middle"
        if one_sided
        else "the model is non-linear in its uncertain inputs"
    )
    return [
        f"Variant {spec.variant}: the central value lies {side} its own P10-P90 band "
        f"({row['country']} {row['year']}: {row['total_twh']:,.1f} TWh vs P10-P90 "
        f"{row['total_twh_p10']:,.1f}-{row['total_twh_p90']:,.1f} TWh): {why}."
    ]


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


#: The ratio :func:`planner.power.design_day_pue` applies when a scenario gives no
#: ``design_pue`` (one reader of data/assumptions.csv: :func:`planner.power.design_pue_overhead_ratio`).
design_pue_overhead_ratio = power.design_pue_overhead_ratio


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


# --------------------------------------------------------------------------------------------
# Public entry point and result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionResult:
    """Projection of one scenario file: a tidy frame (variant, country, year, quantities).

    Quantity columns carry their unit: ``*_twh`` (TWh/yr), ``*_gw`` (average GW, except
    ``ai_peak_gw``: the AI fleet's grid peak, GW, IT at nameplate x ``design_pue``), ``*_share`` (fraction of national electricity, with the study's definition in
    ``electricity_definition``), ``reference_runs_per_year``, ``ai_accelerators_in_service``
    (units), ``ai_dense_bf16_eflops`` (installed dense BF16 peak), ``pue`` (annual, energy),
    ``design_pue`` (design day, the peak). With samples,
    ``<quantity>_p10/_p50/_p90`` give the Monte Carlo bands. ``notes`` are sentences a reader
    must see next to the numbers (AI split by the common regional shares; a central value
    outside its own P10-P90 band).
    """

    scenario: str
    path: str
    title: str
    source: str
    years: tuple[int, int]
    samples: int
    seed: int | None
    variants: tuple[str, ...]
    frame: pd.DataFrame
    reference_run: ReferenceRun
    inputs: list[dict[str, Any]]
    calibration: dict[str, str]
    published: list[dict[str, Any]] = field(default_factory=list)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The tidy frame (a copy)."""
        return self.frame.copy()

    def value(self, quantity: str, country: str, year: int, variant: str | None = None) -> float:
        """One number of the central (deterministic) projection."""
        f = self.frame
        v = variant or self.variants[0]
        if v not in self.variants:
            raise InputError("variant", v, "one of: " + ", ".join(self.variants))
        if quantity not in f.columns:
            raise InputError("quantity", quantity, "one of: " + ", ".join(f.columns[4:]))
        row = f[(f["variant"] == v) & (f["country"] == country) & (f["year"] == year)]
        if row.empty:
            raise InputError(
                "country/year", f"{country} {year}", "a country and year of the projection"
            )
        return float(row[quantity].iloc[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metadata, rows (one per variant, country, year), inputs, published."""
        rows = [
            {k: to_python(v) for k, v in r.items()} for r in self.frame.to_dict(orient="records")
        ]
        return {
            "scenario": self.scenario,
            "path": self.path,
            "title": self.title,
            "source": self.source,
            "years": list(self.years),
            "samples": self.samples,
            "seed": self.seed,
            "variants": list(self.variants),
            "reference_run": {
                "preset": self.reference_run.preset,
                "title": self.reference_run.title,
                "energy_mwh": self.reference_run.energy_mwh,
                "average_facility_power_mw": self.reference_run.average_facility_power_mw,
                "days": self.reference_run.days,
            },
            "calibration": dict(self.calibration),
            "notes": list(self.notes),
            "rows": rows,
            "inputs": [{k: to_python(v) for k, v in r.items()} for r in self.inputs],
            "published": [{k: to_python(v) for k, v in r.items()} for r in self.published],
        }


def parse_years(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """``"2024:2035"`` (or ``"2030"``) -> (2024, 2035); raises :class:`InputError` ("years")."""
    if text is None:
        return default
    parts = str(text).split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise InputError("years", text, "START:END, e.g. 2024:2035") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise InputError("years", text, "START:END, e.g. 2024:2035")
    start, end = values
    if end < start:
        raise InputError("years", text, "START:END with START <= END (years out of order)")
    lo, hi = YEAR_RANGE
    if start < lo or end > hi:
        raise InputError("years", text, f"years within {lo}..{hi}")
    return start, end


def project(
    scenario: Scenario | str | Path,
    *,
    years: tuple[int, int] | str | None = None,
    samples: int = 0,
    seed: int | None = 0,
    variants: list[str] | None = None,
    countries: list[str] | None = None,
    catalog: Catalog | None = None,
    calibrate_to: str | None = None,
) -> ProjectionResult:
    """Project a scenario's data-centre and AI electricity by country and year.

    By default nothing is fitted: every input is the file's stated, sourced value, and each
    published figure of the file is a prediction to compare with (``published[i]["label"]``
    is ``"predicted"``). ``calibrate_to`` makes calibration explicit (:func:`calibrate`).

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario or a TOML file (``data/projections/*.toml``).
    years : (start, end) or "start:end", optional
        Output years; default the scenario's ``years``.
    samples : int
        Monte Carlo samples for P10/P50/P90 bands (0: central values only).
    seed : int, optional
        Seed of the sampler (same seed, same bands).
    variants : list of str, optional
        Run only these variants (default all of the file).
    countries : list of str, optional
        Keep only these countries/regions (case-insensitive) in the frame.
    calibrate_to : str, optional
        The study to calibrate to: the scenario's own ``name`` (case-insensitive). The
        level and growth of the first IT-side non-AI load are then SOLVED so the scope's
        total lands on the file's published ``total_twh`` figures (the earliest and latest
        year of each variant; one year: the level only). The solved values replace the file's
        in ``inputs``, ``calibration`` says what was solved, and those published figures are
        labelled ``"calibrated"`` (agreement by construction). Off by default.

    Raises
    ------
    InputError, CatalogError
        Naming the field (and the file): shares not summing to 1, years out of order or
        outside 1990..2060, a growth rate outside (-100, 1000] %/yr, an unknown country or
        chip, a malformed file, or an output beyond national electricity (naming the input
        that drove it).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    cat = catalog or load_catalog()
    if int(samples) != samples or samples < 0 or samples > MAX_SAMPLES:
        raise InputError("samples", samples, f"a whole number in 0..{MAX_SAMPLES:,}")
    check_seed("seed", seed)
    chosen = variants or list(sc.variants)
    for v in chosen:
        if v not in sc.variants:
            raise InputError("variant", v, "one of: " + ", ".join(sc.variants))
    specs = {v: sc.variants[v] for v in chosen}
    calibrated: dict[str, list[tuple[int, float]]] = {}
    if calibrate_to is not None:
        if str(calibrate_to).strip().lower() != sc.name.lower():
            raise InputError(
                "calibrate_to",
                calibrate_to,
                f"{sc.name} (the study this file reproduces) or no calibration",
            )
        for v in chosen:
            try:
                specs[v], calibrated[v] = calibrate(specs[v], cat)
            except InputError as err:
                raise _in_file(err, sc.path, specs[v]) from None
    first = specs[chosen[0]]
    yr = parse_years(years, first.year_range) if isinstance(years, str) or years is None else years
    yr = parse_years(f"{yr[0]}:{yr[1]}", first.year_range)
    out_years = np.arange(yr[0], yr[1] + 1, dtype=float)
    runs = [_run_variant(specs[v], out_years, int(samples), seed, cat, sc.path) for v in chosen]
    frame = pd.concat([r.frame for r in runs], ignore_index=True)
    if countries:
        wanted = [resolve_country(c) for c in countries]
        missing = [c for c in wanted if c not in set(frame["country"])]
        if missing:
            raise InputError(
                "country",
                missing[0],
                "one of: " + ", ".join(dict.fromkeys(frame["country"])),
                detail="not a region of this scenario",
            )
        frame = frame[frame["country"].isin(wanted)].reset_index(drop=True)
    result = ProjectionResult(
        scenario=sc.name,
        path=sc.path,
        title=sc.title,
        source=first.source,
        years=yr,
        samples=int(samples),
        seed=seed if samples else None,
        variants=tuple(chosen),
        frame=frame,
        reference_run=reference_run(first.reference_run),
        inputs=[row for r in runs for row in r.inputs],
        calibration={v: specs[v].calibration for v in chosen},
        notes=tuple(note for r in runs for note in r.notes),
    )
    return _with_published(result, sc, chosen, calibrated)


def _with_published(
    result: ProjectionResult,
    sc: Scenario,
    chosen: list[str],
    calibrated: dict[str, list[tuple[int, float]]] | None = None,
) -> ProjectionResult:
    rows = []
    f = result.frame
    for v in chosen:
        for p in sc.variants[v].published:
            if p.variant not in (None, v):
                continue
            hit = f[(f["variant"] == v) & (f["country"] == p.country) & (f["year"] == p.year)]
            model = None if hit.empty else float(hit[p.quantity].iloc[0])
            fitted = (
                p.quantity == "total_twh"
                and resolve_country(p.country) == resolve_country(sc.variants[v].scope)
                and (p.year, p.value) in (calibrated or {}).get(v, [])
            )
            rows.append(
                {
                    "variant": v,
                    "country": p.country,
                    "year": p.year,
                    "quantity": p.quantity,
                    "published": p.value,
                    "model": model,
                    "relative_difference": None if model is None else (model - p.value) / p.value,
                    "used_as_input": fitted,
                    "label": "calibrated" if fitted else "predicted",
                    "note": p.note,
                }
            )
    return ProjectionResult(**{**result.__dict__, "published": rows})


def calibrate(
    spec: ScenarioSpec, catalog: Catalog | None = None
) -> tuple[ScenarioSpec, list[tuple[int, float]]]:
    """Solve the non-AI level and growth so the scope's total lands on the study's figures.

    The first non-AI load with ``basis = "it"`` (else the first) is calibrated: with two or
    more published ``total_twh`` figures for the scope (this variant's, or shared), its
    ``twh`` (in its ``base_year``) and ``growth_pct_per_year`` are solved in closed form from
    the earliest and latest of them, given every other input at its central value; with one
    figure only the level is solved. Both become fixed numbers (no Monte Carlo range).

    Returns
    -------
    (ScenarioSpec, list of (year, published TWh))
        The calibrated variant (its ``calibration`` text says what was solved, with the
        values) and the figures it was solved on.

    Raises
    ------
    InputError
        No non-AI load or no published total to calibrate to, or a published total below the
        AI load alone (no non-negative non-AI load reaches it).
    """
    cat = catalog or load_catalog()
    scope = resolve_country(spec.scope)
    points = sorted(
        {
            (p.year, p.value)
            for p in spec.published
            if p.quantity == "total_twh"
            and resolve_country(p.country) == scope
            and p.variant in (None, spec.variant)
        }
    )
    if not spec.non_ai:
        raise InputError("calibrate_to", spec.name, "a scenario with a [non_ai.NAME] load")
    if not points:
        raise InputError(
            "calibrate_to",
            spec.name,
            f"a scenario with a published total_twh for {scope}",
            detail=f"variant {spec.variant!r} has none",
        )
    label = next((k for k, e in spec.non_ai.items() if e.basis == "it"), next(iter(spec.non_ai)))
    entry = spec.non_ai[label]
    targets = [points[0], points[-1]] if points[-1][0] != points[0][0] else [points[0]]
    years = np.arange(targets[0][0], targets[-1][0] + 1, dtype=float)
    validate_spec(spec, cat, (int(years[0]), int(years[-1])))
    core = _evaluate(spec, _Draw(1, None), cat, years)
    others = core["non_ai_twh"][0] - core["non_ai_parts"][f"non_ai.{label}"][0]
    factor = core["pue"][0] if entry.basis == "it" else np.ones_like(years)
    need = []
    for year, value in targets:
        i = int(year - years[0])
        rest = (value - core["ai_twh"][0][i] - others[i]) / factor[i]
        if not rest > 0:
            raise InputError(
                "calibrate_to",
                spec.name,
                f"published totals above the AI load and the other non-AI loads ({scope} {year}: "
                f"{value:g} TWh published, {core['ai_twh'][0][i] + others[i]:.4g} TWh without "
                f"non_ai.{label})",
            )
        need.append((year, float(rest)))
    growth = central(entry.growth_pct_per_year)
    if len(need) == 2:
        (y1, r1), (y2, r2) = need
        growth = ((r2 / r1) ** (1.0 / (y2 - y1)) - 1.0) * 100.0
    y1, r1 = need[0]
    level = r1 / (1.0 + growth / 100.0) ** (y1 - entry.base_year)
    new_entry = entry.model_copy(update={"twh": level, "growth_pct_per_year": growth})
    _check_growth(f"non_ai.{label}.growth_pct_per_year", growth)
    shown = " and ".join(f"{v:,.4g} TWh in {y}" for y, v in targets)
    text = (
        f"CALIBRATED at run time (calibrate_to = {spec.name!r}): non_ai.{label}.twh = "
        f"{level:,.1f} TWh ({entry.basis} side, {entry.base_year})"
        + (f" and its growth_pct_per_year = {growth:.2f} %/yr" if len(need) == 2 else "")
        + f" were solved so {scope} lands on {shown}; agreement with "
        + ("those figures" if len(need) == 2 else "that figure")
        + " is by construction, not a validation. Uncalibrated inputs: "
        + spec.calibration
    )
    out = spec.model_copy(update={"non_ai": {**spec.non_ai, label: new_entry}, "calibration": text})
    return out, list(targets)
