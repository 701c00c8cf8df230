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

Context lengths: prompts and answers spread around their means (coefficients of variation
``input_tokens_cv`` and ``output_tokens_cv``, defaults from the Azure LLM inference trace of
2023, conversation service): prefill attention grows with the square of a prompt, and a long
answer stays longer in the decode batch, so the batch holds longer contexts than the mean
query (:func:`length_spread_times`; the ``context lengths`` factor).

Prefill and decode pools (``disaggregated`` = 1, as Splitwise, DistServe, Mooncake and
DeepSeek's service run): a prefill pool sized by the prefill replica-seconds of the peak and a
decode pool by the decode replica-seconds, each in whole replicas per region and at the target
utilisation; the spares of a region cover both (a spare replica takes either role). The
default is one pool that does both (vLLM's default and the measured configurations).

Not modelled (named so a reader does not assume them): prefill interrupting decode steps in
one pool (its TPOT is the decode step's; so the latency gain of separate pools is not in the
model, only their separate sizing), the KV transfer from the prefill to the decode pool,
different chips or replica sizes per pool, and expert parallelism across many servers
(DeepSeek decodes 14.8k tokens/s per H800 node on average with expert parallelism over 18
nodes; the efficiency fitted on vLLM configurations of up to 8 GPUs gives about 8,900 per node
at the full batch of its preset).
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
    "input_tokens_cv",
    "output_tokens_cv",
    "disaggregated",
)
PRODUCTION_RANGES = {
    "target_utilisation": (0.01, 1.0),
    "redundancy_replicas": (0.0, 1e6),
    "regions": (1.0, 1e3),
    "prompt_cache_hit_rate": (0.0, 1.0),
    "input_tokens_cv": (0.0, 10.0),
    "output_tokens_cv": (0.0, 10.0),
    "disaggregated": (0.0, 1.0),
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
    input_tokens_cv: float
    output_tokens_cv: float
    disaggregated: float
    sources: dict[str, str]
    failure_service_level: float = FAILURE_SERVICE_LEVEL

    @classmethod
    def defaults(cls, sources: dict[str, str] | None = None, **given: Any) -> ProductionAssumptions:
        """The defaults with ``given`` values (``None`` = not given), each given one tagged
        with its entry in ``sources`` (a preset's) or ``user input``."""
        from planner.serving import serving_default_table

        table = serving_default_table()
        values: dict[str, Any] = {n: float(table[n]["value"]) for n in PRODUCTION_FIELDS}
        values["failure_service_level"] = FAILURE_SERVICE_LEVEL
        named = sources or {}
        used = {n: "default: " + table[n]["source"] for n in PRODUCTION_FIELDS}
        used["failure_service_level"] = "default: " + FAILURE_SERVICE_LEVEL_SOURCE
        for k, v in given.items():
            if v is not None:
                values[k] = v
                used[k] = named.get(k, "user input")
        p = cls(**values, sources=used)
        p.validate()
        return p

    def validate(self) -> None:
        for name in PRODUCTION_FIELDS:
            check_range(name, getattr(self, name), *PRODUCTION_RANGES[name])
        check_failure_service_level(self.failure_service_level)
        for name in ("redundancy_replicas", "regions", "disaggregated"):
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


def length_spread_times(
    spec: Any,
    chip: Accelerator,
    precision: str,
    a: Any,
    g: float,
    b: float,
    eff: float,
    s_in: float,
    gen: float,
    ttft_s: float,
    tpot_s: float,
    input_cv: float,
    output_cv: float,
) -> tuple[float, float]:
    """(mean prefill s, decode step s) of a replica when prompt and answer lengths spread
    around their means with coefficients of variation ``input_cv`` and ``output_cv``.

    Prefill: ``2 N_active S + 2 L d S^2`` averages to ``2 N_active E[S] + 2 L d E[S]^2 (1 +
    cv_in^2)``. Decode: a sequence with an answer of ``n`` tokens stays ``n`` steps in the batch,
    so the batch holds answers in proportion to their length (length-biased): its mean context
    is ``E[S] + E[n^2] / (2 E[n]) = E[S] + E[n] (1 + cv_out^2) / 2`` rather than ``E[S] + E[n] /
    2``, and every step reads that KV cache. The KV memory limit already holds each sequence
    at its last token, so the batch is unchanged; lengths are not truncated at the model's
    window. With both CVs 0 the times are the given ones.
    """
    from planner.serving import (
        BYTES_PER_PARAM,
        decode_step_bytes,
        decode_step_flops,
        decode_step_s,
        prefill_flops,
        tp_sync_s,
    )

    n_a = float(np.asarray(spec.active_params))
    n = float(np.asarray(spec.total_params))
    layers = float(np.asarray(spec.layers))
    attn = float(np.asarray(spec.attention_dim))
    mean_prefill = float(prefill_flops(n_a, layers, attn, s_in))
    spread_prefill = mean_prefill + 2.0 * layers * attn * s_in**2 * float(input_cv) ** 2
    kv_tok = float(np.asarray(spec.kv_values_per_token)) * float(np.asarray(a.kv_bytes_per_value))
    peak = chip.dense_tflops(precision) * 1e12
    bw = chip.memory_bw_tbs * 1e12 * min(eff, float(np.asarray(a.bandwidth_utilisation)))
    fl = peak * min(eff, float(np.asarray(a.decode_mfu)))
    sync = float(tp_sync_s(g, layers, a.tp_sync_s_per_layer))

    def step(context: float) -> float:
        t_mem, t_comp = decode_step_s(
            decode_step_bytes(b, n, n_a, BYTES_PER_PARAM[precision], kv_tok, context),
            decode_step_flops(b, n_a, layers, attn, context),
            g,
            bw,
            fl,
        )
        return float(np.maximum(t_mem, t_comp)) + sync

    mean_step = step(s_in + gen / 2.0)
    spread_step = step(s_in + gen * (1.0 + float(output_cv) ** 2) / 2.0)
    return ttft_s * spread_prefill / mean_prefill, tpot_s * spread_step / mean_step


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
        if not bool(nxt.feasible):  # the measured efficiency misses the latency target
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
    # 2. context lengths: prefill and decode at the spread of lengths, not the mean
    b_full = float(measured.batch_size)
    ttft_s, tpot_s = length_spread_times(
        spec,
        chip,
        precision,
        a,
        g,
        b_full,
        eff,
        s_in,
        gen,
        float(measured.ttft_s),
        float(measured.tpot_s),
        p.input_tokens_cv,
        p.output_tokens_cv,
    )
    prefill_s, decode_s = ttft_s, gen * tpot_s / b_full  # replica-seconds per query
    replicas_spread = max(math.ceil(peak_qps * (prefill_s + decode_s) - 1e-9), 1)
    systems_spread = math.ceil(replicas_spread * g / gps - 1e-9)
    # 3. prompt cache
    prefill_s *= 1.0 - hit
    replicas_cached = max(math.ceil(peak_qps * (prefill_s + decode_s) - 1e-9), 1)
    systems_cached = math.ceil(replicas_cached * g / gps - 1e-9)
    # 4. pools: one pool does both, or a prefill pool and a decode pool sized separately
    split = bool(p.disaggregated)
    pools = (
        [("prefill", prefill_s), ("decode", decode_s)] if split else [("", prefill_s + decode_s)]
    )
    systems_pools = math.ceil(
        sum(max(math.ceil(peak_qps * t - 1e-9), 1) for _, t in pools) * g / gps - 1e-9
    )
    # 5. latency headroom; 6. regions and N+k; 7. failures: the spares cover replicas down
    regions = int(p.regions)
    k_given = int(p.redundancy_replicas)
    fm = ReplicaFailureModel.for_chip(chip.id)
    level = float(p.failure_service_level)
    # a spare is a replica of the same GPUs: it can take either pool's role, so the spares
    # cover the replicas down in both pools of a region together
    serving = [max(math.ceil(peak_qps * t / p.target_utilisation - 1e-9), 1) for _, t in pools]
    serving_per_region = sum(math.ceil(n / regions - 1e-9) for n in serving)
    systems_headroom = math.ceil(sum(serving) * g / gps - 1e-9)
    systems_redundant = math.ceil((serving_per_region + k_given) * regions * g / gps - 1e-9)
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
    # share of its throughput a replica up serves: replica-seconds asked per second / replicas
    rho = avg_qps * (prefill_s + decode_s) / up
    b_avg = max(b_full * rho, 1.0)
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
    gpu_j_token = serving_gpus * gpu_w / (avg_qps * gen)  # serving GPUs' draw / tokens per s

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
            "context lengths",
            systems_spread,
            f"prompt and answer lengths spread around their means (CV "
            f"{p.input_tokens_cv:g} and {p.output_tokens_cv:g}): prefill "
            f"{ttft_s / float(measured.ttft_s):.2f}x (attention grows with the square of a "
            f"prompt), decode step {tpot_s / float(measured.tpot_s):.2f}x (long answers stay "
            "in the batch longer)",
        ),
        (
            "prompt cache",
            systems_cached,
            f"{hit:.1%} of prompt tokens read from a cache, not prefilled",
        ),
        (
            "prefill and decode pools",
            systems_pools,
            "separate prefill and decode pools, each whole replicas"
            if split
            else "one pool does prefill and decode (colocated, as vLLM by default)",
        ),
        (
            "latency headroom",
            systems_headroom,
            f"replicas carry {p.target_utilisation:g} of their throughput at the peak hour",
        ),
        (
            "regions and redundancy",
            systems_redundant,
            f"{regions} regions, each whole replicas"
            + (" of each pool" if split else "")
            + f" + {k_given} spare",
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
