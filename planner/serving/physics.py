"""The serving physics, step by step: plain vectorised functions (prefill, decode roofline, replica sizes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.serving.base import BYTES_PER_PARAM, MAX_REPLICA_GPUS

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
