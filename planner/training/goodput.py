"""Goodput of a synchronous training run: failures, checkpoints, restarts, hot spares.

Goodput is the fraction of wall-clock time that ends up as useful training. A synchronous
run stops whenever any of its GPUs (or their servers, NICs, switches, software) fails, and
restarts from its last checkpoint. The chain, per run of ``n_gpus``:

1. Cluster MTBF = 1 / (n_gpus x failure rate per GPU-hour): it falls as 1 / N.
2. Checkpoint write time = checkpoint bytes (16 bytes per parameter for mixed-precision
   Adam, Rajbhandari et al. 2020, arXiv 1910.02054) / aggregate write bandwidth (per GPU x
   N, capped by the storage system's bandwidth if given). An asynchronous (in-memory)
   checkpoint blocks only for the GPU-to-host copy of each GPU's shard; its residual cost is
   that the checkpoint still being written is lost with a failure.
3. Checkpoint interval (compute time between checkpoints) by Young (1974):
   ``tau = sqrt(2 x delta x MTBF)``, or Daly's higher-order form (Daly 2006, Future
   Generation Computer Systems 22(3), eq. 37).
4. Lost work per failure = half an interval (plus the checkpoint write) + restart/recovery
   time (plus the wait for a replacement server when there is no hot spare).
5. Goodput = useful time / wall-clock time. ``expectation="exponential"`` (default) is
   Daly's expected wall-clock time under Poisson failures (failures during a restart or a
   checkpoint count too): ``goodput = tau / (M e^(R/M) (e^((tau + delta)/M) - 1))``;
   ``"first_order"`` is ``tau / ((tau + delta)(1 + ((tau + delta)/2 + R)/M))``. Both agree
   when failures are rare and both fall monotonically as N grows.

Calibration: the failure rate is fitted on ONE public record, Llama 3 405B (Dubey et al.
2024, arXiv 2407.21783, sec. 3.3.4): 419 unexpected interruptions in a 54-day snapshot on
16,384 H100 (one every ~3.1 h), ~78% hardware, and more than 90% effective training time.
Held-out published records (``data/failures.csv``) validate it: :func:`validate_failures`.
Defaults per hardware generation are in ``data/goodput_assumptions.csv`` (ESTIMATE marks the
planning values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner._paths import data_dir
from planner.errors import CatalogError, InputError

#: Held-out records are matched when the model is within this factor of the published
#: figure (|ln(model / published)| <= ln 2). Stated before the model was run on them: one
#: operator's two A100 clusters differ by 2.8x (Kokolis et al. 2024, arXiv 2410.21680).
VALIDATION_TOLERANCE_FACTOR = 2.0

#: Bytes per GB (storage and PCIe bandwidths are decimal).
BYTES_PER_GB = 1e9
#: GPUs per node in the node-day failure rates of Kokolis et al. 2024 (8-GPU servers).
GPUS_PER_NODE = 8

CheckpointMode = Literal["blocking", "async"]
IntervalRule = Literal["young", "daly"]
Expectation = Literal["exponential", "first_order"]

_ASSUMPTION_NAMES = (
    "failure_rate_hardware_per_gpu_hour",
    "failure_rate_other_per_gpu_hour",
    "checkpoint_bytes_per_param",
    "write_bandwidth_gb_s_per_gpu",
    "restart_recovery_minutes",
    "host_copy_bandwidth_gb_s_per_gpu",
    "node_replacement_hours",
    "hot_spare_fraction",
)


# --------------------------------------------------------------------------------------
# Defaults per generation (data/goodput_assumptions.csv)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoodputDefaults:
    """The goodput defaults of one hardware generation (``data/goodput_assumptions.csv``).

    Attributes carry their unit in the name; ``sources`` maps each name to its public source
    (ESTIMATE marks planning values, CALIBRATED the values fitted on the Llama 3 record).
    """

    generation: str
    chips: tuple[str, ...]
    failure_rate_hardware_per_gpu_hour: float
    failure_rate_other_per_gpu_hour: float
    checkpoint_bytes_per_param: float
    write_bandwidth_gb_s_per_gpu: float
    restart_recovery_minutes: float
    host_copy_bandwidth_gb_s_per_gpu: float
    node_replacement_hours: float
    hot_spare_fraction: float
    sources: dict[str, str] = field(default_factory=dict, compare=False)


@lru_cache(maxsize=1)
def load_goodput_assumptions() -> dict[str, GoodputDefaults]:
    """Read ``data/goodput_assumptions.csv``: the defaults of every generation, by name.

    Raises
    ------
    CatalogError
        Naming the file, the line and the column of a missing, duplicated or non-numeric
        value.
    """
    path = data_dir() / "goodput_assumptions.csv"
    shown = "data/goodput_assumptions.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    values: dict[str, dict[str, float]] = {}
    sources: dict[str, dict[str, str]] = {}
    chips: dict[str, tuple[str, ...]] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        line = index + 2
        gen = row["generation"].strip()
        if row["name"] not in _ASSUMPTION_NAMES:
            raise CatalogError(
                shown, line, "name", f"unknown {row['name']!r}: expected one of the model's"
            )
        try:
            value = float(row["value"])
        except ValueError:
            raise CatalogError(shown, line, "value", f"not a number: {row['value']!r}") from None
        if not math.isfinite(value) or value < 0:
            raise CatalogError(shown, line, "value", f"{row['value']!r}: expected a number >= 0")
        if not row["source"].strip():
            raise CatalogError(shown, line, "source", "every default needs a source")
        ids = tuple(row["chips"].split())
        if chips.setdefault(gen, ids) != ids:
            raise CatalogError(shown, line, "chips", f"differs from the first {gen} row")
        if row["name"] in values.setdefault(gen, {}):
            raise CatalogError(shown, line, "name", f"{row['name']!r} given twice for {gen}")
        values[gen][row["name"]] = value
        sources.setdefault(gen, {})[row["name"]] = row["source"].strip()
    table: dict[str, GoodputDefaults] = {}
    for gen, vals in values.items():
        missing = [n for n in _ASSUMPTION_NAMES if n not in vals]
        if missing:
            raise CatalogError(shown, None, "name", f"{gen} has no {missing[0]} row")
        table[gen] = GoodputDefaults(gen, chips[gen], **vals, sources=sources[gen])
    return table


def generation_of(chip: str, *, field_name: str = "chip") -> str:
    """The hardware generation of a catalog chip id (``h100`` -> ``hopper``).

    A generation name is returned as it is. Raises :class:`InputError` listing the known
    chips and generations otherwise.
    """
    table = load_goodput_assumptions()
    key = str(chip).strip().lower()
    if key in table:
        return key
    for gen, defaults in table.items():
        if key in defaults.chips:
            return gen
    known = [c for d in table.values() for c in d.chips] + list(table)
    raise InputError(field_name, chip, "one of: " + ", ".join(known))


def defaults_for(chip_or_generation: str) -> GoodputDefaults:
    """The goodput defaults of a chip id or generation name (``data/goodput_assumptions.csv``)."""
    return load_goodput_assumptions()[generation_of(chip_or_generation)]


# --------------------------------------------------------------------------------------
# Physics (numpy-vectorised)
# --------------------------------------------------------------------------------------


def cluster_mtbf_hours(n_gpus: Any, failure_rate_per_gpu_hour: Any) -> Any:
    """Mean time between interruptions of a synchronous run, h: 1 / (N x rate per GPU-hour).

    Any failure stops the whole run, so the run's failure rate is the sum over its GPUs
    (Poisson failures): the MTBF falls as 1 / N.
    """
    return 1.0 / (np.asarray(n_gpus, dtype=float) * np.asarray(failure_rate_per_gpu_hour))


def checkpoint_size_bytes(params: Any, bytes_per_param: Any = 16.0) -> Any:
    """Bytes of one full checkpoint: parameters x bytes per parameter (16: mixed-precision
    Adam, Rajbhandari et al. 2020, arXiv 1910.02054, sec. 3.1)."""
    return np.asarray(params, dtype=float) * np.asarray(bytes_per_param, dtype=float)


def checkpoint_write_s(
    checkpoint_bytes: Any,
    n_gpus: Any,
    write_bandwidth_gb_s_per_gpu: Any,
    storage_bandwidth_gb_s: Any = None,
) -> Any:
    """Time to write a checkpoint, s: bytes / (per-GPU bandwidth x N, capped by storage)."""
    aggregate = np.asarray(n_gpus, dtype=float) * np.asarray(write_bandwidth_gb_s_per_gpu)
    if storage_bandwidth_gb_s is not None:
        aggregate = np.minimum(aggregate, np.asarray(storage_bandwidth_gb_s, dtype=float))
    return np.asarray(checkpoint_bytes, dtype=float) / (aggregate * BYTES_PER_GB)


def async_blocking_s(
    checkpoint_bytes: Any, n_gpus: Any, host_copy_bandwidth_gb_s_per_gpu: Any
) -> Any:
    """Blocking part of an asynchronous checkpoint, s: each GPU's shard copied to host memory.

    The write to storage then runs in the background (Mohan et al. 2021, CheckFreq, USENIX
    FAST; Wang et al. 2023, Gemini, SOSP).
    """
    shard = np.asarray(checkpoint_bytes, dtype=float) / np.asarray(n_gpus, dtype=float)
    return shard / (np.asarray(host_copy_bandwidth_gb_s_per_gpu, dtype=float) * BYTES_PER_GB)


def young_interval_s(checkpoint_s: Any, mtbf_s: Any) -> Any:
    """Young's optimal compute time between checkpoints, s: ``sqrt(2 x delta x MTBF)``
    (Young 1974, Communications of the ACM 17(9))."""
    return np.sqrt(2.0 * np.asarray(checkpoint_s, dtype=float) * np.asarray(mtbf_s, dtype=float))


def daly_interval_s(checkpoint_s: Any, mtbf_s: Any) -> Any:
    """Daly's higher-order optimal interval, s (Daly 2006, FGCS 22(3), eq. 37).

    ``sqrt(2 delta M) [1 + sqrt(delta / 2M) / 3 + (delta / 2M) / 9] - delta`` for
    ``delta < 2M``; ``M`` otherwise.
    """
    delta = np.asarray(checkpoint_s, dtype=float)
    mtbf = np.asarray(mtbf_s, dtype=float)
    x = delta / (2.0 * mtbf)
    series = np.sqrt(2.0 * delta * mtbf) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - delta
    return np.where(delta < 2.0 * mtbf, series, mtbf)


def goodput_fraction(
    interval_s: Any,
    blocking_s: Any,
    mtbf_s: Any,
    recovery_s: Any,
    expectation: Expectation = "exponential",
) -> Any:
    """Useful time / wall-clock time for compute segments of ``interval_s`` each followed by
    a checkpoint blocking ``blocking_s``, failures every ``mtbf_s`` on average and
    ``recovery_s`` of extra loss per failure beyond the half-segment redone.

    ``"exponential"``: Daly's (2006) expectation under Poisson failures,
    ``tau / (M e^(R/M) (e^((tau + delta)/M) - 1))``. ``"first_order"``:
    ``tau / ((tau + delta)(1 + ((tau + delta)/2 + R)/M))``.
    """
    tau = np.asarray(interval_s, dtype=float)
    delta = np.asarray(blocking_s, dtype=float)
    mtbf = np.asarray(mtbf_s, dtype=float)
    rec = np.asarray(recovery_s, dtype=float)
    segment = tau + delta
    if expectation == "exponential":
        with np.errstate(over="ignore"):
            wall = mtbf * np.exp(rec / mtbf) * np.expm1(segment / mtbf)
    elif expectation == "first_order":
        wall = segment * (1.0 + (segment / 2.0 + rec) / mtbf)
    else:
        raise InputError("expectation", expectation, "one of: exponential, first_order")
    return tau / wall


# --------------------------------------------------------------------------------------
# The result and the two entry points
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoodputResult:
    """Goodput of a run and every step behind it (arrays broadcast over the inputs).

    Attributes
    ----------
    n_gpus : GPUs of the run (training, not counting spares).
    failure_rate_per_gpu_hour : hardware + other interruptions per GPU-hour.
    mtbf_hours : cluster mean time between interruptions, h.
    failures_per_day : expected interruptions per day of wall-clock time.
    checkpoint_size_tb : bytes of one checkpoint / 1e12, TB.
    checkpoint_write_s : time to write it to storage, s.
    checkpoint_blocking_s : time training stops per checkpoint, s (= the write when
        blocking; the GPU-to-host copy when asynchronous).
    checkpoint_interval_s : compute time between checkpoints, s (Young or Daly).
    restart_recovery_s : detect, restart and reload time per failure, s (plus the wait for
        a replacement server on hardware failures when the run has no spare).
    lost_work_per_failure_s : half a segment redone + recovery (+ the write in flight when
        asynchronous), s.
    checkpoint_overhead_fraction : delta / (tau + delta).
    failure_loss_fraction : share of the remaining time lost to failures.
    goodput : useful / wall-clock = (1 - checkpoint overhead) x (1 - failure loss).
    spare_gpus : idle hot-spare GPUs kept beside the run (whole servers).
    spare_capex_usd : their purchase price (NaN when no price is given).
    checkpoint_mode, interval_rule, expectation : the options used.
    sources : where each default came from.
    """

    n_gpus: Any
    failure_rate_per_gpu_hour: Any
    mtbf_hours: Any
    failures_per_day: Any
    checkpoint_size_tb: Any
    checkpoint_write_s: Any
    checkpoint_blocking_s: Any
    checkpoint_interval_s: Any
    restart_recovery_s: Any
    lost_work_per_failure_s: Any
    checkpoint_overhead_fraction: Any
    failure_loss_fraction: Any
    goodput: Any
    spare_gpus: Any
    spare_capex_usd: Any
    checkpoint_mode: str
    interval_rule: str
    expectation: str
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (floats, ints, lists) for JSON: counts as int, arrays as lists."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, (str, dict)):
                out[name] = value
                continue
            arr = np.asarray(value)
            if name in ("n_gpus", "spare_gpus"):
                arr = arr.astype(np.int64)
            out[name] = arr.tolist() if arr.ndim else arr.item()
        return out


def _check(name: str, value: Any, ok: Any, allowed: str) -> np.ndarray:
    """``value`` as a float array, or an :class:`InputError` naming the first bad value as
    given (never rounded into range)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(name, value, allowed) from None
    with np.errstate(invalid="ignore"):
        good = np.isfinite(arr) & ok(arr)
    if not np.all(good):
        first = value
        if arr.ndim:
            first = np.ravel(np.asarray(value))[int(np.flatnonzero(~np.ravel(good))[0])]
        if isinstance(first, np.generic):
            first = first.item()
        raise InputError(name, first, allowed)
    return arr


def goodput(
    n_gpus: Any,
    params: Any,
    *,
    failure_rate_hardware_per_gpu_hour: Any = None,
    failure_rate_other_per_gpu_hour: Any = None,
    checkpoint_bytes_per_param: Any = None,
    write_bandwidth_gb_s_per_gpu: Any = None,
    storage_bandwidth_gb_s: Any = None,
    restart_recovery_s: Any = None,
    checkpoint: CheckpointMode = "blocking",
    host_copy_bandwidth_gb_s_per_gpu: Any = None,
    interval: IntervalRule | float = "young",
    spare_gpus: Any = None,
    node_replacement_s: Any = 0.0,
    price_usd_per_gpu: Any = None,
    min_interval_s: Any = None,
    expectation: Expectation = "exponential",
    sources: dict[str, str] | None = None,
) -> GoodputResult:
    """Goodput of a synchronous training run of ``n_gpus`` on a model of ``params``.

    Every input broadcasts (numpy); omitted rates and bandwidths take the Hopper defaults of
    ``data/goodput_assumptions.csv`` (the calibration generation). Use :func:`goodput_for`
    to take them from a chip's generation.

    Parameters
    ----------
    n_gpus : GPUs training (>= 1).
    params : total model parameters (> 0); sets the checkpoint size.
    failure_rate_hardware_per_gpu_hour, failure_rate_other_per_gpu_hour : failures per
        GPU-hour (>= 0, sum > 0); hardware ones wait for a replacement without a spare.
    checkpoint_bytes_per_param : bytes per parameter in a checkpoint (16: mixed-precision Adam).
    write_bandwidth_gb_s_per_gpu : checkpoint write bandwidth per GPU, GB/s.
    storage_bandwidth_gb_s : cap on the aggregate write bandwidth, GB/s (None: no cap).
    restart_recovery_s : time from a failure to training again, s.
    checkpoint : ``"blocking"`` or ``"async"`` (in-memory snapshot, background write).
    host_copy_bandwidth_gb_s_per_gpu : GPU-to-host copy rate of an async snapshot, GB/s.
    interval : ``"young"``, ``"daly"`` or a fixed compute time between checkpoints, s.
    spare_gpus : hot-spare GPUs kept idle beside the run (None: 0).
    node_replacement_s : extra wait per hardware failure when ``spare_gpus`` is 0, s.
    price_usd_per_gpu : purchase price, to cost the spares (None: NaN).
    min_interval_s : shortest compute time between checkpoints, s (e.g. one training step:
        a checkpoint is taken between steps). None: no floor.
    expectation : ``"exponential"`` (Daly 2006, failures during restarts count) or
        ``"first_order"``.

    Raises
    ------
    InputError
        One line naming the field, the value as given and the allowed range. When the
        checkpoint takes as long as the MTBF or longer, ``checkpoint_write_s`` is named
        with the MTBF: the run cannot make progress.
    """
    hopper = load_goodput_assumptions()["hopper"]
    given = {
        "failure_rate_hardware_per_gpu_hour": failure_rate_hardware_per_gpu_hour,
        "failure_rate_other_per_gpu_hour": failure_rate_other_per_gpu_hour,
        "checkpoint_bytes_per_param": checkpoint_bytes_per_param,
        "write_bandwidth_gb_s_per_gpu": write_bandwidth_gb_s_per_gpu,
        "restart_recovery_minutes": restart_recovery_s,
        "host_copy_bandwidth_gb_s_per_gpu": host_copy_bandwidth_gb_s_per_gpu,
    }
    if failure_rate_hardware_per_gpu_hour is None:
        failure_rate_hardware_per_gpu_hour = hopper.failure_rate_hardware_per_gpu_hour
    if failure_rate_other_per_gpu_hour is None:
        failure_rate_other_per_gpu_hour = hopper.failure_rate_other_per_gpu_hour
    if checkpoint_bytes_per_param is None:
        checkpoint_bytes_per_param = hopper.checkpoint_bytes_per_param
    if write_bandwidth_gb_s_per_gpu is None:
        write_bandwidth_gb_s_per_gpu = hopper.write_bandwidth_gb_s_per_gpu
    if restart_recovery_s is None:
        restart_recovery_s = hopper.restart_recovery_minutes * 60.0
    if host_copy_bandwidth_gb_s_per_gpu is None:
        host_copy_bandwidth_gb_s_per_gpu = hopper.host_copy_bandwidth_gb_s_per_gpu
    if checkpoint not in ("blocking", "async"):
        raise InputError("checkpoint", checkpoint, "one of: blocking, async")
    if expectation not in ("exponential", "first_order"):
        raise InputError("expectation", expectation, "one of: exponential, first_order")
    if isinstance(interval, str) and interval not in ("young", "daly"):
        raise InputError("interval", interval, "one of: young, daly, or seconds > 0")

    n = _check("n_gpus", n_gpus, lambda a: a >= 1, "a whole number of GPUs >= 1")
    p = _check("params", params, lambda a: a > 0, "a number of parameters > 0")
    hw = _check(
        "failure_rate_hardware_per_gpu_hour",
        failure_rate_hardware_per_gpu_hour,
        lambda a: a >= 0,
        "a finite number >= 0 (failures per GPU-hour)",
    )
    other = _check(
        "failure_rate_other_per_gpu_hour",
        failure_rate_other_per_gpu_hour,
        lambda a: a >= 0,
        "a finite number >= 0 (failures per GPU-hour)",
    )
    rate = hw + other
    _check(
        "failure_rate_per_gpu_hour",
        rate,
        lambda a: a > 0,
        "hardware + other > 0 (failures per GPU-hour)",
    )
    bpp = _check(
        "checkpoint_bytes_per_param", checkpoint_bytes_per_param, lambda a: a > 0, "> 0 bytes"
    )
    wbw = _check(
        "write_bandwidth_gb_s_per_gpu", write_bandwidth_gb_s_per_gpu, lambda a: a > 0, "> 0 GB/s"
    )
    if storage_bandwidth_gb_s is not None:
        _check("storage_bandwidth_gb_s", storage_bandwidth_gb_s, lambda a: a > 0, "> 0 GB/s")
    rec = _check("restart_recovery_s", restart_recovery_s, lambda a: a >= 0, ">= 0 s")
    hcb = _check(
        "host_copy_bandwidth_gb_s_per_gpu",
        host_copy_bandwidth_gb_s_per_gpu,
        lambda a: a > 0,
        "> 0 GB/s",
    )
    spares = _check(
        "spare_gpus", 0 if spare_gpus is None else spare_gpus, lambda a: a >= 0, ">= 0 GPUs"
    )
    wait = _check("node_replacement_s", node_replacement_s, lambda a: a >= 0, ">= 0 s")
    if not isinstance(interval, str):
        _check("interval", interval, lambda a: a > 0, "one of: young, daly, or seconds > 0")

    mtbf_h = cluster_mtbf_hours(n, rate)
    mtbf_s = mtbf_h * 3600.0
    size = checkpoint_size_bytes(p, bpp)
    write_s = checkpoint_write_s(size, n, wbw, storage_bandwidth_gb_s)
    _progress_check(write_s, mtbf_s)
    if checkpoint == "blocking":
        blocking_s = write_s
        in_flight_s = np.zeros_like(write_s)
    else:
        blocking_s = async_blocking_s(size, n, hcb)
        in_flight_s = write_s
        _progress_check(blocking_s, mtbf_s)
    if interval == "young":
        tau = young_interval_s(blocking_s, mtbf_s)
    elif interval == "daly":
        tau = daly_interval_s(blocking_s, mtbf_s)
    else:
        tau = np.asarray(interval, dtype=float) + 0.0 * blocking_s
    if min_interval_s is not None:
        tau = np.maximum(tau, _check("min_interval_s", min_interval_s, lambda a: a >= 0, ">= 0 s"))
    if checkpoint == "async":
        # the next snapshot cannot start before the previous one is on storage
        tau = np.maximum(tau, write_s)
    hardware_share = hw / rate
    recovery = rec + np.where(spares > 0, 0.0, hardware_share * wait)
    extra = recovery + in_flight_s  # beyond the half segment redone
    g = goodput_fraction(tau, blocking_s, mtbf_s, extra, expectation)
    ckpt_overhead = blocking_s / (tau + blocking_s)
    price = np.nan if price_usd_per_gpu is None else np.asarray(price_usd_per_gpu, dtype=float)
    # the source of every value this call took from the defaults (the caller's own win)
    merged = {name: hopper.sources[name] for name, value in given.items() if value is None}
    if given["failure_rate_hardware_per_gpu_hour"] is None:
        merged["failure_rate_per_gpu_hour"] = hopper.sources["failure_rate_hardware_per_gpu_hour"]
    merged.update(sources or {})
    return GoodputResult(
        n_gpus=n,
        failure_rate_per_gpu_hour=rate + 0.0 * n,
        mtbf_hours=mtbf_h,
        failures_per_day=24.0 / mtbf_h,
        checkpoint_size_tb=size / 1e12,
        checkpoint_write_s=write_s,
        checkpoint_blocking_s=blocking_s,
        checkpoint_interval_s=tau,
        restart_recovery_s=recovery + 0.0 * n,
        lost_work_per_failure_s=(tau + blocking_s) / 2.0 + extra,
        checkpoint_overhead_fraction=ckpt_overhead,
        failure_loss_fraction=1.0 - g / (1.0 - ckpt_overhead),
        goodput=g,
        spare_gpus=spares + 0.0 * n,
        spare_capex_usd=spares * price,
        checkpoint_mode=checkpoint,
        interval_rule=interval if isinstance(interval, str) else "fixed",
        expectation=expectation,
        sources=merged,
    )


def _progress_check(seconds: np.ndarray, mtbf_s: np.ndarray) -> None:
    stuck = np.asarray(seconds >= mtbf_s)
    if np.any(stuck):
        i = int(np.flatnonzero(np.ravel(stuck))[0])
        write = float(np.ravel(np.broadcast_to(seconds, np.broadcast(seconds, mtbf_s).shape))[i])
        mtbf = float(np.ravel(np.broadcast_to(mtbf_s, np.broadcast(seconds, mtbf_s).shape))[i])
        raise InputError(
            "checkpoint_write_s",
            write,
            f"less than the cluster MTBF ({mtbf:g} s = {mtbf / 3600:.3g} h)",
            detail="the run cannot make progress: a failure arrives before a checkpoint "
            "completes; add write bandwidth, checkpoint asynchronously or use fewer GPUs",
        )


def goodput_for(
    n_gpus: Any,
    chip: str,
    params: Any,
    *,
    checkpoint: CheckpointMode = "blocking",
    interval: IntervalRule | float = "young",
    storage_bandwidth_gb_s: Any = None,
    hot_spare_fraction: Any = None,
    checkpoint_bytes_per_param: Any = None,
    restart_recovery_s: Any = None,
    write_bandwidth_gb_s_per_gpu: Any = None,
    price_usd_per_gpu: Any = None,
    min_interval_s: Any = None,
    expectation: Expectation = "exponential",
) -> GoodputResult:
    """Goodput of ``n_gpus`` of ``chip`` (catalog id or generation) training ``params``.

    The sizing entry point: failure rates, checkpoint bytes, bandwidths, restart time and
    the hot-spare fraction come from the chip's generation in
    ``data/goodput_assumptions.csv`` unless given. Spares are whole systems of the chip
    (``ceil(N x fraction / gpus_per_system) x gpus_per_system``); with none, a hardware
    failure also waits ``node_replacement_hours``.
    """
    defaults = defaults_for(chip)
    gpus_per_system = 1
    try:
        from planner.catalog import load_catalog

        catalog = load_catalog()
        if str(chip).strip().lower() in catalog:
            gpus_per_system = catalog.get(chip).gpus_per_system
    except Exception:  # noqa: BLE001 - spares fall back to single GPUs without a catalog
        gpus_per_system = 1
    fraction = defaults.hot_spare_fraction if hot_spare_fraction is None else hot_spare_fraction
    fraction_arr = _check("hot_spare_fraction", fraction, lambda a: (a >= 0) & (a <= 1), "[0, 1]")
    n = _check("n_gpus", n_gpus, lambda a: a >= 1, "a whole number of GPUs >= 1")
    spares = np.ceil(n * fraction_arr / gpus_per_system - 1e-9) * gpus_per_system
    sources = {
        name: defaults.sources[name] for name in _ASSUMPTION_NAMES if name in defaults.sources
    }
    sources["failure_rate_per_gpu_hour"] = defaults.sources["failure_rate_hardware_per_gpu_hour"]
    return goodput(
        n,
        params,
        failure_rate_hardware_per_gpu_hour=defaults.failure_rate_hardware_per_gpu_hour,
        failure_rate_other_per_gpu_hour=defaults.failure_rate_other_per_gpu_hour,
        checkpoint_bytes_per_param=(
            defaults.checkpoint_bytes_per_param
            if checkpoint_bytes_per_param is None
            else checkpoint_bytes_per_param
        ),
        write_bandwidth_gb_s_per_gpu=(
            defaults.write_bandwidth_gb_s_per_gpu
            if write_bandwidth_gb_s_per_gpu is None
            else write_bandwidth_gb_s_per_gpu
        ),
        storage_bandwidth_gb_s=storage_bandwidth_gb_s,
        restart_recovery_s=(
            defaults.restart_recovery_minutes * 60.0
            if restart_recovery_s is None
            else restart_recovery_s
        ),
        checkpoint=checkpoint,
        host_copy_bandwidth_gb_s_per_gpu=defaults.host_copy_bandwidth_gb_s_per_gpu,
        interval=interval,
        spare_gpus=spares,
        node_replacement_s=defaults.node_replacement_hours * 3600.0,
        price_usd_per_gpu=price_usd_per_gpu,
        min_interval_s=min_interval_s,
        expectation=expectation,
        sources=sources,
    )


# --------------------------------------------------------------------------------------
# Calibration and validation against published failure records (data/failures.csv)
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _failures() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "failures.csv")


def load_failures() -> pd.DataFrame:
    """The published failure records of ``data/failures.csv`` (a copy)."""
    return _failures().copy()


def calibrated_failure_rate_per_gpu_hour() -> float:
    """The ONE calibration: Llama 3 405B's 419 unexpected interruptions in 54 days on 16,384
    H100 (Dubey et al. 2024, arXiv 2407.21783, sec. 3.3.4), per GPU-hour (~1.97e-5)."""
    row = _failures().set_index("record").loc["llama3-405b-interruptions"]
    return float(row["published"] / (row["gpus"] * row["period_days"] * 24.0))


def _model_value(record: pd.Series) -> float:
    defaults = defaults_for(record["chip"])
    rate = defaults.failure_rate_hardware_per_gpu_hour
    if record["failure_kind"] == "all":
        rate += defaults.failure_rate_other_per_gpu_hour
    metric = record["metric"]
    if metric == "interruptions":
        return rate * record["gpus"] * record["period_days"] * 24.0
    if metric == "failures_per_week":
        return rate * record["gpus"] * 24.0 * 7.0
    if metric == "failures_per_1000_node_days":
        return rate * GPUS_PER_NODE * 24.0 * 1000.0
    if metric == "effective_training_time":
        return float(goodput_for(int(record["gpus"]), record["chip"], record["params"]).goodput)
    raise CatalogError("data/failures.csv", None, "metric", f"unknown metric {metric!r}")


def validate_failures() -> pd.DataFrame:
    """The model against every published failure record of ``data/failures.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per record: ``record``, ``published``, ``model``, ``error`` (model /
        published - 1), ``within_tolerance`` and ``source``. Counts and rates are within
        tolerance inside a factor of :data:`VALIDATION_TOLERANCE_FACTOR` (2) of the published
        figure; an effective training time when the model is inside the published bounds.
        The Llama 3 rows are the calibration (``use`` column of the file), the others held
        out; ``expected`` there says which were declared outside before the model ran.
    """
    rows = []
    band = math.log(VALIDATION_TOLERANCE_FACTOR)
    for _, record in _failures().iterrows():
        model = _model_value(record)
        published = float(record["published"])
        if record["metric"] == "effective_training_time":
            high = record["published_high"]
            high = 1.0 if pd.isna(high) else float(high)
            within = float(record["published_low"]) <= model <= high
        else:
            within = abs(math.log(model / published)) <= band
        rows.append(
            {
                "record": record["record"],
                "published": published,
                "model": model,
                "error": model / published - 1.0,
                "within_tolerance": bool(within),
                "source": record["source"],
            }
        )
    return pd.DataFrame(rows)
