"""Serving: how many GPUs, megawatts and watt-hours per query an inference service needs.

Each step is a named function and every intermediate appears in the result:

1. **Model**: parameters (total, and active per token for a mixture of experts), layers, KV
   heads and head dimension, from ``data/models.csv`` or estimated from the parameter count
   (:func:`estimate_architecture`). KV cache per token = ``2 x layers x kv_heads x head_dim x
   bytes`` (keys and values).
2. **Prefill** (compute-bound): ``2 x N_active`` FLOPs per prompt token plus causal attention,
   ``2 x layers x attention_dim x S^2`` for a prompt of ``S`` tokens, at ``prefill_mfu`` of the
   dense peak. TTFT = the prefill of one prompt on its replica.
3. **Decode** (a roofline per chip and precision): one step of a batch of ``B`` sequences reads
   the weights (a mixture of experts reads at most ``B x N_active`` of them) plus the KV cache of
   the batch at HBM bandwidth x ``bandwidth_utilisation``, and computes ``B x (2 N_active +
   attention)`` FLOPs at ``decode_mfu`` of the dense peak; the slower of the two binds. A
   tensor-parallel group adds a synchronisation floor, ``2 x layers x tp_sync_s_per_layer``.
4. **Replica**: the smallest tensor/pipeline-parallel group (1, 2, 4 ... GPUs up to one system,
   then 2, 4 ... systems) whose HBM (less ``memory_headroom``) holds the weights plus the KV
   cache of its batch, the batch being the largest that meets the TPOT target (at most
   ``max_batch_size``) - or a given ``batch_size``. Precisely: the smallest group within 1% of
   the best throughput per GPU, so a group whose batch is squeezed by barely-fitting weights is
   passed over for one that serves more per GPU.
5. **Throughput**: a replica spends ``prefill + generated tokens x TPOT / B`` seconds per query.
6. **Demand**: users x queries per user per day, generated tokens = output tokens x
   ``reasoning_multiplier``, peak = average x ``peak_to_average`` -> replicas, GPUs, whole
   systems.
7. **Power** (the training chain of :mod:`planner.power`): peak facility MW = nameplate share x
   (1 + network) x PUE; average = idle + (busy - idle) x load, with busy = nameplate x
   ``avg_load_fraction`` and idle = nameplate x ``idle_load_fraction``; energy, Wh per query
   and tCO2. The grid peak uses the design-day PUE (``SizingAssumptions.grid_pue()``), the
   average power and energy the annual PUE.
8. **Money** (the training economics of :mod:`planner.amortization`, for one year of
   serving): ``amortized`` (servers, networking and facility share amortised over the service
   life for the hours served, + electricity; the default), ``rent`` (GPU-hours x rent, power
   included) or ``capex`` (the whole cluster purchase + electricity), with prices per chip
   from ``data/chip_economics.csv`` (estimates marked there); USD per million tokens follows
   the pricing in force.

Everything is vectorised over demand, architecture and assumptions (numpy arrays or pandas
Series of one length): ``benchmarks/bench_serving.py`` serves a million scenarios in one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner import amortization, economics, power
from planner._arrays import ceil_whole, jsonable, out
from planner._paths import data_dir
from planner.assumptions import ECONOMICS_FIELDS, SizingAssumptions
from planner.catalog import Accelerator, Catalog, load_catalog
from planner.errors import CatalogError, InputError, PlannerError
from planner.validation import check_fraction, check_range

SECONDS_PER_DAY = 86_400.0
HOURS_PER_YEAR = 8_760.0
DAYS_PER_YEAR = 365.0
#: Bytes per weight at each tensor precision (weights stored in the precision they compute in).
BYTES_PER_PARAM = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}
#: Largest replica considered, GPUs (a 64-system NVL72 group; beyond any serving deployment).
MAX_REPLICA_GPUS = 4_608
#: Replica groups serving within this fraction of the best throughput per GPU count as ties;
#: the smallest of them is chosen.
REPLICA_RATE_TIE = 0.01
#: Aspect ratio of the estimated architecture: hidden size / layers (Llama 3: 8B 128,
#: 70B 102, 405B 130), with 8 KV heads of 128 (GQA as in Llama 3, Qwen3, Mistral).
_EST_WIDTH_PER_LAYER = 128.0
_EST_KV_HEADS = 8.0
_EST_HEAD_DIM = 128.0

#: Ranges accepted for the demand and the model (beyond them a number is a typo).
RANGES: dict[str, tuple[float, float]] = {
    "users": (1.0, 1e11),
    "queries_per_user_day": (1e-6, 1e5),
    "input_tokens": (1.0, 1e7),
    "output_tokens": (1.0, 1e7),
    "reasoning_multiplier": (1.0, 1_000.0),
    "peak_to_average": (1.0, 20.0),
    "params": (1e6, 1e14),
    "active_params": (1e6, 1e14),
    "tpot_target_s": (1e-4, 60.0),
    "ttft_target_s": (1e-3, 3_600.0),
    "memory_headroom": (0.0, 0.9),
    "max_batch_size": (1.0, 1e6),
    "kv_bytes_per_value": (0.5, 4.0),
    "idle_load_fraction": (0.0, 1.0),
    "batch_size": (1.0, 1e6),
    "tp_sync_s_per_layer": (0.0, 1e-3),
}


class ServingInfeasible(PlannerError):
    """No replica on the chip meets the latency targets (the CLI exits 3 on it)."""


# --- 1. model architectures ----------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A transformer's serving-relevant architecture (units in the names).

    ``total_params`` are stored in HBM; ``active_params`` are computed per token (equal for
    dense models). Values may be arrays (an estimated architecture for many parameter counts).
    """

    id: str
    name: str
    total_params: Any
    active_params: Any
    layers: Any
    hidden_size: Any
    attention_heads: Any
    kv_heads: Any
    head_dim: Any
    source: str
    #: Longest context (prompt + generated tokens) the model accepts; ``None``: not known.
    context_window_tokens: Any = None

    @property
    def kv_values_per_token(self) -> Any:
        """Cached keys and values per token: 2 x layers x kv_heads x head_dim."""
        return 2.0 * np.asarray(self.layers) * np.asarray(self.kv_heads) * np.asarray(self.head_dim)

    @property
    def attention_dim(self) -> Any:
        """Query width attention computes with: heads x head_dim."""
        return np.asarray(self.attention_heads, dtype=float) * np.asarray(self.head_dim)

    def kv_bytes_per_token(self, bytes_per_value: Any = 2.0) -> Any:
        """KV cache per token, bytes."""
        return out(self.kv_values_per_token * np.asarray(bytes_per_value, dtype=float))


_MODEL_COLUMNS = {
    "id": str,
    "name": str,
    "total_params": float,
    "active_params": float,
    "layers": float,
    "hidden_size": float,
    "attention_heads": float,
    "kv_heads": float,
    "head_dim": float,
    "release_year": float,
    "context_window_tokens": float,
    "source": str,
}


@lru_cache(maxsize=1)
def load_models() -> dict[str, ModelSpec]:
    """The architectures of ``data/models.csv`` by id (validated: positive, sourced)."""
    path = data_dir() / "models.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in _MODEL_COLUMNS:
        if column not in df.columns:
            raise CatalogError(str(path), 1, column, "required column is missing")
    models: dict[str, ModelSpec] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        line = index + 2
        values: dict[str, Any] = {}
        for column, kind in _MODEL_COLUMNS.items():
            text = row[column].strip()
            if kind is str:
                if not text:
                    raise CatalogError(str(path), line, column, "a value is required")
                values[column] = text
                continue
            try:
                number = float(text)
            except ValueError:
                raise CatalogError(str(path), line, column, f"not a number: {text!r}") from None
            if not (math.isfinite(number) and number > 0):
                raise CatalogError(str(path), line, column, f"{text} is not a number > 0")
            values[column] = number
        if values["active_params"] > values["total_params"]:
            raise CatalogError(str(path), line, "active_params", "above total_params")
        values.pop("release_year")
        models[values["id"]] = ModelSpec(**values)
    return models


def get_model(model_id: str) -> ModelSpec:
    """The architecture ``model_id`` of ``data/models.csv``, or an InputError listing them."""
    models = load_models()
    key = str(model_id).strip().lower()
    if key not in models:
        raise InputError("model", model_id, "one of: " + ", ".join(models))
    return models[key]


def estimate_architecture(params: Any, active_params: Any = None) -> ModelSpec:
    """A Llama-3-like architecture for a bare parameter count (vectorised).

    ``N_active ~ 12 x layers x hidden^2`` with ``hidden = 128 x layers`` (Llama 3 8B/70B/405B:
    128/102/130), grouped-query attention with 8 KV heads of 128 (Llama 3, Qwen3). Llama 3.1
    70B comes out at 71 layers (80 real), 8B at 34 (32): KV cache within about 15%.
    """
    total = np.asarray(params, dtype=float)
    active = total if active_params is None else np.asarray(active_params, dtype=float)
    layers = np.maximum(np.round((active / (12.0 * _EST_WIDTH_PER_LAYER**2)) ** (1.0 / 3.0)), 1.0)
    hidden = layers * _EST_WIDTH_PER_LAYER
    return ModelSpec(
        id="estimated",
        name="estimated from parameters",
        total_params=out(total),
        active_params=out(active),
        layers=out(layers),
        hidden_size=out(hidden),
        attention_heads=out(hidden / _EST_HEAD_DIM),
        kv_heads=_EST_KV_HEADS,
        head_dim=_EST_HEAD_DIM,
        source=(
            "ESTIMATE from the parameter count: N_active = 12 x layers x hidden^2, hidden = 128 "
            "x layers, 8 KV heads x 128 (Llama 3 shape); pass --model for a published one"
        ),
    )


# --- 2. demand and assumptions --------------------------------------------------------------


@dataclass(frozen=True)
class ServingDemand:
    """Who asks how much: scalars or arrays of one common length.

    Attributes
    ----------
    users : users (daily active)
    queries_per_user_day : queries per user per day
    input_tokens : prompt tokens per query (incl. system prompt and conversation so far)
    output_tokens : visible answer tokens per query; generated tokens = output x
        ``reasoning_multiplier`` (an assumption, so a preset or flag can change it).
    """

    users: Any
    queries_per_user_day: Any
    input_tokens: Any
    output_tokens: Any

    def validate(self) -> None:
        for f in fields(self):
            check_range(f.name, getattr(self, f.name), *RANGES[f.name])


_SERVING_FIELDS = (
    "tpot_target_s",
    "ttft_target_s",
    "bandwidth_utilisation",
    "prefill_mfu",
    "decode_mfu",
    "memory_headroom",
    "max_batch_size",
    "kv_bytes_per_value",
    "idle_load_fraction",
    "peak_to_average",
    "reasoning_multiplier",
    "tp_sync_s_per_layer",
)


@lru_cache(maxsize=1)
def serving_default_table() -> dict[str, dict[str, Any]]:
    """Rows of ``data/serving_assumptions.csv`` by name: value, unit, source, description."""
    path = data_dir() / "serving_assumptions.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    table: dict[str, dict[str, Any]] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        try:
            value = float(row["value"])
        except ValueError:
            raise CatalogError(
                str(path), index + 2, "value", f"not a number: {row['value']!r}"
            ) from None
        if not row["source"].strip():
            raise CatalogError(str(path), index + 2, "source", "every default needs a source")
        table[row["name"]] = {
            "value": value,
            "unit": row["unit"],
            "source": row["source"],
            "description": row["description"],
        }
    missing = [n for n in _SERVING_FIELDS if n not in table]
    if missing:
        raise CatalogError(str(path), None, None, f"no row for {missing[0]!r}")
    return table


@dataclass(frozen=True)
class ServingAssumptions:
    """Every serving knob with its source, plus the training power/price chain it reuses.

    ``sizing`` carries PUE (annual, and ``design_pue`` for the grid peak), network overhead,
    ``avg_load_fraction`` (here: a busy server's draw / nameplate), electricity price, grid
    intensity, precision, the pricing mode, price overrides and the economics knobs
    (``service_life_years``, ``hardware_utilisation``, ``cost_of_capital``,
    ``networking_share``, ``facility_usd_per_mw``, ``facility_life_years``), with the defaults
    and sources of ``data/assumptions.csv`` and ``data/economics.csv`` - the same chain and
    economics as :mod:`planner.sizing`.
    """

    tpot_target_s: Any
    ttft_target_s: Any
    bandwidth_utilisation: Any
    prefill_mfu: Any
    decode_mfu: Any
    memory_headroom: Any
    max_batch_size: Any
    kv_bytes_per_value: Any
    idle_load_fraction: Any
    peak_to_average: Any
    reasoning_multiplier: Any
    tp_sync_s_per_layer: Any
    sizing: SizingAssumptions = field(default_factory=SizingAssumptions.defaults)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def defaults(cls) -> ServingAssumptions:
        table = serving_default_table()
        values = {n: table[n]["value"] for n in _SERVING_FIELDS}
        sources = {n: "default: " + table[n]["source"] for n in _SERVING_FIELDS}
        return cls(**values, sizing=SizingAssumptions.defaults(), sources=sources)

    def with_(self, source: str, **changes: Any) -> ServingAssumptions:
        """A copy with ``changes`` applied (``None`` ignored); sizing fields go to ``sizing``."""
        changes = {k: v for k, v in changes.items() if v is not None}
        own = {k: v for k, v in changes.items() if k in _SERVING_FIELDS}
        rest = {k: v for k, v in changes.items() if k not in _SERVING_FIELDS}
        sizing = self.sizing.with_(source, **rest) if rest else self.sizing
        sources = dict(self.sources)
        sources.update({k: source for k in own})
        return replace(self, **own, sizing=sizing, sources=sources)

    def validate(self) -> None:
        self.sizing.validate()
        check_range("tpot_target_s", self.tpot_target_s, *RANGES["tpot_target_s"])
        check_range("ttft_target_s", self.ttft_target_s, *RANGES["ttft_target_s"])
        check_fraction("bandwidth_utilisation", self.bandwidth_utilisation, floor=1e-3)
        check_fraction("prefill_mfu", self.prefill_mfu, floor=1e-3)
        check_fraction("decode_mfu", self.decode_mfu, floor=1e-3)
        for name in (
            "memory_headroom",
            "max_batch_size",
            "kv_bytes_per_value",
            "idle_load_fraction",
            "peak_to_average",
            "reasoning_multiplier",
            "tp_sync_s_per_layer",
        ):
            check_range(name, getattr(self, name), *RANGES[name])
        idle = np.asarray(self.idle_load_fraction, dtype=float)
        busy = np.asarray(self.sizing.avg_load_fraction, dtype=float)
        if np.any(idle > busy):
            raise InputError(
                "idle_load_fraction",
                float(np.max(idle)),
                f"at most the busy draw avg_load_fraction = {float(np.min(busy)):g}",
            )

    UNITS = {
        "tpot_target_s": "s per output token",
        "ttft_target_s": "s",
        "bandwidth_utilisation": "fraction of peak HBM bandwidth",
        "prefill_mfu": "fraction of dense peak",
        "decode_mfu": "fraction of dense peak",
        "memory_headroom": "fraction of HBM",
        "max_batch_size": "sequences per replica",
        "kv_bytes_per_value": "bytes",
        "idle_load_fraction": "fraction of nameplate",
        "peak_to_average": "ratio",
        "reasoning_multiplier": "x output tokens",
        "tp_sync_s_per_layer": "s per layer per decode step",
    }


def resolve_serving_assumptions(
    assumptions: ServingAssumptions | None, overrides: dict[str, Any], source: str = "user input"
) -> ServingAssumptions:
    """Defaults, then ``assumptions``, then keyword ``overrides``; validated."""
    base = assumptions if assumptions is not None else ServingAssumptions.defaults()
    resolved = base.with_(source, **overrides) if overrides else base
    resolved.validate()
    return resolved


# --- 3. physics, step by step (plain vectorised functions) -----------------------------------


def weight_bytes(total_params: Any, precision: str) -> Any:
    """Weights held in HBM, bytes: parameters x bytes per parameter at ``precision``."""
    return np.asarray(total_params, dtype=float) * BYTES_PER_PARAM[precision]


def prefill_flops(active_params: Any, layers: Any, attention_dim: Any, input_tokens: Any) -> Any:
    """FLOPs to process one prompt: ``2 N_active S`` + causal attention ``2 L d_attn S^2``."""
    s = np.asarray(input_tokens, dtype=float)
    return (
        2.0 * np.asarray(active_params, dtype=float) * s
        + 2.0 * np.asarray(layers, dtype=float) * np.asarray(attention_dim, dtype=float) * s**2
    )


def decode_step_bytes(
    batch: Any,
    total_params: Any,
    active_params: Any,
    bytes_per_param: float,
    kv_bytes_per_token: Any,
    context_tokens: Any,
) -> Any:
    """HBM bytes one decode step reads: weights touched + KV cache of the batch.

    A dense model reads all weights once per step; a mixture of experts reads the experts its
    ``B`` tokens route to, at most ``min(N_total, B x N_active)`` parameters.
    """
    b = np.asarray(batch, dtype=float)
    touched = np.minimum(np.asarray(total_params, dtype=float), np.maximum(b, 1.0) * active_params)
    return touched * bytes_per_param + b * np.asarray(kv_bytes_per_token) * np.asarray(
        context_tokens, dtype=float
    )


def decode_step_flops(
    batch: Any, active_params: Any, layers: Any, attention_dim: Any, context_tokens: Any
) -> Any:
    """FLOPs of one decode step: ``B x (2 N_active + 4 L d_attn x context)``."""
    return np.asarray(batch, dtype=float) * (
        2.0 * np.asarray(active_params, dtype=float)
        + 4.0 * np.asarray(layers) * np.asarray(attention_dim) * np.asarray(context_tokens)
    )


def decode_step_s(
    step_bytes: Any, step_flops: Any, gpus: Any, bandwidth_bps: Any, flops_per_s: Any
) -> tuple[Any, Any]:
    """(memory time, compute time) of one decode step on ``gpus`` GPUs, s (roofline: max binds).

    ``bandwidth_bps`` and ``flops_per_s`` are per GPU and already derated.
    """
    g = np.asarray(gpus, dtype=float)
    return step_bytes / (g * bandwidth_bps), step_flops / (g * flops_per_s)


def tp_sync_s(gpus: Any, layers: Any, sync_s_per_layer: Any) -> Any:
    """Synchronisation floor of one decode step on a tensor-parallel group, s.

    Two all-reduces per layer (after attention and after the MLP, Megatron-LM: Shoeybi et al.
    2019) whose latency does not shrink with the batch; none on one GPU.
    """
    g = np.asarray(gpus, dtype=float)
    return np.where(g > 1, 2.0 * np.asarray(layers, dtype=float) * sync_s_per_layer, 0.0)


def max_batch_for_tpot(
    tpot_s: Any,
    gpus: Any,
    bandwidth_bps: Any,
    flops_per_s: Any,
    total_params: Any,
    active_params: Any,
    bytes_per_param: float,
    kv_bytes_per_token: Any,
    context_tokens: Any,
    flops_per_sequence: Any,
) -> Any:
    """Largest (fractional) batch whose decode step fits in ``tpot_s`` on both roofs."""
    g = np.asarray(gpus, dtype=float)
    bytes_budget = np.asarray(tpot_s) * g * bandwidth_bps
    kv_seq = np.asarray(kv_bytes_per_token) * np.asarray(context_tokens)
    n = np.asarray(total_params, dtype=float)
    n_a = np.asarray(active_params, dtype=float)
    # while B x N_active <= N_total, every new sequence also brings fresh experts
    b_sparse = bytes_budget / (bytes_per_param * n_a + kv_seq)
    b_all = (bytes_budget - bytes_per_param * n) / kv_seq
    b_memory = np.where(b_sparse * n_a <= n, b_sparse, b_all)
    b_compute = np.asarray(tpot_s) * g * flops_per_s / flops_per_sequence
    return np.minimum(b_memory, b_compute)


def replica_candidates(gpus_per_system: int, limit: int = MAX_REPLICA_GPUS) -> list[int]:
    """Replica sizes tried, smallest first: 1, 2, 4 ... up to one system, then 2, 4 ... systems."""
    sizes = []
    g = 1
    while g < gpus_per_system:
        sizes.append(g)
        g *= 2
    g = gpus_per_system
    while g <= max(limit, gpus_per_system):
        sizes.append(g)
        g *= 2
    return sizes


# --- 4. the result --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingResult:
    """The answer for one service on one chip (or arrays of scenarios).

    ``facility_power_mw`` is the PEAK the grid must supply (nameplate chain, as training, at
    the design-day PUE ``design_pue``); ``average_facility_power_mw`` is what the meter sees:
    idle + (busy - idle) x load, at the annual ``pue``; ``wh_per_query`` is facility energy /
    queries served.

    Money is for one year of serving (``served_hours`` = 8,760 h), as a training run's for its
    hours (:func:`planner.amortization.run_economics`): ``amortized_cost_usd`` (hardware share
    + electricity), ``rental_cost_usd`` (GPU-hours x rent), ``cluster_capex_usd`` (up front,
    never part of ``amortized_cost_usd``), ``embodied_tco2`` (manufacturing emissions charged
    to the year); ``cost_usd`` is the one ``pricing`` names (``amortized``, ``rent`` or
    ``capex`` = capex + electricity). ``usd_per_million_tokens`` (every token processed:
    prompt + generated) and ``usd_per_million_output_tokens`` follow ``cost_usd``.
    """

    accelerator: str
    precision: str
    model: str
    feasible: Any
    replicas: Any
    gpus_per_replica: Any
    gpus: Any
    systems: Any
    gpus_per_system: int
    batch_size: Any
    batch_limit: Any
    decode_bound: Any
    ttft_s: Any
    tpot_s: Any
    tokens_per_s_per_gpu: Any
    tokens_per_s_per_replica: Any
    queries_per_s_per_replica: Any
    queries_per_s_average: Any
    queries_per_s_peak: Any
    generated_tokens_per_query: Any
    load_fraction: Any
    weights_gb_per_replica: Any
    kv_cache_gb_per_replica: Any
    kv_cache_bytes_per_token: Any
    prefill_flops_per_query: Any
    decode_flops_per_query: Any
    pue: Any
    design_pue: Any
    it_power_mw: Any
    facility_power_mw: Any
    average_it_power_mw: Any
    average_facility_power_mw: Any
    energy_mwh_per_year: Any
    wh_per_query: Any
    served_hours: Any
    capex_usd: Any
    cluster_capex_usd: Any
    amortized_cost_usd: Any
    rental_cost_usd: Any
    electricity_cost_usd: Any
    cost_usd: Any
    pricing: Any
    usd_per_million_tokens_amortized: Any
    usd_per_million_tokens_rented: Any
    usd_per_million_tokens: Any
    usd_per_million_output_tokens: Any
    emissions_tco2_per_year: Any
    embodied_tco2: Any
    energy_breakdown: dict[str, Any] | None
    infeasible_reason: str | None
    assumptions: dict[str, dict[str, Any]]
    #: Name of the serving preset the service started from (``None``: no preset).
    preset: str | None = None
    #: The preset's published figures next to the model's (rows of
    #: :func:`planner.serving_presets.published_comparison`), set ONLY when every input
    #: equals the preset's own; otherwise :attr:`changed_inputs` names what differs.
    published: list[dict[str, Any]] | None = None
    #: Inputs that differ from the preset's: ``{"field", "preset", "value"}`` dicts.
    changed_inputs: list[dict[str, Any]] | None = None
    #: The production fleet next to this ideal bound (:mod:`planner.serving.production`):
    #: ``ideal``, ``production``, ``production_over_ideal``, ``factors`` by part, ``efficiency``,
    #: ``gpu_power_fraction``, ``assumptions``; and ``compute_budget`` (the analysts' method).
    #: Set by :meth:`planner.serving_presets.ServiceRequest.serve` for a feasible scalar service.
    production: dict[str, Any] | None = None

    @property
    def is_scalar(self) -> bool:
        return np.ndim(self.gpus) == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays become lists; NaN and inf become None; whole counts ints).

        A preset service carries ``preset`` and either ``published`` (every input is the
        preset's) or ``changed_inputs`` (the inputs that differ); others carry neither.
        """
        from planner.sizing import json_counts, jsonable_rows

        d = {
            f.name: json_counts(f.name, jsonable(getattr(self, f.name)))
            for f in fields(self)
            if f.name not in _PRESET_KEYS and f.name != "production"
        }
        if self.production is not None:
            d["production"] = jsonable(self.production)
        if self.preset is not None:
            d["preset"] = self.preset
            if self.changed_inputs:
                d["changed_inputs"] = jsonable_rows(self.changed_inputs)
            else:
                d["published"] = jsonable_rows(self.published or [])
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario with every per-scenario column."""
        skip = {"assumptions", "energy_breakdown", "infeasible_reason", "production", *_PRESET_KEYS}
        cols = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        n = max((np.size(v) for v in cols.values() if isinstance(v, np.ndarray)), default=1)
        data = {
            k: (v if isinstance(v, np.ndarray) and v.size == n else np.repeat(v, n))
            for k, v in cols.items()
        }
        return pd.DataFrame(data)


_PRESET_KEYS = ("preset", "published", "changed_inputs")


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
    a = resolve_serving_assumptions(assumptions, overrides)
    demand.validate()
    spec = _model_spec(model, params, active_params)
    if spec.context_window_tokens is not None:
        context = np.asarray(demand.input_tokens, dtype=float) + np.asarray(
            demand.output_tokens, dtype=float
        ) * np.asarray(a.reasoning_multiplier, dtype=float)
        window = float(spec.context_window_tokens)
        if np.any(context > window):
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


def _breakdown(
    chip: Accelerator,
    server_w: float,
    busy_w: float,
    idle_w: float,
    load: float,
    network: float,
    pue: float,
) -> dict[str, float]:
    """Shares of average facility energy (sum 1): accelerators and host while serving, idle
    capacity, network and storage, facility overhead (cooling, conversion)."""
    gpu_share = min(chip.tdp_w / server_w, 1.0)
    active = busy_w * load  # a busy server's draw, the share of time it serves
    idle = idle_w * (1.0 - load)
    server = active + idle
    facility = server * (1.0 + network) * pue
    return {
        "accelerators": active * gpu_share / facility,
        "host": active * (1.0 - gpu_share) / facility,
        "idle_capacity": idle / facility,
        "network_storage": server * network / facility,
        "facility_overhead": server * (1.0 + network) * (pue - 1.0) / facility,
    }


def chip_prices(chip: Accelerator, s: SizingAssumptions) -> tuple[Any, Any, Any]:
    """Server price per GPU, rent per GPU-hour and embodied kgCO2e per GPU a fleet is costed at:
    as a training run, :func:`planner.amortization.chip_prices` with the overrides of ``s``."""
    return amortization.chip_prices(chip, s.price_usd_per_gpu, s.rent_usd_per_gpu_hour)


def _economics(
    chip: Accelerator,
    s: SizingAssumptions,
    feasible: Any,
    installed: Any,
    it_peak_mw: Any,
    electricity: Any,
) -> amortization.RunEconomics:
    """One year of serving priced as a training run of 365 days on the installed GPUs
    (:func:`planner.amortization.run_economics`); NaN where no replica is feasible."""
    price, rent, kg = chip_prices(chip, s)
    ok = np.asarray(feasible, dtype=bool)
    nan = np.where(ok, 1.0, np.nan)
    econ = amortization.run_economics(
        "(prices given)",
        np.where(ok, installed, 0.0),
        HOURS_PER_YEAR / 24.0,
        it_power_mw=np.where(ok, it_peak_mw, 0.0),
        electricity_cost_usd=np.where(ok, electricity, 0.0),
        server_price_usd_per_gpu=price,
        rent_usd_per_gpu_hour=rent,
        embodied_kgco2e_per_gpu=kg,
        life_years=s.service_life_years,
        utilisation=s.hardware_utilisation,
        cost_of_capital=s.cost_of_capital,
        networking_share=s.networking_share,
        facility_usd_per_mw=s.facility_usd_per_mw,
        facility_life_years=s.facility_life_years,
    )
    return replace(
        econ,
        amortized_cost_usd=econ.amortized_cost_usd * nan,
        rental_cost_usd=econ.rental_cost_usd * nan,
        cluster_capex_usd=econ.cluster_capex_usd * nan,
        embodied_tco2=econ.embodied_tco2 * nan,
        electricity_cost_usd=econ.electricity_cost_usd * nan,
    )


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
    for name in (
        "precision",
        "pue",
        "design_pue",
        "network_overhead",
        "avg_load_fraction",
        "avg_power_per_gpu_w",
        "electricity_usd_per_mwh",
        "grid_gco2_per_kwh",
        "pricing",
        "price_usd_per_gpu",
        "rent_usd_per_gpu_hour",
        *ECONOMICS_FIELDS,
    ):
        value = getattr(s, name)
        unit = SizingAssumptions.UNITS[name]
        source = s.sources.get(name, "user input")
        if name == "design_pue" and value is None:
            value = s.grid_pue()
            source = power.derived_design_pue_source()
        if value is None:
            continue
        if name == "avg_load_fraction":
            source += " (used here as a busy serving server's draw / nameplate)"
        if name == "pricing":
            source += f"; {amortization.PRICING_MODES[str(value)]}"
        add(name, value, unit, source)
    for row in amortization.price_assumptions(chip, s.price_usd_per_gpu, s.rent_usd_per_gpu_hour):
        add(*row)
    add("served_hours", HOURS_PER_YEAR, "h", "one year of serving (365 days): costs are per year")
    return items


_DEMAND_UNITS = {
    "users": "users",
    "queries_per_user_day": "queries per user per day",
    "input_tokens": "tokens per query",
    "output_tokens": "tokens per query (before the reasoning multiplier)",
}


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
