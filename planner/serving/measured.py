"""Serving efficiency and GPU power fitted to measured configurations.

``data/serving_measurements.csv`` holds measured serving configurations (model, chip,
precision, GPUs per replica, average running batch, tokens, GPU power, output throughput and
GPU energy per output token), each with its public source. Two small fits are made on them:

1. **Efficiency** (achieved / ideal throughput): the ideal is the roofline of this package at
   100% of the datasheet HBM bandwidth and dense peak (:func:`roofline_tokens_per_s`). The
   measured ratio is fitted by least squares as ``ln(efficiency) = theta . x`` with
   ``x = [1, ln(batch), ln(ideal decode step ms), MoE, ln(GPUs per replica), Blackwell, FP8]``
   (7 numbers): the batch term carries the scheduler and attention-kernel overheads that grow
   with the batch, the step-time term the fixed per-step cost (kernel launches, sampling, the
   scheduler) that a short ideal step cannot hide, MoE the expert routing, the GPU count the
   tensor-parallel collectives, Blackwell and FP8 how far the 2025 software stack is from
   those chips' and that precision's datasheet peaks. The same efficiency multiplies the
   bandwidth and the compute roofs (an achieved-over-ideal ratio of the whole step). Chips
   older than Blackwell (A100, H100, H200) share the Hopper baseline: an extrapolation for
   A100, which has no measured row.
2. **Power** (GPU draw / TDP, from idle to TDP): ``power = phi . [1, ln(batch per GPU),
   Blackwell, ln(ideal decode step ms)]`` (4 numbers), clipped to ``[idle, 1]`` with the idle
   fraction of ``data/gpu_power_curves.csv``: the draw rises with the batch each GPU carries
   (more of the step is arithmetic, less is waiting).

GPU energy per output token = GPUs x power / (ideal tokens/s x efficiency).
:func:`fit_report` gives in-sample, leave-one-out and leave-family-out (a family = one model)
ratios; the public fleet figures (ChatGPT servers, Epoch, Google, DeepSeek) are never used here.

On the 352 shipped configurations (14 models in 11 families, H100 and B200, BF16 and FP8,
1-8 GPUs, batches 8-3,600; all from the ML.ENERGY Leaderboard v3, so no family is a second
benchmark source), model / measured GPU energy per output token:

==================  ==============  ================  =========
method              geometric mean  within +-30%      range
==================  ==============  ================  =========
in sample           1.018           82%               0.51-1.86
leave-one-out       1.018           82%               0.50-1.87
leave-family-out    1.007           76%               0.50-2.12
==================  ==============  ================  =========

The worst misses are Qwen3 30B-A3B at small batches (x1.6-1.9): with 128 experts and 8 active
per token, the few sequences of a small batch share experts, so a step reads far fewer than
``batch x active`` parameters and the measured throughput is at or above the roofline's. The
low misses (x0.50-0.58) are B200 runs at batch 8-16 (Qwen3 8B and 32B on GPQA, Qwen3 235B
FP8): measured throughput 8-30% of the roofline, a host-bound step on the fastest chip that
the batch and step-time terms only partly capture. Leave-family-out, Qwen3 30B-A3B comes out
at x1.46 and DeepSeek-V3 at x1.26 (the two sparsest MoE), every other model within
x0.87-1.09.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner._paths import data_dir
from planner.catalog import Accelerator, load_catalog
from planner.errors import CatalogError

#: Columns ``data/serving_measurements.csv`` must have.
MEASUREMENT_COLUMNS = (
    "case",
    "family",
    "benchmark",
    "model",
    "accelerator",
    "precision",
    "gpus_per_replica",
    "batch_size",
    "input_tokens",
    "output_tokens",
    "energy_per_output_token_j",
    "gpu_power_w",
    "output_tokens_per_s",
    "source",
)
#: Names of the efficiency features, in order.
EFFICIENCY_FEATURES = (
    "intercept",
    "ln_batch",
    "ln_ideal_step_ms",
    "moe",
    "ln_gpus",
    "blackwell",
    "fp8",
)
POWER_FEATURES = ("intercept", "ln_batch_per_gpu", "blackwell", "ln_ideal_step_ms")
#: Chips fitted with the Blackwell terms (the others share the Hopper baseline).
BLACKWELL = ("b200", "b300", "gb200", "gb300")


@lru_cache(maxsize=1)
def load_measurements() -> pd.DataFrame:
    """The measured configurations of ``data/serving_measurements.csv`` (validated)."""
    path = data_dir() / "serving_measurements.csv"
    df = pd.read_csv(path)
    for column in MEASUREMENT_COLUMNS:
        if column not in df.columns:
            raise CatalogError(str(path), 1, column, "required column is missing")
    for i, src in enumerate(df["source"].fillna("")):
        if not str(src).strip():
            raise CatalogError(str(path), i + 2, "source", "every measurement needs a source")
    return df


def roofline_tokens_per_s(
    model: Any,
    chip: Accelerator,
    precision: str,
    gpus: Any,
    batch: Any,
    input_tokens: Any,
    output_tokens: Any,
    kv_bytes_per_value: float = 2.0,
) -> tuple[Any, Any]:
    """(ideal generated tokens/s of one replica, ideal decode step s) at 100% of the roofs.

    A replica of ``gpus`` GPUs decodes ``batch`` sequences together; each query is a prefill
    of ``input_tokens`` at the dense peak plus ``output_tokens`` decode steps at the slower of
    HBM bandwidth and dense peak (no latency target, no memory limit: a benchmark at a given
    batch). No tensor-parallel synchronisation floor: the fitted efficiency carries it.
    """
    from planner.serving import (
        BYTES_PER_PARAM,
        decode_step_bytes,
        decode_step_s,
        get_model,
        prefill_flops,
    )

    spec = model if not isinstance(model, str) else get_model(model)
    g = np.asarray(gpus, dtype=float)
    b = np.maximum(np.asarray(batch, dtype=float), 1.0)
    s_in = np.asarray(input_tokens, dtype=float)
    gen = np.asarray(output_tokens, dtype=float)
    peak = chip.dense_tflops(precision) * 1e12
    bw = chip.memory_bw_tbs * 1e12
    kv_tok = np.asarray(spec.kv_values_per_token, dtype=float) * kv_bytes_per_value
    ctx = s_in + gen / 2.0
    layers = float(spec.layers)
    attn = float(spec.attention_dim)
    n, n_a = float(spec.total_params), float(spec.active_params)
    flops_seq = 2.0 * n_a + 4.0 * layers * attn * ctx
    t_mem, t_comp = decode_step_s(
        decode_step_bytes(b, n, n_a, BYTES_PER_PARAM[precision], kv_tok, ctx),
        b * flops_seq,
        g,
        bw,
        peak,
    )
    step = np.maximum(t_mem, t_comp)
    ttft = prefill_flops(n_a, layers, attn, s_in) / (g * peak)
    per_query = ttft + gen * step / b
    return gen / per_query, step


def is_moe(model: str) -> bool:
    from planner.serving import get_model

    spec = get_model(model)
    return float(spec.active_params) < float(spec.total_params)


@lru_cache(maxsize=1)
def measurement_frame() -> pd.DataFrame:
    """The measurements with their ideal throughput, efficiency and power fraction."""
    df = load_measurements().copy()
    cat = load_catalog()
    ideal = np.full(len(df), np.nan)
    step = np.full(len(df), np.nan)
    for key, grp in df.groupby(["model", "accelerator", "precision"]):
        model, chip_id, precision = key
        tps, st = roofline_tokens_per_s(
            model,
            cat.get(chip_id),
            precision,
            grp["gpus_per_replica"].to_numpy(float),
            grp["batch_size"].to_numpy(float),
            grp["input_tokens"].to_numpy(float),
            grp["output_tokens"].to_numpy(float),
        )
        ideal[grp.index] = tps
        step[grp.index] = st
    df["ideal_tokens_per_s"] = ideal
    df["ideal_step_s"] = step
    df["efficiency"] = df["output_tokens_per_s"] / df["ideal_tokens_per_s"]
    df["tdp_w"] = [cat.get(c).tdp_w for c in df["accelerator"]]
    df["power_fraction"] = df["gpu_power_w"] / df["tdp_w"]
    df["moe"] = [float(is_moe(m)) for m in df["model"]]
    return df


def is_blackwell(chip_id: str) -> bool:
    return any(str(chip_id).lower().startswith(c) for c in BLACKWELL)


def efficiency_features(
    batch: Any, ideal_step_s: Any, moe: Any, gpus: Any, blackwell: Any, fp8: Any
) -> np.ndarray:
    """Feature matrix (n x 7) of the efficiency fit (:data:`EFFICIENCY_FEATURES`)."""
    b = np.maximum(np.asarray(batch, dtype=float), 1.0)
    parts = np.broadcast_arrays(
        np.atleast_1d(b),
        np.atleast_1d(np.asarray(ideal_step_s, dtype=float)),
        np.atleast_1d(np.asarray(moe, dtype=float)),
        np.atleast_1d(np.asarray(gpus, dtype=float)),
        np.atleast_1d(np.asarray(blackwell, dtype=float)),
        np.atleast_1d(np.asarray(fp8, dtype=float)),
    )
    b, st, m, g, bw, f8 = parts
    return np.column_stack([np.ones(b.shape), np.log(b), np.log(st * 1e3), m, np.log(g), bw, f8])


def power_features(batch: Any, gpus: Any, blackwell: Any, ideal_step_s: Any) -> np.ndarray:
    """Feature matrix (n x 4) of the power fit (:data:`POWER_FEATURES`)."""
    parts = np.broadcast_arrays(
        np.atleast_1d(np.maximum(np.asarray(batch, dtype=float), 1.0)),
        np.atleast_1d(np.asarray(gpus, dtype=float)),
        np.atleast_1d(np.asarray(blackwell, dtype=float)),
        np.atleast_1d(np.asarray(ideal_step_s, dtype=float)),
    )
    b, g, bw, st = parts
    return np.column_stack([np.ones(b.shape), np.log(b / g), bw, np.log(st * 1e3)])


@lru_cache(maxsize=1)
def idle_fractions() -> dict[str, float]:
    """Idle GPU draw / TDP by chip id (``data/gpu_power_curves.csv``)."""
    path = data_dir() / "gpu_power_curves.csv"
    df = pd.read_csv(path)
    out: dict[str, float] = {}
    for i, row in df.iterrows():
        if not str(row.get("source", "")).strip():
            raise CatalogError(str(path), int(i) + 2, "source", "every row needs a source")
        out[str(row["accelerator"])] = float(row["idle_w"]) / float(row["tdp_w"])
    return out


def idle_fraction(chip_id: str) -> float:
    """Idle / TDP of ``chip_id``; chips without a row take the lowest measured fraction."""
    table = idle_fractions()
    return table.get(chip_id, min(table.values()))


def _features(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    bw = [float(is_blackwell(c)) for c in df["accelerator"]]
    fp8 = (df["precision"] != "bf16").to_numpy(float)
    x = efficiency_features(
        df["batch_size"], df["ideal_step_s"], df["moe"], df["gpus_per_replica"], bw, fp8
    )
    z = power_features(df["batch_size"], df["gpus_per_replica"], bw, df["ideal_step_s"])
    return x, z


@dataclass(frozen=True)
class ServingFit:
    """Fitted coefficients: ``theta`` (ln efficiency) and ``phi`` (GPU power / TDP)."""

    theta: tuple[float, ...]
    phi: tuple[float, ...]
    rows: int
    families: int

    def efficiency(self, x: np.ndarray) -> np.ndarray:
        return np.exp(x @ np.asarray(self.theta))

    def power_fraction(self, z: np.ndarray, idle: Any) -> np.ndarray:
        return np.clip(z @ np.asarray(self.phi), np.asarray(idle, dtype=float), 1.0)


def _lstsq(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(a, y, rcond=None)[0]


def _fit(df: pd.DataFrame) -> ServingFit:
    x, z = _features(df)
    return _fit_arrays(
        x,
        z,
        np.log(df["efficiency"].to_numpy(float)),
        df["power_fraction"].to_numpy(float),
        int(df["family"].nunique()),
    )


def _fit_arrays(
    x: np.ndarray, z: np.ndarray, log_eff: np.ndarray, power_fraction: np.ndarray, families: int
) -> ServingFit:
    """The least-squares fit on feature rows already built (the features are per row, so a
    subset's features are the same rows of the whole frame's)."""
    return ServingFit(
        tuple(float(t) for t in _lstsq(x, log_eff)),
        tuple(float(p) for p in _lstsq(z, power_fraction)),
        len(x),
        families,
    )


@lru_cache(maxsize=1)
def serving_fit() -> ServingFit:
    """The efficiency and power fit on every measured configuration."""
    return _fit(measurement_frame())


def _predict_energy(fit: ServingFit, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, z = _features(df)
    return _predict_arrays(fit, x, z, _energy_columns(df))


def _energy_columns(df: pd.DataFrame) -> np.ndarray:
    """Per row: idle fraction, GPUs per replica, TDP (W), ideal tokens/s (n x 4)."""
    return np.column_stack(
        [
            [idle_fraction(c) for c in df["accelerator"]],
            df["gpus_per_replica"].to_numpy(float),
            df["tdp_w"].to_numpy(float),
            df["ideal_tokens_per_s"].to_numpy(float),
        ]
    )


def _predict_arrays(
    fit: ServingFit, x: np.ndarray, z: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eff = fit.efficiency(x)
    pf = fit.power_fraction(z, cols[:, 0])
    energy = cols[:, 1] * pf * cols[:, 2] / (cols[:, 3] * eff)
    return energy, eff, pf


@lru_cache(maxsize=1)
def fit_report() -> pd.DataFrame:
    """Per measured configuration: model / measured GPU energy per output token in sample,
    leave-one-out (refit without the row) and leave-family-out (refit without its model)."""
    df = measurement_frame().reset_index(drop=True)
    full = serving_fit()
    e_in, eff_in, pf_in = _predict_energy(full, df)
    # features, targets and energy columns once: each held-out fit takes rows of them
    x, z = _features(df)
    log_eff = np.log(df["efficiency"].to_numpy(float))
    power_fraction = df["power_fraction"].to_numpy(float)
    cols = _energy_columns(df)
    family = df["family"].to_numpy()

    def held_out(held: np.ndarray) -> np.ndarray:
        keep = ~held
        fit = _fit_arrays(
            x[keep], z[keep], log_eff[keep], power_fraction[keep], len(set(family[keep]))
        )
        return _predict_arrays(fit, x[held], z[held], cols[held])[0]

    e_loo = np.empty(len(df))
    for i in range(len(df)):
        e_loo[i] = held_out(np.arange(len(df)) == i)[0]
    e_lfo = np.empty(len(df))
    for fam in df["family"].unique():
        held = family == fam
        e_lfo[held] = held_out(held)
    measured = df["energy_per_output_token_j"].to_numpy(float)
    return pd.DataFrame(
        {
            "case": df["case"],
            "family": df["family"],
            "model": df["model"],
            "accelerator": df["accelerator"],
            "precision": df["precision"],
            "gpus_per_replica": df["gpus_per_replica"],
            "batch_size": df["batch_size"],
            "measured_j": measured,
            "model_j": e_in,
            "ratio_in_sample": e_in / measured,
            "ratio_loo": e_loo / measured,
            "ratio_lfo": e_lfo / measured,
            "efficiency_measured": df["efficiency"],
            "efficiency_fit": eff_in,
            "power_fraction_measured": df["power_fraction"],
            "power_fraction_fit": pf_in,
            "source": df["source"],
        }
    )


def fit_summary(report: pd.DataFrame | None = None) -> pd.DataFrame:
    """Geometric-mean ratio and share within +-30% in sample, leave-one-out, leave-family-out."""
    r = fit_report() if report is None else report
    rows = []
    for name, col in (
        ("in sample", "ratio_in_sample"),
        ("leave-one-out", "ratio_loo"),
        ("leave-family-out", "ratio_lfo"),
    ):
        v = r[col].to_numpy(float)
        rows.append(
            {
                "method": name,
                "configurations": len(v),
                "geometric_mean_ratio": float(np.exp(np.mean(np.log(v)))),
                "share_within_30pct": float(np.mean(np.abs(v - 1.0) <= 0.3)),
                "min_ratio": float(v.min()),
                "max_ratio": float(v.max()),
            }
        )
    return pd.DataFrame(rows)
