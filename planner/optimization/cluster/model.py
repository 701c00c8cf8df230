"""Build: a validated scenario -> :class:`ClusterModel`, the table of coefficients per (workload,
chip) computed by the core, and the limits. No solver object.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.catalog import Catalog, load_catalog
from planner.errors import InputError, ResultOutOfRange
from planner.optimization import goodput_loop, grid_swing
from planner.optimization.constants import (
    BATCH_LAW_COEFFICIENT,
    BATCH_LAW_EXPONENT,
    MIN_TOKENS_PER_GPU_STEP,
    OBJECTIVES,
    WHOLE_PURCHASE,
)
from planner.scenarios import (
    Scenario,
)
from planner.sizing import MAX_GPUS, SizingResult, size_training
from planner.workloads import TrainingRun


@dataclass(frozen=True)
class ClusterModel:
    """The optimisation model as plain data (no solver objects).

    Attributes
    ----------
    options : DataFrame
        One row per (run, chip) pair, indexed by ``run, chip``. Columns: ``systems_needed``
        (fractional systems to meet the deadline, N), ``max_systems`` (U), ``gpus_per_system``,
        ``facility_power_mw_per_system`` (peak, at the design-day PUE),
        ``grid_power_mw_per_system`` (peak on the site grid at the design-day PUE; 0 for
        rented systems, which are off site), ``on_site`` (bought: ``amortized`` or ``capex``),
        ``capex_usd_per_system`` (the whole cluster capex per system under ``capex``, else 0;
        the up-front price under every pricing is the read-back's ``cluster_capex_usd``, from
        the core's sizing; a service row carries it as ``cluster_capex_usd_per_system``),
        ``run_cost_usd`` (the
        rest of the run's cost in the pricing in force: electricity under ``capex``, amortised
        hardware + electricity under ``amortized``, rent under ``rent``; each is fixed by the
        run's GPU-hours, so independent of the count),
        ``energy_mwh``, ``emissions_tco2``, ``days_on_one_system``, ``deadline_days``,
        ``pricing``, ``systems_per_rack``, ``mfu``, ``pue``.
    excluded : DataFrame
        (run, chip) pairs left out, with the reason (no tensor mode at the run's precision).
    """

    scenario: Scenario
    objective: str
    allow_mixed_chips: bool
    options: pd.DataFrame
    excluded: pd.DataFrame
    grid_limit_mw: float
    budget_usd: float | None
    supply_gpus: dict[str, int]
    max_racks: int | None
    deadline_days: dict[str, float]
    catalog: Catalog = field(repr=False)
    build_s: float = 0.0
    #: Names of the inference services (``scenario.services``), after the runs in ``options``.
    services: tuple[str, ...] = ()
    #: Years of serving the services' energy and running costs cover (``site.horizon_years``).
    horizon_years: float = 1.0
    #: The goodput stated for each (run, chip) pair whose run takes goodput(N) of the failure
    #: model (:class:`planner.optimization.goodput_loop.AssumedGoodput`, with its hot spares);
    #: :func:`planner.optimization.solve` re-solves until it is goodput(N) at the chosen GPUs.
    goodput: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def runs(self) -> list[str]:
        """The training runs (the services are in :attr:`services`)."""
        return list(self.deadline_days)

    @property
    def workloads(self) -> list[str]:
        """Runs, then services: every name of the ``run`` level of ``options``."""
        return [*self.deadline_days, *self.services]

    def is_service(self) -> np.ndarray:
        """Per row of ``options``: whether it is an inference service."""
        if not self.services:
            return np.zeros(len(self.options), dtype=bool)
        return (self.options["workload"] == "service").to_numpy(dtype=bool)

    @property
    def chips(self) -> list[str]:
        return list(dict.fromkeys(self.options.index.get_level_values("chip")))

    def improves(self, base: float, value: float) -> bool:
        """Whether objective ``value`` is strictly better than ``base`` (model units; for
        ``time`` the latest finish in days), beyond solver noise."""
        if self.objective == "time":  # latest finish, days: smaller is better
            return value < base * (1 - 1e-5)
        return value < base * (1 - 1e-5) - 1e-9

    def assumptions(self, run: str, chip: str):  # noqa: ANN201 - SizingAssumptions
        """The core assumptions of ``run`` on ``chip`` (for re-sizing)."""
        spec = next(r for r in self.scenario.runs if r.name == run)
        return self.scenario.assumptions_for(spec, self.catalog.get(chip))

    def with_goodput(self, goodput: dict[tuple[str, str], Any]) -> ClusterModel:
        """The same model built again with other goodputs stated per (run, chip) pair (the
        goodput(N) re-solve, :mod:`planner.optimization.goodput_loop`)."""
        return build_model(
            self.scenario,
            objective=self.objective,
            allow_mixed_chips=self.allow_mixed_chips,
            catalog=self.catalog,
            goodput=goodput,
        )


def build_model(
    scenario: Scenario,
    *,
    objective: str | None = None,
    allow_mixed_chips: bool | None = None,
    catalog: Catalog | None = None,
    goodput: dict[tuple[str, str], Any] | None = None,
) -> ClusterModel:
    """Coefficients and limits of the cluster MILP for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`planner.scenarios.load_scenario`.
    objective : {"cost", "power", "energy", "emissions", "gpus", "time"}, optional
        Default: the scenario's ``objective`` (itself ``cost`` by default).
    allow_mixed_chips : bool, optional
        Let a run use several chip types. Default: the scenario's ``allow_mixed_chips``.
    goodput : dict, optional
        The goodput (and hot spares) stated per (run, chip) pair for runs that take goodput(N)
        (:mod:`planner.optimization.goodput_loop`). Default: the failure model's goodput at
        the GPUs each chip needs for the run's deadline.
    """
    start = time.perf_counter()
    cat = catalog or load_catalog()
    objective = objective or scenario.objective
    if objective not in OBJECTIVES:
        raise InputError("objective", objective, "one of: " + ", ".join(OBJECTIVES))
    mixed = scenario.allow_mixed_chips if allow_mixed_chips is None else bool(allow_mixed_chips)
    grid = scenario.site.grid_limit_mw
    budget = scenario.budget_usd
    supply = {c: int(v) for c, v in scenario.candidates.supply_gpus.items()}
    rows, excluded = [], []
    chip_ids = scenario.candidate_ids(cat)
    if goodput is None:
        goodput = goodput_loop.cluster_initial(scenario, cat, chip_ids)
    sized = _one_system_sizings(scenario, cat, chip_ids, goodput)
    useful_gpus = {spec.name: run_max_gpus(spec) for spec in scenario.runs}
    for r, spec in enumerate(scenario.runs):
        for chip_id in chip_ids:
            chip = cat.get(chip_id)
            if chip.dense_tflops_or_none(spec.precision) is None:
                excluded.append(
                    {
                        "run": spec.name,
                        "chip": chip_id,
                        "reason": f"no {spec.precision.upper()} tensor mode",
                    }
                )
                continue
            one = sized[(r, chip_id)]
            if isinstance(one, ResultOutOfRange):  # e.g. decades on one system
                excluded.append(
                    {"run": spec.name, "chip": chip_id, "reason": one.detail or str(one)}
                )
                continue
            on_site = one.pricing != "rent"
            capex = float(one.capex_usd) if one.pricing == WHOLE_PURCHASE else 0.0
            need = float(one.days) / spec.deadline_days
            power_mw = float(one.facility_power_mw)
            grid_mw = _grid_power_per_system_mw(scenario, chip, one) if on_site else 0.0
            # a utility ramp limit: the grid-side peak after the mitigation, and its costs
            swing = grid_swing.per_system(
                _pair_mitigation(scenario, spec, chip, goodput, need) if on_site else None,
                chip.gpus_per_system,
                float(one.days),
                scenario.assumptions_for(spec, chip),
            )
            grid_mw *= swing["grid_ratio"]
            if not on_site and objective == "time" and chip_id not in supply:
                raise InputError(
                    f"candidates.supply_gpus.{chip_id}",
                    "missing",
                    "a whole number of GPUs for a rented chip with the time objective",
                    detail="rented cloud capacity is off the site grid, so without a cap the "
                    "fastest plan would rent without limit",
                )
            bounds = []
            if on_site:
                bounds.append(math.floor(grid / grid_mw * (1 + 1e-12)))
            if budget is not None and capex + swing["capex_usd"] > 0:
                bounds.append(math.floor(budget / (capex + swing["capex_usd"]) * (1 + 1e-12)))
            if chip_id in supply:
                bounds.append(supply[chip_id] // chip.gpus_per_system)
            at_deadline = _whole_systems(need)
            # the hard ceiling: the run's largest useful parallelism (at least one system)
            # and the most GPUs the core sizes (planner.sizing.MAX_GPUS)
            useful = max(1, int(useful_gpus[spec.name] // chip.gpus_per_system))
            ceiling = min(useful, int(MAX_GPUS // chip.gpus_per_system))
            rows.append(
                {
                    "run": spec.name,
                    "chip": chip_id,
                    "systems_needed": need,
                    "max_systems": min(ceiling, max(at_deadline, min(bounds, default=at_deadline))),
                    "ceiling_systems": ceiling,
                    "max_useful_gpus": float(useful_gpus[spec.name]),
                    "min_systems": _min_systems(scenario, chip) if mixed else 1,
                    "gpus_per_system": chip.gpus_per_system,
                    "facility_power_mw_per_system": power_mw,
                    "grid_power_mw_per_system": grid_mw,
                    "on_site": on_site,
                    "capex_usd_per_system": capex + swing["capex_usd"],
                    "run_cost_usd": float(one.cost_usd) - capex + swing["cost_usd"],
                    "energy_mwh": float(one.energy_mwh) + swing["energy_mwh"],
                    "emissions_tco2": float(one.emissions_tco2) + swing["emissions_tco2"],
                    "days_on_one_system": float(one.days),
                    "deadline_days": spec.deadline_days,
                    "pricing": one.pricing,
                    "systems_per_rack": scenario.systems_per_rack(chip),
                    "mfu": float(one.mfu),
                    "pue": float(one.pue),
                }
            )
    options = pd.DataFrame(rows).set_index(["run", "chip"])
    if scenario.services:
        service_rows, service_excluded = _service_options(scenario, cat, chip_ids, supply)
        options = _join_workloads(options, service_rows)
        excluded.extend(service_excluded)
    return ClusterModel(
        scenario=scenario,
        objective=objective,
        allow_mixed_chips=mixed,
        options=options,
        excluded=pd.DataFrame(excluded, columns=["run", "chip", "reason"]),
        grid_limit_mw=grid,
        budget_usd=budget,
        supply_gpus=supply,
        max_racks=scenario.site.max_racks,
        deadline_days={r.name: r.deadline_days for r in scenario.runs},
        catalog=cat,
        build_s=time.perf_counter() - start,
        services=tuple(s.name for s in scenario.services),
        horizon_years=float(scenario.site.horizon_years),
        goodput=dict(goodput),
    )


def _service_options(
    scenario: Scenario, cat: Catalog, chip_ids: list[str], supply: dict[str, int]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows of the scenario's inference services (:func:`planner.serving_plan.service_options`,
    one call per service and chip with the site's assumptions for that chip), on the site's
    grid at the design-day PUE like a run (:meth:`Scenario.service_design_pue_for`; the
    service's ``facility_power_mw`` is already that peak). Services are priced like the runs
    (``candidates.pricing``, normalised by the scenario): ``capex`` charges the whole cluster
    capex, ``amortized`` the hardware's share of its service life for the horizon, ``rent``
    GPU-hours at rent; prices from data/chip_economics.csv unless the scenario gives its own,
    and the site's networking share and facility cost per MW. ``cluster_capex_usd_per_system``
    is the up-front price of one system under every pricing (reported only)."""
    from planner.serving import ServingAssumptions, ServingDemand
    from planner.serving_plan import ServiceSpec, _max_systems, service_options

    frames, excluded = [], []
    for i, svc in enumerate(scenario.services):
        spec = ServiceSpec(
            svc.name,
            ServingDemand(svc.users, svc.queries_per_user_day, svc.input_tokens, svc.output_tokens),
            model=svc.model,
            params=svc.params,
            active_params=svc.active_params,
            overrides=svc.overrides(),
        )
        for chip_id in chip_ids:
            chip = cat.get(chip_id)
            a = ServingAssumptions.defaults()
            for key, (value, where) in scenario.service_sizing_for(i, chip).items():
                a = a.with_(where, **{key: value})
            for key in ("networking_share", "facility_usd_per_mw"):  # as a run's economics
                if getattr(scenario.site, key) is not None:
                    a = a.with_(
                        f"{scenario.source}: site.{key}", **{key: getattr(scenario.site, key)}
                    )
            # the grid peak at the hall's design-day PUE (Scenario.service_design_pue_for)
            design, _ = scenario.service_design_pue_for(i, chip)
            a = a.with_(
                f"{scenario.source}: design-day PUE of the service's hall", design_pue=design
            )
            rows, out = service_options(
                [spec],
                [chip_id],
                horizon_years=scenario.site.horizon_years,
                systems_per_rack={chip_id: scenario.systems_per_rack(chip)},
                assumptions=a,
                catalog=cat,
            )
            excluded.extend(out.to_dict(orient="records"))
            if not rows.empty:
                rows[_SERVICE_CAPEX] = _service_capex_per_system(rows, chip, a.sizing, design)
                frames.append(rows)
    if not frames:
        return pd.DataFrame(), excluded
    options = pd.concat(frames)
    grid = scenario.site.grid_limit_mw
    options["max_systems"] = [
        _max_systems(options.loc[k], grid, scenario.budget_usd, supply.get(k[1]))
        for k in options.index
    ]
    return options, excluded


#: Column of a service row: the up-front price of one system under every pricing (reported;
#: in the objective only through ``capex_usd_per_system`` under ``capex``).
_SERVICE_CAPEX = "cluster_capex_usd_per_system"


def _service_capex_per_system(
    rows: pd.DataFrame, chip: Any, sizing: Any, design_pue: float
) -> list[float]:
    """Up-front price of one system of a service's rows (servers, networking, facility share:
    :func:`planner.amortization.cluster_capex_usd`), whatever the pricing: its peak IT power
    is the row's design-day facility peak / the design-day PUE, as :func:`planner.serving.serve`
    builds it; prices as :func:`planner.serving.chip_prices`."""
    from planner import amortization
    from planner.serving import chip_prices

    price, _, _ = chip_prices(chip, sizing)
    out = []
    for _, row in rows.iterrows():
        capex = amortization.cluster_capex_usd(
            float(row["gpus_per_system"]),
            price,
            it_power_mw=float(row["facility_power_mw_per_system"]) / design_pue,
            networking_share=sizing.networking_share,
            facility_usd_per_mw=sizing.facility_usd_per_mw,
        )
        out.append(float(capex.total_usd))
    return out


def _join_workloads(runs: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """Training rows then service rows, with a ``workload`` column (``run`` / ``service``);
    a run has no per-system running cost, energy or emissions (all in its fixed part)."""
    from planner.serving_plan import OPTION_COLUMNS, SERVICE_COLUMNS

    runs = runs.copy()
    runs["workload"] = "run"
    for name in SERVICE_COLUMNS[1:]:
        runs[name] = 0.0 if name.endswith("_per_system") else math.nan
    # a run's up-front price comes from its sizing on read-back (it is not per system here)
    runs[_SERVICE_CAPEX] = math.nan
    if services.empty:
        return runs
    columns = [*OPTION_COLUMNS, *SERVICE_COLUMNS, _SERVICE_CAPEX]
    joined = pd.concat([runs, services[columns]])
    joined.index.names = ["run", "chip"]
    return joined


@dataclass(frozen=True)
class _OneSystem:
    """The core's numbers for ONE system of a chip running a whole run (scalars)."""

    days: float
    facility_power_mw: float
    energy_mwh: float
    emissions_tco2: float
    cost_usd: float
    capex_usd: float
    pricing: str
    mfu: float
    pue: float


def _one_system_sizings(
    scenario: Scenario,
    cat: Catalog,
    chip_ids: list[str],
    goodput: dict[tuple[str, str], Any] | None = None,
) -> dict[tuple[int, str], _OneSystem | ResultOutOfRange]:
    """:func:`size_training` for one system of every (run, chip): ONE vectorised call per chip
    and set of assumptions (the runs' FLOPs as an array), instead of one call per pair. A
    group the core rejects (one run out of range) is sized run by run, and the rejected
    pairs carry the core's error. A run taking goodput(N) is sized at its pair's stated
    goodput with its share of hot spares (:func:`goodput_loop.stated`)."""
    goodput = goodput or {}
    out: dict[tuple[int, str], _OneSystem | ResultOutOfRange] = {}
    for chip_id in chip_ids:
        chip = cat.get(chip_id)
        groups: dict[str, tuple[Any, list[int], list[Any]]] = {}
        spares: dict[int, float] = {}
        for r, spec in enumerate(scenario.runs):
            if chip.dense_tflops_or_none(spec.precision) is None:
                continue
            base = scenario.assumptions_for(spec, chip)
            a, spares[r] = goodput_loop.stated(
                base, goodput.get((spec.name, chip_id)), chip.gpus_per_system
            )
            # stated() changes only the goodput and its source, which the key leaves out
            group = groups.setdefault(_numbers_key(base), (a, [], []))
            group[1].append(r)
            group[2].append(a)
        for a, members, each in groups.values():
            flops = np.asarray(
                [float(scenario.runs[r].training_run().total_flops()) for r in members]
            )
            # the runs of a group differ at most in their MFU (the run model's, per run):
            # one call with an MFU per run
            mfu = np.asarray([float(x.mfu) for x in each])
            grouped = a if np.all(mfu == mfu[0]) else dataclasses.replace(a, mfu=mfu)
            g = np.asarray([float(x.goodput) for x in each])
            if not np.all(g == g[0]):
                grouped = dataclasses.replace(grouped, goodput=g)
            spare = np.asarray([spares[r] for r in members])
            try:
                res = size_training(
                    TrainingRun(flops=flops),
                    chip,
                    gpus=chip.gpus_per_system,
                    assumptions=grouped,
                    spare_gpus=spare if np.any(spare > 0) else None,
                )
            except ResultOutOfRange:
                for i, r in enumerate(members):
                    try:
                        one = size_training(
                            TrainingRun(flops=float(flops[i])),
                            chip,
                            gpus=chip.gpus_per_system,
                            assumptions=each[i],
                            spare_gpus=spares[r] or None,
                        )
                        out[(r, chip_id)] = _picks(one, 1)[0]
                    except ResultOutOfRange as exc:
                        out[(r, chip_id)] = exc
                continue
            for r, row in zip(members, _picks(res, len(members)), strict=True):
                out[(r, chip_id)] = row
    return out


#: Fields of the assumptions a group of runs may differ in (one size_training call per group).
_PER_RUN = ("sources", "mfu", "goodput")


#: Keys of assumptions already seen, by identity (the scenario caches its assumptions per
#: pair, so a goodput(N) re-build asks for the same objects again): ``id -> (object, key)``.
_KEYS: dict[int, tuple[Any, str]] = {}
_KEYS_SIZE = 50_000


def _numbers_key(a: Any) -> str:
    """The assumptions' values without their provenance (``sources`` names the run) and the
    MFU (given per run to the one vectorised call)."""
    hit = _KEYS.get(id(a))
    if hit is not None and hit[0] is a:
        return hit[1]
    if dataclasses.is_dataclass(a):
        key = repr(
            [(f.name, getattr(a, f.name)) for f in dataclasses.fields(a) if f.name not in _PER_RUN]
        )
    else:
        key = repr(a)
    if len(_KEYS) >= _KEYS_SIZE:
        _KEYS.clear()
    _KEYS[id(a)] = (a, key)
    return key


_ONE_SYSTEM_FIELDS = tuple(f.name for f in dataclasses.fields(_OneSystem))


def _picks(res: SizingResult, size: int) -> list[_OneSystem]:
    """The :class:`_OneSystem` of each of the ``size`` rows of a (vectorised) sizing: each
    field broadcast to the rows once, as Python values (not one array per row and field:
    2,600 rows a 200-run model, rebuilt at each goodput(N) re-solve)."""
    columns = [
        np.broadcast_to(np.asarray(getattr(res, name)), (size,)).tolist()
        for name in _ONE_SYSTEM_FIELDS
    ]
    return [
        _OneSystem(**{n: col[i] for n, col in zip(_ONE_SYSTEM_FIELDS, columns, strict=True)})
        for i in range(size)
    ]


def _whole_systems(needed: float, scale: float = 1.0) -> int:
    """Whole systems that meet ``needed / scale`` fractional systems: at least one.

    Relative tolerance only (7.0000000001 -> 7): an absolute one would round a tiny run's
    1e-10 systems down to zero.
    """
    return max(1, math.ceil(needed / scale * (1 - 1e-12)))


def _pair_mitigation(
    scenario: Scenario, spec: Any, chip: Any, goodput: dict[tuple[str, str], Any], need: float
) -> Any:
    """The ramp-limit mitigation of a run's cluster on ``chip``
    (:func:`planner.optimization.grid_swing.pair_mitigation`) at its goodput(N) entry's
    GPUs, else at the whole systems its deadline needs; ``None`` without a ramp limit."""
    if scenario.site.ramp_limit_mw_per_s is None:
        return None
    entry = goodput.get((spec.name, chip.id))
    gpus = entry.gpus if entry is not None else _whole_systems(need) * chip.gpus_per_system
    return grid_swing.pair_mitigation(scenario, chip, scenario.assumptions_for(spec, chip), gpus)


def _grid_power_per_system_mw(scenario: Scenario, chip: Any, one: Any) -> float:
    """Peak power one bought system draws on the site grid: the core's facility power, which
    :meth:`planner.scenarios.Scenario.assumptions_for` already sizes at the hall's design-day
    PUE (energy stays at the annual PUE)."""
    return float(one.facility_power_mw)


def max_useful_gpus(flops: float, global_batch_tokens: float | None = None) -> int:
    """The most GPUs a training run of ``flops`` can keep busy: its global batch (tokens per
    optimiser step) over :data:`MIN_TOKENS_PER_GPU_STEP` (1,024 tokens per GPU per step, as
    Llama 3 405B on 16,384 H100s), at least 1.

    ``global_batch_tokens`` defaults to the batch-size scaling law of DeepSeek LLM,
    ``0.2920 x flops^0.3271`` tokens (:data:`BATCH_LAW_COEFFICIENT`): 1e17 FLOPs -> 1.1e5
    tokens -> 103 GPUs; 1e24 -> 2.1e7 tokens -> 20,200 GPUs; 2e25 -> 5.5e7 -> 53,900 GPUs.
    More GPUs than this would only finish the run sooner by shrinking each GPU's share of a
    step below what hides the communication; the optimiser never plans more.
    """
    batch = (
        float(global_batch_tokens)
        if global_batch_tokens is not None
        else BATCH_LAW_COEFFICIENT * float(flops) ** BATCH_LAW_EXPONENT
    )
    return max(1, math.floor(batch / MIN_TOKENS_PER_GPU_STEP))


def run_max_gpus(spec: Any) -> int:
    """A scenario run's largest useful parallelism: ``runs[i].max_gpus`` if given, else
    :func:`max_useful_gpus` of its FLOPs and ``runs[i].global_batch_tokens``."""
    if getattr(spec, "max_gpus", None) is not None:
        return int(spec.max_gpus)
    flops = float(spec.training_run().total_flops())
    return max_useful_gpus(flops, getattr(spec, "global_batch_tokens", None))


def _min_systems(scenario: Scenario, chip: Any) -> int:
    """Fewest systems of ``chip`` in a run's pool with mixed chips: ``candidates.min_systems``,
    else one whole rack (:meth:`Scenario.systems_per_rack`)."""
    given = getattr(scenario.candidates, "min_systems", {}) or {}
    if chip.id in given:
        return int(given[chip.id])
    return int(scenario.systems_per_rack(chip))
