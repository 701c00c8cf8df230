"""Constants, ranges and the infeasible-service error of the serving package."""

from __future__ import annotations

from planner.errors import PlannerError

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
