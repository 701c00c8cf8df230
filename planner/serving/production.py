"""The production fleet next to the ideal bound, with the factor between them by part.

The ideal bound is :func:`planner.serving.serve`: a roofline at the planning utilisations of
``data/serving_assumptions.csv`` with ideal continuous batching, replicas sized for the peak
hour only. A production fleet is larger, part by part:

1. **Measured efficiency**: the bandwidth and FLOP utilisations become the efficiency fitted
   on measured serving configurations (:mod:`planner.serving.measured`) at the replica's
   batch (capped at the planning values, so this part never shrinks the fleet); the replica
   and batch are chosen again with the slower chip (twice, so the batch and the efficiency
   agree).
2. **Latency headroom**: replicas carry ``target_utilisation`` of their throughput at the
   peak hour.
   Prompt caching: a share ``prompt_cache_hit_rate`` of prompt tokens is read from a cache
   instead of prefilled, so the prefill part of each query's replica time shrinks by it (the
   KV cache still holds the whole context).
3. **Regions and redundancy**: the peak splits over ``regions``; each rounds up to whole
   replicas and adds ``redundancy_replicas`` spares (N+k).
4. **Failures**: the spares must cover the replicas down at once. A replica of ``g`` GPUs
   fails at ``g x`` the per-GPU rate of its hardware generation
   (:mod:`planner.training.goodput`, ``data/goodput_assumptions.csv``: calibrated on the
   Llama 3 405B record). A hardware failure keeps it out for the node replacement plus the
   restart/recovery time (a server swapped, the replica reloaded); any other failure for the
   restart/recovery time. The replicas down at once in a region are Poisson with mean
   ``lambda = replicas x g x sum(rate x hours out)`` (the spares count: they fail too);
   ``spares_needed`` is the least ``k`` with ``P(down > k) <= failure_service_level``. When
   the given ``redundancy_replicas`` is below it, the fleet is sized with ``spares_needed``
   (the ``failures`` factor, with a note); a larger given ``k`` is kept.
5. **Whole systems**: GPUs round up to whole servers.

Power follows load: a replica serving at a fraction ``rho`` of its throughput runs a batch of
``rho x B`` (continuous batching), and its GPUs draw the fitted power at that batch (from
the idle floor of ``data/gpu_power_curves.csv`` to TDP); hosts draw idle + (busy - idle) x
load of their share of the system nameplate; then network and PUE as in the ideal chain.
The peak (grid) power is the nameplate chain, as the ideal's. Replicas down for a failure
draw the idle power of their GPUs and hosts (a restarting server stays powered; a swapped
one is replaced by a server that boots idle) and their share of the load moves to the
replicas up, so the same tokens are served by ``replicas - down`` replicas.

Not modelled (named so a reader does not assume them): separate prefill and decode pools
(one pool does both, as vLLM and the measured configurations do), a distribution of context
lengths (the mean prompt is used: a multi-turn conversation enters as a longer mean prompt),
and expert parallelism across many servers (large-scale MoE deployments batch far more
sequences per replica than the measured vLLM configurations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from planner import power
from planner.catalog import Accelerator
from planner.errors import InputError
from planner.validation import check_range

PRODUCTION_FIELDS = (
    "target_utilisation",
    "redundancy_replicas",
    "regions",
    "prompt_cache_hit_rate",
)
PRODUCTION_RANGES = {
    "target_utilisation": (0.01, 1.0),
    "redundancy_replicas": (0.0, 1e6),
    "regions": (1.0, 1e3),
    "prompt_cache_hit_rate": (0.0, 1.0),
}


#: Default probability allowed that more replicas of a region are down at once than it has
#: spares (the fleet is then below its peak capacity).
FAILURE_SERVICE_LEVEL = 0.01
FAILURE_SERVICE_LEVEL_SOURCE = (
    "ESTIMATE (planning value): a region below its peak capacity at most 1% of the time "
    "(~88 h a year at a random instant; a shortfall matters only when it meets the peak hour), "
    "an error budget in the sense of Beyer et al. 2016, Site Reliability Engineering "
    "(O'Reilly), ch. 3 'Embracing Risk'"
)


@dataclass(frozen=True)
class ProductionAssumptions:
    """Fleet knobs of a production deployment (defaults in data/serving_assumptions.csv;
    ``failure_service_level``: :data:`FAILURE_SERVICE_LEVEL`)."""

    target_utilisation: float
    redundancy_replicas: float
    regions: float
    prompt_cache_hit_rate: float
    sources: dict[str, str]
    failure_service_level: float = FAILURE_SERVICE_LEVEL

    @classmethod
    def defaults(cls, **given: Any) -> ProductionAssumptions:
        from planner.serving import serving_default_table

        table = serving_default_table()
        values: dict[str, Any] = {n: float(table[n]["value"]) for n in PRODUCTION_FIELDS}
        sources = {n: "default: " + table[n]["source"] for n in PRODUCTION_FIELDS}
        values["failure_service_level"] = FAILURE_SERVICE_LEVEL
        sources["failure_service_level"] = "default: " + FAILURE_SERVICE_LEVEL_SOURCE
        for k, v in given.items():
            if v is not None:
                values[k] = v
                sources[k] = "user input"
        p = cls(**values, sources=sources)
        p.validate()
        return p

    def validate(self) -> None:
        for name in PRODUCTION_FIELDS:
            check_range(name, getattr(self, name), *PRODUCTION_RANGES[name])
        check_failure_service_level(self.failure_service_level)
        for name in ("redundancy_replicas", "regions"):
            v = float(getattr(self, name))
            if v != int(v):
                raise InputError(name, getattr(self, name), "a whole number")


def check_failure_service_level(value: Any) -> float:
    """``value`` as a float in the open interval (0, 1), or an :class:`InputError` naming
    ``failure_service_level`` and the value as given."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError("failure_service_level", value, "a number in (0, 1)") from None
    if not (math.isfinite(v) and 0.0 < v < 1.0):
        raise InputError("failure_service_level", value, "a number in (0, 1)")
    return v


# --- failures: replicas down at once and the spares that cover them --------------------------


@dataclass(frozen=True)
class ReplicaFailureModel:
    """Failure rates and hours out of one replica GPU (``data/goodput_assumptions.csv``).

    ``hardware_per_gpu_hour`` failures keep a replica out for ``hardware_hours_out`` (node
    replacement + restart/recovery); ``other_per_gpu_hour`` for ``other_hours_out``
    (restart/recovery).
    """

    generation: str
    hardware_per_gpu_hour: float
    other_per_gpu_hour: float
    hardware_hours_out: float
    other_hours_out: float
    source: str

    @property
    def failures_per_gpu_hour(self) -> float:
        return self.hardware_per_gpu_hour + self.other_per_gpu_hour

    @property
    def down_hours_per_gpu_hour(self) -> float:
        """Expected replica-hours out per GPU-hour of service: sum(rate x hours out)."""
        return (
            self.hardware_per_gpu_hour * self.hardware_hours_out
            + self.other_per_gpu_hour * self.other_hours_out
        )

    @property
    def mean_hours_out(self) -> float:
        return self.down_hours_per_gpu_hour / self.failures_per_gpu_hour

    @classmethod
    def for_chip(cls, chip_id: str) -> ReplicaFailureModel:
        """The goodput defaults of the chip's generation; the Hopper calibration generation
        for a chip the goodput table does not list (a custom catalog)."""
        from planner.training.goodput import defaults_for, load_goodput_assumptions

        try:
            d = defaults_for(chip_id)
            note = ""
        except InputError:
            d = load_goodput_assumptions()["hopper"]
            note = f" ({chip_id} is not in the table: the Hopper calibration applied)"
        restart_h = d.restart_recovery_minutes / 60.0
        return cls(
            generation=d.generation,
            hardware_per_gpu_hour=d.failure_rate_hardware_per_gpu_hour,
            other_per_gpu_hour=d.failure_rate_other_per_gpu_hour,
            hardware_hours_out=d.node_replacement_hours + restart_h,
            other_hours_out=restart_h,
            source=f"data/goodput_assumptions.csv, {d.generation}: failure_rate_hardware_"
            "per_gpu_hour and failure_rate_other_per_gpu_hour; hours out node_replacement_hours "
            "+ restart_recovery_minutes (hardware), restart_recovery_minutes (other)" + note,
        )


def replicas_down_expected(replicas: Any, gpus_per_replica: Any, down_hours_per_gpu_hour: Any):
    """Mean replicas down at once: ``replicas x g x sum(rate x hours out)`` (Little's law:
    failures per hour x hours out). Linear in replicas and in GPUs per replica."""
    return (
        np.asarray(replicas, dtype=float)
        * np.asarray(gpus_per_replica, dtype=float)
        * np.asarray(down_hours_per_gpu_hour, dtype=float)
    )


def poisson_tail(k: int, mean: float) -> float:
    """``P(X > k)`` for ``X ~ Poisson(mean)``, summed in log space (no overflow at large
    means): ``1 - sum_{i<=k} e^-mean mean^i / i!``, or the upper terms when that is small."""
    if mean <= 0.0:
        return 0.0
    if k < 0:
        return 1.0
    log_mean = math.log(mean)

    def term(i: int) -> float:
        return math.exp(-mean + i * log_mean - math.lgamma(i + 1))

    if k >= mean:  # the upper tail is small: sum it directly (no cancellation)
        total, i = 0.0, k + 1
        while True:
            t = term(i)
            total += t
            if t < 1e-18 * max(total, 1e-300) or i > k + 1 + 50 * (1 + int(math.sqrt(mean))):
                return min(total, 1.0)
            i += 1
    return max(1.0 - math.fsum(term(i) for i in range(k + 1)), 0.0)


def spares_needed(
    serving_replicas: int,
    gpus_per_replica: float,
    down_hours_per_gpu_hour: float,
    service_level: float,
) -> tuple[int, float]:
    """The least spares ``k`` of a region with ``serving_replicas`` carrying its peak such
    that ``P(down > k) <= service_level``, the spares failing too (``lambda`` counts
    ``serving_replicas + k``); returns ``(k, lambda)``."""
    level = check_failure_service_level(service_level)
    k = 0
    while True:
        lam = float(
            replicas_down_expected(serving_replicas + k, gpus_per_replica, down_hours_per_gpu_hour)
        )
        if poisson_tail(k, lam) <= level:
            return k, lam
        k += 1


def _efficiency(chip: Accelerator, spec: Any, precision: str, result: Any, s_in, gen) -> float:
    from planner.serving.measured import (
        efficiency_features,
        is_blackwell,
        roofline_tokens_per_s,
        serving_fit,
    )

    # inside the measured range (1-8 GPUs per replica, batches up to ~4,000)
    g = min(float(result.gpus_per_replica), 8.0)
    b = float(result.batch_size)
    _, step = roofline_tokens_per_s(spec, chip, precision, g, b, s_in, gen)
    moe = float(float(np.asarray(spec.active_params)) < float(np.asarray(spec.total_params)))
    x = efficiency_features(b, step, moe, g, float(is_blackwell(chip.id)), precision != "bf16")
    return float(serving_fit().efficiency(x)[0])


def production_fleet(
    ideal: Any,
    *,
    chip: Accelerator,
    spec: Any,
    demand: Any,
    assumptions: Any,
    batch_size: Any = None,
    gpus_per_replica: Any = None,
    production: ProductionAssumptions | None = None,
    catalog: Any = None,
) -> dict[str, Any]:
    """The production estimate of a feasible scalar ``ideal`` result, and the factors by part.

    Returns a JSON-ready dict: ``ideal`` and ``production`` (systems, gpus, replicas,
    facility_power_mw, average_facility_power_mw, wh_per_query, gpu_energy_per_output_token_j,
    batch_size, gpus_per_replica), ``factors`` (rows ``part, factor, systems_after, note``),
    ``efficiency`` (fitted), ``gpu_power_fraction`` and ``assumptions``.
    """
    from planner.serving import HOURS_PER_YEAR, SECONDS_PER_DAY, serve
    from planner.serving.measured import (
        idle_fraction,
        is_blackwell,
        power_features,
        roofline_tokens_per_s,
        serving_fit,
    )

    p = production or ProductionAssumptions.defaults()
    a = assumptions
    s = a.sizing
    precision = s.precision
    s_in = float(demand.input_tokens)
    gen = float(demand.output_tokens) * float(a.reasoning_multiplier)
    model_arg = spec if spec.id != "estimated" else None
    kwargs = (
        {"model": spec}
        if model_arg is not None
        else {
            "params": spec.total_params,
            "active_params": spec.active_params,
        }
    )

    # 1. measured efficiency (fixed point: batch <-> efficiency)
    current = ideal
    eff = 1.0
    for _ in range(3):
        eff = _efficiency(chip, spec, precision, current, s_in, gen)
        nxt = serve(
            chip,
            demand,
            batch_size=batch_size,
            gpus_per_replica=gpus_per_replica,
            assumptions=a,
            catalog=catalog,
            bandwidth_utilisation=min(eff, float(a.bandwidth_utilisation)),
            prefill_mfu=min(eff, float(a.prefill_mfu)),
            decode_mfu=min(eff, float(a.decode_mfu)),
            **kwargs,
        )
        if not bool(nxt.feasible):  # the latency target needs a larger replica
            nxt = serve(
                chip,
                demand,
                batch_size=batch_size,
                gpus_per_replica=gpus_per_replica,
                assumptions=a,
                catalog=catalog,
                bandwidth_utilisation=min(eff, float(a.bandwidth_utilisation)),
                prefill_mfu=min(eff, float(a.prefill_mfu)),
                decode_mfu=min(eff, float(a.decode_mfu)),
                **kwargs,
            )
            if not bool(nxt.feasible):
                break
        current = nxt
    measured = current
    gps = chip.gpus_per_system
    g = float(measured.gpus_per_replica)
    hit = float(p.prompt_cache_hit_rate)
    peak_qps = float(measured.queries_per_s_peak)
    avg_qps = float(measured.queries_per_s_average)
    replicas_measured = max(
        math.ceil(peak_qps / float(measured.queries_per_s_per_replica) - 1e-9), 1
    )
    systems_measured = math.ceil(replicas_measured * g / gps - 1e-9)
    per_query_s = float(measured.ttft_s) * (1.0 - hit) + gen * float(measured.tpot_s) / float(
        measured.batch_size
    )
    qps_replica = 1.0 / per_query_s
    replicas_cached = max(math.ceil(peak_qps / qps_replica - 1e-9), 1)
    systems_cached = math.ceil(replicas_cached * g / gps - 1e-9)
    # 2. latency headroom
    replicas_headroom = max(math.ceil(peak_qps / (qps_replica * p.target_utilisation) - 1e-9), 1)
    systems_headroom = math.ceil(replicas_headroom * g / gps - 1e-9)
    # 3. regions and N+k
    regions = int(p.regions)
    serving_per_region = math.ceil(replicas_headroom / regions - 1e-9)
    k_given = int(p.redundancy_replicas)
    systems_redundant = math.ceil((serving_per_region + k_given) * regions * g / gps - 1e-9)
    # 4. failures: the spares must cover the replicas down at once
    fm = ReplicaFailureModel.for_chip(chip.id)
    level = float(p.failure_service_level)
    k_needed, _ = spares_needed(serving_per_region, g, fm.down_hours_per_gpu_hour, level)
    k_used = max(k_given, k_needed)
    per_region = serving_per_region + k_used
    down_region = float(replicas_down_expected(per_region, g, fm.down_hours_per_gpu_hour))
    shortfall = poisson_tail(k_used, down_region)
    replicas = per_region * regions
    gpus = replicas * g
    systems = math.ceil(gpus / gps - 1e-9)
    installed = systems * gps

    # power that follows load; replicas down draw idle, their load moves to those up
    down = down_region * regions
    up = replicas - down
    rho = avg_qps / (qps_replica * up)  # share of its throughput a replica up serves
    b_avg = max(float(measured.batch_size) * rho, 1.0)
    _, step = roofline_tokens_per_s(spec, chip, precision, g, b_avg, s_in, gen)
    z = power_features(b_avg, min(g, 8.0), float(is_blackwell(chip.id)), step)
    idle = idle_fraction(chip.id)
    pf = float(serving_fit().power_fraction(z, idle)[0])
    gpu_w = pf * chip.tdp_w
    server_w = float(power.system_power_per_gpu_w(chip.system_power_kw, chip.gpus_per_system))
    host_nameplate = max(server_w - chip.tdp_w, 0.0)
    busy = float(np.asarray(s.avg_load_fraction))
    idle_host = float(np.asarray(a.idle_load_fraction))
    host_w = host_nameplate * (idle_host + (busy - idle_host) * rho)
    serving_gpus = up * g
    gpu_total_w = serving_gpus * gpu_w + (installed - serving_gpus) * idle * chip.tdp_w
    down_gpus = down * g
    host_total_w = (installed - down_gpus) * host_w + down_gpus * host_nameplate * idle_host
    it_avg_w = (gpu_total_w + host_total_w) * (1.0 + float(s.network_overhead))
    fac_avg_mw = it_avg_w * float(s.pue) / power.W_PER_MW
    it_peak_mw = installed * power.it_power_per_gpu_w(server_w, s.network_overhead) / 1e6
    fac_peak_mw = float(power.facility_power_w(it_peak_mw, s.grid_pue()))
    queries_year = avg_qps * SECONDS_PER_DAY * 365.0
    wh_query = fac_avg_mw * HOURS_PER_YEAR * 1e12 / queries_year / 1e6
    tokens_s_replica = qps_replica * gen * rho
    gpu_j_token = g * gpu_w / tokens_s_replica

    # the ideal's GPU energy per output token (TDP x avg_load_fraction, its constant)
    ideal_gpu_j = (
        float(ideal.gpus_per_replica) * chip.tdp_w * busy / float(ideal.tokens_per_s_per_replica)
    )
    ideal_systems = float(ideal.systems)
    steps = [
        (
            "measured efficiency",
            systems_measured,
            f"achieved / ideal throughput {eff:.2f} at batch {float(measured.batch_size):g} "
            f"on {g:g} GPUs (fit on measured configurations) against the planning "
            f"{float(a.bandwidth_utilisation):g} of HBM bandwidth",
        ),
        (
            "prompt cache",
            systems_cached,
            f"{hit:.1%} of prompt tokens read from a cache, not prefilled",
        ),
        (
            "latency headroom",
            systems_headroom,
            f"replicas carry {p.target_utilisation:g} of their throughput at the peak hour",
        ),
        (
            "regions and redundancy",
            systems_redundant,
            f"{regions} regions, each whole replicas + {k_given} spare",
        ),
        ("failures", systems, _failure_note(fm, g, down_region, k_given, k_needed, level)),
    ]
    factors = []
    before = ideal_systems
    for part, after, note in steps:
        factors.append(
            {"part": part, "factor": after / before, "systems_after": after, "note": note}
        )
        before = after
    peak = float(np.asarray(a.peak_to_average))
    return {
        "ideal": {
            "systems": ideal_systems,
            "gpus": float(ideal.gpus),
            "replicas": float(ideal.replicas),
            "gpus_per_replica": float(ideal.gpus_per_replica),
            "batch_size": float(ideal.batch_size),
            "facility_power_mw": float(ideal.facility_power_mw),
            "average_facility_power_mw": float(ideal.average_facility_power_mw),
            "wh_per_query": float(ideal.wh_per_query),
            "gpu_energy_per_output_token_j": ideal_gpu_j,
        },
        "production": {
            "systems": float(systems),
            "gpus": float(gpus),
            "replicas": float(replicas),
            "gpus_per_replica": g,
            "batch_size": float(measured.batch_size),
            "facility_power_mw": fac_peak_mw,
            "average_facility_power_mw": fac_avg_mw,
            "wh_per_query": wh_query,
            "gpu_energy_per_output_token_j": gpu_j_token,
            "replicas_down_expected": down_region,
            "spares_needed": float(k_needed),
            "redundancy_replicas": float(k_used),
            "failure_service_level": level,
            "capacity_shortfall_probability": shortfall,
        },
        "failures": {
            "generation": fm.generation,
            "failure_rate_per_gpu_hour": fm.failures_per_gpu_hour,
            "replica_hours_out": fm.mean_hours_out,
            "redundancy_replicas_given": float(k_given),
            "spares_raised": k_used > k_given,
            "source": fm.source,
        },
        "production_over_ideal": systems / ideal_systems,
        "factors": factors,
        "peak_to_average": peak,
        "efficiency": eff,
        "replica_load_fraction": rho,
        "gpu_power_fraction": pf,
        "assumptions": {
            n: {"value": float(getattr(p, n)), "source": p.sources[n]}
            for n in (*PRODUCTION_FIELDS, "failure_service_level")
        },
    }


def _failure_note(
    fm: ReplicaFailureModel, g: float, down: float, k_given: int, k_needed: int, level: float
) -> str:
    rate = f"{g:g} GPUs x {fm.failures_per_gpu_hour:.3g} failures per GPU-hour ({fm.generation})"
    out = f"out {fm.mean_hours_out:.2g} h on average (node replacement or restart)"
    head = f"{rate}, {out}: {down:.3g} replicas down at once per region"
    if k_given < k_needed:
        return (
            f"{head}; {k_given} spare per region leaves P(down > {k_given}) above {level:g}: "
            f"raised to {k_needed} spares per region"
        )
    return f"{head}; {k_given} spare per region covers P(down > spares) <= {level:g}"


# --- the tables every face shows (the CLI, the app's Serve page, the serving report) ----------

#: Fleet quantities the ideal bound and the production estimate both give (rows of
#: :func:`ideal_vs_production`).
FLEET_ROWS = (
    "systems",
    "gpus",
    "replicas",
    "gpus_per_replica",
    "batch_size",
    "facility_power_mw",
    "average_facility_power_mw",
    "wh_per_query",
    "gpu_energy_per_output_token_j",
)


def ideal_vs_production(prod: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per fleet quantity of a production dict (:func:`production_fleet`):
    ``fleet_quantity, ideal_bound, production_estimate, production_over_ideal`` (None where
    the ideal is 0)."""
    rows = []
    for key in FLEET_ROWS:
        ideal, estimate = float(prod["ideal"][key]), float(prod["production"][key])
        rows.append(
            {
                "fleet_quantity": key,
                "ideal_bound": ideal,
                "production_estimate": estimate,
                "production_over_ideal": estimate / ideal if ideal else None,
            }
        )
    return rows


def production_parts(prod: dict[str, Any]) -> list[dict[str, Any]]:
    """Servers step by step, ``fleet_part, systems, fleet_factor, part_note``: the analysts'
    compute budget and the ideal roofline (no factor: where the steps start), each production
    part with the factor it multiplies the servers by, then the production estimate with its
    factor over the ideal bound."""
    factors = prod["factors"]
    named = {f["part"] for f in factors}
    steps = prod.get("compute_budget_steps") or []
    rows = [
        {
            "fleet_part": s["part"],
            "systems": s["systems"],
            "fleet_factor": None,
            "part_note": s["note"],
        }
        for s in steps[:-1]
        if s["part"] not in named
    ]
    rows += [
        {
            "fleet_part": f["part"],
            "systems": f["systems_after"],
            "fleet_factor": f["factor"],
            "part_note": f["note"],
        }
        for f in factors
    ]
    rows.append(
        {
            "fleet_part": "production estimate",
            "systems": prod["production"]["systems"],
            "fleet_factor": prod["production_over_ideal"],
            "part_note": steps[-1]["note"]
            if steps
            else f"{prod['production_over_ideal']:.2f}x the ideal bound",
        }
    )
    return rows
