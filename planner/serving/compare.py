"""Across chips, models and frames; the grid verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner.assumptions import ECONOMICS_FIELDS
from planner.catalog import Accelerator, Catalog, load_catalog
from planner.errors import InputError
from planner.serving.assumptions import (
    _SERVING_FIELDS,
    ServingAssumptions,
    ServingDemand,
    resolve_serving_assumptions,
)
from planner.serving.catalog import ModelSpec
from planner.serving.fleet import serve
from planner.serving.result import ServingResult
from planner.validation import check_range

# --- 6. across chips, models and frames; the grid --------------------------------------------


def compare_serving(
    demand: ServingDemand,
    *,
    model: ModelSpec | str | None = None,
    params: Any = None,
    active_params: Any = None,
    batch_size: Any = None,
    assumptions: ServingAssumptions | None = None,
    catalog: Catalog | None = None,
    ids: list[str] | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Every catalog chip (or ``ids``) serving the same demand: one row per chip.

    A chip without the precision, or on which no replica meets the latency targets, gets a row
    of NaN and a ``note`` saying why (never a silent fallback).
    """
    cat = catalog or load_catalog()
    a = resolve_serving_assumptions(assumptions, overrides)
    rows = []
    for chip in (cat.get(i) for i in ids) if ids else cat:
        if chip.dense_tflops_or_none(a.sizing.precision) is None:
            note = f"no {a.sizing.precision.upper()} tensor mode"
            rows.append({"accelerator": chip.id, "note": note})
            continue
        try:
            res = serve(
                chip,
                demand,
                model=model,
                params=params,
                active_params=active_params,
                batch_size=batch_size,
                assumptions=a,
                catalog=cat,
            )
        except InputError as exc:  # a chip of a user's catalog without a price
            rows.append({"accelerator": chip.id, "note": str(exc)})
            continue
        row = res.to_frame().iloc[0].to_dict()
        row.update(serving_basis_columns(res))
        row["note"] = res.infeasible_reason or ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("accelerator")


def serving_basis_columns(result: ServingResult) -> dict[str, Any]:
    """What a (scalar) service assumed: precision, the prefill / decode MFU, both PUEs (each
    with its source kind, :func:`planner.sizing.source_kind`) and the model shape (total and
    active parameters)."""
    from planner.sizing import source_kind

    items = result.assumptions

    def value(name: str) -> Any:
        return items.get(name, {}).get("value")

    def kind(name: str) -> str:
        return source_kind(items.get(name, {}).get("source", ""))

    return {
        "precision": result.precision,
        "prefill_mfu": value("prefill_mfu"),
        "decode_mfu": value("decode_mfu"),
        "mfu_source": kind("decode_mfu"),
        "pue": result.pue,
        "pue_source": kind("pue"),
        "design_pue": result.design_pue,
        "design_pue_source": kind("design_pue"),
        "params": value("total_params"),
        "active_params": value("active_params"),
    }


def compare_models(
    accelerator: Accelerator | str,
    demand: ServingDemand,
    models: list[str],
    *,
    assumptions: ServingAssumptions | None = None,
    catalog: Catalog | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """The same demand served by several models of ``data/models.csv`` (small vs large)."""
    a = resolve_serving_assumptions(assumptions, overrides)
    rows = []
    for name in models:
        res = serve(accelerator, demand, model=name, assumptions=a, catalog=catalog)
        row = res.to_frame().iloc[0].to_dict()
        row["note"] = res.infeasible_reason or ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


_FRAME_DEMAND = ("users", "queries_per_user_day", "input_tokens", "output_tokens")
_FRAME_ASSUMPTIONS = _SERVING_FIELDS + (
    "pue",
    "design_pue",
    "network_overhead",
    "avg_load_fraction",
    "electricity_usd_per_mwh",
    "grid_gco2_per_kwh",
    "price_usd_per_gpu",
    "rent_usd_per_gpu_hour",
    *ECONOMICS_FIELDS,
)


def serve_frame(
    scenarios: pd.DataFrame,
    *,
    assumptions: ServingAssumptions | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Serve many scenarios, possibly on different chips and models, vectorised per group.

    ``scenarios`` has ``accelerator``, the demand columns (``users, queries_per_user_day,
    input_tokens, output_tokens``), the model as ``model`` (ids of ``data/models.csv``) or
    ``params`` [``active_params``], and optionally any numeric assumption column
    (``tpot_target_s``, ``pue``, ``reasoning_multiplier`` ...). Returns the result columns,
    same index.
    """
    cat = catalog or load_catalog()
    for column in ("accelerator", *_FRAME_DEMAND):
        if column not in scenarios:
            raise InputError(column, "missing column", "a column of the scenarios frame")
    if "model" not in scenarios and "params" not in scenarios:
        raise InputError("model", "missing column", "a model or a params column")
    keys = ["accelerator"] + (["model"] if "model" in scenarios else [])
    parts = []
    for key, group in scenarios.groupby(keys, sort=False):
        chip_id = key[0] if isinstance(key, tuple) else key
        model = key[1] if isinstance(key, tuple) and len(key) > 1 else None
        demand = ServingDemand(*(group[c].to_numpy(dtype=float) for c in _FRAME_DEMAND))
        overrides = {c: group[c].to_numpy(dtype=float) for c in _FRAME_ASSUMPTIONS if c in group}
        a = resolve_serving_assumptions(assumptions, overrides, source="scenario column")
        res = serve(
            str(chip_id),
            demand,
            model=None if model is None else str(model),
            params=None if model is not None else group["params"].to_numpy(dtype=float),
            active_params=(
                group["active_params"].to_numpy(dtype=float)
                if model is None and "active_params" in group
                else None
            ),
            assumptions=a,
            catalog=cat,
        )
        frame = res.to_frame()
        frame.index = group.index
        parts.append(frame)
    return pd.concat(parts).loc[scenarios.index]


@dataclass(frozen=True)
class ServingGridFit:
    """Whether a (scalar) service's PEAK facility power fits a grid limit, and what fits if not."""

    fits: bool
    grid_mw: float
    need_mw: float
    short_mw: float
    max_systems: int
    max_users: float


def serving_grid_fit(result: ServingResult, grid_mw: float, users: float) -> ServingGridFit:
    """Compare a service's peak facility power with ``grid_mw``; the users that fit if short.

    Users that fit scale with the whole replicas the grid can power (demand is linear in users).
    """
    check_range("grid_mw", grid_mw, 1e-6, 1e6)
    need = float(result.facility_power_mw)
    systems = float(result.systems)
    per_system = need / systems
    max_systems = max(int(np.floor(grid_mw / per_system * (1 + 1e-12))), 0)
    g = float(result.gpus_per_replica)
    gps = float(result.gpus_per_system)
    max_replicas = np.floor(max_systems * gps / g * (1 + 1e-12))
    peak_per_user = float(result.queries_per_s_peak) / float(users)
    max_users = max_replicas * float(result.queries_per_s_per_replica) / peak_per_user
    return ServingGridFit(
        fits=need <= grid_mw * (1 + 1e-12),
        grid_mw=float(grid_mw),
        need_mw=need,
        short_mw=max(need - grid_mw, 0.0),
        max_systems=max_systems,
        max_users=float(min(max_users, users)) if need > grid_mw else float(users),
    )
