"""Named inference services (``data/serving_presets.toml``) and the one merge of preset + input.

Every preset input is ``{ value = ..., source = "..." }`` so each assumption is named and
sourced; ``[NAME.published]`` holds the public figures with a stated ``tolerance_factor``.
:func:`serve_request` merges a preset with explicit values (explicit wins, and is tagged
"user input") and calls :func:`planner.serving.serve`: the CLI, tests and validation use it, so
no face merges on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner._paths import data_dir
from planner.catalog import Catalog
from planner.data_errors import read_toml
from planner.errors import CatalogError, InputError
from planner.serving import (
    _SERVING_FIELDS,
    ServingAssumptions,
    ServingDemand,
    ServingResult,
    serve,
)
from planner.serving.assumptions import SIZING_INPUTS

#: Inputs a preset (or the CLI) may give besides the assumptions.
SERVICE_FIELDS = (
    "accelerator",
    "model",
    "params",
    "active_params",
    "users",
    "queries_per_user_day",
    "input_tokens",
    "output_tokens",
    "batch_size",
    "gpus_per_replica",
)
_SIZING_FIELDS = SIZING_INPUTS
#: Production-fleet inputs (planner.serving.production; defaults in serving_assumptions.csv).
PRODUCTION_INPUTS = (
    "target_utilisation",
    "redundancy_replicas",
    "regions",
    "prompt_cache_hit_rate",
    "input_tokens_cv",
    "output_tokens_cv",
    "disaggregated",
    "failure_service_level",
)
ALLOWED_INPUTS = SERVICE_FIELDS + _SERVING_FIELDS + _SIZING_FIELDS + PRODUCTION_INPUTS
_STRINGS = {"accelerator", "model", "precision", "pricing"}
#: Published quantities a preset may compare with, as keys of the serving result (or derived).
PUBLISHED_QUANTITIES = (
    "systems",
    "gpus",
    "wh_per_query",
    "full_stack_over_accelerators",
    "production_systems",
    "production_wh_per_query",
)


@dataclass(frozen=True)
class Published:
    quantity: str
    value: float
    source: str
    tolerance_factor: float
    note: str = ""


@dataclass(frozen=True)
class ServingPreset:
    name: str
    title: str
    source: str
    inputs: dict[str, Any]
    sources: dict[str, str]
    published: list[Published] = field(default_factory=list)
    #: Why this preset's answer differs from a plain command for a similar service.
    differs_because: str = ""
    #: The compute budget a published estimate states ([NAME.compute_budget]):
    #: required_flops_per_s, peak_flops_per_gpu, gpus_per_server, utilisation, source.
    compute_budget: dict[str, Any] | None = None


@lru_cache(maxsize=4)
def load_serving_presets(path: str | None = None) -> dict[str, ServingPreset]:
    """Read and check ``data/serving_presets.toml`` (or ``path``)."""
    file = Path(path) if path else data_dir() / "serving_presets.toml"
    raw = read_toml(file, "serving presets file")
    presets: dict[str, ServingPreset] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise _err(file, name, "a table of inputs")
        for key in ("title", "source"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise _err(file, f"{name}.{key}", "a non-empty string")
        inputs: dict[str, Any] = {}
        sources: dict[str, str] = {}
        differs = body.get("differs_because", "")
        if not isinstance(differs, str):
            raise _err(file, f"{name}.differs_because", "a string")
        for key, item in body.items():
            if key in ("title", "source", "published", "differs_because", "compute_budget"):
                continue
            where = f"{name}.{key}"
            if key not in ALLOWED_INPUTS:
                raise _err(file, where, "one of: " + ", ".join(ALLOWED_INPUTS), "unknown key")
            if not isinstance(item, dict) or "value" not in item or "source" not in item:
                raise _err(file, where, '{ value = ..., source = "..." }')
            value = item["value"]
            if key in _STRINGS:
                if not isinstance(value, str):
                    raise _err(file, where + ".value", "a string")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise _err(file, where + ".value", "a number")
            if not isinstance(item["source"], str) or not item["source"].strip():
                raise _err(file, where + ".source", "a non-empty string")
            inputs[key] = value
            sources[key] = f"preset {name}: {item['source']}"
        published = []
        for quantity, item in (body.get("published") or {}).items():
            where = f"{name}.published.{quantity}"
            if quantity not in PUBLISHED_QUANTITIES:
                raise _err(file, where, "one of: " + ", ".join(PUBLISHED_QUANTITIES))
            try:
                published.append(
                    Published(
                        quantity,
                        float(item["value"]),
                        str(item["source"]),
                        float(item["tolerance_factor"]),
                        str(item.get("note", "")),
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise _err(file, where, "{ value, source, tolerance_factor [, note] }") from None
        budget = body.get("compute_budget")
        if budget is not None:
            need = ("required_flops_per_s", "peak_flops_per_gpu", "gpus_per_server", "source")
            if not isinstance(budget, dict) or any(k not in budget for k in need):
                raise _err(file, f"{name}.compute_budget", "{ " + ", ".join(need) + " }")
        presets[name] = ServingPreset(
            name, body["title"], body["source"], inputs, sources, published, differs, budget
        )
    return presets


def _err(file: Path, where: str, allowed: str, problem: str = "") -> CatalogError:
    words = f"{problem}: expected {allowed}" if problem else f"expected {allowed}"
    return CatalogError(str(file), None, where, words, column_label="field")


def get_serving_preset(name: str) -> ServingPreset:
    presets = load_serving_presets()
    if name not in presets:
        raise InputError("preset", name, "one of: " + ", ".join(presets))
    return presets[name]


@dataclass(frozen=True)
class ServiceRequest:
    """A preset merged with explicit inputs: everything :func:`serve` needs."""

    accelerator: str
    demand: ServingDemand
    model: str | None
    params: Any
    active_params: Any
    batch_size: Any
    gpus_per_replica: Any
    assumptions: ServingAssumptions
    preset: ServingPreset | None
    #: Inputs that differ from the preset's own (``{"field", "preset", "value"}``).
    changed_inputs: tuple[dict[str, Any], ...] = ()
    #: Whether :meth:`serve` adds the production estimate (a scalar, feasible service).
    production: bool = True
    #: Production-fleet inputs given (``target_utilisation``, ``redundancy_replicas``,
    #: ``regions``); the others take data/serving_assumptions.csv.
    production_inputs: dict[str, Any] = field(default_factory=dict)
    #: Where each production input comes from (the preset's source, or ``user input``).
    production_sources: dict[str, str] = field(default_factory=dict)

    def serve(
        self, catalog: Catalog | None = None, accelerator: str | None = None
    ) -> ServingResult:
        """The service; from a preset it carries the published comparison only when every
        input is the preset's, else the inputs that differ (:attr:`changed_inputs`)."""
        result = self._serve(catalog, accelerator)
        if self.production and result.is_scalar and bool(result.feasible):
            result = replace(result, production=self.production_estimate(result, catalog))
        if self.preset is None:
            return result
        changed = list(self.changed_inputs)
        if accelerator is not None and accelerator != self.accelerator:
            changed.append(
                {"field": "accelerator", "preset": self.accelerator, "value": accelerator}
            )
        if changed:
            return replace(result, preset=self.preset.name, changed_inputs=changed)
        published = published_comparison(result, self.preset)
        return replace(result, preset=self.preset.name, published=published)

    def sourced_assumptions(self, result: ServingResult) -> dict[str, dict[str, Any]]:
        """``result``'s assumptions (value, unit, source), with the demand's sources as the
        preset names them (the core tags every demand value ``service input``)."""
        sources = self.preset.sources if self.preset is not None else {}
        out = {}
        for name, item in result.assumptions.items():
            source = item["source"]
            if source == "service input" and name in sources:
                source = sources[name]
            out[name] = {"value": item["value"], "unit": item["unit"], "source": source}
        return out

    def production_estimate(
        self, ideal: ServingResult, catalog: Catalog | None = None
    ) -> dict[str, Any]:
        """The production fleet next to ``ideal`` and the analysts' compute budget for the
        same tokens (:mod:`planner.serving.production`, :mod:`planner.serving.budget`)."""
        from planner.catalog import load_catalog
        from planner.serving import _model_spec
        from planner.serving.budget import compute_budget, compute_budget_factors
        from planner.serving.production import ProductionAssumptions, production_fleet

        cat = catalog or load_catalog()
        chip = cat.get(ideal.accelerator)
        spec = _model_spec(self.model, self.params, self.active_params)
        prod = production_fleet(
            ideal,
            chip=chip,
            spec=spec,
            demand=self.demand,
            assumptions=self.assumptions,
            batch_size=self.batch_size,
            gpus_per_replica=self.gpus_per_replica,
            production=ProductionAssumptions.defaults(
                sources=self.production_sources, **self.production_inputs
            ),
            catalog=cat,
        )
        d = self.demand
        generated = float(d.output_tokens) * float(self.assumptions.reasoning_multiplier)
        daily_tokens = (
            float(d.users) * float(d.queries_per_user_day) * (float(d.input_tokens) + generated)
        )
        budget = compute_budget(
            peak_flops_per_gpu=chip.dense_tflops(ideal.precision) * 1e12,
            gpus_per_server=chip.gpus_per_system,
            utilisation=float(self.production_inputs.get("budget_utilisation") or 1.0),
            daily_tokens=daily_tokens,
            params=float(np.asarray(spec.active_params)),
        )
        prod["compute_budget"] = budget.to_dict()
        stated = None
        if self.preset is not None and self.preset.compute_budget and not self.changed_inputs:
            cb = self.preset.compute_budget
            stated = compute_budget(
                required_flops_per_s=float(cb["required_flops_per_s"]),
                peak_flops_per_gpu=float(cb["peak_flops_per_gpu"]),
                gpus_per_server=int(cb["gpus_per_server"]),
                utilisation=float(cb.get("utilisation", 1.0)),
            )
            prod["compute_budget_stated"] = {**stated.to_dict(), "source": str(cb["source"])}
        prod["compute_budget_steps"] = compute_budget_factors(budget, prod, stated)
        return prod

    def compare(self, catalog: Catalog | None = None, ids: list[str] | None = None) -> pd.DataFrame:
        """The same service on every catalog chip (or ``ids``): :func:`compare_serving` with
        this request's demand, model, batch and assumptions (the one call every face makes)."""
        from planner.serving import compare_serving

        return compare_serving(
            self.demand,
            model=self.model,
            params=self.params,
            active_params=self.active_params,
            batch_size=self.batch_size,
            assumptions=self.assumptions,
            catalog=catalog,
            ids=ids,
        )

    def _serve(self, catalog: Catalog | None, accelerator: str | None) -> ServingResult:
        return serve(
            accelerator or self.accelerator,
            self.demand,
            model=self.model,
            params=self.params,
            active_params=self.active_params,
            batch_size=self.batch_size,
            gpus_per_replica=self.gpus_per_replica,
            assumptions=self.assumptions,
            catalog=catalog,
        )


def build_service_request(preset: str | None = None, **given: Any) -> ServiceRequest:
    """Merge a named preset with explicit ``given`` values (``None`` = not given).

    Raises
    ------
    InputError
        For an unknown preset or input, or a missing accelerator / demand / model.
    """
    unknown = sorted(set(given) - set(ALLOWED_INPUTS))
    if unknown:
        raise InputError(unknown[0], given[unknown[0]], "one of: " + ", ".join(ALLOWED_INPUTS))
    p = get_serving_preset(preset) if preset else None
    values: dict[str, Any] = dict(p.inputs) if p else {}
    sources: dict[str, str] = dict(p.sources) if p else {}
    explicit = {k: v for k, v in given.items() if v is not None}
    if explicit.get("model") is not None or explicit.get("params") is not None:
        for key in ("model", "params", "active_params"):  # a new model replaces the preset's
            values.pop(key, None)
    values.update(explicit)
    sources.update(dict.fromkeys(explicit, "user input"))
    for key in ("accelerator", "users", "queries_per_user_day", "input_tokens", "output_tokens"):
        if values.get(key) is None:
            raise InputError(key, None, "a value (give it, or a --preset that has it)")
    a = ServingAssumptions.defaults()
    for key in _SERVING_FIELDS + _SIZING_FIELDS:
        if key in values:
            a = a.with_(sources[key], **{key: values[key]})
    a.validate()
    changed = _changed_inputs(p, values) if p is not None else []
    return ServiceRequest(
        accelerator=str(values["accelerator"]),
        demand=ServingDemand(
            users=values["users"],
            queries_per_user_day=values["queries_per_user_day"],
            input_tokens=values["input_tokens"],
            output_tokens=values["output_tokens"],
        ),
        model=values.get("model"),
        params=values.get("params"),
        active_params=values.get("active_params"),
        batch_size=values.get("batch_size"),
        gpus_per_replica=values.get("gpus_per_replica"),
        assumptions=a,
        preset=p,
        changed_inputs=tuple(changed),
        production_inputs={k: values[k] for k in PRODUCTION_INPUTS if k in values},
        production_sources={k: sources[k] for k in PRODUCTION_INPUTS if k in sources},
    )


def _changed_inputs(p: ServingPreset, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The merged ``values`` that differ from the preset's own inputs (an input the preset
    does not name is compared with its default; a value equal to the preset's is no change)."""
    from planner.request import _plain, _same

    defaults = ServingAssumptions.defaults()

    def own(key: str) -> Any:
        if key in p.inputs:
            return p.inputs[key]
        if key in _SERVING_FIELDS:
            return getattr(defaults, key)
        if key in _SIZING_FIELDS:
            return getattr(defaults.sizing, key)
        if key in PRODUCTION_INPUTS:
            from planner.serving.production import ProductionAssumptions

            return getattr(ProductionAssumptions.defaults(), key)
        return None

    rows = []
    for key in ALLOWED_INPUTS:
        if key not in p.inputs and key not in values:
            continue
        if not _same(own(key), values.get(key)):
            rows.append(
                {"field": key, "preset": _plain(own(key)), "value": _plain(values.get(key))}
            )
    return rows


def serve_request(preset: str | None = None, **given: Any) -> tuple[ServingResult, ServiceRequest]:
    """:func:`build_service_request` then :func:`serve`."""
    request = build_service_request(preset, **given)
    return request.serve(), request


def published_comparison(
    result: ServingResult, preset: ServingPreset | None
) -> list[dict[str, Any]]:
    """The preset's published figures next to the model's, with the ratio and tolerance.

    Empty when ``result`` carries ``changed_inputs``: a service that is not the published
    case is never compared with the published figure.
    """
    if preset is None or result.changed_inputs:
        return []
    rows = []
    for pub in preset.published:
        model = model_quantity(result, pub.quantity)
        ratio = None if model is None else model / pub.value
        rows.append(
            {
                "quantity": pub.quantity,
                "published": pub.value,
                "model": model,
                "ratio": ratio,
                "tolerance_factor": pub.tolerance_factor,
                "within_tolerance": None
                if ratio is None
                else (1 / pub.tolerance_factor <= ratio <= pub.tolerance_factor),
                "source": pub.source,
                "note": pub.note,
            }
        )
    return rows


def model_quantity(result: ServingResult, quantity: str) -> float | None:
    """A published quantity read off a scalar result (``full_stack_over_accelerators`` is the
    average facility energy over the accelerators' share of it)."""
    if quantity.startswith("production_"):
        prod = result.production
        return None if not prod else float(prod["production"][quantity[len("production_") :]])
    if quantity == "full_stack_over_accelerators":
        b = result.energy_breakdown
        return None if not b or b["accelerators"] <= 0 else 1.0 / b["accelerators"]
    value = getattr(result, quantity)
    return None if value is None or value != value else float(value)


def serving_preset_table() -> list[dict[str, Any]]:
    """Every serving preset with the assumptions its answer rests on, one dict per preset:
    chip, model (or parameters), precision, prefill / decode MFU, annual and design-day PUE
    (each with its source kind), the demand, the published figures and ``differs_because``."""
    from planner.sizing import source_kind

    rows = []
    for p in load_serving_presets().values():
        request = build_service_request(p.name)
        a = request.assumptions
        rows.append(
            {
                "name": p.name,
                "title": p.title,
                "accelerator": request.accelerator,
                "model": request.model,
                "params": request.params,
                "active_params": request.active_params,
                "precision": a.sizing.precision,
                "prefill_mfu": float(a.prefill_mfu),
                "decode_mfu": float(a.decode_mfu),
                "mfu_source": source_kind(a.sources.get("decode_mfu", "")),
                "pue": float(a.sizing.pue),
                "pue_source": source_kind(a.sizing.sources.get("pue", "")),
                "design_pue": float(f"{float(a.sizing.grid_pue()):.12g}"),
                "design_pue_source": "derived from the annual PUE"
                if a.sizing.design_pue is None
                else source_kind(a.sizing.sources.get("design_pue", "")),
                "users": float(request.demand.users),
                "queries_per_user_day": float(request.demand.queries_per_user_day),
                "input_tokens": float(request.demand.input_tokens),
                "output_tokens": float(request.demand.output_tokens),
                "published": [
                    {
                        "quantity": x.quantity,
                        "value": x.value,
                        "tolerance_factor": x.tolerance_factor,
                    }
                    for x in p.published
                ],
                "differs_because": p.differs_because,
            }
        )
    return rows


__all__ = [
    "ServingPreset",
    "ServiceRequest",
    "build_service_request",
    "get_serving_preset",
    "load_serving_presets",
    "published_comparison",
    "serve_request",
    "serving_preset_table",
]


_SWEEP_COLUMNS = (
    "users",
    "reasoning_multiplier",
    "feasible",
    "replicas",
    "gpus",
    "systems",
    "facility_power_mw",
    "average_facility_power_mw",
    "wh_per_query",
    "energy_mwh_per_year",
    "cost_usd",
    "usd_per_million_tokens",
    "pricing",
)


def sweep_service(
    request: ServiceRequest,
    *,
    users: Any = None,
    reasoning: Any = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """The same service over many user counts or reasoning multipliers, one vectorised call.

    Parameters
    ----------
    request : ServiceRequest
        From :func:`planner.serving_presets.build_service_request`.
    users : array of float, optional
        Daily active users per scenario (default: the request's).
    reasoning : array of float, optional
        Reasoning multipliers, generated / visible tokens (default: the request's).

    Returns
    -------
    DataFrame
        One row per scenario: ``users, reasoning_multiplier, feasible, replicas, gpus,
        systems, facility_power_mw, average_facility_power_mw, wh_per_query,
        energy_mwh_per_year, cost_usd, usd_per_million_tokens, pricing`` (the cost of a year
        of serving under the request's pricing, which every row shares).
    """
    d = request.demand
    a = request.assumptions
    if reasoning is not None:
        a = a.with_("swept", reasoning_multiplier=np.asarray(reasoning, dtype=float))
    u = np.asarray(users if users is not None else d.users, dtype=float)
    n = max(np.size(u), np.size(reasoning) if reasoning is not None else 1)
    demand = ServingDemand(
        users=np.broadcast_to(u, n).copy(),
        queries_per_user_day=np.full(n, float(d.queries_per_user_day)),
        input_tokens=np.full(n, float(d.input_tokens)),
        output_tokens=np.full(n, float(d.output_tokens)),
    )
    result = serve(
        request.accelerator,
        demand,
        model=request.model,
        params=request.params,
        active_params=request.active_params,
        batch_size=request.batch_size,
        gpus_per_replica=request.gpus_per_replica,
        assumptions=a,
        catalog=catalog,
    )
    frame = result.to_frame()
    frame["users"] = demand.users
    frame["reasoning_multiplier"] = np.broadcast_to(
        np.asarray(a.reasoning_multiplier, dtype=float), n
    )
    return frame[list(_SWEEP_COLUMNS)]
