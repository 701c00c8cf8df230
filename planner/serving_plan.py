"""Inference services as rows of the site optimiser: per (service, chip) coefficients.

The cluster MILP (:mod:`planner.optimization`) chooses whole systems of one chip per training
run from a table ``ClusterModel.options`` indexed by ``(run, chip)``. :func:`service_options`
builds the same table for inference services, so the optimiser can put services beside runs
under one grid, budget and supply limit. Every number comes from :func:`planner.serving.serve`
(the plan and ``planner serve`` always agree).

Differences from a training row, and how each column encodes them:

- ``systems_needed``: systems whose replicas carry the PEAK demand at the latency targets
  (whole replicas: ``ceil(peak / per-replica rate) x GPUs per replica / GPUs per system``).
  Like a run's deadline it is a lower bound on the integer systems; unlike a run, more systems
  do not finish anything sooner (``days_on_one_system`` and ``deadline_days`` are NaN).
- Energy has a part independent of the count (the busy draw above idle for the work served,
  ``energy_mwh``) and a part per installed system (its idle draw,
  ``energy_mwh_per_system``), both over ``horizon_years``; emissions likewise.
- Money, with the economics of :mod:`planner.amortization` (as ``planner serve``; the pricing
  is the assumptions' ``pricing``): under ``capex`` a bought system has
  ``capex_usd_per_system`` (its share of the cluster capex: servers, networking, facility);
  under ``amortized`` the hardware's share of its service life for the horizon is a running
  cost per system (``hardware_usd_per_system``, part of ``cost_usd_per_system``); under
  ``rent`` capacity costs ``cost_usd_per_system`` (GPU-hours x rent) for the horizon (rent
  scales with the count for a service, unlike a run's GPU-hours). ``cost_usd_per_system`` of
  a bought system also holds its idle electricity; ``run_cost_usd`` is the electricity of the
  fixed part (the busy draw above idle).
- Power: ``facility_power_mw_per_system`` is the peak of one system at the design-day PUE
  (``SizingAssumptions.grid_pue()``: ``design_pue``, else derived from the annual PUE), as
  ``planner serve``'s ``facility_power_mw``; ``grid_power_mw_per_system`` is the same for a
  bought system and 0 for rented capacity (off site).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner import amortization, power
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.serving import (
    HOURS_PER_YEAR,
    ServingAssumptions,
    ServingDemand,
    chip_prices,
    resolve_serving_assumptions,
    serve,
)

#: Columns of ``ClusterModel.options`` (planner.optimization) this table also carries.
OPTION_COLUMNS = [
    "systems_needed",
    "max_systems",
    "gpus_per_system",
    "facility_power_mw_per_system",
    "grid_power_mw_per_system",
    "on_site",
    "capex_usd_per_system",
    "run_cost_usd",
    "energy_mwh",
    "emissions_tco2",
    "days_on_one_system",
    "deadline_days",
    "pricing",
    "systems_per_rack",
    "mfu",
    "pue",
]
#: Columns only a service has (per-system running costs; what binds the batch).
SERVICE_COLUMNS = [
    "workload",
    "cost_usd_per_system",
    "hardware_usd_per_system",
    "energy_mwh_per_system",
    "emissions_tco2_per_system",
    "gpus_per_replica",
    "batch_size",
    "tpot_s",
    "wh_per_query",
]


@dataclass(frozen=True)
class ServiceSpec:
    """One inference service of a site plan: its demand, model and latency targets.

    ``overrides`` holds any serving or sizing assumption (``tpot_target_s``,
    ``reasoning_multiplier``, ``precision``, ``pue`` ...), as :func:`planner.serving.serve`.
    """

    name: str
    demand: ServingDemand
    model: str | None = None
    params: float | None = None
    active_params: float | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


def service_options(
    services: list[ServiceSpec],
    chips: list[str] | None = None,
    *,
    grid_limit_mw: float | None = None,
    budget_usd: float | None = None,
    supply_gpus: dict[str, int] | None = None,
    horizon_years: float = 1.0,
    amortise: bool | None = None,
    systems_per_rack: dict[str, int] | None = None,
    assumptions: ServingAssumptions | None = None,
    catalog: Catalog | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coefficient rows for ``services`` on ``chips``, shaped like ``ClusterModel.options``.

    ``amortise`` is the former switch (True: ``pricing = "amortized"``, False: ``"capex"``);
    ``None`` keeps the assumptions' pricing (default amortized).

    Returns
    -------
    (options, excluded)
        ``options`` indexed by ``(run, chip)`` (``run`` = the service name) with
        :data:`OPTION_COLUMNS` + :data:`SERVICE_COLUMNS`; ``excluded`` lists (service, chip)
        pairs left out and why (no tensor mode, no replica meets the latency targets, no price).
    """
    if not services:
        raise InputError("services", "[]", "at least one service")
    names = [s.name for s in services]
    if len(set(names)) != len(names):
        raise InputError("services", names, "unique service names")
    if not (0 < horizon_years <= 30):
        raise InputError("horizon_years", horizon_years, "a number in (0, 30]")
    cat = catalog or load_catalog()
    chip_ids = chips or cat.ids
    supply = supply_gpus or {}
    rows, excluded = [], []
    hours = HOURS_PER_YEAR * horizon_years
    base = assumptions if assumptions is not None else ServingAssumptions.defaults()
    if amortise is not None:
        base = base.with_(
            "service_options(amortise=...)", pricing="amortized" if amortise else "capex"
        )
    for spec in services:
        a = resolve_serving_assumptions(base, spec.overrides)
        for chip_id in chip_ids:
            chip = cat.get(chip_id)
            if chip.dense_tflops_or_none(a.sizing.precision) is None:
                reason = f"no {a.sizing.precision.upper()} tensor mode"
                excluded.append({"run": spec.name, "chip": chip.id, "reason": reason})
                continue
            try:
                r = serve(
                    chip,
                    spec.demand,
                    model=spec.model,
                    params=spec.params,
                    active_params=spec.active_params,
                    assumptions=a,
                    catalog=cat,
                )
            except InputError as exc:
                excluded.append({"run": spec.name, "chip": chip.id, "reason": str(exc)})
                continue
            if not r.feasible:
                excluded.append(
                    {"run": spec.name, "chip": chip.id, "reason": str(r.infeasible_reason)}
                )
                continue
            rows.append(_row(spec, chip, r, a, hours))
    options = pd.DataFrame(rows, columns=["run", "chip", *OPTION_COLUMNS, *SERVICE_COLUMNS])
    options = options.set_index(["run", "chip"])
    if len(options):
        options["systems_per_rack"] = [
            (systems_per_rack or {}).get(
                c, 1 if options.loc[(s, c), "gpus_per_system"] >= 32 else 4
            )
            for s, c in options.index
        ]
        options["max_systems"] = [
            _max_systems(options.loc[(s, c)], grid_limit_mw, budget_usd, supply.get(c))
            for s, c in options.index
        ]
    return options, pd.DataFrame(excluded, columns=["run", "chip", "reason"])


def _row(
    spec: ServiceSpec, chip: Any, r: Any, a: ServingAssumptions, hours: float
) -> dict[str, Any]:
    s = a.sizing
    gps = float(chip.gpus_per_system)
    server_w = chip.system_power_per_gpu_w
    busy_w = float(power.average_server_power_per_gpu_w(server_w, s.avg_load_fraction, None))
    idle_w = server_w * float(a.idle_load_fraction)
    chain = (1.0 + float(s.network_overhead)) * float(s.pue)
    busy_gpus = float(r.load_fraction) * float(r.systems) * gps  # GPU-equivalents busy on average
    energy_fixed = (busy_w - idle_w) * busy_gpus * chain * hours / 1e6
    energy_per_system = idle_w * gps * chain * hours / 1e6
    g = float(r.gpus_per_replica)
    systems_needed = float(r.replicas) * g / gps
    systems = float(r.systems)
    facility_per_system = float(r.facility_power_mw) / systems  # peak, design-day PUE
    pricing = str(r.pricing)
    on_site = pricing != "rent"
    price, rent, _ = chip_prices(chip, s)
    # one system's economics for the horizon (linear in the systems installed)
    econ = amortization.run_economics(
        "(prices given)",
        gps,
        hours / 24.0,
        it_power_mw=float(r.it_power_mw) / systems,
        electricity_cost_usd=0.0,
        server_price_usd_per_gpu=price,
        rent_usd_per_gpu_hour=rent,
        life_years=s.service_life_years,
        utilisation=s.hardware_utilisation,
        cost_of_capital=s.cost_of_capital,
        networking_share=s.networking_share,
        facility_usd_per_mw=s.facility_usd_per_mw,
        facility_life_years=s.facility_life_years,
    )
    capex = float(econ.cluster_capex_usd) if pricing == "capex" else 0.0
    hardware = float(econ.amortized.hardware_usd) if pricing == "amortized" else 0.0
    rent_per_system = float(econ.rental_cost_usd) if pricing == "rent" else 0.0
    usd_mwh = float(s.electricity_usd_per_mwh)
    t_per_mwh = float(s.grid_gco2_per_kwh) / 1000.0
    idle_usd = energy_per_system * usd_mwh if on_site else 0.0
    return {
        "run": spec.name,
        "chip": chip.id,
        "systems_needed": systems_needed,
        "max_systems": 0,
        "gpus_per_system": int(gps),
        "facility_power_mw_per_system": facility_per_system,
        "grid_power_mw_per_system": facility_per_system if on_site else 0.0,
        "on_site": on_site,
        "capex_usd_per_system": capex,
        "run_cost_usd": energy_fixed * usd_mwh if on_site else 0.0,
        "energy_mwh": energy_fixed,
        "emissions_tco2": energy_fixed * t_per_mwh,
        "days_on_one_system": math.nan,
        "deadline_days": math.nan,
        "pricing": pricing,
        "systems_per_rack": 0,
        "mfu": math.nan,
        "pue": float(s.pue),
        "workload": "service",
        "cost_usd_per_system": rent_per_system + hardware + idle_usd,
        "hardware_usd_per_system": hardware,
        "energy_mwh_per_system": energy_per_system,
        "emissions_tco2_per_system": energy_per_system * t_per_mwh,
        "gpus_per_replica": g,
        "batch_size": float(r.batch_size),
        "tpot_s": float(r.tpot_s),
        "wh_per_query": float(r.wh_per_query),
    }


def _max_systems(
    row: pd.Series, grid_limit_mw: float | None, budget_usd: float | None, supply: int | None
) -> int:
    """Upper bound U on the systems of one option (as ``build_model``): grid, budget (each
    system costs at least its capex and its running cost per system), supply."""
    at_need = max(1, math.ceil(float(row["systems_needed"]) * (1 - 1e-12)))
    bounds = []
    if grid_limit_mw is not None and row["grid_power_mw_per_system"] > 0:
        bounds.append(math.floor(grid_limit_mw / row["grid_power_mw_per_system"] * (1 + 1e-12)))
    per_system_usd = float(row["capex_usd_per_system"]) + float(row.get("cost_usd_per_system", 0))
    if budget_usd is not None and per_system_usd > 0:
        bounds.append(math.floor(budget_usd / per_system_usd * (1 + 1e-12)))
    if supply is not None:
        bounds.append(int(supply) // int(row["gpus_per_system"]))
    return max(at_need, min(bounds, default=at_need))


def plan_totals(options: pd.DataFrame, choice: dict[str, tuple[str, int]]) -> dict[str, float]:
    """Totals of a chosen plan ``{service: (chip, systems)}``: peak grid MW, cost, energy.

    A check for the optimiser's read-back: ``energy = energy_mwh + systems x
    energy_mwh_per_system``; ``cost = capex + run_cost + systems x cost_usd_per_system``.
    """
    grid = cost = energy = emissions = 0.0
    for service, (chip, systems) in choice.items():
        row = options.loc[(service, chip)]
        if systems < row["systems_needed"] * (1 - 1e-12):
            raise InputError(
                f"{service}.systems", systems, f"at least {row['systems_needed']:g} for the peak"
            )
        grid += systems * row["grid_power_mw_per_system"]
        cost += (
            systems * (row["capex_usd_per_system"] + row["cost_usd_per_system"])
            + row["run_cost_usd"]
        )
        energy += row["energy_mwh"] + systems * row["energy_mwh_per_system"]
        emissions += row["emissions_tco2"] + systems * row["emissions_tco2_per_system"]
    return {
        "grid_power_mw": grid,
        "cost_usd": cost,
        "energy_mwh": energy,
        "emissions_tco2": emissions,
    }


__all__ = ["OPTION_COLUMNS", "SERVICE_COLUMNS", "ServiceSpec", "plan_totals", "service_options"]
