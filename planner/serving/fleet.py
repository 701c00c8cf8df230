"""The replica search and the evaluation: :func:`serve` (the ideal bound)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from planner import amortization, economics, facility, power
from planner._arrays import ceil_whole, jsonable, out
from planner.assumptions import SizingAssumptions
from planner.catalog import Accelerator, Catalog, load_catalog
from planner.errors import InputError
from planner.serving.assumptions import (
    SIZING_INPUTS,
    ServingAssumptions,
    ServingDemand,
    resolve_serving_assumptions,
)
from planner.serving.base import (
    BYTES_PER_PARAM,
    DAYS_PER_YEAR,
    HOURS_PER_YEAR,
    MAX_REPLICA_GPUS,
    RANGES,
    REPLICA_RATE_TIE,
    SECONDS_PER_DAY,
)
from planner.serving.catalog import ModelSpec, estimate_architecture, get_model
from planner.serving.economics import _breakdown, _economics
from planner.serving.physics import (
    decode_step_bytes,
    decode_step_s,
    max_batch_for_tpot,
    prefill_flops,
    replica_candidates,
    tp_sync_s,
)
from planner.serving.result import ServingResult
from planner.validation import check_range

# --- 5. the evaluation ----------------------------------------------------------------------


def _choose_replica(
    *,
    chip_gps: int,
    memory_gb: Any,
    bw_bps: Any,
    flops_decode: Any,
    flops_prefill: Any,
    n: Any,
    n_a: Any,
    bpp: float,
    kv_tok: Any,
    ctx_avg: Any,
    ctx_max: Any,
    flops_seq: Any,
    prefill_f: Any,
    generated: Any,
    layers: Any,
    a: ServingAssumptions,
    batch_size: Any,
    shape: tuple[int, ...],
    candidates: list[int],
) -> tuple[Any, Any, Any]:
    """(GPUs per replica, batch, limit code) per scenario; NaN where nothing is feasible.

    Fixed ``batch_size``: the smallest group whose HBM holds the weights plus the KV cache of
    that batch and whose decode step meets the TPOT target. Otherwise each group's batch is the
    largest meeting the TPOT target, capped by ``max_batch_size`` and by its HBM, and the
    smallest group within :data:`REPLICA_RATE_TIE` of the best throughput per GPU is chosen
    (with an ideal roofline a larger group only serves more per GPU while memory or weight
    reads limit the batch, so this is the smallest group holding the weights plus the KV cache
    of its latency-bound batch).
    """
    chosen_g = np.full(shape, np.nan)
    chosen_b = np.full(shape, np.nan)
    chosen_code = np.zeros(shape, dtype=np.int8)
    w = n * bpp
    cap = np.floor(np.asarray(a.max_batch_size, dtype=float))
    headroom = 1.0 - np.asarray(a.memory_headroom)
    kv_seq_max = kv_tok * ctx_max
    rates, batches, codes, tried = [], [], [], []
    for g in candidates:
        usable = g * memory_gb * 1e9 * headroom - w
        if batch_size is None and not np.any(usable > 0):  # the weights alone do not fit
            continue
        b_mem = np.floor(usable / kv_seq_max)
        sync = tp_sync_s(g, layers, a.tp_sync_s_per_layer)
        b_lat = np.floor(
            max_batch_for_tpot(
                np.asarray(a.tpot_target_s) - sync,
                g,
                bw_bps,
                flops_decode,
                n,
                n_a,
                bpp,
                kv_tok,
                ctx_avg,
                flops_seq,
            )
            * (1 + 1e-12)
        )
        ttft = prefill_f / (g * flops_prefill)
        ttft_ok = ttft <= np.asarray(a.ttft_target_s) * (1 + 1e-12)
        if batch_size is not None:
            b = np.broadcast_to(np.floor(np.asarray(batch_size, dtype=float)), shape)
            take = np.isnan(chosen_g) & (b_mem >= b) & (b_lat >= b) & (b >= 1) & ttft_ok
            chosen_g = np.where(take, g, chosen_g)
            chosen_b = np.where(take, b, chosen_b)
            chosen_code[...] = _GIVEN
            continue
        b = np.broadcast_to(np.minimum(np.minimum(b_lat, cap), b_mem), shape)
        feasible = (b >= 1) & ttft_ok
        step_s = (
            np.maximum(
                *decode_step_s(
                    decode_step_bytes(b, n, n_a, bpp, kv_tok, ctx_avg),
                    b * flops_seq,
                    g,
                    bw_bps,
                    flops_decode,
                )
            )
            + sync
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            per_query_s = ttft + generated * step_s / np.maximum(b, 1)
            rates.append(np.where(feasible, 1.0 / (per_query_s * g), -np.inf))
        batches.append(b)
        codes.append(
            np.where(b >= cap, _MAX_BATCH, np.where(b_lat <= b_mem, _TPOT, _MEMORY)).astype(np.int8)
        )
        tried.append(g)
        if np.all(feasible & (b >= cap)):
            break  # every scenario at the batch cap: larger groups serve the same per GPU
    if batch_size is None:
        best = np.max(np.stack(rates), axis=0) if rates else np.full(shape, -np.inf)
        for g, rate, b, code in zip(tried, rates, batches, codes, strict=True):
            take = np.isnan(chosen_g) & np.isfinite(rate) & (rate >= best * (1 - REPLICA_RATE_TIE))
            chosen_g = np.where(take, g, chosen_g)
            chosen_b = np.where(take, b, chosen_b)
            chosen_code = np.where(take, code, chosen_code)
    return chosen_g, chosen_b, chosen_code


#: What set the batch (codes of ``_choose_replica``; words in ``batch_limit``).
_TPOT, _MEMORY, _MAX_BATCH, _GIVEN = 0, 1, 2, 3
_LIMIT_WORDS = np.array(["tpot_target_s", "memory", "max_batch_size", "given"])


def serve(
    accelerator: Accelerator | str,
    demand: ServingDemand,
    *,
    model: ModelSpec | str | None = None,
    params: Any = None,
    active_params: Any = None,
    batch_size: Any = None,
    gpus_per_replica: int | None = None,
    assumptions: ServingAssumptions | None = None,
    catalog: Catalog | None = None,
    **overrides: Any,
) -> ServingResult:
    """Size an inference service on one chip: replicas, GPUs, MW, Wh per query, USD, tCO2.

    Parameters
    ----------
    accelerator : Accelerator or str
        A catalog chip or its id (``"h100"``).
    demand : ServingDemand
        Users, queries per user per day, prompt and answer tokens (scalars or arrays).
    model : ModelSpec or str, optional
        An architecture or an id of ``data/models.csv``; else ``params`` [``active_params``].
    params, active_params : float or array, optional
        Parameter counts; the architecture is then estimated (:func:`estimate_architecture`).
    batch_size : int or array, optional
        A fixed decode batch; default: the largest meeting ``tpot_target_s``.
    gpus_per_replica : int, optional
        A fixed tensor/pipeline-parallel group; default: the smallest that holds the weights and
        the KV cache of its batch (see the module docstring).
    assumptions : ServingAssumptions, optional
        Defaults from ``data/serving_assumptions.csv`` and ``data/assumptions.csv``.
    **overrides
        Any serving or sizing assumption (``tpot_target_s=0.03``, ``pue=1.1``,
        ``precision="fp8"``, ``reasoning_multiplier=20``).

    Returns
    -------
    ServingResult
        Scalars for scalar inputs, arrays when any input is an array. Scenarios no replica can
        serve within the latency targets have ``feasible`` False and NaN numbers.

    Raises
    ------
    InputError
        Naming the field, the value and the allowed range.
    """
    cat = catalog or load_catalog()
    chip = accelerator if isinstance(accelerator, Accelerator) else cat.get(accelerator)
    a = resolve_serving_assumptions(assumptions, overrides).for_chip(chip)
    demand.validate()
    spec = _model_spec(model, params, active_params)
    over_window = None
    if spec.context_window_tokens is not None:
        context = np.asarray(demand.input_tokens, dtype=float) + np.asarray(
            demand.output_tokens, dtype=float
        ) * np.asarray(a.reasoning_multiplier, dtype=float)
        window = float(spec.context_window_tokens)
        over_window = context > window
        if np.ndim(context) == 0 and bool(over_window):  # one service: bad input
            raise InputError(
                "input_tokens",
                demand.input_tokens,
                f"input + generated tokens within {spec.name}'s context window of "
                f"{window:,.0f} tokens",
            )
    if batch_size is not None:
        check_range("batch_size", batch_size, *RANGES["batch_size"])
    if gpus_per_replica is None:
        candidates = replica_candidates(chip.gpus_per_system)
    else:
        check_range("gpus_per_replica", gpus_per_replica, 1, MAX_REPLICA_GPUS)
        if float(gpus_per_replica) != int(gpus_per_replica):
            raise InputError("gpus_per_replica", gpus_per_replica, "a whole number of GPUs")
        candidates = [int(gpus_per_replica)]
    precision = a.sizing.precision
    peak = chip.dense_tflops(precision) * 1e12
    values = _evaluate(
        chip=chip,
        peak_flops=peak,
        spec=spec,
        demand=demand,
        a=a,
        batch=batch_size,
        candidates=candidates,
    )
    if over_window is not None and np.ndim(values["gpus"]) > 0 and np.any(over_window):
        # in a sweep, a scenario beyond the model's context window cannot be served
        values = _mask_scenarios(values, np.broadcast_to(over_window, np.shape(values["gpus"])))
    reason = None
    if np.ndim(values["gpus"]) == 0 and not values["feasible"]:
        reason = _infeasible_reason(chip, spec, demand, a, batch_size, candidates[-1])
    return ServingResult(
        accelerator=chip.id,
        precision=precision,
        model=spec.id,
        gpus_per_system=chip.gpus_per_system,
        infeasible_reason=reason,
        assumptions=_assumption_list(chip, spec, demand, a, batch_size),
        **values,
    )


def _mask_scenarios(values: dict[str, Any], over: np.ndarray) -> dict[str, Any]:
    """``values`` with the scenarios ``over`` infeasible: numbers NaN, words 'context_window'."""
    masked = dict(values)
    for key, value in values.items():
        arr = np.asarray(value) if not isinstance(value, dict | type(None)) else None
        if arr is None or arr.shape != over.shape:
            continue
        if key == "feasible":
            masked[key] = arr & ~over
        elif arr.dtype.kind in "USO":
            masked[key] = np.where(over, "context_window", arr)
        elif arr.dtype.kind == "f":
            masked[key] = np.where(over, np.nan, arr)
    return masked


def _model_spec(model: ModelSpec | str | None, params: Any, active_params: Any) -> ModelSpec:
    if model is not None:
        if params is not None or active_params is not None:
            raise InputError(
                "params", params, "no --params/--active-params with --model (it has its own)"
            )
        return model if isinstance(model, ModelSpec) else get_model(model)
    if params is None:
        raise InputError("params", None, "a parameter count, or a --model from data/models.csv")
    check_range("params", params, *RANGES["params"])
    if active_params is not None:
        check_range("active_params", active_params, *RANGES["active_params"])
        if np.any(np.asarray(active_params, dtype=float) > np.asarray(params, dtype=float)):
            raise InputError(
                "active_params",
                float(np.max(active_params)),
                "at most params (the parameters active per token are a subset)",
            )
    return estimate_architecture(params, active_params)


def _evaluate(
    *,
    chip: Accelerator,
    peak_flops: float,
    spec: ModelSpec,
    demand: ServingDemand,
    a: ServingAssumptions,
    batch: Any,
    candidates: list[int],
) -> dict[str, Any]:
    """The physics on arrays (inputs validated)."""
    s = a.sizing
    bpp = BYTES_PER_PARAM[s.precision]
    n = np.asarray(spec.total_params, dtype=float)
    n_a = np.asarray(spec.active_params, dtype=float)
    layers = np.asarray(spec.layers, dtype=float)
    attn = np.asarray(spec.attention_dim, dtype=float)
    kv_tok = np.asarray(spec.kv_values_per_token, dtype=float) * np.asarray(
        a.kv_bytes_per_value, dtype=float
    )
    s_in = np.asarray(demand.input_tokens, dtype=float)
    generated = np.asarray(demand.output_tokens, dtype=float) * np.asarray(a.reasoning_multiplier)
    ctx_avg = s_in + generated / 2.0  # mean context over the answer
    ctx_max = s_in + generated  # the KV of a sequence at its last token
    shape = np.broadcast_shapes(
        *(
            np.shape(x)
            for x in (
                n,
                n_a,
                kv_tok,
                s_in,
                generated,
                demand.users,
                demand.queries_per_user_day,
                a.tpot_target_s,
                a.ttft_target_s,
                a.bandwidth_utilisation,
                a.prefill_mfu,
                a.decode_mfu,
                a.memory_headroom,
                a.max_batch_size,
                a.peak_to_average,
                s.pue,
                s.design_pue if s.design_pue is not None else 1.0,
                s.network_overhead,
                s.avg_load_fraction,
                a.idle_load_fraction,
                a.tp_sync_s_per_layer,
                batch if batch is not None else 0.0,
            )
        )
    )
    bw_bps = chip.memory_bw_tbs * 1e12 * np.asarray(a.bandwidth_utilisation, dtype=float)
    flops_decode = peak_flops * np.asarray(a.decode_mfu, dtype=float)
    flops_prefill = peak_flops * np.asarray(a.prefill_mfu, dtype=float)
    flops_seq = 2.0 * n_a + 4.0 * layers * attn * ctx_avg
    prefill_f = prefill_flops(n_a, layers, attn, s_in)

    g, b, code = _choose_replica(
        chip_gps=chip.gpus_per_system,
        memory_gb=chip.memory_gb,
        bw_bps=bw_bps,
        flops_decode=flops_decode,
        flops_prefill=flops_prefill,
        n=n,
        n_a=n_a,
        bpp=bpp,
        kv_tok=kv_tok,
        ctx_avg=ctx_avg,
        ctx_max=ctx_max,
        flops_seq=flops_seq,
        prefill_f=prefill_f,
        generated=generated,
        layers=layers,
        a=a,
        batch_size=batch,
        shape=shape,
        candidates=candidates,
    )
    feasible = np.isfinite(g)
    # the chosen point, step by step
    t_mem, t_comp = decode_step_s(
        decode_step_bytes(b, n, n_a, bpp, kv_tok, ctx_avg), b * flops_seq, g, bw_bps, flops_decode
    )
    tpot = np.maximum(t_mem, t_comp) + tp_sync_s(g, layers, a.tp_sync_s_per_layer)
    ttft = prefill_f / (g * flops_prefill)
    per_query_s = ttft + generated * tpot / b  # replica-seconds per query
    qps_replica = 1.0 / per_query_s
    queries_avg = (
        np.asarray(demand.users, dtype=float)
        * np.asarray(demand.queries_per_user_day, dtype=float)
        / SECONDS_PER_DAY
    )
    queries_peak = queries_avg * np.asarray(a.peak_to_average, dtype=float)
    replicas = np.maximum(ceil_whole(queries_peak / qps_replica), 1.0)
    gpus = replicas * g
    gps = float(chip.gpus_per_system)
    systems = ceil_whole(gpus / gps)
    installed = systems * gps
    # GPU-equivalents busy on average / installed: spare GPUs of a part-filled system idle
    load = queries_avg * g / (qps_replica * installed)

    server_w = float(power.system_power_per_gpu_w(chip.system_power_kw, chip.gpus_per_system))
    it_peak_w = power.it_power_per_gpu_w(server_w, s.network_overhead)
    busy_w = power.average_server_power_per_gpu_w(
        server_w, s.avg_load_fraction, s.avg_power_per_gpu_w
    )
    idle_w = server_w * np.asarray(a.idle_load_fraction, dtype=float)
    avg_server_w = idle_w + (busy_w - idle_w) * load
    it_peak_mw = installed * it_peak_w / power.W_PER_MW
    design_pue = s.grid_pue()  # the grid connection carries the hottest hours
    fac_peak_mw = power.facility_power_w(it_peak_mw, design_pue)
    it_avg_mw = installed * power.it_power_per_gpu_w(avg_server_w, s.network_overhead) / 1e6
    fac_avg_mw = power.facility_power_w(it_avg_mw, s.pue)
    energy = power.energy_mwh(fac_avg_mw, HOURS_PER_YEAR)
    queries_year = queries_avg * SECONDS_PER_DAY * DAYS_PER_YEAR
    wh_query = energy * 1e6 / queries_year
    tokens_year = queries_year * (s_in + generated)
    output_year = queries_year * generated

    electricity = economics.electricity_cost_usd(energy, s.electricity_usd_per_mwh)
    money = _economics(chip, s, feasible, installed, it_peak_mw, electricity)
    cost = money.cost_usd(s.pricing)

    kv_gb = b * kv_tok * ctx_max / 1e9
    bound = np.where(t_comp > t_mem, "compute", "memory")
    limit = _LIMIT_WORDS[code]
    nan = np.where(feasible, 1.0, np.nan)
    result = {
        "feasible": feasible,
        "replicas": replicas * nan,
        "gpus_per_replica": g,
        "gpus": gpus * nan,
        "systems": systems * nan,
        "batch_size": b,
        "batch_limit": np.where(feasible, limit, "infeasible"),
        "decode_bound": np.where(feasible, bound, "infeasible"),
        "ttft_s": ttft,
        "tpot_s": tpot,
        "tokens_per_s_per_gpu": qps_replica * generated / g,
        "tokens_per_s_per_replica": qps_replica * generated,
        "queries_per_s_per_replica": qps_replica,
        "queries_per_s_average": queries_avg + 0.0 * nan,
        "queries_per_s_peak": queries_peak + 0.0 * nan,
        "generated_tokens_per_query": generated + 0.0 * nan,
        "load_fraction": load,
        "weights_gb_per_replica": n * bpp / 1e9 + 0.0 * nan,
        "kv_cache_gb_per_replica": kv_gb,
        "kv_cache_bytes_per_token": kv_tok + 0.0 * nan,
        "prefill_flops_per_query": prefill_f + 0.0 * nan,
        "decode_flops_per_query": generated * flops_seq + 0.0 * nan,
        "pue": np.asarray(s.pue, dtype=float) + 0.0 * nan,
        "design_pue": design_pue + 0.0 * nan,
        "it_power_mw": it_peak_mw,
        "facility_power_mw": fac_peak_mw,
        "average_it_power_mw": it_avg_mw,
        "average_facility_power_mw": fac_avg_mw,
        "energy_mwh_per_year": energy,
        "wh_per_query": wh_query,
        "served_hours": HOURS_PER_YEAR,
        "capex_usd": money.cluster_capex_usd,
        "cluster_capex_usd": money.cluster_capex_usd,
        "amortized_cost_usd": money.amortized_cost_usd,
        "rental_cost_usd": money.rental_cost_usd,
        "electricity_cost_usd": money.electricity_cost_usd,
        "cost_usd": cost,
        "pricing": s.pricing,
        "usd_per_million_tokens_amortized": money.amortized_cost_usd / tokens_year * 1e6,
        "usd_per_million_tokens_rented": money.rental_cost_usd / tokens_year * 1e6,
        "usd_per_million_tokens": cost / tokens_year * 1e6,
        "usd_per_million_output_tokens": cost / output_year * 1e6,
        "emissions_tco2_per_year": economics.emissions_tco2(energy, s.grid_gco2_per_kwh),
        "embodied_tco2": money.embodied_tco2,
    }
    scalar = len(shape) == 0
    values: dict[str, Any] = {}
    for key, value in result.items():
        arr = np.asarray(value)
        if scalar:
            kind = arr.dtype.kind
            values[key] = str(arr) if kind in "USO" else bool(arr) if kind == "b" else out(arr)
        elif arr.shape == shape:  # already one value per scenario: no copy
            values[key] = arr if arr.dtype.kind in "USOb" else arr.astype(float, copy=False)
        else:
            values[key] = np.broadcast_to(arr, shape).copy()
    values["energy_breakdown"] = (
        _breakdown(
            chip,
            server_w,
            float(busy_w),
            float(idle_w),
            float(load),
            float(s.network_overhead),
            float(s.pue),
        )
        if scalar and bool(feasible)
        else None
    )
    return values


def _infeasible_reason(
    chip: Accelerator,
    spec: ModelSpec,
    demand: ServingDemand,
    a: ServingAssumptions,
    batch: Any,
    g: int,
) -> str:
    """Why no replica of up to ``g`` GPUs serves one (scalar) scenario, in words."""
    bpp = BYTES_PER_PARAM[a.sizing.precision]
    n = float(spec.total_params)
    n_a = float(spec.active_params)
    w_gb = n * bpp / 1e9
    usable_gb = g * chip.memory_gb * (1.0 - float(a.memory_headroom))
    if w_gb >= usable_gb:
        return (
            f"the weights ({w_gb:,.0f} GB) do not fit in {g} {chip.id} GPU(s) "
            f"({usable_gb:,.0f} GB usable after the memory headroom)"
        )
    peak = chip.dense_tflops(a.sizing.precision) * 1e12
    s_in = float(demand.input_tokens)
    ttft = float(prefill_flops(n_a, spec.layers, spec.attention_dim, s_in)) / (
        g * peak * float(a.prefill_mfu)
    )
    if ttft > float(a.ttft_target_s):
        return (
            f"ttft_target_s = {float(a.ttft_target_s):g} cannot be met: the prefill of "
            f"{s_in:,.0f} tokens takes {ttft:.3g} s even on {g} {chip.id} GPUs"
        )
    what = f"batch {float(batch):g}" if batch is not None else "one sequence"
    return (
        f"tpot_target_s = {float(a.tpot_target_s):g} cannot be met with {what} on any replica "
        f"of up to {g} {chip.id} GPUs whose memory holds the weights and KV cache"
    )


def _assumption_list(
    chip: Accelerator,
    spec: ModelSpec,
    demand: ServingDemand,
    a: ServingAssumptions,
    batch: Any,
) -> dict[str, dict[str, Any]]:
    """Every value used, with its unit and source."""
    items: dict[str, dict[str, Any]] = {}

    def add(name: str, value: Any, unit: str, source: str) -> None:
        if isinstance(value, np.ndarray | pd.Series | list) and np.ndim(value) > 0:
            arr = np.asarray(value, dtype=float)
            value = f"{arr.size:,} values in [{np.nanmin(arr):.4g}, {np.nanmax(arr):.4g}]"
        items[name] = {"value": jsonable(value), "unit": unit, "source": source}

    model_source = (
        f"data/models.csv {spec.id}: {spec.source}" if spec.id != "estimated" else (spec.source)
    )
    add("model", spec.name, "", model_source)
    add("total_params", spec.total_params, "parameters", model_source)
    add("active_params", spec.active_params, "parameters per token", model_source)
    add("layers", spec.layers, "layers", model_source)
    add("kv_heads", spec.kv_heads, "heads", model_source)
    add("head_dim", spec.head_dim, "values", model_source)
    add("attention_dim", spec.attention_dim, "values", model_source + " (heads x head_dim)")
    for f in fields(demand):
        add(f.name, getattr(demand, f.name), _DEMAND_UNITS[f.name], "service input")
    if batch is not None:
        add("batch_size", batch, "sequences per replica", "user input")
    prec = a.sizing.precision
    add(
        "peak_dense_tflops",
        chip.dense_tflops(prec),
        "TFLOP/s per GPU",
        f"catalog {chip.id} ({prec} dense): {chip.source}",
    )
    add("bytes_per_param", BYTES_PER_PARAM[prec], "bytes", f"weights stored in {prec}")
    add("memory_gb", chip.memory_gb, "GB per GPU", f"catalog {chip.id}: {chip.source}")
    add("memory_bw_tbs", chip.memory_bw_tbs, "TB/s per GPU", f"catalog {chip.id}: {chip.source}")
    add("tdp_w", chip.tdp_w, "W", f"catalog {chip.id}: {chip.source}")
    add("gpus_per_system", chip.gpus_per_system, "GPUs", f"catalog {chip.id}: {chip.source}")
    add("system_power_kw", chip.system_power_kw, "kW", f"catalog {chip.id}: {chip.source}")
    for name, unit in ServingAssumptions.UNITS.items():
        add(name, getattr(a, name), unit, a.sources.get(name, "user input"))
    s = a.sizing
    for name in SIZING_INPUTS:
        value = getattr(s, name)
        unit = SizingAssumptions.UNITS[name]
        source = s.sources.get(name, "user input")
        if name == "design_pue" and value is None:
            value = s.grid_pue()
            source = facility.derived_design_pue_source()
        if value is None:
            continue
        if name == "avg_load_fraction":
            source += " (used here as a busy serving server's draw / nameplate)"
        if name == "pricing":
            source += f"; {amortization.PRICING_MODES[str(value)]}"
        add(name, value, unit, source)
    for row in amortization.price_assumptions(
        chip, s.price_usd_per_gpu, s.rent_usd_per_gpu_hour, date=s.price_date
    ):
        add(*row)
    add("served_hours", HOURS_PER_YEAR, "h", "one year of serving (365 days): costs are per year")
    return items


_DEMAND_UNITS = {
    "users": "users",
    "queries_per_user_day": "queries per user per day",
    "input_tokens": "tokens per query",
    "output_tokens": "tokens per query (before the reasoning multiplier)",
}
