"""Projection scenario files: one validating loader for ``data/projections/*.toml``.

A scenario states every input of :mod:`planner.projection` next to its source: shipments by
chip generation, service lifetime, load factor, PUE trajectory, the non-AI data-centre
baseline, regional shares and the electricity denominator. Any scalar input may be a range
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
in the style of :mod:`planner.scenarios`.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
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

#: A year as a TOML table key (TOML keys are strings, so the key is parsed, not strict).
YearKey = Annotated[int, Strict(False), Field(ge=YEAR_RANGE[0], le=YEAR_RANGE[1])]
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
    shipments: dict[YearKey, float] = Field(min_length=1)
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


class NonAIEntry(_Strict):
    """A non-AI data-centre load (conventional servers, storage, network; crypto mining)."""

    basis: Literal["it", "facility"]
    base_year: Year
    twh: Uncertain
    growth_pct_per_year: Uncertain = 0.0
    source: str = Field(min_length=1)


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
    years: str
    scope: str = "World"
    hours_per_year: float = 8760.0
    reference_run: str = "gtc2024-hopper"
    ai: AISection | None = None
    pue: dict[YearKey, Uncertain] = Field(min_length=1)
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

#: Words for what a type error expected (pydantic error type -> allowed).
_TYPE_WORDS: dict[str, str] = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "an array of tables",
    "finite_number": "a finite number",
    "string_too_short": "a non-empty string",
    "too_short": "a table with at least one entry",
}
#: Union members as pydantic names them in an error location -> words.
_UNION_WORDS: dict[str, str] = {
    "float": "a number",
    "int": "a whole number",
    "str": "a string",
    "bool": "true or false",
    "Range": "a range table {low = .., value = .., high = ..}",
}


def _is_tag(part: Any) -> bool:
    """A union-member tag pydantic adds to an error location (not a key of the file)."""
    if not isinstance(part, str):
        return False
    return part in _UNION_WORDS or part.startswith(
        ("dict[", "list[", "function-", "constrained-", "literal[", "union[", "nullable[")
    )


def _tag_words(part: str) -> str:
    if part.startswith("dict["):
        keyed_by_year = part.startswith(("dict[int", "dict[constrained-int"))
        return "a table of year = value" if keyed_by_year else "a table"
    if part.startswith("function-") and part.endswith("Range]"):
        return _UNION_WORDS["Range"]
    return _UNION_WORDS.get(part, part)


def _field_path(loc: tuple[Any, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else ("." if name else "") + str(part)
    return name or "(top level)"


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part] if not isinstance(data, list) else data[int(part)]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return data


def _inner_models(annotation: Any) -> list[Any]:
    """Annotations reachable one step down (through unions, Annotated, dict values, lists)."""
    origin = get_origin(annotation)
    if origin is None:
        return [annotation]
    args = get_args(annotation)
    if origin is Annotated:
        return _inner_models(args[0])
    if origin is dict:
        return [("dict", args[1])]
    if origin is list:
        return [("list", args[0])]
    out: list[Any] = []
    for arg in args:  # Union / Optional
        out += _inner_models(arg)
    return out


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], Any, Any]:
    """Follow ``loc`` from ``root``: the annotations reachable there, the model owning the
    last key and that key's pydantic FieldInfo (both None for a dict key or unknown key)."""
    current: list[Any] = [root]
    owner: Any = None
    info: Any = None
    for part in loc:
        nxt: list[Any] = []
        owner, info = None, None
        for node in current:
            if isinstance(node, tuple):  # a dict value or list item: any key/index steps in
                nxt += _inner_models(node[1])
            elif isinstance(node, type) and issubclass(node, BaseModel):
                field = node.model_fields.get(str(part))
                if field is not None:
                    owner, info = node, field
                    nxt += _inner_models(field.annotation)
        current = nxt
    return current, owner, info


def _models(nodes: list[Any]) -> list[type[BaseModel]]:
    return [m for m in nodes if isinstance(m, type) and issubclass(m, BaseModel)]


def _range_words(info: Any) -> str | None:
    """The allowed range of a numeric field from its pydantic metadata, in words."""
    if info is None:
        return None
    lo = hi = None
    lo_open = hi_open = False
    for meta in info.metadata:
        if getattr(meta, "gt", None) is not None:
            lo, lo_open = meta.gt, True
        if getattr(meta, "ge", None) is not None:
            lo = meta.ge
        if getattr(meta, "lt", None) is not None:
            hi, hi_open = meta.lt, True
        if getattr(meta, "le", None) is not None:
            hi = meta.le
    if lo is not None and hi is not None:
        return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"a number {'<' if hi_open else '<='} {hi:g}"
    return None


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_shown(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _not_allowed(value: Any, allowed: str) -> str:
    return f"{_shown(value)} is not allowed: expected {allowed}"


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
    """The first error of ``exc`` as one :class:`CatalogError` line, in the style of
    :func:`planner.scenarios._scenario_error`: the file, the field as written (dotted path),
    the value and what is allowed (known keys, a range, a type, the choices).

    Parameters
    ----------
    source : str
        The file (or label) named in the message.
    data : dict
        The input that was validated (to show the offending value).
    exc : ValidationError
        From ``root.model_validate(data)``.
    root : pydantic model class
        The model validated (to list the keys or range of the field).
    suffix : str
        Appended to the problem (e.g. ``" (variant 'low')"``).
    row, column_label : optional
        For a table row (a CSV file): the row number and ``"column"``.
    """
    errors = exc.errors()
    rank = {"extra_forbidden": 0, "missing": 0.5, "value_error": 1, "literal_error": 1}
    for kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        rank[kind] = 1
    first_key_error = [e for e in errors if "[key]" in e["loc"]]
    err = (first_key_error or [min(errors, key=lambda e: rank.get(e["type"], 5))])[0]
    raw_loc = tuple(err["loc"])
    is_key = "[key]" in raw_loc
    loc = tuple(p for p in raw_loc if p != "[key]" and not _is_tag(p))
    field = _field_path(loc)
    value = loc[-1] if is_key and loc else _lookup(data, loc)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    _, owner, info = _walk(root, loc)

    def made(problem: str) -> CatalogError:
        return CatalogError(source, row, field, problem + suffix, column_label=column_label)

    if is_key:
        lo, hi = YEAR_RANGE
        return made(_not_allowed(value, f"a year (whole number) in {lo}..{hi} as the key"))
    if kind == "extra_forbidden":
        models = _models(_walk(root, loc[:-1])[0])
        allowed = ", ".join(models[0].model_fields) if models else "a known key"
        return made(f"unknown key: expected one of {allowed}")
    if kind == "missing":
        keys = ", ".join(owner.model_fields) if owner is not None else ""
        return made(
            "required field is missing" + (f" (fields of this table: {keys})" if keys else "")
        )
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        allowed = _range_words(info) or err["msg"].lower()
        if loc and str(loc[-1]) in ("year", "base_year"):
            allowed = f"a year in {YEAR_RANGE[0]}..{YEAR_RANGE[1]}"
        return made(_not_allowed(value, allowed))
    if kind == "literal_error":
        return made(_not_allowed(value, f"one of {ctx.get('expected')}"))
    if kind == "value_error":
        text = str(ctx.get("error", err["msg"]))
        return made(
            text if " is not allowed" in text else f"{_shown(value)} is not allowed: {text}"
        )
    tags = [
        p
        for e in errors
        if tuple(q for q in e["loc"] if not _is_tag(q)) == loc
        for p in e["loc"]
        if _is_tag(p)
    ]
    words = list(dict.fromkeys(_tag_words(t) for t in tags))
    if words:
        allowed = ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]
    else:
        allowed = _TYPE_WORDS.get(kind, err["msg"].lower())
    return made(_not_allowed(value, allowed))


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
        raise CatalogError(
            path,
            None,
            "variants",
            _not_allowed(variants_raw, "a table of [variants.NAME] tables"),
            column_label="field",
        )
    name = str(body.get("name") or Path(path).stem)
    specs: dict[str, ScenarioSpec] = {}
    for vname, override in variants_raw.items():
        if not isinstance(override, dict):
            raise CatalogError(
                path,
                None,
                f"variants.{vname}",
                _not_allowed(override, "a table of overrides"),
                column_label="field",
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
    first = next(iter(specs.values()))
    return Scenario(
        path=path, name=name, title=str(body.get("title") or first.title), variants=specs
    )


def _check_order(merged: dict[str, Any], path: str) -> None:
    """Year-keyed tables must be written in increasing year order (a typo guard)."""
    for key in ("pue", "regions", "ai_regions"):
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
