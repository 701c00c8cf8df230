"""Projection scenario files: one validating loader for ``data/projections/*.toml``.

A scenario states every input of :mod:`planner.projection` next to its source: shipments by
chip generation, service lifetime, load factor, PUE trajectory, the non-AI data-centre
baseline, regional shares and the electricity denominator. Any scalar input may be a range
(``{low = .., value = .., high = ..}``: triangular; ``{low = .., high = ..}``: uniform) that
the Monte Carlo samples; deterministic results use ``value`` (or the midpoint).

``[variants.NAME]`` tables hold partial overrides merged into the shared body (tables merge
key by key, everything else is replaced), so one file can carry a study's low and high case.
Unknown keys are errors (pydantic ``extra="forbid"``): a typo never silently drops an input.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    shipments: dict[int, float] = Field(min_length=1)
    growth_pct_per_year: Uncertain | None = None
    source: str = Field(min_length=1)


class ComputeDriven(_Strict):
    """Compute-driven AI power after ``base_year``: FLOP/s demand up x %/yr, FLOP/s per W up y %/yr."""

    base_year: int
    flops_growth_pct_per_year: Uncertain
    efficiency_gain_pct_per_year: Uncertain
    base_it_power_gw: Uncertain | None = None
    source: str = Field(min_length=1)


class AISection(_Strict):
    lifetime_years: Uncertain
    first_year_fraction: Uncertain = 1.0
    load_factor: Uncertain | dict[int, Uncertain]
    network_overhead: Uncertain = 0.0
    shipments_scale: Uncertain = 1.0
    fleet: dict[str, FleetEntry] = Field(default_factory=dict)
    compute: ComputeDriven | None = None


class NonAIEntry(_Strict):
    """A non-AI data-centre load (conventional servers, storage, network; crypto mining)."""

    basis: Literal["it", "facility"]
    base_year: int
    twh: Uncertain
    growth_pct_per_year: Uncertain = 0.0
    source: str = Field(min_length=1)


class ElectricitySpec(_Strict):
    """The study's denominator for 'share of national electricity'."""

    definition: Literal["consumption", "generation"]
    growth_pct_per_year: float = 0.0
    study: str | None = None
    source: str = Field(min_length=1)


class Published(_Strict):
    country: str
    year: int
    quantity: Literal[
        "total_twh", "ai_twh", "non_ai_twh", "total_gw", "ai_gw", "total_share", "ai_share"
    ]
    value: float
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
    years: str = Field(pattern=r"^\s*\d{4}\s*:\s*\d{4}\s*$")
    scope: str = "World"
    hours_per_year: float = Field(default=8760.0, gt=0, le=8784)
    reference_run: str = "gtc2024-hopper"
    ai: AISection | None = None
    pue: dict[int, Uncertain] = Field(min_length=1)
    non_ai: dict[str, NonAIEntry] = Field(default_factory=dict)
    regions: dict[int, dict[str, float]] = Field(min_length=1)
    electricity: ElectricitySpec
    sources: dict[str, str] = Field(default_factory=dict)
    published: list[Published] = Field(default_factory=list)

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


def _field_of(err: dict[str, Any]) -> str:
    parts = [str(p) for p in err["loc"] if not str(p).startswith(("float", "Range", "function"))]
    return ".".join(parts) or "(file)"


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
        raise CatalogError(path, None, "variants", "must be a table of [variants.NAME] tables")
    name = str(body.get("name") or Path(path).stem)
    specs: dict[str, ScenarioSpec] = {}
    for vname, override in variants_raw.items():
        if not isinstance(override, dict):
            raise CatalogError(path, None, f"variants.{vname}", "must be a table")
        merged = _merge(body, override)
        merged["name"] = name
        merged["variant"] = vname
        _check_order(merged, path)
        try:
            spec = ScenarioSpec.model_validate(merged)
        except ValidationError as exc:
            errors = exc.errors()
            err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
            where = f"[variants.{vname}]" if vname != "base" or "variants" in raw else None
            raise CatalogError(path, where, _field_of(err), err["msg"]) from None
        specs[vname] = spec
    first = next(iter(specs.values()))
    return Scenario(
        path=path, name=name, title=str(body.get("title") or first.title), variants=specs
    )


def _check_order(merged: dict[str, Any], path: str) -> None:
    """Year-keyed tables must be written in increasing year order (a typo guard)."""
    for key in ("pue", "regions"):
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
    if not p.is_file():
        raise CatalogError(str(p), None, None, "scenario file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(str(p), None, None, f"not valid TOML ({exc})") from None
    return parse_scenario(raw, str(p))
