"""Projection scenario files: one validating loader for ``data/projections/*.toml``.

A scenario states every input of :mod:`planner.projection` next to its source: shipments by
chip generation, service lifetime, load factor, PUE trajectory (and optionally a design-day
PUE trajectory for the grid peak), the non-AI data-centre baseline, regional shares and the electricity denominator. Any scalar input may be a range
(``{low = .., value = .., high = ..}``: triangular; ``{low = .., high = ..}``: uniform) that
the Monte Carlo samples; deterministic results use ``value`` (or the midpoint).

``[variants.NAME]`` tables hold partial overrides merged into the shared body (tables merge
key by key, everything else is replaced), so one file can carry a study's low and high case.
Unknown keys are errors (pydantic ``extra="forbid"``): a typo never silently drops an input.
Types are strict (``strict=True``): ``true`` where a number is expected, or ``"yes"`` where a
table is expected, is an error, never a silent 1.0. Every year (table keys, base years,
``years``) lies in :data:`YEAR_RANGE`.

Errors name the file, the field as written in the TOML (``ai.fleet.h100.shipments.2024``),
the value and what is allowed, as a :class:`planner.errors.CatalogError` (the CLI exits 2),
through :func:`planner.data_errors.data_error`, like every other loader.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from planner.data_errors import (
    RANGE_KINDS,
    TYPE_KINDS,
    Problem,
    data_error,
    field_error,
    not_allowed,
    read_toml,
)
from planner.errors import CatalogError, InputError

#: Quantities a ``[[published]]`` figure may refer to (columns of the projection frame).
PUBLISHED_QUANTITIES: tuple[str, ...] = (
    "total_twh",
    "ai_twh",
    "non_ai_twh",
    "total_gw",
    "ai_gw",
    "total_share",
    "ai_share",
)
#: Calendar years a scenario may use anywhere (shipments, anchors, base years, output years):
#: the span of the national electricity table (``data/countries/electricity.csv``). A typo
#: such as ``{ 224 = 1e6 }`` would otherwise make the model run ~1,800 years.
YEAR_RANGE: tuple[int, int] = (1990, 2060)
#: Hours in a year: 8,760 (365 days, the de Vries / IEA convention) or 8,784 (a leap year).
HOURS_PER_YEAR_CHOICES: tuple[float, ...] = (8760.0, 8784.0)
#: National electricity growth accepted, %/yr: no major economy has moved more than ~10 %/yr
#: (China 2003-2011 peaked near +15 %; the 2020 pandemic dip was about -5 %); a rate outside
#: this range is a typo (-99.9 would make data centres use 10^107 times national electricity).
ELECTRICITY_GROWTH_RANGE_PCT: tuple[float, float] = (-20.0, 20.0)

#: Most accelerators (or systems) of one generation shipped in one year: 1e9, about 250 times
#: NVIDIA's ~3.8 million data-centre GPUs of 2023 (TechInsights). More is a typo, and 1e308
#: overflowed the fleet's power to inf.
MAX_SHIPMENTS_PER_YEAR = 1e9
#: Largest multiplier of every shipment (``ai.shipments_scale``): 100x.
MAX_SHIPMENTS_SCALE = 100.0
#: Largest non-AI data-centre load in its base year, TWh: 100,000, over three times the world's
#: whole electricity consumption (~27,000 TWh in 2023, IEA).
MAX_NON_AI_TWH = 100_000.0


def _at_most(limit: float, what: str) -> Callable[[Uncertain], Uncertain]:
    """A validator: an input (number or range table) whose high end is at most ``limit``."""

    def check(value: Uncertain) -> Uncertain:
        high = bounds(value)[1]
        if high > limit:
            raise ValueError(f"{high:g} is not allowed: expected at most {limit:g} ({what})")
        return value

    return check


#: A year as a TOML table key (TOML keys are strings, so the key is parsed, not strict).
#: The description names the key in messages ("a table of year = value").
YearKey = Annotated[
    int, Strict(False), Field(ge=YEAR_RANGE[0], le=YEAR_RANGE[1], description="year")
]
#: A year as a value (``base_year = 2024``): a whole number, strictly.
Year = Annotated[int, Field(ge=YEAR_RANGE[0], le=YEAR_RANGE[1])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Range(_Strict):
    """An uncertain input: ``low <= value <= high`` (triangular), or uniform without value."""

    low: float
    high: float
    value: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        if self.value is not None and not (self.low <= self.value <= self.high):
            raise ValueError(
                f"value {self.value:g} is outside [low, high] = [{self.low:g}, {self.high:g}]"
            )
        return self

    @property
    def central(self) -> float:
        return self.value if self.value is not None else 0.5 * (self.low + self.high)


Uncertain = float | Range


def central(x: Uncertain) -> float:
    """The deterministic value of an input (``value``, or the midpoint of a uniform range)."""
    return x.central if isinstance(x, Range) else float(x)


def bounds(x: Uncertain) -> tuple[float, float]:
    """(low, high) of an input; a fixed number gives (x, x)."""
    return (x.low, x.high) if isinstance(x, Range) else (float(x), float(x))


class FleetEntry(_Strict):
    """Shipments of one chip generation (a catalog id) by year."""

    accelerator: str = Field(min_length=1)
    unit: Literal["accelerators", "systems"] = "accelerators"
    shipments: dict[YearKey, Annotated[float, Field(ge=0, le=MAX_SHIPMENTS_PER_YEAR)]] = Field(
        min_length=1
    )
    growth_pct_per_year: Uncertain | None = None
    source: str = Field(min_length=1)


class ComputeDriven(_Strict):
    """Compute-driven AI power after ``base_year``: FLOP/s demand up x %/yr, FLOP/s per W up y %/yr."""

    base_year: Year
    flops_growth_pct_per_year: Uncertain
    efficiency_gain_pct_per_year: Uncertain
    base_it_power_gw: Uncertain | None = None
    source: str = Field(min_length=1)


class AISection(_Strict):
    lifetime_years: Uncertain
    first_year_fraction: Uncertain = 1.0
    load_factor: Uncertain | dict[YearKey, Uncertain]
    network_overhead: Uncertain = 0.0
    shipments_scale: Uncertain = 1.0
    fleet: dict[str, FleetEntry] = Field(default_factory=dict)
    compute: ComputeDriven | None = None

    @field_validator("shipments_scale")
    @classmethod
    def _scale(cls, value: Uncertain) -> Uncertain:
        return _at_most(MAX_SHIPMENTS_SCALE, "times the shipments")(value)


class NonAIEntry(_Strict):
    """A non-AI data-centre load (conventional servers, storage, network; crypto mining)."""

    basis: Literal["it", "facility"]
    base_year: Year
    twh: Uncertain
    growth_pct_per_year: Uncertain = 0.0
    source: str = Field(min_length=1)

    @field_validator("twh")
    @classmethod
    def _twh(cls, value: Uncertain) -> Uncertain:
        return _at_most(MAX_NON_AI_TWH, "TWh, over three times world electricity")(value)


class ElectricitySpec(_Strict):
    """The study's denominator for 'share of national electricity'."""

    definition: Literal["consumption", "generation"]
    growth_pct_per_year: float = Field(
        default=0.0, ge=ELECTRICITY_GROWTH_RANGE_PCT[0], le=ELECTRICITY_GROWTH_RANGE_PCT[1]
    )
    study: str | None = None
    source: str = Field(min_length=1)


class Published(_Strict):
    country: str
    year: Year
    quantity: Literal[
        "total_twh", "ai_twh", "non_ai_twh", "total_gw", "ai_gw", "total_share", "ai_share"
    ]
    #: A published TWh, GW or share is positive; 0 would make the model's relative
    #: difference a division by zero (and says nothing to compare against).
    value: float = Field(gt=0)
    variant: str | None = None
    note: str = ""


class ScenarioSpec(_Strict):
    """One variant of a projection scenario, fully merged and validated."""

    name: str
    variant: str = "base"
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    description: str = ""
    calibration: str = Field(min_length=1)
    years: str
    scope: str = "World"
    hours_per_year: float = 8760.0
    reference_run: str = "gtc2024-hopper"
    #: The study id (``data/countries/data_centres.csv``) whose figures this file's
    #: ``[[published]]`` rows are: left out of the out-of-sample error band's quantiles
    #: (:mod:`planner.projection.error_band`), so a study's own figures never widen its band.
    published_study: str = ""
    ai: AISection | None = None
    pue: dict[YearKey, Uncertain] = Field(min_length=1)
    #: Optional design-day PUE by year (anchors like ``pue``): the hottest hours' PUE the grid
    #: connection must carry (``ai_peak_gw``). Absent: derived from ``pue`` per year and per
    #: Monte Carlo draw by :func:`planner.power.design_day_pue`. Never used for energy.
    design_pue: dict[YearKey, Uncertain] | None = Field(default=None, min_length=1)
    non_ai: dict[str, NonAIEntry] = Field(default_factory=dict)
    #: Shares of the scope's data-centre electricity by region (year -> region -> share):
    #: the non-AI load's, and the AI fleet's too unless ``ai_regions`` is given.
    regions: dict[YearKey, dict[str, float]] = Field(min_length=1)
    #: Optional shares of the AI fleet's electricity (same regions as ``regions``): AI
    #: accelerators are more concentrated (in the US) than data centres as a whole.
    ai_regions: dict[YearKey, dict[str, float]] | None = None
    electricity: ElectricitySpec
    sources: dict[str, str] = Field(default_factory=dict)
    published: list[Published] = Field(default_factory=list)

    @field_validator("years")
    @classmethod
    def _years_in_range(cls, text: str) -> str:
        lo, hi = YEAR_RANGE
        allowed = f"'START:END' with {lo} <= START <= END <= {hi}, e.g. '2024:2030'"
        parts = text.split(":")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"{text!r} is not allowed: expected {allowed}")
        start, end = (int(p) for p in parts)
        if not lo <= start <= end <= hi:
            raise ValueError(f"{text!r} is not allowed: expected {allowed}")
        return text

    @field_validator("hours_per_year")
    @classmethod
    def _hours(cls, hours: float) -> float:
        if hours not in HOURS_PER_YEAR_CHOICES:
            raise ValueError(
                f"{hours:g} is not allowed: expected 8760 (a 365-day year) or 8784 (a leap year)"
            )
        return hours

    @property
    def year_range(self) -> tuple[int, int]:
        start, end = (int(p) for p in self.years.split(":"))
        return start, end


class Scenario(_Strict):
    """A scenario file: its path, and each variant as a validated :class:`ScenarioSpec`."""

    path: str
    name: str
    title: str
    variants: dict[str, ScenarioSpec]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------------------------
# pydantic errors -> one line naming the file, the field, the value and what is allowed
# --------------------------------------------------------------------------------------------

#: How a range table reads where a value may be one.
_TABLES: dict[Any, str] = {Range: "a range table {low = .., value = .., high = ..}"}


def _year_words(problem: Problem) -> str | None:
    """Years read as years (``1990..2060``); every other field gets the generic words."""
    lo, hi = YEAR_RANGE
    if problem.is_key:
        return f"a year (whole number) in {lo}..{hi}"
    year_field = problem.field in ("year", "base_year") and not problem.inside
    if year_field and problem.kind in RANGE_KINDS | TYPE_KINDS:
        return f"a whole number (a year in {lo}..{hi})"
    return None


def pydantic_error(
    source: str,
    data: dict[str, Any],
    exc: ValidationError,
    root: type[BaseModel],
    *,
    suffix: str = "",
    row: int | None = None,
    column_label: str = "field",
) -> CatalogError:
    """The first error of ``exc`` as one :class:`CatalogError` line (see
    :func:`planner.data_errors.data_error`), with years worded as years and range tables
    named.

    Parameters
    ----------
    source : str
        The file (or label) named in the message.
    data : dict
        The input that was validated (unused: the error carries the value; kept for callers).
    exc : ValidationError
        From ``root.model_validate(data)``.
    root : pydantic model class
        The model validated (to list the keys or range of the field).
    suffix : str
        Appended to the problem (e.g. ``" (variant 'low')"``).
    row, column_label : optional
        For a table row (a CSV file): the row number and ``"column"``.
    """
    del data  # the offending value comes with the error
    return data_error(
        source,
        exc,
        root,
        row=row,
        column_label=column_label,
        suffix=suffix,
        allowed=_year_words,
        tables=_TABLES,
    )


def _keys_in_order(field: str, keys: list[Any], path: str) -> None:
    if not all(str(k).strip().isdigit() for k in keys):
        return  # pydantic names the bad key
    years = [int(k) for k in keys]
    for before, after in zip(years, years[1:], strict=False):
        if after <= before:
            raise InputError(
                field,
                after,
                f"years after {before} (strictly increasing)",
                detail=f"years out of order in {path}",
            )


def parse_scenario(raw: dict[str, Any], path: str = "<scenario>") -> Scenario:
    """Validate a scenario already read from TOML (``raw``); see :func:`load_scenario`."""
    body = dict(raw)
    variants_raw = body.pop("variants", None) or {"base": {}}
    if not isinstance(variants_raw, dict):
        raise field_error(
            path, "variants", not_allowed(variants_raw, "a table of [variants.NAME] tables")
        )
    name = str(body.get("name") or Path(path).stem)
    specs: dict[str, ScenarioSpec] = {}
    for vname, override in variants_raw.items():
        if not isinstance(override, dict):
            raise field_error(
                path, f"variants.{vname}", not_allowed(override, "a table of overrides")
            )
        merged = _merge(body, override)
        merged["name"] = name
        merged["variant"] = vname
        _check_order(merged, path)
        try:
            spec = ScenarioSpec.model_validate(merged)
        except ValidationError as exc:
            suffix = f" (variant {vname!r})" if "variants" in raw else ""
            raise pydantic_error(path, merged, exc, ScenarioSpec, suffix=suffix) from None
        specs[vname] = spec
    for spec in specs.values():
        for i, pub in enumerate(spec.published):
            if pub.variant is not None and pub.variant not in specs:
                # a figure for no variant would be dropped from every comparison unseen
                raise field_error(
                    path,
                    f"published[{i}].variant",
                    not_allowed(pub.variant, "one of the file's variants: " + ", ".join(specs)),
                )
    first = next(iter(specs.values()))
    return Scenario(
        path=path, name=name, title=str(body.get("title") or first.title), variants=specs
    )


def _check_order(merged: dict[str, Any], path: str) -> None:
    """Year-keyed tables must be written in increasing year order (a typo guard)."""
    for key in ("pue", "design_pue", "regions", "ai_regions"):
        if isinstance(merged.get(key), dict):
            _keys_in_order(key, list(merged[key]), path)
    ai = merged.get("ai")
    if (
        isinstance(ai, dict)
        and isinstance(ai.get("load_factor"), dict)
        and not ({"low", "high", "value"} & set(ai["load_factor"]))
    ):
        _keys_in_order("ai.load_factor", list(ai["load_factor"]), path)
    if isinstance(ai, dict) and isinstance(ai.get("fleet"), dict):
        for label, entry in ai["fleet"].items():
            if isinstance(entry, dict) and isinstance(entry.get("shipments"), dict):
                _keys_in_order(f"ai.fleet.{label}.shipments", list(entry["shipments"]), path)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a projection scenario TOML file.

    Raises
    ------
    CatalogError
        The file is missing, is not TOML, or a key is unknown or of the wrong type (naming the
        file, the variant and the field).
    InputError
        Year-keyed tables out of order.
    """
    p = Path(path)
    raw = read_toml(p)
    return parse_scenario(raw, str(p))
