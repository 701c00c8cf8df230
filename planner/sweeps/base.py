"""The bases a sweep varies: which inputs each kind has, their allowed ranges, how to load it.

- ``sizing``: a training-run request (:func:`planner.request.build_request`: ``preset`` and/or
  ``accelerator``, the work, ``gpus`` or ``days``, any sizing assumption). Inputs: the work
  and cluster (``flops, params, active_params, tokens, gpus, days``), every numeric sizing
  assumption (``mfu, goodput, pue, design_pue, ...``) and the strings ``accelerator``,
  ``precision``, ``pricing`` (grid or choice).
- ``serving``: a service request (:func:`planner.serving_presets.build_service_request`:
  ``preset`` and/or any of its inputs). Inputs: the demand, the model size and every serving
  and sizing assumption; strings ``accelerator``, ``model``, ``precision``, ``pricing``.
- ``optimize``: a site scenario (``scenario = "gtc2024"`` or a path; optional ``objective``,
  ``solver``, ``time_limit_s``, ``allow_mixed_chips``). Inputs are dotted paths into the
  scenario (``site.grid_limit_mw``, ``runs[0].deadline_days``, ``budget_usd``); each
  scenario is the file with those values, validated as the file itself is.
- ``projection``: a projection study (``study = "iea-2025-base"`` or a path; optional
  ``variant``, ``country`` (default the study's scope) and ``year`` (default its last)).
  Inputs are dotted paths into the study file (``ai.shipments_scale``, ``pue.2024``,
  ``non_ai.conventional.growth_pct_per_year``); a number replaces the study's own range
  there. Each scenario is one :func:`planner.projection.project` of the study's central
  values (about 0.3 s), fanned out like the optimiser's: the projection's inputs are
  validated per study, so it is not one vectorised call.
- ``buildout``: a build-out over sites and quarters (:mod:`planner.optimization.buildout`,
  loaded only when a sweep uses it): ``scenario = "small-hand-checkable"`` or a path; optional
  ``objective``, ``time_limit_s``, ``mip_rel_gap``. Inputs are dotted paths into the build-out
  file (``sites[0].grid[0].mw``, ``runs[0].flops``, ``supply.h100.deliveries_gpus``), bounded
  as the file's own fields are; each scenario is one :func:`plan_buildout` without the
  relaxation search (a sweep wants the plan; an infeasible row says so).

Setting ``pue`` alone (sizing, serving) derives the design-day PUE from each drawn PUE, as
``planner size --pue`` does; sweep ``design_pue`` too to set it.
"""

from __future__ import annotations

import copy
import importlib
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import InputError, PlannerError
from planner.sweeps.spec import InputRange

_PATH_TOKEN = re.compile(r"([A-Za-z0-9_][\w-]*)|\[(\d+)\]")

SIZING_WORK = ("flops", "params", "active_params", "tokens", "gpus", "days")
SIZING_STRINGS = ("accelerator", "precision", "pricing")
SERVING_STRINGS = ("accelerator", "model", "precision", "pricing")
OPTIMIZE_OPTIONS = ("scenario", "objective", "solver", "time_limit_s", "allow_mixed_chips")
BUILDOUT_OPTIONS = ("scenario", "objective", "time_limit_s", "mip_rel_gap")
PROJECTION_OPTIONS = ("study", "variant", "country", "year")


def _sizing_ranges() -> dict[str, InputRange]:
    from planner.assumptions import (
        GRID_INTENSITY_RANGE,
        MAX_AVG_POWER_PER_GPU_W,
        MAX_ELECTRICITY_USD_PER_MWH,
        MIN_FRACTION,
        PUE_RANGE,
    )
    from planner.catalog import MAX_PRICE_USD_PER_GPU, MAX_RENT_USD_PER_GPU_HOUR
    from planner.sizing import MAX_DAYS, MAX_GPUS, MIN_DAYS
    from planner.workloads import MAX_FLOPS, MAX_PARAMS, MAX_TOKENS

    frac = InputRange(MIN_FRACTION, 1.0)
    return {
        "flops": InputRange(0.0, MAX_FLOPS, low_open=True),
        "params": InputRange(0.0, MAX_PARAMS, low_open=True),
        "active_params": InputRange(0.0, MAX_PARAMS, low_open=True),
        "tokens": InputRange(0.0, MAX_TOKENS, low_open=True),
        "gpus": InputRange(1.0, MAX_GPUS),
        "days": InputRange(MIN_DAYS, MAX_DAYS),
        "mfu": frac,
        "goodput": frac,
        "avg_load_fraction": frac,
        "pue": InputRange(*PUE_RANGE),
        "design_pue": InputRange(*PUE_RANGE),
        "network_overhead": InputRange(0.0, 1.0),
        "avg_power_per_gpu_w": InputRange(1.0, MAX_AVG_POWER_PER_GPU_W),
        "electricity_usd_per_mwh": InputRange(0.0, MAX_ELECTRICITY_USD_PER_MWH),
        "grid_gco2_per_kwh": InputRange(*GRID_INTENSITY_RANGE),
        "price_usd_per_gpu": InputRange(0.0, MAX_PRICE_USD_PER_GPU),
        "rent_usd_per_gpu_hour": InputRange(0.0, MAX_RENT_USD_PER_GPU_HOUR),
        "service_life_years": InputRange(0.5, 30.0),
        "facility_life_years": InputRange(1.0, 100.0),
        "hardware_utilisation": InputRange(0.05, 1.0),
        "cost_of_capital": InputRange(0.0, 1.0),
        "networking_share": InputRange(0.0, 0.9),
        "facility_usd_per_mw": InputRange(0.0, 1e9),
    }


def _strings(kind: str) -> dict[str, InputRange]:
    from planner.assumptions import PRICING_MODES
    from planner.catalog import PRECISIONS, load_catalog

    out = {
        "accelerator": InputRange(choices=tuple(load_catalog().ids)),
        "precision": InputRange(choices=PRECISIONS),
        "pricing": InputRange(choices=PRICING_MODES),
    }
    if kind == "serving":
        from planner.serving import load_models

        out["model"] = InputRange(choices=tuple(load_models()))
    return out


def _serving_ranges() -> dict[str, InputRange]:
    from planner.serving import RANGES

    sizing = _sizing_ranges()
    out = {name: InputRange(lo, hi) for name, (lo, hi) in RANGES.items()}
    for name in ("bandwidth_utilisation", "prefill_mfu", "decode_mfu"):
        out[name] = InputRange(1e-3, 1.0)
    for name in (
        "pue",
        "design_pue",
        "network_overhead",
        "avg_load_fraction",
        "electricity_usd_per_mwh",
        "grid_gco2_per_kwh",
        "price_usd_per_gpu",
        "rent_usd_per_gpu_hour",
        "service_life_years",
        "facility_life_years",
        "hardware_utilisation",
        "cost_of_capital",
        "networking_share",
        "facility_usd_per_mw",
    ):
        out[name] = sizing[name]
    out.pop("batch_size", None)
    return out


def numeric_inputs(kind: str) -> dict[str, InputRange]:
    """Named numeric inputs of a closed-form kind, with their allowed ranges."""
    return _sizing_ranges() if kind == "sizing" else _serving_ranges()


def input_range(kind: str, name: str, base: Mapping[str, Any]) -> InputRange:
    """What input ``name`` of a ``kind`` base accepts; :class:`InputError` for an unknown one."""
    if kind in ("sizing", "serving"):
        table = {**numeric_inputs(kind), **{k: v for k, v in _strings(kind).items()}}
        if kind == "sizing":
            table = {k: v for k, v in table.items() if k != "model"}
        if name not in table:
            raise InputError(
                f"inputs.{name}", name, f"an input of a {kind} base: " + ", ".join(sorted(table))
            )
        return table[name]
    data = scenario_data(kind, base)
    return _path_range(kind, data, name)


# --- bases as given --------------------------------------------------------------------------


def file_key(kind: str) -> str:
    """The ``[base]`` key naming the file: ``study`` for a projection, else ``scenario``."""
    return "study" if kind == "projection" else "scenario"


def resolve_file(kind: str, ref: Any) -> Path:
    """A scenario / study file by shipped name or path (``base.scenario``, ``base.study``)."""
    from planner.examples import resolve

    kinds = {"optimize": "scenario", "projection": "projection", "buildout": "buildout"}
    return resolve(str(ref), kinds.get(kind), field=f"base.{file_key(kind)}")  # type: ignore[arg-type]


def check_base(kind: str, base: Mapping[str, Any], options: Mapping[str, Any]) -> None:
    """Validate ``[base]`` for its kind (the keys, and that it loads and runs once)."""
    if kind == "buildout":
        buildout_module()
    if kind == "sizing":
        sizing_request(base)
    elif kind == "serving":
        serving_request(base)
    elif kind == "projection":
        for key in base:
            if key not in PROJECTION_OPTIONS:
                raise InputError(
                    f"base.{key}",
                    base[key],
                    "no such key: expected one of " + ", ".join(PROJECTION_OPTIONS),
                )
        if "study" not in base:
            raise InputError(
                "base.study", "missing", "a shipped projection study name or a study file"
            )
        projection_options(base)
    else:
        allowed = BUILDOUT_OPTIONS if kind == "buildout" else OPTIMIZE_OPTIONS
        for key in base:
            if key not in allowed:
                raise InputError(
                    f"base.{key}", base[key], "no such key: expected one of " + ", ".join(allowed)
                )
        if "scenario" not in base:
            raise InputError(
                "base.scenario", "missing", "a shipped scenario name or a scenario file"
            )
        if kind == "optimize":
            from planner.optimization import OBJECTIVES, SOLVERS

            if base.get("objective") is not None and base["objective"] not in OBJECTIVES:
                raise InputError(
                    "base.objective", base["objective"], "one of: " + ", ".join(OBJECTIVES)
                )
            if "solver" in base and base["solver"] not in SOLVERS:
                raise InputError("base.solver", base["solver"], "one of: " + ", ".join(SOLVERS))
            t = base.get("time_limit_s")
            if t is not None and (
                isinstance(t, bool) or not isinstance(t, int | float) or not t > 0
            ):
                raise InputError("base.time_limit_s", t, "a number of seconds > 0")
        if kind == "buildout":
            _check_buildout_options(base)
        scenario_data(kind, base)


def _check_buildout_options(base: Mapping[str, Any]) -> None:
    from planner.optimization.buildout import OBJECTIVES

    goal = base.get("objective")
    if goal is not None and goal not in OBJECTIVES:
        raise InputError("base.objective", goal, "one of: " + ", ".join(OBJECTIVES))
    for key, allowed in (("time_limit_s", "a number of seconds > 0"), ("mip_rel_gap", "(0, 1)")):
        v = base.get(key)
        if v is None:
            continue
        bad = isinstance(v, bool) or not isinstance(v, int | float) or not v > 0
        if bad or (key == "mip_rel_gap" and not v < 1):
            raise InputError(f"base.{key}", v, allowed)


def _prefixed(exc: InputError) -> InputError:
    return InputError(f"base.{exc.field}", exc.value, exc.allowed, detail=exc.detail)


def sizing_request(base: Mapping[str, Any], **changes: Any) -> Any:
    """:func:`planner.request.build_request` of ``[base]`` (``changes`` on top)."""
    from planner.request import build_request

    given = {**base, **changes}
    try:
        return build_request(source="sweep base", **given)
    except InputError as exc:
        raise _prefixed(exc) from None
    except TypeError as exc:  # an unknown keyword
        raise InputError("base", sorted(given), f"the keys of a sizing request ({exc})") from None


def serving_request(base: Mapping[str, Any]) -> Any:
    """:func:`planner.serving_presets.build_service_request` of ``[base]``."""
    from planner.serving_presets import build_service_request

    given = dict(base)
    preset = given.pop("preset", None)
    try:
        return build_service_request(preset, **given)
    except InputError as exc:
        raise _prefixed(exc) from None


def projection_options(base: Mapping[str, Any]) -> dict[str, Any]:
    """``variant``, ``country`` and ``year`` of a projection base, defaults filled, checked."""
    from planner.projection import resolve_country
    from planner.projection_scenarios import load_scenario

    sc = load_scenario(resolve_file("projection", base["study"]))
    variant = base.get("variant", next(iter(sc.variants)))
    if variant not in sc.variants:
        raise InputError("base.variant", variant, "one of: " + ", ".join(sc.variants))
    spec = sc.variants[variant]
    country = resolve_country(str(base.get("country", spec.scope)), field="base.country")
    lo, hi = spec.year_range
    year = base.get("year", hi)
    if isinstance(year, bool) or not isinstance(year, int) or not lo <= year <= hi:
        raise InputError("base.year", year, f"a year of the study, {lo}..{hi}")
    return {"variant": variant, "country": country, "year": year}


def scenario_data(kind: str, base: Mapping[str, Any]) -> dict[str, Any]:
    """The base scenario file parsed and validated, as a plain dict (for dotted-path changes)."""
    from planner.data_errors import read_toml

    if kind == "buildout":
        from planner.optimization.buildout import load_buildout

        # validated as the file itself is; the file's own keys, for dotted-path changes
        load_buildout(buildout_file(base))
        return read_toml(buildout_file(base))
    path = resolve_file(kind, base[file_key(kind)])
    if kind == "optimize":
        from planner.scenarios import load_scenario

        return load_scenario(path).model_dump()
    return read_toml(path)


def buildout_file(base: Mapping[str, Any]) -> Path:
    """A build-out's file by shipped name (``data/buildout``) or path (``base.scenario``)."""
    from planner.examples import resolve

    return resolve(str(base["scenario"]), "buildout", field="base.scenario")


def buildout_module() -> types.ModuleType:
    """:mod:`planner.optimization.buildout`, or a one-line "not yet available" error."""
    try:
        return importlib.import_module("planner.optimization.buildout")
    except ModuleNotFoundError:
        raise PlannerError(
            "base.kind = 'buildout' is not yet available: this installation has no "
            "planner.optimization.buildout (the multi-year build-out planner); use kind = "
            "'optimize' for one-year site plans"
        ) from None


# --- dotted paths ------------------------------------------------------------------------------


def split_path(path: str) -> list[str | int]:
    """``"runs[0].deadline_days"`` -> ``["runs", 0, "deadline_days"]``."""
    parts: list[str | int] = []
    for chunk in path.split("."):
        tokens = list(_PATH_TOKEN.finditer(chunk))
        if not tokens or "".join(t.group(0) for t in tokens) != chunk:
            raise InputError(
                f"inputs.{path}",
                path,
                "a dotted path such as site.grid_limit_mw or runs[0].deadline_days",
            )
        for t in tokens:
            parts.append(t.group(1) if t.group(1) is not None else int(t.group(2)))
    return parts


def _walk(data: Any, parts: list[str | int], path: str) -> Any:
    node = data
    for i, key in enumerate(parts):
        where = _join(parts[: i + 1])
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise InputError(
                    f"inputs.{path}",
                    where,
                    f"an index below {size} ({_join(parts[:i])} has {size})",
                )
            node = node[key]
        else:
            if not isinstance(node, dict) or key not in node:
                keys = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
                raise InputError(
                    f"inputs.{path}",
                    where,
                    f"a field of the scenario: {_join(parts[:i]) or 'top level'} has {keys}",
                )
            node = node[key]
    return node


def _join(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def apply_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (``site.grid_limit_mw``) in the nested ``data`` to ``value``, in place."""
    parts = split_path(path)
    parent = _walk(data, parts[:-1], path)
    last = parts[-1]
    parent[last] = value


def with_values(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with every ``path: value`` applied."""
    out = copy.deepcopy(dict(data))
    for path, value in values.items():
        apply_path(out, path, value)
    return out


def _path_range(kind: str, data: dict[str, Any], path: str) -> InputRange:
    parts = split_path(path)
    current = _walk(data, parts, path)
    if kind == "projection" and isinstance(current, dict) and {"low", "high"} <= set(current):
        return InputRange()  # a study's own range, replaced by the drawn number
    if isinstance(current, dict | list):
        raise InputError(f"inputs.{path}", path, "a path to one value (this is a table)")
    if kind == "buildout":
        from planner.optimization.buildout import BuildoutScenario

        return _pydantic_range(BuildoutScenario, parts) or InputRange()
    if kind != "optimize":
        return InputRange()
    from planner.scenarios import Scenario

    return _pydantic_range(Scenario, parts) or InputRange()


def _pydantic_range(model: Any, parts: list[str | int]) -> InputRange | None:
    """The numeric bounds pydantic declares for a field at ``parts`` (None: unknown)."""
    annotation: Any = model
    metadata: list[Any] = []
    for key in parts:
        annotation, metadata = _unwrap(annotation, metadata)
        if isinstance(key, int):
            args = [a for a in typing.get_args(annotation)] or [Any]
            annotation, metadata = args[0], []
            continue
        fields = getattr(annotation, "model_fields", None)
        if fields is not None and key in fields:
            info = fields[key]
            annotation, metadata = info.annotation, list(info.metadata)
            continue
        dict_member = next((m for m in _members(annotation) if typing.get_origin(m) is dict), None)
        if dict_member is None:
            return None
        annotation, metadata = typing.get_args(dict_member)[1], []
    lows: list[tuple[float, bool]] = []
    highs: list[tuple[float, bool]] = []
    numeric_members = [m for m in _members(annotation) if _base_type(m) in (float, int)]
    for m in numeric_members:
        for c in _flat_metadata(m) + metadata:
            for attr, bucket, is_open in (
                ("gt", lows, True),
                ("ge", lows, False),
                ("lt", highs, True),
                ("le", highs, False),
            ):
                v = getattr(c, attr, None)
                if v is not None:
                    bucket.append((float(v), is_open))
        break
    if not numeric_members:
        return None
    low = max(lows, default=(-math.inf, False))
    high = min(highs, default=(math.inf, False))
    return InputRange(low[0], high[0], low_open=low[1], high_open=high[1])


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    members = [m for m in _members(annotation) if m is not type(None)]
    if len(members) == 1:
        m = members[0]
        if typing.get_origin(m) is typing.Annotated:
            args = typing.get_args(m)
            return args[0], metadata + list(args[1:])
        return m, metadata
    return annotation, metadata


def _base_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _flat_metadata(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is not typing.Annotated:
        return []
    out: list[Any] = []
    for item in typing.get_args(annotation)[1:]:
        out.append(item)
        out.extend(getattr(item, "metadata", []) or [])
    return out
