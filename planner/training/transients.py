"""Power transients of a synchronous training cluster, and the mitigations that tame them.

In synchronous training every GPU computes, then waits on the same collective, in step: the
whole site's power swings between a compute level and a communication level once per step
(seconds), drops to near idle during a blocking checkpoint, and falls off a cliff when a
failure stops the job, to jump back at restart. Choukse et al. 2025 (Power Stabilization for
AI Training Datacenters, Microsoft, OpenAI and NVIDIA, arXiv 2508.14318) describe the problem
(tens of MW swinging at the step frequency, near grid and turbine resonances) and the
mitigations modelled here:

* **Energy storage** (battery or capacitor bank) between the grid and the IT load: the grid
  follows a slow, ramp-limited average while the store absorbs the difference. Sized by
  simulation (:func:`simulate_battery`, :func:`size_battery`): MW and MWh.
* **GPU power smoothing**: a power floor (GPUs burn power in the low phases, costing MWh and
  USD) and a power cap (lowers the compute peak); with storage, the grid sees the step's
  mean. Calibrated on NVIDIA's GB300 NVL72 figure, up to 30% lower peak grid demand (NVIDIA
  Technical Blog 2025, How New GB300 NVL72 Features Provide Steady Power for AI):
  :func:`calibrate_smoothing_cap`.

Per-GPU IT power in a phase is ``(TDP x phase fraction + non-GPU server share x
non_gpu_load_fraction) x (1 + network_overhead)``; the phase fractions and their sources are
in ``data/transients.csv`` (ESTIMATE marks planning values). Facility power in the time
series adds the cooling and conversion overhead of the MEAN IT load at the annual PUE: chillers
and fans have seconds-to-minutes of thermal inertia and do not follow a step. The grid
connection to reserve is the grid-side IT peak at the design-day PUE, as in
:mod:`planner.power`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner import facility
from planner._paths import data_dir
from planner.errors import CatalogError, InputError

_NAMES = (
    "compute_power_fraction",
    "communication_power_fraction",
    "communication_share",
    "checkpoint_power_fraction",
    "idle_power_fraction",
    "non_gpu_load_fraction",
    "step_time_s",
    "ramp_time_s",
    "gb300_peak_grid_reduction",
    "gb300_smoothing_cap_fraction",
    "battery_usd_per_kwh",
)

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class TransientParameter:
    """One row of ``data/transients.csv``."""

    name: str
    value: float
    unit: str
    source: str


@lru_cache(maxsize=1)
def load_transient_assumptions() -> dict[str, TransientParameter]:
    """The rows of ``data/transients.csv`` by name (CatalogError on a bad or missing row)."""
    shown = "data/transients.csv"
    df = pd.read_csv(data_dir() / "transients.csv", dtype=str, keep_default_na=False)
    table: dict[str, TransientParameter] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        try:
            value = float(row["value"])
        except ValueError:
            raise CatalogError(
                shown, index + 2, "value", f"not a number: {row['value']!r}"
            ) from None
        if not row["source"].strip():
            raise CatalogError(shown, index + 2, "source", "every default needs a source")
        table[row["name"]] = TransientParameter(row["name"], value, row["unit"], row["source"])
    missing = [n for n in _NAMES if n not in table]
    if missing:
        raise CatalogError(shown, None, "name", f"no {missing[0]} row")
    return table


def _default(name: str) -> float:
    return load_transient_assumptions()[name].value


def _positive(name: str, value: Any, allowed: str = "> 0") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(name, value, allowed) from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(name, value, allowed)
    return v


def _fraction(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(name, value, "[0, 1]") from None
    if not math.isfinite(v) or not 0.0 <= v <= 1.0:
        raise InputError(name, value, "[0, 1]")
    return v


# --------------------------------------------------------------------------------------
# The cluster's power in each phase
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingPowerProfile:
    """Site IT power of a synchronous training cluster in each phase, and its swing.

    Attributes (units in the names): ``compute_it_mw``, ``communication_it_mw``,
    ``checkpoint_it_mw``, ``idle_it_mw`` (after a failure and during restart),
    ``mean_it_mw`` (average over a step), ``nameplate_it_mw`` (servers at nameplate, what
    :mod:`planner.power` takes as the peak), ``swing_mw`` (compute - communication, every
    step), ``failure_drop_mw`` (compute - idle, at a failure or a blocking checkpoint),
    ``ramp_rate_mw_per_s`` (the step swing over ``ramp_time_s``), ``swing_frequency_hz``
    (1 / step time), ``facility_overhead_mw`` (annual PUE overhead on the mean IT load).
    """

    n_gpus: float
    chip: str
    tdp_w: float
    step_time_s: float
    communication_share: float
    ramp_time_s: float
    compute_it_mw: float
    communication_it_mw: float
    checkpoint_it_mw: float
    idle_it_mw: float
    mean_it_mw: float
    nameplate_it_mw: float
    swing_mw: float
    failure_drop_mw: float
    ramp_rate_mw_per_s: float
    swing_frequency_hz: float
    pue: float
    facility_overhead_mw: float
    fractions: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def it_mw(self, gpu_fraction: float) -> float:
        """Site IT power with every GPU at ``gpu_fraction`` of its TDP, MW."""
        return self.n_gpus * self._per_gpu_w(gpu_fraction) / 1e6

    def _per_gpu_w(self, gpu_fraction: float) -> float:
        f = self.fractions
        return (self.tdp_w * gpu_fraction + f["non_gpu_w"] * f["non_gpu_load_fraction"]) * (
            1.0 + f["network_overhead"]
        )


def training_power_profile(
    n_gpus: Any,
    chip: str,
    *,
    step_time_s: Any = None,
    communication_share: Any = None,
    compute_power_fraction: Any = None,
    communication_power_fraction: Any = None,
    checkpoint_power_fraction: Any = None,
    idle_power_fraction: Any = None,
    non_gpu_load_fraction: Any = None,
    ramp_time_s: Any = None,
    network_overhead: Any = None,
    pue: Any = None,
) -> TrainingPowerProfile:
    """Site IT power in each phase of a synchronous training run of ``n_gpus`` ``chip``.

    Omitted inputs take ``data/transients.csv`` (phase fractions, step time, ramp time) and
    ``data/assumptions.csv`` (``network_overhead``, ``pue``).

    Raises
    ------
    InputError
        One line naming the field, the value as given and the allowed range.
    """
    from planner.assumptions import default_table
    from planner.catalog import load_catalog

    acc = load_catalog().get(chip, field="chip")
    n = _positive("n_gpus", n_gpus, "a number of GPUs >= 1")
    if n < 1:
        raise InputError("n_gpus", n_gpus, "a number of GPUs >= 1")
    values: dict[str, float] = {}
    given = {
        "compute_power_fraction": compute_power_fraction,
        "communication_power_fraction": communication_power_fraction,
        "checkpoint_power_fraction": checkpoint_power_fraction,
        "idle_power_fraction": idle_power_fraction,
        "non_gpu_load_fraction": non_gpu_load_fraction,
        "communication_share": communication_share,
    }
    for name, value in given.items():
        values[name] = _fraction(name, _default(name) if value is None else value)
    step = _positive(
        "step_time_s", _default("step_time_s") if step_time_s is None else step_time_s, "> 0 s"
    )
    ramp = _positive(
        "ramp_time_s", _default("ramp_time_s") if ramp_time_s is None else ramp_time_s, "> 0 s"
    )
    assumptions = default_table()
    net = _fraction(
        "network_overhead",
        assumptions["network_overhead"].value if network_overhead is None else network_overhead,
    )
    pue_v = assumptions["pue"].value if pue is None else pue
    pue_v = _positive("pue", pue_v, "a ratio >= 1")
    if pue_v < 1:
        raise InputError("pue", pue, "a ratio >= 1")
    non_gpu_w = max(acc.system_power_per_gpu_w - acc.tdp_w, 0.0)
    fractions = {
        **values,
        "non_gpu_w": non_gpu_w,
        "network_overhead": net,
    }

    def it_mw(gpu_fraction: float, non_gpu: float) -> float:
        return n * (acc.tdp_w * gpu_fraction + non_gpu_w * non_gpu) * (1.0 + net) / 1e6

    ng = values["non_gpu_load_fraction"]
    compute = it_mw(values["compute_power_fraction"], ng)
    comm = it_mw(values["communication_power_fraction"], ng)
    share = values["communication_share"]
    mean = (1.0 - share) * compute + share * comm
    swing = compute - comm
    sources = {name: load_transient_assumptions()[name].source for name in _NAMES[:8]}
    sources["network_overhead"] = assumptions["network_overhead"].source
    sources["pue"] = assumptions["pue"].source
    return TrainingPowerProfile(
        n_gpus=n,
        chip=acc.id,
        tdp_w=acc.tdp_w,
        step_time_s=step,
        communication_share=share,
        ramp_time_s=ramp,
        compute_it_mw=compute,
        communication_it_mw=comm,
        checkpoint_it_mw=it_mw(values["checkpoint_power_fraction"], ng),
        idle_it_mw=it_mw(values["idle_power_fraction"], ng),
        mean_it_mw=mean,
        nameplate_it_mw=n * acc.system_power_per_gpu_w * (1.0 + net) / 1e6,
        swing_mw=swing,
        failure_drop_mw=compute - it_mw(values["idle_power_fraction"], ng),
        ramp_rate_mw_per_s=swing / ramp,
        swing_frequency_hz=1.0 / step,
        pue=pue_v,
        facility_overhead_mw=(pue_v - 1.0) * mean,
        fractions=fractions,
        sources=sources,
    )


# --------------------------------------------------------------------------------------
# Time series: steps, a checkpoint, a failure and a restart
# --------------------------------------------------------------------------------------


def power_time_series(
    profile: TrainingPowerProfile,
    *,
    steps_before: int = 5,
    checkpoint_s: float = 30.0,
    steps_between: int = 5,
    restart_s: float = 120.0,
    steps_after: int = 5,
    dt_s: float = 0.01,
) -> pd.DataFrame:
    """Site power through training steps, a blocking checkpoint, a failure and a restart.

    Sequence: ``steps_before`` steps (compute, then communication, each step), a blocking
    checkpoint of ``checkpoint_s`` (near idle), ``steps_between`` steps, a failure (GPUs
    fall to idle) held for ``restart_s`` (detect, restart, reload), then ``steps_after``
    steps. Every change of level is a linear ramp over ``profile.ramp_time_s``.

    Returns
    -------
    pandas.DataFrame
        ``time_s``, ``it_power_mw``, ``facility_power_mw`` (IT + the annual-PUE overhead of
        the mean IT load, which cooling follows, not the swing) and ``phase`` (compute,
        communication, checkpoint, failure, restart).
    """
    dt = _positive("dt_s", dt_s, "> 0 s")
    for name, value in (("checkpoint_s", checkpoint_s), ("restart_s", restart_s)):
        if not math.isfinite(float(value)) or float(value) < 0:
            raise InputError(name, value, ">= 0 s")
    for name, value in (
        ("steps_before", steps_before),
        ("steps_between", steps_between),
        ("steps_after", steps_after),
    ):
        if int(value) != value or value < 0:
            raise InputError(name, value, "a whole number of steps >= 0")
    total_s = (steps_before + steps_between + steps_after) * profile.step_time_s
    total_s += checkpoint_s + restart_s
    if total_s / dt > 5e6:
        raise InputError("dt_s", dt_s, f"at least {total_s / 5e6:g} s for this series")
    levels: list[float] = []
    phases: list[str] = []

    def hold(level: float, phase: str, seconds: float) -> None:
        k = int(round(seconds / dt))
        levels.extend([level] * k)
        phases.extend([phase] * k)

    def train(steps: int) -> None:
        comm_s = profile.communication_share * profile.step_time_s
        for _ in range(steps):
            hold(profile.compute_it_mw, "compute", profile.step_time_s - comm_s)
            hold(profile.communication_it_mw, "communication", comm_s)

    train(steps_before)
    hold(profile.checkpoint_it_mw, "checkpoint", checkpoint_s)
    train(steps_between)
    fail_s = min(profile.ramp_time_s * 5, restart_s)
    hold(profile.idle_it_mw, "failure", fail_s)
    hold(profile.idle_it_mw, "restart", restart_s - fail_s)
    train(steps_after)
    target = np.asarray(levels, dtype=float)
    width = max(int(round(profile.ramp_time_s / dt)), 1)
    if width > 1 and target.size:
        padded = np.concatenate([np.full(width - 1, target[0]), target])
        kernel = np.ones(width) / width
        it = np.convolve(padded, kernel, mode="valid")
    else:
        it = target
    overhead = profile.facility_overhead_mw
    return pd.DataFrame(
        {
            "time_s": np.arange(it.size) * dt,
            "it_power_mw": it,
            "facility_power_mw": it + overhead,
            "phase": phases,
        }
    )


def swing_series(
    profile: TrainingPowerProfile, *, steps: int = 20, dt_s: float = 0.01
) -> pd.DataFrame:
    """Only the step-by-step swing: ``steps`` training steps (no checkpoint, no failure)."""
    return power_time_series(
        profile,
        steps_before=steps,
        checkpoint_s=0.0,
        steps_between=0,
        restart_s=0.0,
        steps_after=0,
        dt_s=dt_s,
    )


# --------------------------------------------------------------------------------------
# Mitigation 1: energy storage between grid and load
# --------------------------------------------------------------------------------------


def simulate_battery(
    load_mw: Any,
    dt_s: float,
    *,
    ramp_limit_mw_per_s: float,
    swing_limit_mw: float | None = None,
    window_s: float = 10.0,
) -> pd.DataFrame:
    """Grid-side power after an energy store that keeps the grid's ramp under a limit.

    The grid follows the trailing mean of the load over ``window_s`` (the load before the
    series is taken as its first window repeated: a cluster already training; clipped to within
    ``swing_limit_mw / 2`` of the load's instantaneous value when a swing limit is given, so
    the store only covers what the utility will not), moving at most ``ramp_limit_mw_per_s``
    per second; the store supplies or absorbs the difference (losses ignored).

    Returns
    -------
    pandas.DataFrame
        ``time_s``, ``load_mw``, ``grid_mw``, ``battery_mw`` (load - grid: > 0 discharging)
        and ``battery_energy_mwh`` (energy delivered so far; its range is the capacity
        needed).

    Raises
    ------
    InputError
        ``ramp_limit_mw_per_s`` of 0 or below (one line), or a bad swing limit or window.
    """
    ramp = _positive("ramp_limit_mw_per_s", ramp_limit_mw_per_s, "> 0 MW/s")
    dt = _positive("dt_s", dt_s, "> 0 s")
    window = _positive("window_s", window_s, "> 0 s")
    if swing_limit_mw is not None:
        swing_limit = float(swing_limit_mw)
        if not math.isfinite(swing_limit) or swing_limit < 0:
            raise InputError("swing_limit_mw", swing_limit_mw, ">= 0 MW")
    load = np.asarray(load_mw, dtype=float)
    if load.ndim != 1 or load.size == 0 or not np.all(np.isfinite(load)):
        raise InputError("load_mw", "a series", "a non-empty 1-D series of finite MW")
    k = max(int(round(window / dt)), 1)
    # steady state before t = 0: the first window of the load repeated (the cluster was
    # already running), so the grid starts at its mean instead of at the first sample
    history = np.resize(load[: min(k, load.size)], k)
    csum = np.concatenate([[0.0], np.cumsum(np.concatenate([history, load]))])
    idx = np.arange(load.size)
    target = (csum[idx + k + 1] - csum[idx + 1]) / k
    if swing_limit_mw is not None:
        half = swing_limit / 2.0
        target = np.clip(load, target - half, target + half)
    grid = np.empty_like(load)
    step = ramp * dt
    level = float(history.mean())
    for i in range(load.size):
        level += min(max(target[i] - level, -step), step)
        grid[i] = level
    battery = load - grid
    energy = np.cumsum(battery) * dt / SECONDS_PER_HOUR
    return pd.DataFrame(
        {
            "time_s": idx * dt,
            "load_mw": load,
            "grid_mw": grid,
            "battery_mw": battery,
            "battery_energy_mwh": energy,
        }
    )


@dataclass(frozen=True)
class BatterySizing:
    """Energy store that keeps a cluster's grid-side ramp (and swing) under utility limits.

    ``power_mw``: largest charge or discharge; ``energy_mwh``: range of stored energy over
    the simulated events; ``grid_ramp_max_mw_per_s`` / ``grid_swing_mw``: what the grid sees
    after the store (swing over the last ``window_s`` of steady training); ``load_*``: the
    same without it; ``grid_peak_mw``: the grid-side IT peak.
    """

    power_mw: float
    energy_mwh: float
    ramp_limit_mw_per_s: float
    swing_limit_mw: float | None
    grid_ramp_max_mw_per_s: float
    grid_swing_mw: float
    grid_peak_mw: float
    load_ramp_max_mw_per_s: float
    load_swing_mw: float
    load_peak_mw: float

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def size_battery(
    profile: TrainingPowerProfile,
    *,
    ramp_limit_mw_per_s: float,
    swing_limit_mw: float | None = None,
    include_failure: bool = True,
    window_s: float | None = None,
    dt_s: float = 0.01,
) -> BatterySizing:
    """Size the store for a cluster's step swing (and a checkpoint, a failure and a restart
    when ``include_failure``) by simulating :func:`simulate_battery` on
    :func:`power_time_series`. The averaging window defaults to two steps."""
    window = 2.0 * profile.step_time_s if window_s is None else window_s
    if include_failure:
        series = power_time_series(
            profile,
            steps_before=5,
            checkpoint_s=30.0,
            steps_between=5,
            restart_s=120.0,
            steps_after=10,
            dt_s=dt_s,
        )
    else:
        series = swing_series(profile, steps=12, dt_s=dt_s)
    sim = simulate_battery(
        series["it_power_mw"].to_numpy(),
        dt_s,
        ramp_limit_mw_per_s=ramp_limit_mw_per_s,
        swing_limit_mw=swing_limit_mw,
        window_s=window,
    )
    tail = sim.iloc[-max(int(round(profile.step_time_s * 2 / dt_s)), 1) :]
    energy = sim["battery_energy_mwh"]
    return BatterySizing(
        power_mw=float(sim["battery_mw"].abs().max()),
        energy_mwh=float(max(energy.max(), 0.0) - min(energy.min(), 0.0)),
        ramp_limit_mw_per_s=float(ramp_limit_mw_per_s),
        swing_limit_mw=None if swing_limit_mw is None else float(swing_limit_mw),
        grid_ramp_max_mw_per_s=float(np.max(np.abs(np.diff(sim["grid_mw"])), initial=0.0) / dt_s),
        grid_swing_mw=float(tail["grid_mw"].max() - tail["grid_mw"].min()),
        grid_peak_mw=float(sim["grid_mw"].max()),
        load_ramp_max_mw_per_s=float(np.max(np.abs(np.diff(sim["load_mw"])), initial=0.0) / dt_s),
        load_swing_mw=float(tail["load_mw"].max() - tail["load_mw"].min()),
        load_peak_mw=float(sim["load_mw"].max()),
    )


# --------------------------------------------------------------------------------------
# Mitigation 2: GPU power smoothing (floor and cap), calibrated on GB300 NVL72
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmoothingResult:
    """GPU power smoothing (a floor kept by burning power, a cap) with or without storage.

    ``unmitigated_peak_it_mw``: servers at nameplate (what a site provisions today, as
    :mod:`planner.power`); ``mitigated_peak_it_mw``: what the grid sees (the step's mean
    with storage, its capped/floored peak without); ``peak_reduction_fraction``: 1 -
    mitigated / unmitigated; ``swing_before_mw`` / ``swing_after_mw``: the step swing;
    ``floor_energy_mwh_per_day`` and ``floor_cost_usd_per_day``: the power burnt to hold the
    floor (facility, at the annual PUE); ``grid_connection_before_mw`` /
    ``grid_connection_after_mw``: the peaks at the design-day PUE, the connection to reserve;
    ``compute_power_cut_fraction``: how far the cap holds the compute phase below its
    uncapped draw (1 - capped / uncapped GPU power). The model does not charge the step
    time this costs: GPU throughput falls less than in proportion to power, so this is an
    upper bound on the slowdown of the compute phase, for the caller to weigh.
    """

    floor_fraction: float
    cap_fraction: float
    storage: bool
    compute_power_cut_fraction: float
    unmitigated_peak_it_mw: float
    mitigated_peak_it_mw: float
    peak_reduction_fraction: float
    swing_before_mw: float
    swing_after_mw: float
    floor_energy_mwh_per_day: float
    floor_cost_usd_per_day: float
    grid_connection_before_mw: float
    grid_connection_after_mw: float
    design_pue: float
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def power_smoothing(
    profile: TrainingPowerProfile,
    *,
    floor_fraction: float | None = None,
    cap_fraction: float | None = None,
    storage: bool = True,
    electricity_usd_per_mwh: float | None = None,
    design_pue: float | None = None,
) -> SmoothingResult:
    """Effect of a GPU power floor and cap (fractions of TDP) and of rack energy storage.

    The floor keeps every GPU at ``floor_fraction`` of TDP or more in the low phases (it
    shrinks the swing and the ramp; the power burnt is its cost); the cap holds the compute
    phase at ``cap_fraction`` of TDP or less. With ``storage`` the grid sees the step's mean;
    without, the capped compute level. ``None``: no floor / no cap. A cap below the compute
    level slows the compute phase; that cost is reported as ``compute_power_cut_fraction``,
    not charged here.
    """
    from planner.assumptions import default_table

    f = profile.fractions
    compute = f["compute_power_fraction"]
    comm = f["communication_power_fraction"]
    floor = comm if floor_fraction is None else _fraction("floor_fraction", floor_fraction)
    cap = compute if cap_fraction is None else _fraction("cap_fraction", cap_fraction)
    if floor > cap:
        raise InputError("floor_fraction", floor_fraction, f"at most cap_fraction ({cap:g})")
    hi = min(compute, cap)
    lo = min(max(comm, floor), hi)
    share = profile.communication_share
    hi_mw, lo_mw = profile.it_mw(hi), profile.it_mw(lo)
    mitigated = (1.0 - share) * hi_mw + share * lo_mw if storage else hi_mw
    unmitigated = profile.nameplate_it_mw
    burnt_it_mw = profile.it_mw(lo) - profile.it_mw(min(comm, hi))
    energy_day = max(burnt_it_mw, 0.0) * share * 24.0 * profile.pue
    table = default_table()
    price = (
        table["electricity_usd_per_mwh"].value
        if electricity_usd_per_mwh is None
        else (electricity_usd_per_mwh)
    )
    price = float(price)
    if not math.isfinite(price) or price < 0:
        raise InputError("electricity_usd_per_mwh", electricity_usd_per_mwh, ">= 0 USD/MWh")
    dpue = float(facility.design_day_pue(profile.pue)) if design_pue is None else float(design_pue)
    transients = load_transient_assumptions()
    return SmoothingResult(
        floor_fraction=floor,
        cap_fraction=cap,
        storage=storage,
        compute_power_cut_fraction=1.0 - hi / compute,
        unmitigated_peak_it_mw=unmitigated,
        mitigated_peak_it_mw=mitigated,
        peak_reduction_fraction=1.0 - mitigated / unmitigated,
        swing_before_mw=profile.swing_mw,
        swing_after_mw=(0.0 if storage else hi_mw - lo_mw),
        floor_energy_mwh_per_day=energy_day,
        floor_cost_usd_per_day=energy_day * price,
        grid_connection_before_mw=unmitigated * dpue,
        grid_connection_after_mw=mitigated * dpue,
        design_pue=dpue,
        sources={
            "gb300_peak_grid_reduction": transients["gb300_peak_grid_reduction"].source,
            "gb300_smoothing_cap_fraction": transients["gb300_smoothing_cap_fraction"].source,
            "electricity_usd_per_mwh": table["electricity_usd_per_mwh"].source,
        },
    )


def calibrate_smoothing_cap(
    reduction: float | None = None, chip: str = "gb300", n_gpus: float = 72
) -> float:
    """The compute-phase GPU cap (fraction of TDP) at which storage + capping cut the peak
    grid demand by ``reduction`` (default ``gb300_peak_grid_reduction``, 0.30: NVIDIA
    Technical Blog 2025, GB300 NVL72 power smoothing) on ``chip`` with the default profile.

    Solves ``(1 - s) it(cap) + s it(comm) = (1 - reduction) x nameplate`` (``it`` is linear
    in the GPU fraction). Returns the compute fraction itself when storage alone suffices.
    """
    r = _default("gb300_peak_grid_reduction") if reduction is None else reduction
    r = _fraction("reduction", r)
    profile = training_power_profile(n_gpus, chip)
    f = profile.fractions
    share = profile.communication_share
    target = (1.0 - r) * profile.nameplate_it_mw
    base = profile.it_mw(0.0)  # non-GPU part, the same in every phase
    per_fraction = profile.it_mw(1.0) - base
    comm_mw = profile.it_mw(f["communication_power_fraction"])
    cap = ((target - share * comm_mw) / (1.0 - share) - base) / per_fraction
    if cap < f["communication_power_fraction"]:
        raise InputError(
            "reduction",
            reduction,
            "a reduction the cap can reach above the communication level",
        )
    return float(min(cap, f["compute_power_fraction"]))


def mitigation_options(
    profile: TrainingPowerProfile,
    *,
    ramp_limit_mw_per_s: float,
    swing_limit_mw: float | None = None,
    floor_fraction: float | None = None,
    cap_fraction: float | None = None,
) -> pd.DataFrame:
    """The grid connection to reserve and what each mitigation costs, one row each.

    Rows: ``none``, ``battery`` (sized by :func:`size_battery` for the ramp/swing limits),
    ``smoothing`` (floor and cap, no storage), ``smoothing+storage``. Columns:
    ``mitigation``, ``grid_connection_mw`` (grid-side IT peak at the design-day PUE),
    ``grid_swing_mw``, ``grid_ramp_mw_per_s``, ``battery_mw``, ``battery_mwh``,
    ``extra_energy_mwh_per_day``, ``extra_cost_usd_per_day``.

    A store alone does not lower the connection: without a cap the servers can draw their
    nameplate for longer than any store lasts, so the ``battery`` row keeps it and only
    tames the ramp and the swing. A cap (the ``smoothing`` rows) bounds the draw; with rack
    storage the grid then sees the step's mean (NVIDIA's GB300 NVL72 power smoothing).
    """
    if cap_fraction is None:
        cap_fraction = _default("gb300_smoothing_cap_fraction")
    battery = size_battery(
        profile, ramp_limit_mw_per_s=ramp_limit_mw_per_s, swing_limit_mw=swing_limit_mw
    )
    plain = power_smoothing(profile, storage=False)
    smooth = power_smoothing(
        profile, floor_fraction=floor_fraction, cap_fraction=cap_fraction, storage=False
    )
    stored = power_smoothing(
        profile, floor_fraction=floor_fraction, cap_fraction=cap_fraction, storage=True
    )
    dpue = plain.design_pue
    hi_ramp = smooth.swing_after_mw / profile.ramp_time_s
    return pd.DataFrame(
        [
            (
                "none",
                plain.grid_connection_before_mw,
                profile.swing_mw,
                profile.ramp_rate_mw_per_s,
                0.0,
                0.0,
                0.0,
                0.0,
            ),
            (
                "battery",
                max(battery.grid_peak_mw, profile.nameplate_it_mw) * dpue,
                battery.grid_swing_mw,
                battery.grid_ramp_max_mw_per_s,
                battery.power_mw,
                battery.energy_mwh,
                0.0,
                0.0,
            ),
            (
                "smoothing",
                smooth.grid_connection_after_mw,
                smooth.swing_after_mw,
                hi_ramp,
                0.0,
                0.0,
                smooth.floor_energy_mwh_per_day,
                smooth.floor_cost_usd_per_day,
            ),
            (
                "smoothing+storage",
                stored.grid_connection_after_mw,
                0.0,
                0.0,
                0.0,
                0.0,
                stored.floor_energy_mwh_per_day,
                stored.floor_cost_usd_per_day,
            ),
        ],
        columns=[
            "mitigation",
            "grid_connection_mw",
            "grid_swing_mw",
            "grid_ramp_mw_per_s",
            "battery_mw",
            "battery_mwh",
            "extra_energy_mwh_per_day",
            "extra_cost_usd_per_day",
        ],
    )


# --------------------------------------------------------------------------------------
# The grid limit of a plan under a utility ramp limit
# --------------------------------------------------------------------------------------

#: Mitigations a plan may name for a site with a ramp limit (``site.ramp_mitigation``).
MITIGATIONS = ("smoothing+storage", "battery", "smoothing")


@dataclass(frozen=True)
class GridMitigation:
    """What a training cluster of ``n_gpus`` puts on a grid with a ramp limit, after the
    mitigation it needs.

    ``mitigation``: ``none`` when the cluster's own step ramp is within the limit, else the one
    asked for; ``grid_peak_ratio``: the grid connection after the mitigation / before (the
    servers' nameplate, what :mod:`planner.power` reserves), the same at any design-day PUE;
    ``grid_ramp_mw_per_s``: the grid-side ramp after it; ``meets_limit``: whether that is within
    the limit; ``battery_mw`` / ``battery_mwh`` and ``battery_capex_usd`` (at
    ``battery_usd_per_kwh``): the store (0 without one); ``extra_energy_mwh_per_day`` /
    ``extra_cost_usd_per_day``: the power a GPU floor burns (facility, annual PUE).
    """

    mitigation: str
    ramp_limit_mw_per_s: float
    n_gpus: float
    ramp_rate_mw_per_s: float
    grid_ramp_mw_per_s: float
    meets_limit: bool
    grid_peak_ratio: float
    battery_mw: float
    battery_mwh: float
    battery_capex_usd: float
    extra_energy_mwh_per_day: float
    extra_cost_usd_per_day: float
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def grid_mitigation(
    profile: TrainingPowerProfile,
    *,
    ramp_limit_mw_per_s: float,
    mitigation: str = "smoothing+storage",
    electricity_usd_per_mwh: float | None = None,
    battery_usd_per_kwh: float | None = None,
) -> GridMitigation:
    """The grid-side peak, ramp and cost of the cluster ``profile`` under a utility ramp limit.

    Assumptions (stated): a cluster whose step ramp (:attr:`TrainingPowerProfile.ramp_rate_mw_per_s`)
    is within the limit needs nothing (``none``). Otherwise ``mitigation``:

    * ``"smoothing+storage"`` (default; NVIDIA's GB300 NVL72 power smoothing): GPUs capped at
      ``gb300_smoothing_cap_fraction`` of TDP with rack storage: the grid sees the step's mean
      (:func:`power_smoothing`), so its ramp is 0 and its peak the capped mean; the floor burns
      nothing beyond the communication level (the default floor), the cap's slowdown of the
      compute phase is not charged (:class:`SmoothingResult`);
    * ``"battery"``: a store sized by simulation (:func:`size_battery`, the steps, a
      checkpoint, a failure and a restart) keeps the grid's ramp at the limit; it does not
      lower the connection (the servers can draw their nameplate longer than a store lasts),
      and it costs ``battery_mwh`` x ``battery_usd_per_kwh`` (``data/transients.csv``);
    * ``"smoothing"``: the cap alone, no storage: a lower peak, but the step swing stays
      (capped), so the grid-side ramp may still exceed the limit (``meets_limit`` False).

    Raises
    ------
    InputError
        ``ramp_limit_mw_per_s`` of 0 or below, or an unknown ``mitigation`` (one line).
    """
    from planner.assumptions import default_table

    ramp = _positive("ramp_limit_mw_per_s", ramp_limit_mw_per_s, "> 0 MW/s")
    if mitigation not in MITIGATIONS:
        raise InputError("ramp_mitigation", mitigation, "one of: " + ", ".join(MITIGATIONS))
    price = _default("battery_usd_per_kwh") if battery_usd_per_kwh is None else battery_usd_per_kwh
    price = float(price)
    if not math.isfinite(price) or price < 0:
        raise InputError("battery_usd_per_kwh", battery_usd_per_kwh, ">= 0 USD/kWh")
    table = load_transient_assumptions()
    sources = {
        "ramp_rate_mw_per_s": table["ramp_time_s"].source,
        "battery_usd_per_kwh": table["battery_usd_per_kwh"].source,
        "gb300_smoothing_cap_fraction": table["gb300_smoothing_cap_fraction"].source,
        "electricity_usd_per_mwh": default_table()["electricity_usd_per_mwh"].source,
    }
    common = dict(
        ramp_limit_mw_per_s=ramp,
        n_gpus=profile.n_gpus,
        ramp_rate_mw_per_s=profile.ramp_rate_mw_per_s,
    )
    if profile.ramp_rate_mw_per_s <= ramp:
        return GridMitigation(
            mitigation="none",
            grid_ramp_mw_per_s=profile.ramp_rate_mw_per_s,
            meets_limit=True,
            grid_peak_ratio=1.0,
            battery_mw=0.0,
            battery_mwh=0.0,
            battery_capex_usd=0.0,
            extra_energy_mwh_per_day=0.0,
            extra_cost_usd_per_day=0.0,
            sources=sources,
            **common,
        )
    if mitigation == "battery":
        store = size_battery(profile, ramp_limit_mw_per_s=ramp)
        peak = max(store.grid_peak_mw, profile.nameplate_it_mw)
        return GridMitigation(
            mitigation=mitigation,
            grid_ramp_mw_per_s=store.grid_ramp_max_mw_per_s,
            meets_limit=store.grid_ramp_max_mw_per_s <= ramp * (1 + 1e-9),
            grid_peak_ratio=peak / profile.nameplate_it_mw,
            battery_mw=store.power_mw,
            battery_mwh=store.energy_mwh,
            battery_capex_usd=store.energy_mwh * 1e3 * price,
            extra_energy_mwh_per_day=0.0,
            extra_cost_usd_per_day=0.0,
            sources=sources,
            **common,
        )
    cap = _default("gb300_smoothing_cap_fraction")
    smooth = power_smoothing(
        profile,
        cap_fraction=cap,
        storage=mitigation == "smoothing+storage",
        electricity_usd_per_mwh=electricity_usd_per_mwh,
    )
    grid_ramp = smooth.swing_after_mw / profile.ramp_time_s
    return GridMitigation(
        mitigation=mitigation,
        grid_ramp_mw_per_s=grid_ramp,
        meets_limit=grid_ramp <= ramp * (1 + 1e-9),
        grid_peak_ratio=smooth.mitigated_peak_it_mw / smooth.unmitigated_peak_it_mw,
        battery_mw=0.0,
        battery_mwh=0.0,
        battery_capex_usd=0.0,
        extra_energy_mwh_per_day=smooth.floor_energy_mwh_per_day,
        extra_cost_usd_per_day=smooth.floor_cost_usd_per_day,
        sources=sources,
        **common,
    )


# --------------------------------------------------------------------------------------
# Power over time, with and without a mitigation (the faces' chart)
# --------------------------------------------------------------------------------------

#: The ``case`` of :func:`power_over_time`'s rows without a mitigation.
UNMITIGATED = "without mitigation"


def power_over_time(
    profile: TrainingPowerProfile,
    *,
    mitigation: str = "smoothing+storage",
    ramp_limit_mw_per_s: float | None = None,
    checkpoint_s: float = 30.0,
    restart_s: float = 120.0,
    steps: int = 3,
    dt_s: float = 0.05,
    breakpoints_only: bool = False,
) -> pd.DataFrame:
    """Grid-side facility power through ``steps`` training steps, a blocking checkpoint of
    ``checkpoint_s``, ``steps`` steps, a failure and a restart of ``restart_s``, and ``steps``
    steps: without a mitigation and with ``mitigation``.

    * without: :func:`power_time_series` (IT + the annual-PUE overhead of the mean IT load);
    * ``"battery"``: the grid side of :func:`simulate_battery` at ``ramp_limit_mw_per_s``
      (required) + the same overhead;
    * ``"smoothing"``: GPUs capped at ``gb300_smoothing_cap_fraction`` of TDP in the compute
      phase, no storage;
    * ``"smoothing+storage"``: the same cap, and rack storage averaging each step: the grid
      sees the capped step's mean while training; a checkpoint and a failure (tens of seconds
      to minutes, longer than rack storage holds) still reach it.

    ``breakpoints_only`` keeps, per case, only the instants where the series changes slope
    (and the first and last): the same piecewise-linear line in far fewer rows.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per instant and case: ``time_s``, ``phase``, ``power_case``
        (:data:`UNMITIGATED` or ``"with <mitigation>"``) and ``grid_side_power_mw``.

    Raises
    ------
    InputError
        An unknown ``mitigation``, or ``"battery"`` without a ramp limit > 0 (one line).
    """
    if mitigation not in MITIGATIONS:
        raise InputError("mitigation", mitigation, "one of: " + ", ".join(MITIGATIONS))
    if mitigation == "battery" and ramp_limit_mw_per_s is None:
        raise InputError("ramp_limit_mw_per_s", "missing", "> 0 MW/s for a battery")
    limit = 0.0 if ramp_limit_mw_per_s is None else float(ramp_limit_mw_per_s)
    series = power_time_series(
        profile,
        steps_before=steps,
        checkpoint_s=checkpoint_s,
        steps_between=steps,
        restart_s=restart_s,
        steps_after=steps,
        dt_s=dt_s,
    )
    overhead = profile.facility_overhead_mw
    it = series["it_power_mw"].to_numpy()
    if mitigation == "battery":
        grid = simulate_battery(
            it,
            dt_s,
            ramp_limit_mw_per_s=limit,
            window_s=2 * profile.step_time_s,
        )["grid_mw"].to_numpy()
    else:
        cap = _default("gb300_smoothing_cap_fraction")
        f = profile.fractions
        capped_mw = profile.it_mw(min(cap, f["compute_power_fraction"]))
        grid = np.where(series["phase"].to_numpy() == "compute", np.minimum(it, capped_mw), it)
        if mitigation == "smoothing+storage":
            k = max(int(round(profile.step_time_s / dt_s)), 1)
            training = np.isin(series["phase"].to_numpy(), ("compute", "communication"))
            padded = np.concatenate([np.full(k - 1, grid[0]), grid])
            mean = np.convolve(padded, np.ones(k) / k, mode="valid")
            grid = np.where(training, mean, grid)
    frames = []
    for case, values in ((UNMITIGATED, it + overhead), (f"with {mitigation}", grid + overhead)):
        keep = _breakpoints(values) if breakpoints_only else slice(None)
        frames.append(
            pd.DataFrame(
                {
                    "time_s": series["time_s"].to_numpy()[keep],
                    "phase": series["phase"].to_numpy()[keep],
                    "power_case": case,
                    "grid_side_power_mw": values[keep],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _breakpoints(values: np.ndarray) -> np.ndarray:
    """Indices where a sampled piecewise-linear series changes slope, with its ends."""
    if values.size < 3:
        return np.arange(values.size)
    scale = max(float(np.max(np.abs(values))), 1e-12)
    bend = np.abs(np.diff(values, 2)) > 1e-9 * scale
    inner = np.flatnonzero(bend) + 1
    return np.unique(np.concatenate([[0], inner, [values.size - 1]]))
