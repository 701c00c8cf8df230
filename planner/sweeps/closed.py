"""Closed-form runs: sizing and serving scenarios evaluated in one vectorised call per group.

The core is vectorised (:func:`planner.sizing.size_training`, :func:`planner.serving.serve`
take numpy arrays for the work, the demand and every numeric assumption), so a million draws
are one call: no Python per draw. String inputs (``accelerator``, ``model``, ``precision``,
``pricing``) split the scenarios into groups, one call each.

Columns: every input as ``in_<name>``; every numeric and string output of the core's result
frame (``SizingResult.to_frame()``, ``ServingResult.to_frame()``); ``status`` (``ok``, or
``infeasible`` where no serving replica meets the latency targets), ``binding`` (serving:
what set the batch, ``tpot_target_s`` / ``memory`` / ``max_batch_size``), ``reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from planner.sweeps import base as bases
from planner.sweeps.spec import SweepSpec

INPUT_PREFIX = "in_"


def input_column(name: str) -> str:
    """The Parquet column of input ``name`` (``in_mfu``, ``in_site.grid_limit_mw``)."""
    return INPUT_PREFIX + name


def result_frame(result: Any, n: int, skip: tuple[str, ...]) -> pd.DataFrame:
    """A core result's per-scenario fields as ``n`` rows (the core's own ``to_frame``, minus
    its copies: a number shared by every row is broadcast, a shared string is categorical)."""
    from dataclasses import fields

    data: dict[str, Any] = {}
    for f in fields(result):
        if f.name in skip:
            continue
        value = getattr(result, f.name)
        if isinstance(value, np.ndarray) and value.shape == (n,):
            data[f.name] = value
        elif isinstance(value, str):
            data[f.name] = _constant(value, n)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
            data[f.name] = np.broadcast_to(value, (n,)).astype(str)
        elif value is None:
            data[f.name] = np.full(n, np.nan)
        else:
            data[f.name] = np.broadcast_to(np.asarray(value), (n,))
    return pd.DataFrame(data, copy=False)


def _constant(value: str, n: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def evaluate(spec: SweepSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Outputs of the rows of ``frame`` (columns = input names), same index."""
    strings = [d.name for d in spec.inputs if d.is_string]
    if not len(frame):
        return pd.DataFrame(index=frame.index)
    if strings:
        parts = [
            _evaluate_group(
                spec,
                group,
                dict(zip(strings, key if isinstance(key, tuple) else (key,), strict=True)),
            )
            for key, group in frame.groupby(strings, sort=False)
        ]
        return pd.concat(parts).loc[frame.index]
    return _evaluate_group(spec, frame, {})


def _evaluate_group(spec: SweepSpec, frame: pd.DataFrame, fixed: Mapping[str, Any]) -> pd.DataFrame:
    numeric = [d.name for d in spec.inputs if not d.is_string]
    arrays = {name: frame[name].to_numpy(dtype=float) for name in numeric}
    if spec.kind == "sizing":
        out = _sizing(spec.base, arrays, fixed, len(frame))
    else:
        out = _serving(spec.base, arrays, fixed, len(frame))
    out.index = frame.index
    return out


def with_work(req: Any, work: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """``(run, gpus, days)`` of a sizing request with drawn work inputs (``flops``,
    ``params``, ``active_params``, ``tokens``, ``gpus``, ``days``; arrays) put in place.

    Drawn FLOPs replace the run's size; drawn parameters or tokens replace its FLOPs; drawn
    GPUs make days the answer and drawn days make GPUs the answer.
    """
    from planner.workloads import TrainingRun

    run, gpus, days = req.run, req.gpus, req.days
    if any(k in work for k in ("flops", "params", "active_params", "tokens")):
        fields = {
            "flops": run.flops,
            "params": run.params,
            "active_params": run.active_params,
            "tokens": run.tokens,
        }
        if "flops" in work:
            fields = dict.fromkeys(fields)
        else:
            fields["flops"] = None
        fields.update({k: v for k, v in work.items() if k in fields})
        run = TrainingRun(**fields, name=run.name)
    if "gpus" in work:
        gpus, days = work["gpus"], None
    if "days" in work:
        gpus, days = None, work["days"]
    return run, gpus, days


def _sizing(
    base: Mapping[str, Any], arrays: dict[str, np.ndarray], fixed: Mapping[str, Any], n: int
) -> pd.DataFrame:
    from planner.sizing import size_training

    req = bases.sizing_request(base, **fixed)
    work = {k: arrays.pop(k) for k in list(arrays) if k in bases.SIZING_WORK}
    run, gpus, days = with_work(req, work)
    a = req.assumptions.with_("sweep input", **arrays) if arrays else req.assumptions
    result = size_training(run, req.accelerator, gpus=gpus, days=days, assumptions=a)
    frame = result_frame(result, n, skip=("power_chain", "assumptions"))
    frame["status"] = _constant("ok", n)
    frame["binding"] = _constant("", n)
    return frame


def _serving(
    base: Mapping[str, Any], arrays: dict[str, np.ndarray], fixed: Mapping[str, Any], n: int
) -> pd.DataFrame:
    from planner.serving import ServingDemand, serve

    given = {**base, **fixed}
    if ("params" in arrays or "active_params" in arrays) and "model" not in fixed:
        given.pop("model", None)
    req = bases.serving_request(given)
    d = req.demand
    demand = ServingDemand(
        **{
            k: np.broadcast_to(
                arrays.pop(k) if k in arrays else np.asarray(getattr(d, k), dtype=float), n
            ).copy()
            for k in ("users", "queries_per_user_day", "input_tokens", "output_tokens")
        }
    )
    params = arrays.pop("params", None)
    active = arrays.pop("active_params", None)
    model = req.model
    if params is not None or active is not None:
        model = None
        params = params if params is not None else req.params
        active = active if active is not None else req.active_params
    else:
        params, active = req.params, req.active_params
    a = req.assumptions.with_("sweep input", **arrays) if arrays else req.assumptions
    a.validate()
    result = serve(
        req.accelerator,
        demand,
        model=model,
        params=params,
        active_params=active,
        batch_size=req.batch_size,
        gpus_per_replica=req.gpus_per_replica,
        assumptions=a,
    )
    frame = result_frame(result, n, skip=("assumptions", "energy_breakdown", "infeasible_reason"))
    feasible = frame["feasible"].to_numpy(dtype=bool)
    frame["status"] = np.where(feasible, "ok", "infeasible")
    frame["binding"] = np.where(feasible, frame["batch_limit"].astype(str), "")
    frame["reason"] = np.where(
        feasible,
        "",
        "no replica meets the latency targets (tpot_target_s, ttft_target_s) within the largest group",
    )
    return frame
