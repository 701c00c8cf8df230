"""Sizing: how many GPUs and days a training run needs, and what it draws, costs and emits.

Time (wall clock)::

    days = FLOPs / (GPUs x dense peak x MFU x goodput) / 86,400

solved for days (GPUs given) or for GPUs (deadline given; rounded up to whole systems, and
the days then recomputed for the GPUs actually installed, so ``days <= deadline_days``).
Power and energy follow :mod:`planner.power`; money and carbon :mod:`planner.economics`.

Goodput falls with scale. Unless the user, a preset or a scenario states one, goodput is
``goodput(N)`` of the failure model (:mod:`planner.training.goodput`: cluster MTBF ~ 1 / N,
Young's checkpoint interval, restarts, hot spares; calibrated on Llama 3 405B's 419
interruptions in 54 days on 16,384 H100). With the GPUs given it is direct; with a deadline
the GPUs solve ``N = FLOPs / (deadline x peak x MFU x goodput(N))`` by fixed-point
iteration (:func:`gpus_for_deadline`), then round up to whole systems. Doubling the GPUs no
longer halves the days. A run so large that ``N x goodput(N)`` cannot reach the work the
deadline needs is refused (:class:`~planner.errors.ResultOutOfRange` naming ``days``).

Hot spares (``hot_spare_fraction`` of ``data/goodput_assumptions.csv``, whole systems) are
counted as installed hardware: their purchase (capex, amortised cost, rent) and embodied
carbon, their nameplate in the peak power the grid must reserve, and their IDLE draw
(``idle_power_fraction`` and ``non_gpu_load_fraction`` of ``data/transients.csv``) in the
average power, energy, electricity and emissions. ``gpus`` stays the training GPUs;
``spare_gpus`` is reported beside it.

Everything is vectorised: any number (FLOPs, GPUs, days, MFU, PUE, prices...) may be a numpy
array or pandas Series, and a million scenarios evaluate in one call
(``benchmarks/bench_sizing.py``). Scalars come back as plain floats.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from planner import amortization, economics, facility, power
from planner._arrays import ceil_whole, jsonable, out
from planner.assumptions import SizingAssumptions, default_table
from planner.catalog import Accelerator, Catalog, load_catalog
from planner.errors import InputError, ResultOutOfRange
from planner.utilisation import utilisation_for_run
from planner.validation import check_positive, check_range, first_bad
from planner.workloads import TrainingRun

SECONDS_PER_DAY = 86_400.0
HOURS_PER_DAY = 24.0
#: Deadlines accepted, days: from about 1.5 minutes to ten years.
MIN_DAYS = 1e-3
MAX_DAYS = 3_650.0
#: Most GPUs accepted in one sizing (about 10x the largest cluster announced to date).
MAX_GPUS = 10_000_000.0
#: Bounds on computed answers (see :func:`_check_outputs`): an answer beyond them comes from
#: inputs that are each in range but together absurd, and is refused with the reason.
#: Peak facility power of one sized run, MW: 100 GW, ten times the largest AI campuses
#: announced (~5-10 GW) and about a fifth of the US grid's average load.
MAX_FACILITY_POWER_MW = 100_000.0
#: Any money figure, USD: 10 trillion, about a tenth of world GDP (as scenarios.MAX_BUDGET_USD).
MAX_USD = 1e13
#: Wall-clock answer, days: what MAX_GPUS GPUs do in MAX_DAYS, done on one GPU (~1e8 years).
#: Longer means no allowed cluster finishes the work within the longest allowed deadline.
MAX_RESULT_DAYS = MAX_DAYS * MAX_GPUS
#: Energy of one run, MWh: MAX_FACILITY_POWER_MW for MAX_DAYS (100 GW for ten years).
MAX_ENERGY_MWH = MAX_FACILITY_POWER_MW * MAX_DAYS * 24.0


@dataclass(frozen=True)
class SizingResult:
    """The answer for one run on one chip (or for arrays of scenarios).

    Every quantity carries its unit in the name. Two PUEs: ``facility_power_mw`` is the PEAK
    the grid must supply, nameplate x (1 + network) x ``design_pue`` (the design-day PUE:
    hottest hours, chillers at full load); ``average_facility_power_mw`` is what the meter sees
    on average, at the ANNUAL ``pue``, and ``energy_mwh`` = average facility power x wall-clock
    hours (electricity cost and emissions follow the energy, so the annual PUE too).
    """

    accelerator: Any
    precision: str
    flops: Any
    gpus: Any
    systems: Any
    gpus_per_system: Any
    days: Any
    deadline_days: Any
    gpu_hours: Any
    mfu: Any
    goodput: Any
    #: Annual PUE (energy, electricity, emissions).
    pue: Any
    #: Design-day PUE (the grid peak ``facility_power_mw``).
    design_pue: Any
    peak_tflops_per_gpu: Any
    sustained_pflops: Any
    it_power_mw: Any
    facility_power_mw: Any
    average_it_power_mw: Any
    average_facility_power_mw: Any
    energy_mwh: Any
    capex_usd: Any
    rental_cost_usd: Any
    electricity_cost_usd: Any
    cost_usd: Any
    pricing: Any
    emissions_tco2: Any
    amortized_cost_usd: Any
    cluster_capex_usd: Any
    embodied_tco2: Any
    power_chain: dict[str, float] | None
    assumptions: dict[str, dict[str, Any]]
    #: Name of the preset the run started from (``None``: no preset).
    preset: str | None = None
    #: The preset's published figures next to the model's (rows of
    #: :func:`planner.presets.compare_to_published`), set ONLY when every input equals the
    #: preset's own; otherwise ``None`` and :attr:`changed_inputs` names what differs.
    published: list[dict[str, Any]] | None = None
    #: Inputs that differ from the preset's: ``{"field", "preset", "value"}`` dicts.
    changed_inputs: list[dict[str, Any]] | None = None
    #: Idle hot-spare GPUs installed beside the training GPUs (0 unless the failure model
    #: set the goodput): bought, and powered at idle (see the module docstring).
    spare_gpus: Any = 0.0
    #: The failure model behind ``goodput`` (:func:`goodput_model_dict`), or ``None`` when
    #: the goodput was stated (user, preset, scenario).
    goodput_model: dict[str, Any] | None = None

    @property
    def is_scalar(self) -> bool:
        return np.ndim(self.gpus) == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays become lists, NaN becomes None, whole counts ints).

        A preset run carries ``preset`` and either ``published`` (every input is the
        preset's) or ``changed_inputs`` (the inputs that differ); other runs carry neither.
        """
        d = {
            f.name: json_counts(f.name, jsonable(getattr(self, f.name)))
            for f in fields(self)
            if f.name not in _PRESET_KEYS
        }
        if self.preset is not None:
            d["preset"] = self.preset
            if self.changed_inputs:
                d["changed_inputs"] = jsonable_rows(self.changed_inputs)
            else:
                d["published"] = jsonable_rows(self.published or [])
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario with every numeric result column."""
        skip = {"power_chain", "assumptions", "goodput_model", *_PRESET_KEYS}
        cols = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        n = max((np.size(v) for v in cols.values() if isinstance(v, np.ndarray)), default=1)
        data = {k: (v if isinstance(v, np.ndarray) else np.repeat(v, n)) for k, v in cols.items()}
        return pd.DataFrame(data)


_PRESET_KEYS = ("preset", "published", "changed_inputs")


def json_counts(name: str, value: Any) -> Any:
    """``value`` (already JSON-ready) with whole counts (``gpus``, ``systems``...) as ints:
    :func:`planner.quantities.json_value`, element-wise on lists."""
    from planner import quantities

    if isinstance(value, list):
        return [quantities.json_value(name, v) for v in value]
    if isinstance(value, dict):
        return value
    return quantities.json_value(name, value)


def jsonable_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of dicts, JSON-ready (numpy scalars to Python, NaN to None)."""
    return [{k: jsonable(v) for k, v in row.items()} for row in rows]


def _chip_price(
    acc_price: Any, override: Any
) -> Any:  # override wins, catalog otherwise; NaN where unknown
    if override is not None:
        return np.asarray(override, dtype=float)
    return np.asarray(np.nan if acc_price is None else acc_price, dtype=float)


def _evaluate(
    *,
    flops: Any,
    peak_tflops: Any,
    gpus_per_system: Any,
    system_power_kw: Any,
    price_usd_per_gpu: Any,
    rent_usd_per_gpu_hour: Any,
    embodied_kgco2e_per_gpu: Any,
    gpus: Any,
    days: Any,
    a: SizingAssumptions,
    spare_gpus: Any = 0.0,
    tdp_w: Any = None,
) -> dict[str, Any]:
    """The physics, on arrays. Inputs are already validated.

    Peak (grid) facility power at the design-day PUE :meth:`SizingAssumptions.grid_pue`;
    average facility power, energy, electricity and emissions at the annual ``a.pue``.
    With both ``gpus`` and ``days``, ``gpus`` were solved for the deadline ``days`` (the
    failure model, :func:`gpus_for_deadline`). ``spare_gpus`` count in capex, rent,
    embodied carbon and peak power at nameplate, and in the average power at idle draw
    (``tdp_w`` needed then).
    """
    design_pue = a.grid_pue()
    sustained_flops_per_gpu = (
        np.asarray(peak_tflops, dtype=float) * 1e12 * np.asarray(a.mfu) * np.asarray(a.goodput)
    )
    gps = np.asarray(gpus_per_system, dtype=float)
    flops = np.asarray(flops, dtype=float)
    if gpus is not None:
        gpus_arr = np.asarray(gpus, dtype=float)
        deadline = None if days is None else np.asarray(days, dtype=float)
    else:
        deadline = np.asarray(days, dtype=float)
        gpus_exact = flops / (deadline * SECONDS_PER_DAY * sustained_flops_per_gpu)
        # at least one system (or GPU): a tiny run still needs hardware, never 0 GPUs
        gpus_arr = (
            np.maximum(ceil_whole(gpus_exact / gps), 1.0) * gps
            if a.whole_systems
            else np.maximum(ceil_whole(gpus_exact), 1.0)
        )
    days_arr = flops / (gpus_arr * sustained_flops_per_gpu) / SECONDS_PER_DAY
    hours = days_arr * HOURS_PER_DAY
    gpu_hours = gpus_arr * hours
    systems = ceil_whole(gpus_arr / gps)

    spares = np.asarray(spare_gpus, dtype=float)
    installed = gpus_arr + spares  # hot spares are bought and powered
    server_w = power.system_power_per_gpu_w(system_power_kw, gpus_per_system)
    it_peak_mw = installed * power.it_power_per_gpu_w(server_w, a.network_overhead) / power.W_PER_MW
    # two PUEs: the grid peak at the design day, energy at the annual average
    facility_peak_mw = power.facility_power_w(it_peak_mw, design_pue)
    avg_server_w = power.average_server_power_per_gpu_w(
        server_w, a.avg_load_fraction, a.avg_power_per_gpu_w
    )
    it_avg_mw = (
        gpus_arr * power.it_power_per_gpu_w(avg_server_w, a.network_overhead) / power.W_PER_MW
    )
    if np.any(spares > 0):
        it_avg_mw = (
            it_avg_mw
            + spares
            * power.it_power_per_gpu_w(spare_idle_server_w(server_w, tdp_w), a.network_overhead)
            / power.W_PER_MW
        )
    facility_avg_mw = power.facility_power_w(it_avg_mw, a.pue)
    energy = power.energy_mwh(facility_avg_mw, hours)

    electricity = economics.electricity_cost_usd(energy, a.electricity_usd_per_mwh)
    econ = amortization.run_economics(
        "(prices given)",
        installed,
        days_arr,
        it_power_mw=it_peak_mw,
        electricity_cost_usd=electricity,
        server_price_usd_per_gpu=price_usd_per_gpu,
        rent_usd_per_gpu_hour=rent_usd_per_gpu_hour,
        embodied_kgco2e_per_gpu=embodied_kgco2e_per_gpu,
        life_years=a.service_life_years,
        utilisation=a.hardware_utilisation,
        cost_of_capital=a.cost_of_capital,
        networking_share=a.networking_share,
        facility_usd_per_mw=a.facility_usd_per_mw,
        facility_life_years=a.facility_life_years,
    )
    cost = econ.cost_usd(a.pricing)
    mode = a.pricing
    capex = econ.cluster_capex_usd
    rental = econ.rental_cost_usd

    return {
        "flops": out(flops),
        "gpus": out(gpus_arr),
        "spare_gpus": out(spares + 0.0 * gpus_arr),
        "systems": out(systems),
        "days": out(days_arr),
        "deadline_days": None if deadline is None else out(deadline),
        "gpu_hours": out(gpu_hours),
        "peak_tflops_per_gpu": out(peak_tflops),
        "design_pue": out(design_pue),
        "sustained_pflops": out(gpus_arr * sustained_flops_per_gpu / 1e15),
        "it_power_mw": out(it_peak_mw),
        "facility_power_mw": out(facility_peak_mw),
        "average_it_power_mw": out(it_avg_mw),
        "average_facility_power_mw": out(facility_avg_mw),
        "energy_mwh": out(energy),
        "capex_usd": out(capex),
        "rental_cost_usd": out(rental),
        "electricity_cost_usd": out(electricity),
        "cost_usd": out(cost),
        "pricing": str(mode) if np.ndim(mode) == 0 else mode,
        "emissions_tco2": out(economics.emissions_tco2(energy, a.grid_gco2_per_kwh)),
        "amortized_cost_usd": out(econ.amortized_cost_usd),
        "cluster_capex_usd": out(econ.cluster_capex_usd),
        "embodied_tco2": out(econ.embodied_tco2),
    }


def _check_outputs(
    values: dict[str, Any], a: SizingAssumptions, *, price: Any, rent: Any, chip: str = ""
) -> None:
    """Refuse an absurd answer (:class:`ResultOutOfRange`), naming the input behind it.

    Every input may be in range while their combination is not (MFU 1e-6 x goodput 1e-6:
    2.6e15 GPUs and 4.4e12 MW). The bounds are :data:`MAX_GPUS`, :data:`MAX_RESULT_DAYS`,
    :data:`MAX_FACILITY_POWER_MW`, :data:`MAX_ENERGY_MWH` and :data:`MAX_USD`; a non-finite
    number (an overflow) is out of every bound.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        efficiency = np.asarray(a.mfu, dtype=float) * np.asarray(a.goodput, dtype=float)
    low_eff = float(np.min(efficiency))
    # below 0.01 (ten times under any published large run) the efficiency is the cause
    slow = f"mfu x goodput = {low_eff:.3g} is too small for this run" if low_eff < 0.01 else ""
    at = f" at mfu x goodput = {low_eff:.3g}"

    def why(default: str) -> str:
        return slow or default

    flops = np.max(np.asarray(values["flops"], dtype=float))
    checks: list[tuple[str, float, str]] = [
        ("gpus", MAX_GPUS, why(f"flops = {flops:.3g} is too much work for the deadline{at}")),
        (
            "days",
            MAX_RESULT_DAYS,
            why(f"flops = {flops:.3g} is too much work for the GPUs{at}: no cluster finishes it"),
        ),
        (
            "facility_power_mw",
            MAX_FACILITY_POWER_MW,
            why("too many GPUs, or too much power per GPU, for one run"),
        ),
        ("energy_mwh", MAX_ENERGY_MWH, why(f"flops = {flops:.3g} is too much work{at}")),
        (
            "capex_usd",
            MAX_USD,
            f"gpus = {_top(values['gpus'])} x price_usd_per_gpu = {_top(price)}",
        ),
        (
            "rental_cost_usd",
            MAX_USD,
            f"gpu_hours = {_top(values['gpu_hours'])} x rent_usd_per_gpu_hour = {_top(rent)}",
        ),
        (
            "electricity_cost_usd",
            MAX_USD,
            f"energy_mwh = {_top(values['energy_mwh'])} x electricity_usd_per_mwh = "
            f"{_top(a.electricity_usd_per_mwh)}",
        ),
    ]
    for name, limit, reason in checks:
        arr = np.asarray(values[name], dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~(arr <= limit) & ~np.isnan(arr)  # NaN is "unknown" (no price), not absurd
        bad |= np.isnan(arr) & (name not in _MAY_BE_UNKNOWN)
        if bad.any():
            value, where = first_bad(arr, bad)
            if chip:
                reason += f" on {chip}"
            if f"{value:g}" == f"{limit:g}":  # 10,000,008 GPUs would read "1e+07 > 1e+07"
                where = f"{value:,.0f} > {limit:,.0f}" + (f"; {where}" if where else "")
            raise ResultOutOfRange(
                name, value, f"at most {limit:g}", detail=f"{reason}; {where}" if where else reason
            )


def _top(values: Any) -> str:
    """The largest of ``values`` for a message (``3.2e+13``; ``nan`` when none is known)."""
    arr = np.asarray(values, dtype=float)
    return "nan" if np.isnan(arr).all() else f"{np.nanmax(arr):.3g}"


#: Results that are NaN where a price is not known (reported as unknown, not an error).
_MAY_BE_UNKNOWN = frozenset(
    {"capex_usd", "rental_cost_usd", "electricity_cost_usd", "amortized_cost_usd", "embodied_tco2"}
)


def _check_gpus_or_days(gpus: Any, days: Any) -> None:
    if (gpus is None) == (days is None):
        raise InputError(
            "gpus/days",
            "both" if gpus is not None else "neither",
            "exactly one of gpus (size the time) or days (size the cluster)",
        )
    if gpus is not None:
        check_range("gpus", gpus, 1.0, MAX_GPUS)
    else:
        check_range("days", days, MIN_DAYS, MAX_DAYS)


def resolve_assumptions(
    assumptions: SizingAssumptions | None, overrides: dict[str, Any], source: str = "user input"
) -> SizingAssumptions:
    """Defaults, then ``assumptions``, then keyword ``overrides``; validated."""
    base = assumptions if assumptions is not None else SizingAssumptions.defaults()
    base, overrides = with_goodput_request(base, overrides)
    resolved = base.with_(source, **overrides) if overrides else base
    resolved.validate()
    return resolved


# --------------------------------------------------------------------------------------
# Goodput from the failure model (planner.training.goodput)
# --------------------------------------------------------------------------------------

#: What ``goodput`` may be set to (besides a fraction, or ``None``) to ask for the failure model.
GOODPUT_MODEL = "model"
#: Fixed-point iterations allowed when solving the GPUs for a deadline, and the relative
#: change in GPUs that counts as converged (a thousandth of a GPU on a 1,000-GPU run).
GOODPUT_MAX_ITERATIONS = 200
GOODPUT_TOLERANCE = 1e-9


def goodput_from_failure_model(a: SizingAssumptions) -> bool:
    """True when no one stated a goodput: sizing then takes ``goodput(N)`` from the failure
    model. A value from the user, a preset or a scenario (any source other than the default
    table) is kept as stated."""
    return str(a.sources.get("goodput", "")).startswith("default:")


def use_goodput_model(a: SizingAssumptions) -> SizingAssumptions:
    """``a`` with its goodput back to "from the failure model" (``goodput="model"``)."""
    row = default_table()["goodput"]
    return a.with_("default: " + row.source, goodput=row.value)


def with_goodput_request(
    a: SizingAssumptions, overrides: dict[str, Any]
) -> tuple[SizingAssumptions, dict[str, Any]]:
    """Take ``goodput="model"`` out of keyword overrides: it resets ``a`` to the failure
    model instead of setting a number."""
    value = overrides.get("goodput")
    if isinstance(value, str) and value.strip().lower() == GOODPUT_MODEL:
        rest = {k: v for k, v in overrides.items() if k != "goodput"}
        return use_goodput_model(a), rest
    return a, overrides


def spare_idle_server_w(server_power_per_gpu_w: Any, tdp_w: Any) -> Any:
    """Idle draw of a hot-spare GPU with its server share, W: GPU TDP x
    ``idle_power_fraction`` + the non-GPU nameplate x ``non_gpu_load_fraction``
    (``data/transients.csv``)."""
    from planner.training.transients import load_transient_assumptions

    t = load_transient_assumptions()
    server = np.asarray(server_power_per_gpu_w, dtype=float)
    tdp = np.asarray(tdp_w, dtype=float)
    return tdp * t["idle_power_fraction"].value + np.maximum(server - tdp, 0.0) * (
        t["non_gpu_load_fraction"].value
    )


def checkpoint_params(run: TrainingRun) -> Any:
    """Parameters a checkpoint holds: the run's total parameters, else its active ones, else
    Chinchilla-optimal for its FLOPs (``sqrt(FLOPs / 120)``, as the run model assumes)."""
    if run.params is not None:
        return np.asarray(run.params, dtype=float)
    if run.effective_active_params is not None:
        return np.asarray(run.effective_active_params, dtype=float)
    from planner.utilisation import active_params_for_flops

    return active_params_for_flops(run.total_flops())


#: Clusters at least this large show the goodput penalty next to the answer (faces).
LARGE_CLUSTER_GPUS = 100_000


@dataclass(frozen=True)
class GoodputOptions:
    """A user's changes to the failure model's defaults (``None``: the chip generation's
    default in ``data/goodput_assumptions.csv``).

    Attributes
    ----------
    failure_rate_per_gpu_hour : interruptions per GPU-hour (> 0), split into hardware and
        other in the generation's default proportion.
    write_bandwidth_gb_s_per_gpu : checkpoint write bandwidth per GPU, GB/s (> 0).
    hot_spare_fraction : idle spare GPUs per training GPU, in [0, 1].
    checkpoint : ``"blocking"`` or ``"async"`` (in-memory snapshot, background write).
    """

    failure_rate_per_gpu_hour: float | None = None
    write_bandwidth_gb_s_per_gpu: float | None = None
    hot_spare_fraction: float | None = None
    checkpoint: str | None = None

    def given(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def validate(self) -> None:
        """One :class:`InputError` naming the first bad field, its value as given and the
        allowed range."""
        if self.failure_rate_per_gpu_hour is not None:
            check_positive("failure_rate_per_gpu_hour", self.failure_rate_per_gpu_hour)
        if self.write_bandwidth_gb_s_per_gpu is not None:
            check_positive("write_bandwidth_gb_s_per_gpu", self.write_bandwidth_gb_s_per_gpu)
        if self.hot_spare_fraction is not None:
            check_range("hot_spare_fraction", self.hot_spare_fraction, 0.0, 1.0)
        if self.checkpoint is not None and self.checkpoint not in ("blocking", "async"):
            raise InputError("checkpoint", self.checkpoint, "one of: blocking, async")


class FailureModel:
    """``goodput(N)`` for one run on one chip, or per row on mixed chips (vectorised).

    The defaults of each chip's generation (``data/goodput_assumptions.csv``) are looked up
    once; :meth:`__call__` then evaluates :func:`planner.training.goodput.goodput` on arrays.
    """

    def __init__(
        self,
        chip_ids: Any,
        codes: Any,
        params: Any,
        gpus_per_system: Any,
        options: GoodputOptions | None = None,
    ) -> None:
        from planner.training.goodput import defaults_for

        table = [defaults_for(c) for c in chip_ids]
        self.codes = codes
        self.params = params
        self.gpus_per_system = np.asarray(gpus_per_system, dtype=float)

        def col(name: str) -> Any:
            return np.asarray([getattr(d, name) for d in table], dtype=float)[codes]

        self.hw = col("failure_rate_hardware_per_gpu_hour")
        self.other = col("failure_rate_other_per_gpu_hour")
        self.bytes_per_param = col("checkpoint_bytes_per_param")
        self.write_bw = col("write_bandwidth_gb_s_per_gpu")
        self.restart_s = col("restart_recovery_minutes") * 60.0
        self.host_bw = col("host_copy_bandwidth_gb_s_per_gpu")
        self.replace_s = col("node_replacement_hours") * 3600.0
        self.spare_fraction = col("hot_spare_fraction")
        first = table[int(np.ravel(np.asarray(codes))[0])]
        self.generation = first.generation
        self.sources = {
            "failure_rate_per_gpu_hour": first.sources["failure_rate_hardware_per_gpu_hour"],
            **first.sources,
        }
        opt = options or GoodputOptions()
        self.checkpoint = opt.checkpoint or "blocking"
        if opt.failure_rate_per_gpu_hour is not None:
            share = self.hw / (self.hw + self.other)
            self.hw = opt.failure_rate_per_gpu_hour * share
            self.other = opt.failure_rate_per_gpu_hour * (1.0 - share)
            self.sources["failure_rate_per_gpu_hour"] = "user input"
        if opt.write_bandwidth_gb_s_per_gpu is not None:
            self.write_bw = np.asarray(opt.write_bandwidth_gb_s_per_gpu, dtype=float)
            self.sources["write_bandwidth_gb_s_per_gpu"] = "user input"
        if opt.hot_spare_fraction is not None:
            self.spare_fraction = np.asarray(opt.hot_spare_fraction, dtype=float)
            self.sources["hot_spare_fraction"] = "user input"

    def take(self, rows: np.ndarray) -> FailureModel:
        """The model of some rows only (1-D per-row arrays indexed, scalars kept)."""
        sub = object.__new__(FailureModel)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray) and value.ndim == 1:
                value = value[rows]
            setattr(sub, name, value)
        return sub

    def spares(self, gpus: Any) -> Any:
        """Hot-spare GPUs for ``gpus`` training GPUs: whole systems of the chip."""
        gps = self.gpus_per_system
        n = np.asarray(gpus, dtype=float)
        return np.ceil(n * self.spare_fraction / gps - 1e-9) * gps

    def __call__(self, gpus: Any) -> Any:
        from planner.training.goodput import goodput

        return goodput(
            gpus,
            self.params,
            failure_rate_hardware_per_gpu_hour=self.hw,
            failure_rate_other_per_gpu_hour=self.other,
            checkpoint_bytes_per_param=self.bytes_per_param,
            write_bandwidth_gb_s_per_gpu=self.write_bw,
            restart_recovery_s=self.restart_s,
            host_copy_bandwidth_gb_s_per_gpu=self.host_bw,
            spare_gpus=self.spares(gpus),
            node_replacement_s=self.replace_s,
            checkpoint=self.checkpoint,  # type: ignore[arg-type]
            sources=self.sources,
        )


def failure_model(
    chip_ids: Any,
    codes: Any,
    params: Any,
    gpus_per_system: Any,
    options: GoodputOptions | None = None,
) -> FailureModel | None:
    """The :class:`FailureModel` of the chips, or ``None`` (the default goodput of
    ``data/assumptions.csv`` stays) when a chip of the user's own catalog has no generation
    in ``data/goodput_assumptions.csv``."""
    from planner.training.goodput import generation_of

    try:
        for chip in chip_ids:
            generation_of(chip)
    except InputError:
        return None
    return FailureModel(chip_ids, codes, params, gpus_per_system, options)


def _gpus_at_goodput(effective_gpus: Any, goodput: Any) -> Any:
    """``max(effective / goodput, 1)``; ``inf`` (no warning) where goodput(N) underflows to 0
    (millions of GPUs fail faster than they checkpoint): refused by :func:`gpus_for_deadline`."""
    g = np.asarray(goodput, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        return np.maximum(np.asarray(effective_gpus, dtype=float) / g, 1.0)


def gpus_for_deadline(
    effective_gpus: Any,
    model: FailureModel,
    gpus_per_system: Any,
    whole_systems: bool,
    deadline_days: Any = None,
) -> Any:
    """GPUs N with ``N x goodput(N) >= effective_gpus`` (the GPUs the work needs at goodput
    1), rounded up to whole systems (or GPUs), at least one.

    Fixed point ``N <- effective / goodput(N)`` from ``N = effective``: N rises monotonically
    to the smallest solution, converging fast while goodput varies slowly with N (its
    elasticity is the contraction factor). Where it does not converge (``N x goodput(N)``
    peaks below the work) or passes :data:`MAX_GPUS`, raises :class:`ResultOutOfRange`
    naming ``days``.
    """
    k = np.asarray(effective_gpus, dtype=float)
    n = _gpus_at_goodput(k, model(np.maximum(k, 1.0)).goodput)
    k = np.broadcast_to(k, np.shape(n))
    flat = np.ndim(n) == 1  # iterate only the rows still moving (1-D arrays)
    active = np.arange(np.size(n))  # rows still moving (used when flat)
    done = np.zeros(np.shape(n), dtype=bool)
    for _ in range(GOODPUT_MAX_ITERATIONS):
        if flat:
            sub = model.take(active)
            cur = n[active]
            nxt = _gpus_at_goodput(k[active], sub(cur).goodput)
            n[active] = nxt
            still = (np.abs(nxt - cur) > GOODPUT_TOLERANCE * nxt) & (nxt <= MAX_GPUS)
            done[active[~still]] = True
            active = active[still]
            if active.size == 0:
                break
        else:
            nxt = _gpus_at_goodput(k, model(n).goodput)
            moving = np.abs(nxt - n) > GOODPUT_TOLERANCE * nxt
            n = nxt
            if not np.any(moving) or np.any(n > MAX_GPUS):
                done = ~moving
                break
    bad = ~done | ~(n <= MAX_GPUS)
    if np.any(bad):
        need, where = first_bad(np.broadcast_to(k, np.shape(n)), bad)
        shown = need if deadline_days is None else deadline_days
        if np.ndim(shown):
            shown, _ = first_bad(np.broadcast_to(np.asarray(shown, dtype=float), np.shape(n)), bad)
        raise ResultOutOfRange(
            "days",
            shown,
            "a deadline some cluster can meet",
            detail="failures and restarts cap a synchronous run: N x goodput(N) never reaches "
            f"the {need:,.0f} GPUs at goodput 1 the work needs by then; give more days, or "
            "state a goodput" + (f"; {where}" if where else ""),
        )
    gps = np.asarray(gpus_per_system, dtype=float)
    for _ in range(4):  # whole systems; one more where rounding left N x goodput(N) short
        rounded = (
            np.maximum(ceil_whole(n / gps), 1.0) * gps
            if whole_systems
            else np.maximum(ceil_whole(n), 1.0)
        )
        short = rounded * np.asarray(model(rounded).goodput, dtype=float) < k * (1 - 1e-12)
        if not np.any(short):
            return rounded
        n = np.where(short, rounded + (gps if whole_systems else 1.0), rounded)
    return rounded


def goodput_model_dict(result: Any) -> dict[str, Any]:
    """What a sizing reports of the failure model (``SizingResult.goodput_model``): floats
    (arrays stay arrays until :meth:`SizingResult.to_dict`: a million-row list costs more
    than the sizing), whole spare GPUs as int."""
    keys = (
        "mtbf_hours",
        "failures_per_day",
        "checkpoint_interval_s",
        "checkpoint_write_s",
        "checkpoint_blocking_s",
        "checkpoint_size_tb",
        "restart_recovery_s",
        "lost_work_per_failure_s",
        "spare_gpus",
        "checkpoint_mode",
        "interval_rule",
        "sources",
    )
    d: dict[str, Any] = {}
    for k in keys:
        value = getattr(result, k)
        if not isinstance(value, str | dict):
            value = out(value)
            if k == "spare_gpus" and np.ndim(value) == 0:
                value = int(value)
        d[k] = value
    return d


def _goodput_source(g: Any, r: Any) -> str:
    first = float(np.ravel(np.asarray(r.mtbf_hours))[0])
    tau = float(np.ravel(np.asarray(r.checkpoint_interval_s))[0])
    spares = float(np.ravel(np.asarray(r.spare_gpus))[0])
    head = "failure model (planner.training.goodput)"
    if np.ndim(g) == 0:
        head += (
            f": MTBF {first:.3g} h, a checkpoint every {tau / 60:.3g} min, "
            f"{spares:,.0f} hot-spare GPUs"
        )
    return head + "; failure rate: " + str(r.sources.get("failure_rate_per_gpu_hour", ""))


def _apply_failure_model(
    a: SizingAssumptions,
    model: FailureModel | None,
    *,
    flops: Any,
    peak_tflops: Any,
    gpus: Any,
    days: Any,
    gpus_per_system: Any,
) -> tuple[SizingAssumptions, Any, Any, Any]:
    """``(assumptions, gpus, spare_gpus, goodput result)``: goodput(N) set from the failure
    model when ``model`` is given (GPUs solved for a deadline), else unchanged."""
    if model is None:
        return a, gpus, 0.0, None
    if gpus is None:
        with np.errstate(over="ignore"):
            effective = np.asarray(flops, dtype=float) / (
                np.asarray(days, dtype=float)
                * SECONDS_PER_DAY
                * np.asarray(peak_tflops, dtype=float)
                * 1e12
                * np.asarray(a.mfu, dtype=float)
            )
        if np.any(~np.isfinite(effective) | (effective > MAX_GPUS)):
            return a, gpus, 0.0, None  # absurd already at goodput 1: _check_outputs says why
        gpus = gpus_for_deadline(effective, model, gpus_per_system, a.whole_systems, days)
    result = model(gpus)
    g = out(result.goodput)
    a = a.with_(_goodput_source(g, result), goodput=g)
    return a, gpus, result.spare_gpus, result


def size_training(
    run: TrainingRun,
    accelerator: Accelerator | str,
    *,
    gpus: Any = None,
    days: Any = None,
    assumptions: SizingAssumptions | None = None,
    catalog: Catalog | None = None,
    goodput_options: GoodputOptions | None = None,
    spare_gpus: Any = None,
    **overrides: Any,
) -> SizingResult:
    """Size a training run on one chip, given either the GPUs or the deadline.

    Parameters
    ----------
    run : TrainingRun
        The work (FLOPs, or active parameters x tokens).
    accelerator : Accelerator or str
        A catalog chip or its id (``"h100"``, ``"gb200"``...).
    gpus : int or array, optional
        GPUs available: the result gives the days.
    days : float or array, optional
        Deadline in days: the result gives the GPUs (whole systems) and the achieved days.
    assumptions : SizingAssumptions, optional
        Defaults from ``data/assumptions.csv`` when omitted.
    goodput_options : GoodputOptions, optional
        Changes to the failure model's defaults (failure rate, write bandwidth, spares,
        asynchronous checkpoints); used when the goodput comes from the failure model.
    spare_gpus : int or array, optional
        Hot spares installed beside a STATED goodput (e.g. a sensitivity case carrying the
        failure model's count of its base case); the failure model sets its own.
    **overrides
        Any :class:`SizingAssumptions` field (``mfu=0.5``, ``pue=1.1``, ``precision="fp8"``).
        ``goodput=None`` or ``goodput="model"``: goodput(N) from the failure model (the
        default); a number states it.

    Returns
    -------
    SizingResult
        Scalars for scalar inputs; arrays (use ``to_frame()``) when any input is an array.

    Raises
    ------
    InputError
        Naming the field, the value and the allowed range.
    """
    chip = (
        accelerator
        if isinstance(accelerator, Accelerator)
        else (catalog or load_catalog()).get(accelerator)
    )
    a = resolve_assumptions(assumptions, overrides)
    _check_gpus_or_days(gpus, days)
    peak = chip.dense_tflops(a.precision)
    flops = run.total_flops()
    a = with_run_model(a, run, chip, gpus)
    a = _with_measured_load(a, chip)
    if goodput_options is not None:
        goodput_options.validate()
    model = (
        failure_model([chip.id], 0, checkpoint_params(run), chip.gpus_per_system, goodput_options)
        if goodput_from_failure_model(a)
        else None
    )
    a, sized_gpus, spares, g_result = _apply_failure_model(
        a,
        model,
        flops=flops,
        peak_tflops=peak,
        gpus=gpus,
        days=days,
        gpus_per_system=chip.gpus_per_system,
    )
    if g_result is None and spare_gpus is not None:
        check_range("spare_gpus", spare_gpus, 0.0, MAX_GPUS)
        spares = spare_gpus
    price, rent, embodied = _chip_economics(chip, a)
    values = _evaluate(
        flops=flops,
        peak_tflops=peak,
        gpus_per_system=chip.gpus_per_system,
        system_power_kw=chip.system_power_kw,
        price_usd_per_gpu=price,
        rent_usd_per_gpu_hour=rent,
        embodied_kgco2e_per_gpu=embodied,
        gpus=sized_gpus,
        days=days,
        a=a,
        spare_gpus=spares,
        tdp_w=chip.tdp_w,
    )
    _check_outputs(values, a, price=price, rent=rent, chip=chip.id)
    scalar_power = (
        all(
            np.ndim(v) == 0
            for v in (a.pue, values["design_pue"], a.network_overhead, a.avg_load_fraction)
        )
        and np.ndim(a.avg_power_per_gpu_w) == 0
    )
    chain = (
        power.power_chain_per_gpu(
            chip.tdp_w,
            chip.system_power_kw,
            chip.gpus_per_system,
            network_overhead=float(a.network_overhead),
            pue=float(a.pue),
            design_pue=float(values["design_pue"]),
            avg_load_fraction=float(a.avg_load_fraction),
            avg_power_per_gpu_w=None
            if a.avg_power_per_gpu_w is None
            else float(a.avg_power_per_gpu_w),
        )
        if scalar_power
        else None
    )
    return SizingResult(
        accelerator=chip.id,
        precision=a.precision,
        gpus_per_system=chip.gpus_per_system,
        mfu=out(a.mfu),
        goodput=out(a.goodput),
        pue=out(a.pue),
        power_chain=chain,
        assumptions=_assumption_list(run, chip, a, peak),
        goodput_model=None
        if g_result is None
        else {
            **goodput_model_dict(g_result),
            "goodput_lost_days": out(
                np.asarray(values["days"]) * (1.0 - np.asarray(a.goodput, dtype=float))
            ),
        },
        **values,
    )


def _chip_economics(chip: Accelerator, a: SizingAssumptions) -> tuple[Any, Any, Any]:
    """Server price per GPU, rent per GPU-hour and embodied kgCO2e per GPU for a chip
    (:func:`planner.amortization.chip_prices` with the assumptions' overrides)."""
    return amortization.chip_prices(
        chip, a.price_usd_per_gpu, a.rent_usd_per_gpu_hour, date=a.price_date
    )


def with_run_model(
    a: SizingAssumptions, run: TrainingRun, chip: Accelerator, gpus: Any
) -> SizingAssumptions:
    """MFU from the run model when no MFU was given (user, preset, scenario).

    The run model learns MFU alone: it is fitted to the published runs' utilisation divided
    by their goodput from the failure model, and sizing multiplies goodput back (goodput(N)
    of the failure model, or the goodput stated), so failures are not counted twice. Under
    a deadline the GPUs are not known yet: the model's cluster term is 0 on the shipped
    runs, so the prediction does not depend on them.
    """
    if not a.mfu_from_run_model:
        return a
    est = utilisation_for_run(run, chip, gpus, a.precision)
    return replace(a.with_(est.explanation, mfu=out(est.value)), mfu_from_run_model=True)


def _with_measured_load(a: SizingAssumptions, chip: Accelerator) -> SizingAssumptions:
    """Average draw: the measured fraction for the chip family unless one was given."""
    if not a.sources.get("avg_load_fraction", "").startswith("default:"):
        return a
    if chip.id not in amortization.measured_load_table():
        return a
    avg, low, high, source = amortization.measured_load_fraction(chip.id)
    return a.with_(
        f"measured for {chip.id} (range {low:g}-{high:g}): {source}", avg_load_fraction=avg
    )


def _assumption_list(
    run: TrainingRun, chip: Accelerator, a: SizingAssumptions, peak: float
) -> dict[str, dict[str, Any]]:
    """Every value used, with its unit and source."""
    items: dict[str, dict[str, Any]] = {}

    def add(name: str, value: Any, unit: str, source: str) -> None:
        if _numeric(value) and np.ndim(value) > 0:  # vectorised: summarise, do not copy 1M values
            arr = np.asarray(value, dtype=float)
            value = f"{arr.size:,} values in [{np.nanmin(arr):.4g}, {np.nanmax(arr):.4g}]"
        items[name] = {
            "value": jsonable(out(value) if _numeric(value) else value),
            "unit": unit,
            "source": source,
        }

    if run.flops is None:
        if run.params is not None:
            add("params", run.params, "parameters", "run input")
        add("active_params", run.effective_active_params, "parameters", "run input")
        add("tokens", run.tokens, "tokens", "run input")
    add("flops", run.total_flops(), "FLOPs", run.describe())
    add(
        "peak_dense_tflops",
        peak,
        "TFLOP/s per GPU",
        f"catalog {chip.id} ({a.precision} dense): {chip.source}",
    )
    add("tdp_w", chip.tdp_w, "W", f"catalog {chip.id}: {chip.source}")
    add("system", chip.system_name, "", f"catalog {chip.id}")
    add("gpus_per_system", chip.gpus_per_system, "GPUs", f"catalog {chip.id}: {chip.source}")
    add("system_power_kw", chip.system_power_kw, "kW", f"catalog {chip.id}: {chip.source}")
    for name, unit in SizingAssumptions.UNITS.items():
        value = getattr(a, name)
        if name == "design_pue" and value is None:
            add(name, a.grid_pue(), unit, facility.derived_design_pue_source())
            continue
        if value is None:
            continue
        add(name, value, unit, a.sources.get(name, "user input"))
    for row in amortization.price_assumptions(
        chip, a.price_usd_per_gpu, a.rent_usd_per_gpu_hour, date=a.price_date
    ):
        add(*row)
    return items


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | np.ndarray | np.generic | pd.Series) and not isinstance(
        value, bool
    )


def compare_accelerators(
    run: TrainingRun,
    *,
    gpus: Any = None,
    days: Any = None,
    assumptions: SizingAssumptions | None = None,
    catalog: Catalog | None = None,
    ids: list[str] | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Every catalog chip (or ``ids``) sized for the same run: one row per chip.

    A chip without the requested precision gets a row of NaN and a ``note`` saying so,
    rather than a silent fallback to another precision.
    """
    cat = catalog or load_catalog()
    a = resolve_assumptions(assumptions, overrides)
    rows = []
    for chip in (cat.get(i) for i in ids) if ids else cat:
        if chip.dense_tflops_or_none(a.precision) is None:
            rows.append({"accelerator": chip.id, "note": f"no {a.precision.upper()} tensor mode"})
            continue
        try:
            res = size_training(run, chip, gpus=gpus, days=days, assumptions=a)
        except ResultOutOfRange as exc:  # this chip's answer is absurd; the others may not be
            rows.append({"accelerator": chip.id, "note": str(exc)})
            continue
        row = res.to_frame().iloc[0].to_dict()
        row.update(basis_columns(res))
        row["note"] = ""
        rows.append(row)
    df = pd.DataFrame(rows).set_index("accelerator")
    return df


#: Columns saying which assumptions an answer used (:func:`basis_columns`).
BASIS_COLUMNS = (
    "precision",
    "mfu",
    "mfu_source",
    "pue",
    "pue_source",
    "design_pue",
    "design_pue_source",
    "params",
    "active_params",
    "tokens",
)


def source_kind(source: str) -> str:
    """A short name for where an assumption came from, for a table column.

    ``preset NAME`` (the preset states it), ``run model`` (MFU from the run model fitted to
    published runs), ``run model, size inferred`` (the fallback when the run is given only as
    FLOPs: Chinchilla-optimal active parameters), ``facility profile NAME``, ``derived from
    the annual PUE``, ``default`` (data/assumptions.csv) or ``user input``.
    """
    text = str(source)
    if text.startswith("preset "):
        return text.split(":", 1)[0]
    if "from the run model" in text:
        return "run model, size inferred" if "Chinchilla" in text else "run model"
    if text.startswith("facility profile "):
        return text.split(" (", 1)[0]
    if text.startswith("derived from the annual pue"):
        return "derived from the annual PUE"
    if text.startswith("default"):
        return "default"
    return text.split(":", 1)[0] if text else "user input"


def basis_columns(result: SizingResult) -> dict[str, Any]:
    """What a (scalar) answer assumed: precision, MFU, both PUEs (each with
    :func:`source_kind`) and the model shape (total / active parameters, tokens; ``None``
    for a run given as FLOPs). Two answers for "the same run" differ by these."""
    items = result.assumptions

    def value(name: str) -> Any:
        return items.get(name, {}).get("value")

    def kind(name: str) -> str:
        return source_kind(items.get(name, {}).get("source", ""))

    return {
        "precision": result.precision,
        "mfu": result.mfu,
        "mfu_source": kind("mfu"),
        "pue": result.pue,
        "pue_source": kind("pue"),
        "design_pue": result.design_pue,
        "design_pue_source": kind("design_pue"),
        "params": value("params"),
        "active_params": value("active_params"),
        "tokens": value("tokens"),
    }


_FRAME_ASSUMPTION_COLUMNS = (
    "mfu",
    "goodput",
    "pue",
    "design_pue",
    "network_overhead",
    "avg_load_fraction",
    "avg_power_per_gpu_w",
    "electricity_usd_per_mwh",
    "grid_gco2_per_kwh",
    "price_usd_per_gpu",
    "rent_usd_per_gpu_hour",
)


def size_frame(
    scenarios: pd.DataFrame,
    *,
    assumptions: SizingAssumptions | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Size many scenarios, possibly on different chips, in one vectorised call.

    ``scenarios`` has an ``accelerator`` column of catalog ids; the work as ``flops`` or
    ``active_params`` and ``tokens``; exactly one of ``gpus`` or ``days``; and optionally any of
    ``mfu, goodput, pue, design_pue, network_overhead, avg_load_fraction, avg_power_per_gpu_w,
    electricity_usd_per_mwh, grid_gco2_per_kwh, price_usd_per_gpu, rent_usd_per_gpu_hour``
    (columns override ``assumptions``). Returns the result columns, same index.
    """
    cat = catalog or load_catalog()
    if "accelerator" not in scenarios:
        raise InputError("accelerator", "missing column", "a column of catalog ids")
    # factorize once, then index small per-chip tables: ~50x faster than Series.map on 1M rows
    codes, uniques = pd.factorize(scenarios["accelerator"].astype(str).str.lower())
    unknown = sorted(set(uniques) - set(cat.ids))
    if unknown:
        raise InputError("accelerator", unknown[0], "one of: " + ", ".join(cat.ids))
    table = cat.frame().loc[list(uniques)]

    def per_row(column: str) -> np.ndarray:
        return table[column].to_numpy(dtype=float)[codes]

    overrides = {
        c: scenarios[c].to_numpy(dtype=float) for c in _FRAME_ASSUMPTION_COLUMNS if c in scenarios
    }
    a = resolve_assumptions(assumptions, overrides, source="scenario column")
    if "flops" in scenarios:
        run = TrainingRun(flops=scenarios["flops"].to_numpy(dtype=float))
    else:
        run = TrainingRun(
            active_params=scenarios.get("active_params", scenarios.get("params")),
            tokens=scenarios.get("tokens"),
        )
        run = TrainingRun(
            active_params=np.asarray(run.active_params, dtype=float),
            tokens=np.asarray(run.tokens, dtype=float),
        )
    gpus = scenarios["gpus"].to_numpy(dtype=float) if "gpus" in scenarios else None
    days = scenarios["days"].to_numpy(dtype=float) if "days" in scenarios else None
    _check_gpus_or_days(gpus, days)
    peak = per_row(f"{a.precision}_dense_tflops")
    if np.isnan(peak).any():
        bad = uniques[codes[np.isnan(peak)][0]]
        raise InputError(
            "precision",
            a.precision,
            "a precision every listed chip supports",
            detail=f"{bad} has no {a.precision.upper()} tensor mode",
        )
    econ_table = amortization.chip_economics().reindex(list(uniques))

    def per_row_econ(column: str) -> np.ndarray:
        return econ_table[column].to_numpy(dtype=float)[codes]

    price = (
        np.asarray(a.price_usd_per_gpu, dtype=float)
        if a.price_usd_per_gpu is not None
        else per_row_econ("server_price_usd_per_gpu")
    )
    rent = (
        np.asarray(a.rent_usd_per_gpu_hour, dtype=float)
        if a.rent_usd_per_gpu_hour is not None
        else per_row_econ("rent_usd_per_gpu_hour")
    )
    if a.sources.get("avg_load_fraction", "").startswith("default:"):
        # the measured per-family average draw, as size_training uses (default where unmeasured)
        measured = amortization.measured_power()["average_fraction_of_nameplate"]
        per_chip = measured.reindex(list(uniques)).fillna(float(a.avg_load_fraction))
        a = a.with_(
            "measured per chip family: data/measured_power.csv",
            avg_load_fraction=per_chip.to_numpy(dtype=float)[codes],
        )
    if a.mfu_from_run_model:
        est = utilisation_for_run(
            run, np.asarray(uniques, dtype=object)[codes], gpus, a.precision, catalog=cat
        )
        a = replace(
            a.with_(est.explanation + " (per row)", mfu=est.value),
            mfu_from_run_model=True,
        )
    gps = per_row("gpus_per_system")
    flops = run.total_flops()
    model = (
        failure_model(list(uniques), codes, checkpoint_params(run), gps)
        if goodput_from_failure_model(a)
        else None
    )
    a, sized_gpus, spares, _ = _apply_failure_model(
        a, model, flops=flops, peak_tflops=peak, gpus=gpus, days=days, gpus_per_system=gps
    )
    values = _evaluate(
        embodied_kgco2e_per_gpu=per_row_econ("embodied_kgco2e_per_gpu"),
        flops=flops,
        peak_tflops=peak,
        gpus_per_system=gps,
        system_power_kw=per_row("system_power_kw"),
        price_usd_per_gpu=price,
        rent_usd_per_gpu_hour=rent,
        gpus=sized_gpus,
        days=days,
        a=a,
        spare_gpus=spares,
        tdp_w=per_row("tdp_w"),
    )
    _check_outputs(values, a, price=price, rent=rent)
    n = len(scenarios)
    data = {
        k: (np.broadcast_to(v, n) if v is not None else np.full(n, np.nan))
        for k, v in values.items()
    }
    result = pd.DataFrame(data, index=scenarios.index)
    result.insert(0, "accelerator", np.asarray(uniques, dtype=object)[codes])
    result["goodput"] = np.broadcast_to(np.asarray(a.goodput, dtype=float), n)
    return result


@dataclass(frozen=True)
class GridFit:
    """Whether a sized run's PEAK facility power fits under a grid limit, and what fits if not.

    ``max_gpus`` is the most whole systems' worth of GPUs the limit can power at the run's peak
    facility power per GPU (``facility_power_mw / gpus``), so it carries the run's PUE and
    network overhead.
    """

    fits: bool
    grid_mw: float
    need_mw: float
    short_mw: float
    max_systems: int
    max_gpus: int


def grid_fit(result: SizingResult | dict[str, Any], grid_mw: float) -> GridFit:
    """Compare a (scalar) sizing's peak facility power with ``grid_mw``, MW.

    Raises
    ------
    InputError
        If ``grid_mw`` is not a finite number > 0.
    """
    check_positive("grid_mw", grid_mw)
    d = result.to_dict() if isinstance(result, SizingResult) else result
    need_mw = float(d["facility_power_mw"])
    per_system_mw = need_mw / float(d["gpus"]) * float(d["gpus_per_system"])
    max_systems = max(int(np.floor(grid_mw / per_system_mw * (1 + 1e-12))), 0)
    return GridFit(
        fits=need_mw <= grid_mw * (1 + 1e-12),
        grid_mw=float(grid_mw),
        need_mw=need_mw,
        short_mw=max(need_mw - grid_mw, 0.0),
        max_systems=max_systems,
        max_gpus=max_systems * int(d["gpus_per_system"]),
    )


def grid_transients(
    result: SizingResult | dict[str, Any], ramp_limit_mw_per_s: float | None = None
) -> dict[str, Any]:
    """The power transients a (scalar) sized run puts on the grid, and what tames them.

    From :mod:`planner.training.transients` at the run's training GPUs, chip, network
    overhead and annual PUE: ``swing_mw`` (compute vs communication phase, every step),
    ``ramp_rate_mw_per_s``, ``swing_frequency_hz``, ``failure_drop_mw`` (a failure stops
    the job) and their ``sources``. With ``ramp_limit_mw_per_s`` (the utility's limit),
    ``mitigations`` lists each option (none, battery, GPU power smoothing, smoothing +
    storage) with the battery MW / MWh, the grid-side swing and ramp, the extra energy and
    the grid connection to reserve (:func:`planner.training.transients.mitigation_options`).

    Raises
    ------
    InputError
        If ``ramp_limit_mw_per_s`` is not a finite number > 0.
    """
    from planner.training.transients import mitigation_options, training_power_profile

    if ramp_limit_mw_per_s is not None:
        check_positive("ramp_limit_mw_per_s", ramp_limit_mw_per_s)
    d = result.to_dict() if isinstance(result, SizingResult) else result
    items = d.get("assumptions", {})

    def used(name: str) -> Any:
        return items.get(name, {}).get("value")

    profile = training_power_profile(
        float(d["gpus"]),
        str(d["accelerator"]),
        network_overhead=used("network_overhead"),
        pue=d.get("pue"),
    )
    out_d: dict[str, Any] = {
        "swing_mw": profile.swing_mw,
        "ramp_rate_mw_per_s": profile.ramp_rate_mw_per_s,
        "swing_frequency_hz": profile.swing_frequency_hz,
        "failure_drop_mw": profile.failure_drop_mw,
        "compute_it_mw": profile.compute_it_mw,
        "communication_it_mw": profile.communication_it_mw,
        "sources": dict(profile.sources),
    }
    if ramp_limit_mw_per_s is not None:
        options = mitigation_options(profile, ramp_limit_mw_per_s=float(ramp_limit_mw_per_s))
        out_d["ramp_limit_mw_per_s"] = float(ramp_limit_mw_per_s)
        out_d["mitigations"] = jsonable_rows(options.to_dict(orient="records"))
    return out_d


def power_timeline(
    result: SizingResult | dict[str, Any],
    *,
    mitigation: str = "smoothing+storage",
    ramp_limit_mw_per_s: float | None = None,
    dt_s: float = 0.05,
) -> pd.DataFrame:
    """Grid-side power of a (scalar) sized run over one stretch of training: steps, a blocking
    checkpoint, steps, a failure and its restart, steps; without a mitigation and with
    ``mitigation`` (:func:`planner.training.transients.power_over_time`).

    The cluster is the run's training GPUs on its chip, network overhead and annual PUE (as
    :func:`grid_transients`); the checkpoint lasts the failure model's blocking write and the
    restart its restart-and-recovery time when the goodput came from it (else 30 s and 120 s).
    Only the instants where a line bends are kept (the same piecewise-linear lines).

    Raises
    ------
    InputError
        A bad ``mitigation`` or ramp limit (one line naming the field).
    """
    from planner.training.transients import power_over_time, training_power_profile

    if ramp_limit_mw_per_s is not None:
        check_positive("ramp_limit_mw_per_s", ramp_limit_mw_per_s)
    d = result.to_dict() if isinstance(result, SizingResult) else result
    items = d.get("assumptions", {})
    profile = training_power_profile(
        float(d["gpus"]),
        str(d["accelerator"]),
        network_overhead=items.get("network_overhead", {}).get("value"),
        pue=d.get("pue"),
    )
    model = d.get("goodput_model") or {}
    return power_over_time(
        profile,
        mitigation=mitigation,
        ramp_limit_mw_per_s=ramp_limit_mw_per_s,
        checkpoint_s=float(model.get("checkpoint_blocking_s", 30.0)),
        restart_s=float(model.get("restart_recovery_s", 120.0)),
        dt_s=dt_s,
        breakpoints_only=True,  # the same lines in a few hundred rows
    )
