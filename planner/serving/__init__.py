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

The package, by part: :mod:`~planner.serving.catalog` (model architectures),
:mod:`~planner.serving.assumptions` (demand, assumption table), :mod:`~planner.serving.physics`
(the roofline steps), :mod:`~planner.serving.fleet` (the replica search, :func:`serve`: the
ideal bound), :mod:`~planner.serving.economics`, :mod:`~planner.serving.result`,
:mod:`~planner.serving.compare` (chips, models, frames, grid), :mod:`~planner.serving.measured`
(efficiency and GPU power fitted to measured configurations), :mod:`~planner.serving.production`
(the production fleet and the factors by part) and :mod:`~planner.serving.budget` (the
analysts' compute-budget method).
"""

from __future__ import annotations

from planner.serving.assumptions import (
    _SERVING_FIELDS,
    ServingAssumptions,
    ServingDemand,
    resolve_serving_assumptions,
    serving_default_table,
)
from planner.serving.base import (
    _EST_HEAD_DIM,
    _EST_KV_HEADS,
    _EST_WIDTH_PER_LAYER,
    BYTES_PER_PARAM,
    DAYS_PER_YEAR,
    HOURS_PER_YEAR,
    MAX_REPLICA_GPUS,
    RANGES,
    REPLICA_RATE_TIE,
    SECONDS_PER_DAY,
    ServingInfeasible,
)
from planner.serving.catalog import (
    _MODEL_COLUMNS,
    ModelSpec,
    estimate_architecture,
    get_model,
    load_models,
)
from planner.serving.compare import (
    _FRAME_ASSUMPTIONS,
    _FRAME_DEMAND,
    ServingGridFit,
    compare_models,
    compare_serving,
    serve_frame,
    serving_basis_columns,
    serving_grid_fit,
)
from planner.serving.economics import (
    _breakdown,
    _economics,
    chip_prices,
)
from planner.serving.fleet import (
    _DEMAND_UNITS,
    _LIMIT_WORDS,
    _assumption_list,
    _choose_replica,
    _evaluate,
    _infeasible_reason,
    _model_spec,
    serve,
)
from planner.serving.physics import (
    decode_step_bytes,
    decode_step_flops,
    decode_step_s,
    max_batch_for_tpot,
    prefill_flops,
    replica_candidates,
    tp_sync_s,
    weight_bytes,
)
from planner.serving.result import (
    _PRESET_KEYS,
    ServingResult,
)

__all__ = [
    "SECONDS_PER_DAY",
    "HOURS_PER_YEAR",
    "DAYS_PER_YEAR",
    "BYTES_PER_PARAM",
    "MAX_REPLICA_GPUS",
    "REPLICA_RATE_TIE",
    "_EST_WIDTH_PER_LAYER",
    "_EST_KV_HEADS",
    "_EST_HEAD_DIM",
    "RANGES",
    "ServingInfeasible",
    "ModelSpec",
    "_MODEL_COLUMNS",
    "load_models",
    "get_model",
    "estimate_architecture",
    "ServingDemand",
    "_SERVING_FIELDS",
    "serving_default_table",
    "ServingAssumptions",
    "resolve_serving_assumptions",
    "weight_bytes",
    "prefill_flops",
    "decode_step_bytes",
    "decode_step_flops",
    "decode_step_s",
    "tp_sync_s",
    "max_batch_for_tpot",
    "replica_candidates",
    "ServingResult",
    "_PRESET_KEYS",
    "_breakdown",
    "chip_prices",
    "_economics",
    "_choose_replica",
    "_LIMIT_WORDS",
    "serve",
    "_model_spec",
    "_evaluate",
    "_infeasible_reason",
    "_assumption_list",
    "_DEMAND_UNITS",
    "compare_serving",
    "serving_basis_columns",
    "compare_models",
    "_FRAME_DEMAND",
    "_FRAME_ASSUMPTIONS",
    "serve_frame",
    "ServingGridFit",
    "serving_grid_fit",
]

#: Names of :mod:`planner.serving_presets` readable from here (loaded on first use: that module
#: imports this package).
_PRESET_NAMES = ("ServiceRequest", "build_service_request", "serve_request", "ServingPreset")


def __getattr__(name: str):
    if name in _PRESET_NAMES:
        from planner import serving_presets

        return getattr(serving_presets, name)
    raise AttributeError(f"module 'planner.serving' has no attribute {name!r}")
